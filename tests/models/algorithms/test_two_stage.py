"""The two-stage recommender: the ranker learns what determines the label (and nothing from
shuffled labels), never learns from its own future, orders new items as its discovery ranker
does, and gives the same answers twice for one seed."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from models.algorithms.interactions import IdMap, Interactions
from models.algorithms.ranking_features import FEATURES
from models.algorithms.timed import PurchaseLog, PurchaseTimes
from models.algorithms.two_stage import (
    LeakageError,
    RankerWindows,
    TwoStageParams,
    TwoStageRecommender,
    check_tails,
    customer_tails,
    fit_ranker,
    label_windows,
    window_or_tail,
)
from models.rules.replenishment import replenishment_stats
from tests.models.algorithms.test_candidate_generators import N_CUSTOMERS, N_ITEMS, TODAY, tiny_shop

SMALL = TwoStageParams(per_generator=4, als_factors=4, ease_l2=10.0, segments=2, min_leaf=3, trees=40)
SIGNAL = FEATURES.index("due_timing")


def planted(n_customers: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """30 candidates per customer, random features; the label is due_timing > 0.9 (1 in 10)."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_customers), 30)
    x = rng.random((len(groups), len(FEATURES))).astype(np.float32)
    return x, (x[:, SIGNAL] > 0.9).astype(np.float32), groups


def mean_ndcg_at_10(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> float:
    values = []
    for g in np.unique(groups):
        mine = groups == g
        truth = labels[mine]
        if truth.sum() == 0:
            continue
        ranked = truth[np.argsort(-scores[mine], kind="stable")][:10]
        discounts = 1.0 / np.log2(np.arange(2, 12))
        ideal = discounts[: int(min(truth.sum(), 10))].sum()
        values.append(float((ranked * discounts[: len(ranked)]).sum() / ideal))
    return float(np.mean(values))


def test_the_ranker_learns_a_planted_signal_and_not_shuffled_labels() -> None:
    x, y, groups = planted(300, seed=1)
    test_x, test_y, test_groups = planted(100, seed=2)
    params = TwoStageParams(min_leaf=20, trees=100)
    learnt = fit_ranker(x, y, groups, params, np.random.default_rng(0))
    shuffled = fit_ranker(x, np.random.default_rng(5).permutation(y), groups, params, np.random.default_rng(0))
    assert learnt is not None and shuffled is not None
    ours = mean_ndcg_at_10(np.asarray(learnt.predict(test_x)), test_y, test_groups)
    control = mean_ndcg_at_10(np.asarray(shuffled.predict(test_x)), test_y, test_groups)
    assert ours > 0.95
    assert control < 0.6
    gain = learnt.feature_importance(importance_type="gain")
    assert FEATURES[int(np.argmax(gain))] == "due_timing"


def test_no_ranker_without_two_customers_with_a_positive() -> None:
    x, y, groups = planted(5, seed=3)
    y[:] = 0.0
    y[0] = 1.0
    assert fit_ranker(x, y, groups, TwoStageParams(), np.random.default_rng(0)) is None


def test_windows_refuse_features_not_before_labels_and_labels_after_the_cut() -> None:
    RankerWindows(features_end=9.5, label_start=10.0, label_end=20.0).check(cut=20.0)
    with pytest.raises(LeakageError, match="not before the labels"):
        RankerWindows(features_end=10.0, label_start=10.0, label_end=20.0).check(cut=20.0)
    with pytest.raises(LeakageError, match="not before the cut"):
        RankerWindows(features_end=9.5, label_start=10.0, label_end=20.5).check(cut=20.0)


def times_of(log: PurchaseLog, today: float) -> PurchaseTimes:
    stats = replenishment_stats(log.customer_rows, log.item_rows, log.days, (N_CUSTOMERS, N_ITEMS))
    return PurchaseTimes(stats, today, log)


def matrix_of(log: PurchaseLog) -> Interactions:
    m = sp.csr_matrix((np.ones(len(log.days)), (log.customer_rows, log.item_rows)), shape=(N_CUSTOMERS, N_ITEMS))
    return Interactions(IdMap.from_ids(np.arange(N_CUSTOMERS)), IdMap.from_ids(np.arange(N_ITEMS)), m)


def fitted(params: TwoStageParams = SMALL) -> TwoStageRecommender:
    log = tiny_shop()
    return TwoStageRecommender(params, times_of(log, TODAY)).fit(matrix_of(log))


def test_the_label_window_is_the_end_of_the_data_and_features_come_before_it() -> None:
    model = fitted()
    w = model.windows
    assert w.label_start == np.floor(TODAY) - 27.0
    assert w.features_end < w.label_start <= w.label_end <= TODAY
    assert set(model.rankers) == {"all", "discovery"}


def test_fitting_refuses_a_log_that_goes_past_the_end_of_its_data() -> None:
    """Occasions after `today` (the cut the model was given) would be labels from the future."""
    log = tiny_shop()
    with pytest.raises(LeakageError, match="not before the cut"):
        TwoStageRecommender(SMALL, times_of(log, 290.0)).fit(matrix_of(log))


def test_new_items_come_in_the_discovery_rankers_order() -> None:
    model = fitted()
    rows = np.arange(N_CUSTOMERS)
    scores = model.score(rows, matrix_of(tiny_shop()).matrix)
    new = model._tables(model.stage, rows, exclude_owned=True)
    order = model._predict("discovery", new)
    owned = model.stage.gens.snap.stats.occasions.toarray() > 0
    for row in rows[:10]:
        mine = new.local == row
        expected = new.items[mine][np.argsort(-order[mine], kind="stable")].tolist()
        unbought = np.where(owned[row], -np.inf, scores[row])
        assert np.argsort(-unbought, kind="stable")[: len(expected)].tolist() == expected


def test_the_same_seed_gives_the_same_model() -> None:
    first, second = fitted(), fitted()
    rows, matrix = np.arange(N_CUSTOMERS), matrix_of(tiny_shop()).matrix
    np.testing.assert_array_equal(first.score(rows, matrix), second.score(rows, matrix))
    assert {t: b.model_to_string() for t, b in first.rankers.items()} == {
        t: b.model_to_string() for t, b in second.rankers.items()
    }
    assert first.feature_importance() == second.feature_importance()


def test_customer_tails_hold_out_each_customers_latest_tenth_and_none_of_a_single_purchase() -> None:
    days = np.array([5.0, 1.0, 3.0, 2.0, 4.0, 9.0, 7.0], dtype=np.float64)
    customers = np.array([0, 0, 0, 0, 0, 1, 2], dtype=np.int32)
    log = PurchaseLog(customers, np.arange(7, dtype=np.int32), days, np.zeros(7, np.float32))
    held = customer_tails(log, 0.3)  # customer 0: ceil(1.5) = 2 latest; 1 and 2: one occasion each
    assert held.tolist() == [True, False, False, False, True, False, False]
    check_tails(log, held, cut=9.0)


def test_tails_refuse_a_feature_after_a_label_and_labels_after_the_cut() -> None:
    log = PurchaseLog(np.zeros(3, np.int32), np.arange(3, dtype=np.int32), np.array([1.0, 2.0, 3.0]), np.zeros(3))
    with pytest.raises(LeakageError, match="after a label"):
        check_tails(log, np.array([False, True, False]), cut=3.0)
    with pytest.raises(LeakageError, match="after the cut"):
        check_tails(log, np.array([False, False, True]), cut=2.5)


def test_auto_takes_a_window_in_a_shop_and_tails_when_few_buy_at_the_end() -> None:
    shop = tiny_shop()
    window = label_windows(shop, TODAY, 28.0, 1)[0]
    assert window_or_tail(shop, window) == "window"  # 29 of 30 customers buy in the last 28 days
    quiet = shop.before(259.0)  # nobody buys on days 231-258
    assert window_or_tail(quiet, label_windows(quiet, 258.0, 28.0, 1)[0]) == "tail"
    model = TwoStageRecommender(SMALL, times_of(quiet, 258.0)).fit(matrix_of(quiet))
    assert model.label_split == "tail" and "all" in model.rankers and model.label_windows == []


def test_label_windows_are_consecutive_and_each_ones_features_end_before_it() -> None:
    windows = label_windows(tiny_shop(), TODAY, 28.0, 3)
    assert [w.label_start for w in windows] == [273.0, 245.0, 217.0]
    for later, earlier in zip(windows, windows[1:], strict=False):
        assert earlier.label_end < later.label_start
    for w in windows:
        w.check(TODAY)
