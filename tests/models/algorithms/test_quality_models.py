"""Behaviour of the quality models beyond the shared contract: each does what its idea says."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from models.algorithms.blend import BlendRecommender, minmax_rows
from models.algorithms.ease import EASEParams, EASERecommender
from models.algorithms.interactions import Interactions
from models.algorithms.knn import ItemKNNRecommender, KNNParams
from models.algorithms.recent_popular import RecentPopularityParams, RecentPopularityRecommender
from models.algorithms.repurchase import (
    PurchaseFrequencyRecommender,
    RepurchaseParams,
    RepurchaseRecommender,
    decayed_occasions,
)
from models.algorithms.timed import PurchaseTimes
from models.rules.replenishment import replenishment_stats
from tests.models.algorithms.test_recommender_contract import N_CUSTOMERS, N_ITEMS, checkerboard, checkerboard_times

CF_MODELS = {
    "ease": lambda: EASERecommender(EASEParams(l2=1.0)),
    "knn_bm25": ItemKNNRecommender,
    "knn_cosine": lambda: ItemKNNRecommender(KNNParams(similarity="cosine")),
}


def purchases(
    entries: list[tuple[int, int, float]], shape: tuple[int, int], today: float
) -> tuple[Interactions, PurchaseTimes]:
    """(customer row, item row, day) occasions -> a matrix and the purchase times behind it."""
    c, i, d = (np.array(x) for x in zip(*entries))
    stats = replenishment_stats(c.astype(np.int64), i.astype(np.int64), d.astype(np.float64), shape)
    matrix = stats.occasions.copy()
    ids = Interactions(
        customers=_ids("c", shape[0]), items=_ids("i", shape[1]), matrix=sp.csr_matrix(matrix, dtype=np.float32)
    )
    return ids, PurchaseTimes(stats, today)


def _ids(prefix: str, n: int):  # type: ignore[no-untyped-def]
    from models.algorithms.interactions import IdMap

    return IdMap.from_ids([f"{prefix}{k}" for k in range(n)])


@pytest.mark.parametrize("make", list(CF_MODELS.values()), ids=list(CF_MODELS))
def test_cf_models_recommend_the_missing_item_of_their_own_half(make) -> None:  # type: ignore[no-untyped-def]
    data = checkerboard()
    ids, _ = make().fit(data).recommend(np.arange(N_CUSTOMERS), data.matrix, 1)
    for row, cid in enumerate(data.customers.ids):
        c = int(cid[1:])
        half = 0 if c < N_CUSTOMERS // 2 else N_ITEMS // 2
        assert data.items.ids[ids[row, 0]] == f"i{half + c % (N_ITEMS // 2):02d}"


@pytest.mark.parametrize("make", list(CF_MODELS.values()), ids=list(CF_MODELS))
def test_cf_similar_items_stay_in_their_half(make) -> None:  # type: ignore[no-untyped-def]
    model = make().fit(checkerboard())
    ids, _ = model.similar_items(np.array([0, 15]), 3)
    assert all(0 <= i < 10 for i in ids[0]) and all(i >= 10 for i in ids[1])
    assert 0 not in ids[0] and 15 not in ids[1]


def test_ease_refuses_a_catalog_too_big_for_a_dense_matrix() -> None:
    big = sp.csr_matrix(([1.0], ([0], [0])), shape=(1, 20_001))
    with pytest.raises(ValueError, match="up to 20000 items"):
        EASERecommender()._fit(big)


def test_time_aware_model_without_times_says_what_it_needs() -> None:
    with pytest.raises(ValueError, match="needs purchase times"):
        RepurchaseRecommender().fit(checkerboard())


def test_recent_popularity_prefers_what_sells_now_over_the_all_time_best_seller() -> None:
    # item 0: bought by 4 customers long ago; item 1: by 2 customers last week; item 2: by 1 lately.
    entries = [(c, 0, 10.0) for c in range(4)] + [(0, 1, 95.0), (1, 1, 96.0), (2, 2, 97.0)]
    data, times = purchases(entries, (4, 3), today=100.0)
    model = RecentPopularityRecommender(RecentPopularityParams(window_days=14), times=times).fit(data)
    ids, _ = model.recommend(np.array([3]), data.matrix, 3, exclude_seen=False)
    assert ids[0].tolist() == [1, 2, 0]


def test_decayed_occasions_equal_the_explicit_sum_for_even_spacing() -> None:
    entries = [(0, 0, 40.0), (0, 0, 60.0), (0, 0, 80.0), (0, 1, 90.0)]
    _, times = purchases(entries, (1, 2), today=100.0)
    got = decayed_occasions(times.stats, 100.0, half_life_days=30.0)
    assert got[0] == pytest.approx(sum(0.5 ** (age / 30.0) for age in (60, 40, 20)))
    assert got[1] == pytest.approx(0.5 ** (10 / 30.0))


def test_repurchase_ranks_recent_habits_first_and_raises_due_and_trending_items() -> None:
    # customer 0: item 0 three times long ago, item 1 twice recently, item 2 every 10 days (due now);
    # customer 1 bought item 3 recently (it is trending).
    entries = [
        (0, 0, 5.0),
        (0, 0, 10.0),
        (0, 0, 15.0),
        (0, 1, 85.0),
        (0, 1, 95.0),
        (0, 2, 70.0),
        (0, 2, 80.0),
        (0, 2, 90.0),
        (0, 3, 30.0),
        (1, 3, 98.0),
    ]
    data, times = purchases(entries, (2, 4), today=100.0)
    plain = RepurchaseParams(half_life_days=30.0, due_weight=0.0, trend_weight=0.0)
    scores = RepurchaseRecommender(plain, times=times).fit(data).score(np.array([0]), data.matrix)[0]
    assert scores[1] > scores[0]
    due = RepurchaseRecommender(plain.model_copy(update={"due_weight": 3.0}), times=times).fit(data)
    assert due.score(np.array([0]), data.matrix)[0][2] / scores[2] > 2.0
    trend = RepurchaseRecommender(plain.model_copy(update={"trend_weight": 5.0}), times=times).fit(data)
    assert trend.score(np.array([0]), data.matrix)[0][3] > 3.0 * scores[3]


def test_purchase_frequency_breaks_ties_by_recency_then_popularity() -> None:
    # customer 0 bought items 0 and 1 twice (item 1 more recently), item 2 once; item 3 is popular.
    entries = [
        (0, 0, 10.0),
        (0, 0, 20.0),
        (0, 1, 15.0),
        (0, 1, 50.0),
        (0, 2, 60.0),
        (1, 3, 1.0),
        (2, 3, 1.0),
        (1, 4, 1.0),
    ]
    data, times = purchases(entries, (3, 5), today=100.0)
    ids, _ = (
        PurchaseFrequencyRecommender(times=times).fit(data).recommend(np.array([0]), data.matrix, 5, exclude_seen=False)
    )
    assert ids[0].tolist() == [1, 0, 2, 3, 4]


def test_minmax_rows_scales_each_row_to_unit_range() -> None:
    out = minmax_rows(np.array([[2.0, 4.0, 3.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.5], [0.0, 0.0, 0.0]])


def test_blend_of_repurchase_and_cf_ranks_unbought_items_as_the_cf_model_does() -> None:
    data, times = checkerboard(), checkerboard_times()
    cf = EASERecommender(EASEParams(l2=1.0)).fit(data)
    blend = BlendRecommender([(RepurchaseRecommender(times=times), 1.0), (cf, 0.2)]).fit(data)
    rows = np.arange(N_CUSTOMERS)
    cf_ids, _ = cf.recommend(rows, data.matrix, 5)
    blend_ids, _ = blend.recommend(rows, data.matrix, 5)
    np.testing.assert_array_equal(blend_ids, cf_ids)
    all_ids, _ = blend.recommend(rows, data.matrix, 3, exclude_seen=False)
    bought = [set(data.matrix[r].indices) for r in rows]
    assert all(set(all_ids[r].tolist()) <= bought[r] for r in rows)  # bought items lead the buy-again list


def test_blend_keeps_the_cf_order_of_unbought_items_on_realistic_data() -> None:
    """Among unbought items a repurchase + CF blend ranks as the CF part does (up to exact ties)."""
    from tests.support.synthetic_shop import as_purchases, taste_shop
    from training.selection.candidates import TrainingData

    data = TrainingData.from_purchases(as_purchases(taste_shop()))
    matrix = data.history.matrix
    cf = EASERecommender(EASEParams(l2=50.0)).fit(data.history)
    blend = BlendRecommender([(RepurchaseRecommender(times=data.times), 1.0), (cf, 0.05)]).fit(data.history)
    rows = np.arange(matrix.shape[0])
    scores = cf.score(rows, matrix)
    blend_ids, cf_ids = blend.recommend(rows, matrix, 10)[0], cf.recommend(rows, matrix, 10)[0]
    # the same ranking up to the order of exactly tied items
    np.testing.assert_allclose(
        np.take_along_axis(scores, blend_ids, 1), np.take_along_axis(scores, cf_ids, 1), rtol=1e-5, atol=1e-7
    )
