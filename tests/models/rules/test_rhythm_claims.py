"""When a reason may claim a purchase rhythm (`models.rules.replenishment.rhythm_holds`), on
hand-made histories with hand-computed texts. Before, two purchases two days apart a year ago
read "you usually reorder this every ~2 days"."""

from __future__ import annotations

import numpy as np
import pytest

from models.rules.loyalty import RFM, why
from models.rules.replenishment import due_items, replenishment_stats, rhythm_holds
from models.rules.wording import repeat_purchase_reason, times
from service.core.store_sections import Ingredients

TODAY = 400.0  # day number of the end of the data


def _reasons(purchase_days: dict[int, list[float]]) -> dict[int, str]:
    """One customer's purchase days per item -> the buy-again reason of each repeat item."""
    items = [i for i, days in purchase_days.items() for _ in days]
    days = [d for ds in purchase_days.values() for d in ds]
    stats = replenishment_stats(
        np.zeros(len(days), dtype=np.int64), np.asarray(items), np.asarray(days), (1, max(purchase_days) + 1)
    )
    return {
        d.item_row: repeat_purchase_reason(d.occasions, d.interval_days, d.days_since)
        for d in due_items(stats, 0, TODAY)
    }


def test_two_purchases_a_year_ago_state_facts_not_a_rhythm() -> None:
    reasons = _reasons({0: [68.0, 70.0], 1: [316.0, 337.0, 358.0, 379.0]})
    assert reasons[0] == "you bought this twice, last time 11 months ago"  # 330 days / 30.44
    assert reasons[1] == "you usually reorder this every ~3 weeks; last time 3 weeks ago"  # 21-day gaps, 21 ago


def test_a_rhythm_left_for_more_than_three_intervals_has_lapsed() -> None:
    reasons = _reasons({0: [330.0, 344.0, 358.0], 1: [329.0, 343.0, 357.0], 2: [10.0, 12.0, 14.0, 16.0]})
    assert reasons[0] == "you usually reorder this every ~2 weeks; last time 6 weeks ago"  # 42 days = 3 x 14
    assert reasons[1] == "you bought this 3 times, last time 6 weeks ago"  # 43 days > 3 x 14
    assert reasons[2] == "you bought this 4 times, last time 13 months ago"  # a 2-day rhythm, 384 days ago


@pytest.mark.parametrize(
    ("occasions", "interval", "since", "holds"),
    [
        (2, 2.0, 330.0, False),
        (2, 30.0, 10.0, False),
        (3, 14.0, 42.0, True),
        (3, 14.0, 42.1, False),
        (3, 0.5, 0.0, False),
        (3, 1.0, 2.0, True),
        (12, 7.0, 3.0, True),
    ],
)
def test_rhythm_holds(occasions: int, interval: float, since: float, holds: bool) -> None:
    assert rhythm_holds(occasions, interval, since) is holds


def test_times() -> None:
    assert [times(n) for n in (1, 2, 3, 11)] == ["once", "twice", "3 times", "11 times"]


def test_at_risk_after_two_orders_claims_no_ordering_rhythm() -> None:
    assert why("at_risk", RFM(recency_days=330, orders=2, spend=40, tenure_days=332)) == (
        "2 orders, the last 11 months ago: we would love to see you again"
    )
    assert why("at_risk", RFM(120, 8, 500, 147)) == "used to order every ~3 weeks, but the last order was 4 months ago"


def test_store_documents_carry_occasions_and_older_ones_claim_no_rhythm() -> None:
    doc = {"s": 0, "t": "regular", "r": [5, 4, 100, 200], "b": [["a", 21.0, 21.0, 0.7, 4], ["b", 21.0, 21.0, 0.7]]}
    now, before = Ingredients.from_json(doc).buy_again
    assert now.occasions == 4 and now.reason == "you usually reorder this every ~3 weeks; last time 3 weeks ago"
    assert before.reason == "you bought this twice, last time 3 weeks ago"  # published before occasions were
