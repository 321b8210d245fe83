"""Trending per segment: rising items trend, steady and fading ones do not."""

from __future__ import annotations

import numpy as np

from training.storefront.trending import TrendingParams, trending

END = 1000.0
PARAMS = TrendingParams(window_days=28, earlier_windows=3, min_buyers=2, k=5)


def _occasions(events: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c, i, d = zip(*events)
    return np.array(c), np.array(i), np.array(d, dtype=float)


def test_rising_item_trends_in_its_segment_only() -> None:
    # customers 0-4 segment 0, 5-9 segment 1. Item 0: 4 recent buyers in segment 0, none before.
    # Item 1: steady in segment 1 (2 buyers in each of the 4 windows). Item 2: faded (bought only long ago).
    events = [(c, 0, END - 3) for c in range(4)]
    events += [(buyer, 1, END - 10 - 28 * w) for w in range(4) for buyer in (5 + w, 6 + w)]
    events += [(c, 2, END - 60) for c in range(5, 10)]
    labels = np.array([0] * 5 + [1] * 5)
    items, scores, counts = trending(*_occasions(events), labels, (10, 3), END, np.ones(3, bool), PARAMS)
    assert items.shape == (3, 5)
    assert items[0, 0] == 0 and counts[0, 0].tolist() == [4.0, 0.0]
    assert 0 not in items[1]  # segment 1 did not buy it
    assert 1 not in items[1] and 2 not in items[1]  # steady and fading items do not trend
    assert items[2, 0] == 0  # the last row is everyone
    assert scores[0, 0] == np.float32(4 / np.sqrt(1.0))


def test_unavailable_items_never_trend() -> None:
    events = [(c, 0, END - 1) for c in range(5)] + [(c, 1, END - 1) for c in range(3)]
    items, _, _ = trending(*_occasions(events), np.zeros(5, dtype=int), (5, 2), END, np.array([False, True]), PARAMS)
    assert 0 not in items and items[0, 0] == 1
