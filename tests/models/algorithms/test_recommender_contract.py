"""The same contract for every recommender, on a checkerboard whose right answer is known:
customers in group A buy only A items, group B only B items."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.algorithms.als import ALSParams, ALSRecommender
from models.algorithms.base import NotFittedError, Recommender, top_k
from models.algorithms.blend import BlendRecommender
from models.algorithms.interactions import Interactions
from models.algorithms.registry import MODEL_TYPES, load_model, new_model
from models.algorithms.timed import PurchaseLog, PurchaseTimes, TimeAwareRecommender
from models.rules.replenishment import replenishment_stats

N_CUSTOMERS, N_ITEMS = 40, 20


def checkerboard() -> Interactions:
    """Customer c buys every item of its half except item (c % 10) of that half."""
    rows, cols = [], []
    for c in range(N_CUSTOMERS):
        half = 0 if c < N_CUSTOMERS // 2 else N_ITEMS // 2
        for i in range(half, half + N_ITEMS // 2):
            if i != half + c % (N_ITEMS // 2):
                rows.append(f"c{c:02d}")
                cols.append(f"i{i:02d}")
    return Interactions.from_triples(np.array(rows), np.array(cols), np.ones(len(rows)))


def checkerboard_times() -> PurchaseTimes:
    """Purchase days for the checkerboard: customer c bought item i on day 100 - (c + i) % 30,
    item i a second time on day 60 when i is even (so some items have a rhythm)."""
    coo = checkerboard().matrix.tocoo()
    rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    days = 100.0 - (rows + cols) % 30
    again = cols % 2 == 0
    log = PurchaseLog(
        np.concatenate([rows, rows[again]]).astype(np.int32),
        np.concatenate([cols, cols[again]]).astype(np.int32),
        np.concatenate([days, np.full(again.sum(), 60.0)]),
        np.linspace(1.0, 5.0, N_ITEMS).astype(np.float32),
    )
    stats = replenishment_stats(log.customer_rows, log.item_rows, log.days, (N_CUSTOMERS, N_ITEMS))
    return PurchaseTimes(stats, today=100.0, log=log)


# Parameters that suit a 40 x 20 checkerboard; every other model runs with its defaults.
SMALL: dict[str, dict[str, object]] = {
    "als": {"factors": 4, "iterations": 20, "regularization": 0.01},
    "ease": {"l2": 1.0},
    "tifu_knn": {"neighbours": 5},
    "two_stage": {"als_factors": 4, "ease_l2": 1.0, "per_generator": 5, "segments": 2, "min_leaf": 5, "label_days": 20},
}
# Every registered model, so a new one cannot skip the contract, and a variant or two.
CASES = {name: (name, SMALL.get(name)) for name in sorted(MODEL_TYPES)}
CASES["item_knn_cosine"] = ("item_knn", {"similarity": "cosine"})


def build(name: str, params: dict[str, object] | None = None) -> Recommender:
    """The registry's model, given purchase times when it reads them; a blend of repurchase and
    EASE (a part with a sparse support and a dense one)."""
    model = new_model(name, params)
    if isinstance(model, TimeAwareRecommender):
        model.with_times(checkerboard_times())
    if isinstance(model, BlendRecommender):
        model.parts = [(build("repurchase"), 1.0), (build("ease", SMALL["ease"]), 0.3)]
    return model


@pytest.fixture(params=list(CASES.values()), ids=list(CASES))
def model(request: pytest.FixtureRequest) -> Recommender:
    return build(*request.param)


def test_the_contract_covers_every_registered_model() -> None:
    assert {family for family, _ in CASES.values()} == set(MODEL_TYPES)


def test_unfitted_model_says_to_fit_first(model: Recommender) -> None:
    data = checkerboard()
    with pytest.raises(NotFittedError, match="call `fit` first"):
        model.recommend(np.arange(2), data.matrix, 3)


def test_recommend_never_returns_seen_items(model: Recommender) -> None:
    data = checkerboard()
    ids, _ = model.fit(data).recommend(np.arange(N_CUSTOMERS), data.matrix, 5)
    for row in range(N_CUSTOMERS):
        seen = set(data.matrix[row].indices)
        assert not seen & set(ids[row][ids[row] >= 0])


def test_scores_sorted_and_no_duplicates(model: Recommender) -> None:
    data = checkerboard()
    ids, scores = model.fit(data).recommend(np.arange(N_CUSTOMERS), data.matrix, 8, exclude_seen=False)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
    for row in ids:
        assert len(set(row.tolist())) == len(row)


def test_blocked_items_never_recommended(model: Recommender) -> None:
    data = checkerboard()
    blocked = np.zeros(N_ITEMS, dtype=bool)
    blocked[[0, 5, 15]] = True
    ids, _ = model.fit(data).recommend(np.arange(N_CUSTOMERS), data.matrix, 10, exclude_seen=False, blocked=blocked)
    assert not set(ids.ravel().tolist()) & {0, 5, 15}


def test_save_load_does_not_change_model(model: Recommender, tmp_path: Path) -> None:
    data = checkerboard()
    model.fit(data)
    before = model.score(np.arange(5), data.matrix[:5])
    model.save(tmp_path / "m.npz")
    restored = load_model(model.name, tmp_path / "m.npz")
    assert type(restored) is type(model) and restored.params == model.params
    np.testing.assert_allclose(restored.score(np.arange(5), data.matrix[:5]), before, rtol=1e-6)


def test_als_recommends_the_missing_item_of_its_own_half() -> None:
    data = checkerboard()
    model = ALSRecommender(ALSParams(factors=4, iterations=30, regularization=0.01)).fit(data)
    ids, _ = model.recommend(np.arange(N_CUSTOMERS), data.matrix, 1)
    for row, cid in enumerate(data.customers.ids):
        c = int(cid[1:])
        half = 0 if c < N_CUSTOMERS // 2 else N_ITEMS // 2
        assert data.items.ids[ids[row, 0]] == f"i{half + c % (N_ITEMS // 2):02d}"


def test_als_similar_items_stay_in_their_half() -> None:
    data = checkerboard()
    model = ALSRecommender(ALSParams(factors=4, iterations=30, regularization=0.01)).fit(data)
    ids, _ = model.similar_items(np.array([0, 15]), 3)
    assert all(i < 10 for i in ids[0]) and all(i >= 10 for i in ids[1])
    assert 0 not in ids[0] and 15 not in ids[1]


def test_als_fold_in_reproduces_a_known_customer() -> None:
    data = checkerboard()
    model = ALSRecommender(ALSParams(factors=4, iterations=30, regularization=0.01)).fit(data)
    vec = model.fold_in(data.matrix[[3]])
    assert np.corrcoef(vec[0], model.user_factors[3])[0, 1] > 0.95


def test_top_k_pads_when_fewer_candidates() -> None:
    scores = np.array([[0.5, -np.inf, 0.9]], dtype=np.float32)
    ids, vals = top_k(scores, 4)
    assert ids.tolist() == [[2, 0, -1, -1]]
    assert vals[0, 0] == pytest.approx(0.9)
