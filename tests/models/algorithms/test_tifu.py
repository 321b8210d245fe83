"""TIFU-KNN on hand-made baskets whose right answers are known."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.algorithms.interactions import IdMap, Interactions
from models.algorithms.tifu import TIFUKNNRecommender, TIFUParams, personal_vectors
from models.algorithms.timed import PurchaseLog, PurchaseTimes
from models.rules.replenishment import replenishment_stats

A, B, C, D, E = range(5)


def shop(
    lines: list[tuple[int, int, int, float]], n_customers: int, n_items: int = 5
) -> tuple[Interactions, PurchaseTimes]:
    """(customer, item, invoice, day) lines -> the matrix and times TIFU-KNN is fitted on."""
    c, i, o, d = (np.array(x) for x in zip(*lines))
    shape = (n_customers, n_items)
    stats = replenishment_stats(c, i, d.astype(np.float64), shape)
    matrix = sp.csr_matrix(stats.occasions, dtype=np.float32)
    ids = Interactions(IdMap.from_ids([f"c{k}" for k in range(shape[0])]), IdMap.from_ids(list("ABCDE")), matrix)
    log = PurchaseLog(c, i, d.astype(np.float64), np.full(n_items, np.nan), occasions=o)
    return ids, PurchaseTimes(stats, float(d.max()), log)


def test_personal_vector_decays_within_and_between_groups_as_computed_by_hand() -> None:
    """Baskets {A}, {B}, {C} oldest first, groups of 2 aligned on the newest: ({C}, {B}) and ({A}).
    C: 1 / (2 places · 2 groups); B: r_b / 4; A: r_g / 4 (its group is short, not heavier)."""
    _, times = shop([(0, A, 1, 1.0), (0, B, 2, 2.0), (0, C, 3, 3.0)], 1)
    assert times.log is not None
    params = TIFUParams(group_size=2, within_decay=0.5, group_decay=0.4)
    u = personal_vectors(times.log, params, (1, 5)).toarray()[0]
    np.testing.assert_allclose(u, [0.4 / 4, 0.5 / 4, 1 / 4, 0.0, 0.0])


def test_the_most_recent_repeated_item_ranks_first() -> None:
    """A and C were each bought twice, C more recently; B once, last. Groups of two from the
    newest: (B, C) (C, A) (A): C = (r_b + r_g) / 6, A = (r_b r_g + r_g²) / 6, B = 1 / 6."""
    lines = [(0, A, 1, 1.0), (0, A, 2, 2.0), (0, C, 3, 8.0), (0, C, 4, 9.0), (0, B, 5, 10.0)]
    lines += [(1, D, 6, 3.0), (1, E, 7, 4.0)]
    data, times = shop(lines, 2)
    model = TIFUKNNRecommender(TIFUParams(group_size=2, alpha=1.0, neighbours=1), times=times).fit(data)
    ids, _ = model.recommend(np.array([0]), data.matrix, 3, exclude_seen=False)
    assert ids[0].tolist() == [C, A, B]


def test_neighbours_bring_what_similar_customers_bought() -> None:
    """Customer 1 shares A and B with customer 0 and also bought D; customer 2 only E: with one
    neighbour and alpha 0, customer 0's only new item is D."""
    lines = [(0, A, 1, 1.0), (0, B, 1, 1.0), (1, A, 2, 1.0), (1, B, 2, 1.0), (1, D, 3, 2.0), (2, E, 4, 2.0)]
    data, times = shop(lines, 3)
    model = TIFUKNNRecommender(TIFUParams(alpha=0.0, neighbours=1), times=times).fit(data)
    ids, scores = model.recommend(np.array([0]), data.matrix, 3)
    assert ids[0, 0] == D and scores[0, 0] > 0
    assert scores[0, 1] == 0.0  # E (customer 2's) gets nothing from a neighbour who is not one


def test_baskets_are_invoices_or_days() -> None:
    """Two invoices on one day: two baskets by invoice, one by day (and A counts once in it)."""
    lines = [(0, A, 1, 5.0), (0, A, 2, 5.2), (0, B, 3, 6.0)]
    _, times = shop(lines, 1)
    assert times.log is not None
    by = {
        basket: personal_vectors(times.log, TIFUParams(basket=basket, group_size=1, group_decay=0.5), (1, 5))
        for basket in ("invoice", "day")
    }
    # invoice: B newest (1), A in the next two groups; day: B newest (1), A in the one before.
    np.testing.assert_allclose(by["invoice"].toarray()[0, [A, B]], [(0.5 + 0.25) / 3, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(by["day"].toarray()[0, [A, B]], [0.5 / 2, 1 / 2])


def test_without_baskets_it_says_what_it_needs() -> None:
    data, times = shop([(0, A, 1, 1.0), (1, B, 2, 2.0)], 2)
    model = TIFUKNNRecommender(times=PurchaseTimes(times.stats, times.today))
    try:
        model.fit(data)
    except ValueError as exc:
        assert "baskets" in str(exc)
    else:
        raise AssertionError("fitted without baskets")
