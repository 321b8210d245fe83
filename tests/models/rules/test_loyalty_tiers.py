"""Loyalty tiers: each rule on a hand-made customer, the shop's percentile thresholds, and the
one-line explanations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from models.rules.loyalty import RFM, Thresholds, thresholds_from, tier, why
from models.rules.wording import ago, duration, every

TH = Thresholds(vip_spend=5000.0, loyal_orders=5)


@pytest.mark.parametrize(
    ("rfm", "expected"),
    [
        (RFM(recency_days=10, orders=1, spend=80, tenure_days=10), "new"),
        (RFM(recency_days=200, orders=1, spend=80, tenure_days=200), "at_risk"),  # one order, long ago
        (RFM(recency_days=200, orders=6, spend=900, tenure_days=300), "at_risk"),  # gap 60: silent 200 >= 3x gap
        (RFM(recency_days=100, orders=6, spend=900, tenure_days=300), "loyal"),  # silent 100 < 3x gap
        (RFM(recency_days=150, orders=3, spend=900, tenure_days=400), "regular"),  # gap 200: 150 < 3x gap
        (RFM(recency_days=5, orders=12, spend=9000, tenure_days=300), "vip"),
        (RFM(recency_days=5, orders=12, spend=900, tenure_days=300), "loyal"),
        (RFM(recency_days=5, orders=2, spend=9000, tenure_days=30), "regular"),  # big spend, too few orders
    ],
)
def test_tier_rules(rfm: RFM, expected: str) -> None:
    assert tier(rfm, TH) == expected


def test_thresholds_are_the_shops_percentiles() -> None:
    orders = np.array([1] * 50 + list(range(2, 52)))
    spend = np.arange(100, dtype=float) * 10  # repeat customers spend 500..990
    th = thresholds_from(orders, spend)
    assert th.vip_spend == pytest.approx(np.quantile(spend[50:], 0.95))
    assert th.loyal_orders == int(np.ceil(np.quantile(orders, 0.75)))


def test_thresholds_need_at_least_three_orders_for_loyal() -> None:
    assert thresholds_from(np.ones(10, dtype=int), np.ones(10)).loyal_orders == 3


def test_why_lines_name_the_numbers() -> None:
    assert why("vip", RFM(9, 12, 4310, 300)) == (
        "12 orders and 4,310 spent: among our top 5% customers (last order 9 days ago)"
    )
    assert why("at_risk", RFM(120, 8, 500, 147)) == "used to order every ~3 weeks, but the last order was 4 months ago"
    assert why("new", RFM(12, 1, 50, 12)) == "first order 12 days ago: welcome!"


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (0.2, "less than a day"),
        (1, "1 day"),
        (6, "6 days"),
        (21, "3 weeks"),
        (30, "4 weeks"),
        (200, "7 months"),
        (800, "2 years"),
    ],
)
def test_duration_words(days: float, text: str) -> None:
    assert duration(days) == text


def test_every_and_ago() -> None:
    assert every(21) == "every ~3 weeks" and every(1) == "every day"
    assert ago(0.1) == "today" and ago(28) == "4 weeks ago"


def test_without_any_spend_tiers_come_from_orders_and_recency() -> None:
    orders = np.array([1] * 50 + list(range(2, 52)))
    th = thresholds_from(orders, np.zeros(len(orders)))  # no prices: everyone "spent" 0
    assert th.priced is False
    frequent = RFM(recency_days=5, orders=40, spend=0, tenure_days=300)
    assert tier(frequent, th) == "loyal"  # was "vip": 0 spent >= a VIP threshold of 0
    assert "spent" not in why(tier(frequent, th), frequent)
    travelled: dict[str, Any] = th.to_json()  # read back untyped, as from segments.json
    assert Thresholds(**travelled) == th  # travels in segments.json
    assert thresholds_from(orders, np.arange(len(orders), dtype=float)).priced is True
