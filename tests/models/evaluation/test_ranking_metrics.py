"""Each metric against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from models.evaluation.metrics import (
    MAP,
    NDCG,
    Coverage,
    HitRate,
    PopularityRank,
    Recall,
    calc_metrics,
    popularity_ranks,
)


def truth_of(*rows: list[int], n_items: int = 10) -> sp.csr_matrix:
    data, cols, indptr = [], [], [0]
    for r in rows:
        cols += r
        data += [1.0] * len(r)
        indptr.append(len(cols))
    return sp.csr_matrix((data, cols, indptr), shape=(len(rows), n_items))


L2 = math.log2

# One customer, recommendations [3, 1, 7, 5], k and truth varied.
CASES = [
    # (k, truth, recall, ndcg, map, hit)
    (3, [1], 1.0, (1 / L2(3)) / 1.0, (1 / 2) / 1, 1.0),
    (3, [3, 7], 1.0, (1 + 1 / L2(4)) / (1 + 1 / L2(3)), (1 / 1 + 2 / 3) / 2, 1.0),
    (2, [7, 5, 9], 0.0, 0.0, 0.0, 0.0),
    (4, [7, 5, 9], 2 / 3, (1 / L2(4) + 1 / L2(5)) / (1 + 1 / L2(3) + 1 / L2(4)), (1 / 3 + 2 / 4) / 3, 1.0),
    (2, [3, 1, 7, 5, 9], 1.0, 1.0, 1.0, 1.0),  # denominators use min(k, |truth|)
]


@pytest.mark.parametrize(("k", "truth", "recall", "ndcg", "map_", "hit"), CASES)
def test_accuracy_metrics_match_hand_computed_values(
    k: int, truth: list[int], recall: float, ndcg: float, map_: float, hit: float
) -> None:
    recos = np.array([[3, 1, 7, 5]])
    t = truth_of(truth)
    assert Recall(k).per_customer(recos, t)[0] == pytest.approx(recall)
    assert NDCG(k).per_customer(recos, t)[0] == pytest.approx(ndcg)
    assert MAP(k).per_customer(recos, t)[0] == pytest.approx(map_)
    assert HitRate(k).per_customer(recos, t)[0] == pytest.approx(hit)


def test_padding_never_counts_as_a_hit() -> None:
    recos = np.array([[2, -1, -1]])
    t = truth_of([2])
    assert NDCG(3).per_customer(recos, t)[0] == pytest.approx(1.0)
    assert Recall(3).per_customer(np.array([[-1, -1, -1]]), t)[0] == 0.0


@pytest.mark.parametrize(("k", "expected"), [(1, 2 / 10), (2, 3 / 10), (3, 5 / 10)])
def test_coverage_counts_distinct_items_shown(k: int, expected: float) -> None:
    recos = np.array([[0, 1, 2], [0, 1, 3], [4, -1, -1]])
    assert Coverage(k, n_items=10).value(recos) == pytest.approx(expected)


def test_popularity_rank_is_mean_rank_of_recommended_items() -> None:
    ranks = popularity_ranks(np.array([5, 9, 1, 7]))  # order: item1, item3, item0, item2
    assert ranks.tolist() == [3, 1, 4, 2]
    recos = np.array([[1, 2], [0, -1]])
    assert PopularityRank(2, ranks).per_customer(recos).tolist() == [pytest.approx(2.5), pytest.approx(3.0)]


def test_calc_metrics_averages_customers_and_names_each_metric() -> None:
    recos = np.array([[3, 1], [0, 2]])
    t = truth_of([1], [5])
    out = calc_metrics(recos, t, [2], popularity_ranks(np.arange(10)[::-1]))
    assert out["hitrate@2"] == pytest.approx(0.5)
    assert out["recall@2"] == pytest.approx(0.5)
    assert out["ndcg@2"] == pytest.approx((1 / L2(3)) / 2)
    assert out["coverage@2"] == pytest.approx(4 / 10)
    assert out["popularityrank@2"] == pytest.approx(((4 + 2) / 2 + (1 + 3) / 2) / 2)


@pytest.mark.parametrize("k", [1, 10, 50])
def test_top_k_wide_gives_top_k_answer_ties_and_all(k: int) -> None:
    from models.algorithms.base import top_k, top_k_wide

    rng = np.random.default_rng(k)
    scores = rng.standard_normal((300, 5000)).astype(np.float32)
    scores[:40] = np.round(scores[:40], 1)  # ties everywhere
    scores[40:60, rng.integers(0, 5000, 300)] = -np.inf  # masked (bought) items
    scores[60:70] = rng.integers(0, 3, 5000)  # a popularity-like row: crowds of equal values
    scores[70:80, 3:] = -np.inf  # fewer finite items than k
    ids, values = top_k_wide(scores, k, block=64)
    want_ids, want_values = top_k(scores, k)
    assert np.array_equal(ids, want_ids) and np.array_equal(values, want_values)
