from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from models.rules.replenishment import (
    Plan,
    ReplenishmentStats,
    due_items,
    due_score,
    replenishment_plan,
    replenishment_stats,
)
from models.rules.wording import plan_text


def stats() -> ReplenishmentStats:
    # customer 0 buys item 0 on days 0, 21, 42 (every 3 weeks); item 1 once on day 10;
    # item 2 on days 0 and 100. Customer 1 buys item 1 on days 5 and 6.
    c = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    i = np.array([0, 0, 0, 1, 2, 2, 1, 1])
    d = np.array([21, 0, 42, 10, 0, 100, 6, 5])
    return replenishment_stats(c, i, d, (2, 3))


def test_counts_first_last_and_interval() -> None:
    s = stats()
    assert s.occasions[0, 0] == 3 and s.first_day[0, 0] == 0 and s.last_day[0, 0] == 42
    assert s.interval_days()[0, 0] == pytest.approx(21.0)
    assert s.interval_days()[0, 1] == 0.0
    assert s.interval_days()[1, 1] == pytest.approx(1.0)


def test_due_items_only_repeats_most_due_first() -> None:
    due = due_items(stats(), 0, today_day=63)  # item 0: 21 days since, interval 21 -> due
    assert [d.item_row for d in due] == [0, 2]
    assert due[0].due_ratio == pytest.approx(1.0)
    assert due[0].interval_days == pytest.approx(21.0) and due[0].days_since == pytest.approx(21.0)


def test_due_score_peaks_at_due() -> None:
    assert due_score(1.0, 3) > due_score(0.3, 3)
    assert due_score(1.0, 3) > due_score(3.0, 3)
    assert due_score(1.0, 10) > due_score(1.0, 2)


def test_arrays_roundtrip() -> None:
    s = stats()
    back = ReplenishmentStats.from_arrays(s.arrays())
    assert (back.last_day != s.last_day).nnz == 0 and (back.occasions != s.occasions).nnz == 0


def test_a_rhythm_that_holds_is_a_plan_and_one_that_does_not_is_none() -> None:
    plan = replenishment_plan(occasions=4, interval_days=21.0, days_since=7.0, end_day=100.0)
    assert plan == Plan(interval_days=21.0, last_day=93.0) and plan.next_day == 114.0
    assert replenishment_plan(2, 21.0, 7.0, 100.0) is None  # one gap is no rhythm
    assert replenishment_plan(4, 21.0, 70.0, 100.0) is None  # lapsed: silent for over 3 intervals
    assert replenishment_plan(4, 0.5, 0.2, 100.0) is None  # twice a day is one shopping trip


def test_a_purchase_since_training_moves_the_plan_on_and_an_older_one_does_not() -> None:
    assert replenishment_plan(4, 21.0, 7.0, 100.0, live_last_day=105.0) == Plan(21.0, 105.0)
    assert replenishment_plan(4, 21.0, 7.0, 100.0, live_last_day=90.0) == Plan(21.0, 93.0)


def test_a_plan_is_due_from_its_next_reorder_until_its_rhythm_lapses() -> None:
    plan = Plan(interval_days=21.0, last_day=93.0)
    assert not plan.due(4, today_day=113.9)
    assert plan.due(4, today_day=114.0) and plan.due(4, today_day=93.0 + 63.0)
    assert not plan.due(4, today_day=93.0 + 63.1)  # more than three intervals silent
    assert not plan.due(2, today_day=114.0)  # not enough occasions for a rhythm


@pytest.mark.parametrize(
    ("interval", "next_on", "text"),
    [
        (21.0, date(2010, 12, 12), "every ~3 weeks, next on 12 Dec"),
        (1.0, date(2011, 1, 3), "every day, next on 3 Jan"),
        (110.0, date(2011, 5, 30), "every ~4 months, next on 30 May"),
    ],
)
def test_a_plan_in_words(interval: float, next_on: date, text: str) -> None:
    assert plan_text(interval, next_on) == text
