from __future__ import annotations

import numpy as np
import pytest

from models.rules.replenishment import ReplenishmentStats, due_items, due_score, replenishment_stats


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
