"""GP-TopFreq: the customer's own most frequent items first, then the shop's most frequent."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.algorithms.interactions import IdMap, Interactions
from models.algorithms.topfreq import GPTopFreqRecommender

X, Y, Z, W, V = range(5)


def counts(rows: dict[int, dict[int, int]]) -> Interactions:
    dense = np.zeros((len(rows), 5), dtype=np.float32)
    for c, items in rows.items():
        for i, n in items.items():
            dense[c, i] = n
    return Interactions(IdMap.from_ids([f"c{c}" for c in rows]), IdMap.from_ids(list("XYZWV")), sp.csr_matrix(dense))


def test_own_items_by_frequency_then_filled_with_global_frequency() -> None:
    """Customer 0 bought X three times and Y once; the shop as a whole bought Z most, then W."""
    data = counts({0: {X: 3, Y: 1}, 1: {Z: 9, W: 2}, 2: {Z: 4, W: 3, V: 1}})
    model = GPTopFreqRecommender().fit(data)
    ids, _ = model.recommend(np.array([0]), data.matrix, 5, exclude_seen=False)
    assert ids[0].tolist() == [X, Y, Z, W, V]


def test_ties_in_own_frequency_go_to_the_globally_more_frequent_item() -> None:
    data = counts({0: {X: 2, Y: 2}, 1: {Y: 5}})
    ids, _ = GPTopFreqRecommender().fit(data).recommend(np.array([0]), data.matrix, 2, exclude_seen=False)
    assert ids[0].tolist() == [Y, X]
