"""One-pass precomputed lists equal the two dense passes they replace."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from models.algorithms.als import ALSParams, ALSRecommender
from models.algorithms.blend import BlendRecommender
from models.algorithms.interactions import Interactions
from models.algorithms.popular import PopularityRecommender
from models.rules.ranking import bought_mask
from training.lists import SPARE, first_unbought, precompute_lists


def random_interactions(rng: np.random.Generator, n_customers: int = 300, n_items: int = 400) -> Interactions:
    pop = 1.0 / (1.0 + np.arange(n_items))
    rows = rng.integers(0, n_customers, 6000)
    cols = rng.choice(n_items, 6000, p=pop / pop.sum())
    rows[:300], cols[:300] = 0, np.arange(300)  # customer 0 bought nearly everything popular
    return Interactions.from_triples(rows.astype(str), cols.astype(str), np.ones(len(rows)))


BLEND = BlendRecommender([(PopularityRecommender(), 0.4), (ALSRecommender(ALSParams(factors=8, iterations=5)), 1.0)])


@pytest.mark.parametrize(
    "model", [ALSRecommender(ALSParams(factors=8, iterations=5)), PopularityRecommender(), BLEND], ids=str
)
def test_lists_equal_dense_recommend(model) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    inter = random_interactions(rng)
    model.fit(inter)
    offerable = rng.random(inter.shape[1]) > 0.1
    lists = precompute_lists(model, inter.matrix, offerable, k=50)
    rows = np.arange(inter.shape[0])
    disc = model.recommend(rows, inter.matrix, 50, exclude_seen=True, blocked=~offerable)
    every = model.recommend(rows, inter.matrix, 50, exclude_seen=False, blocked=~offerable)
    assert np.allclose(lists["discovery_scores"], disc[1], atol=1e-5)
    assert np.allclose(lists["all_scores"], every[1], atol=1e-5)
    if isinstance(model, ALSRecommender):  # popularity has ties, whose order may differ
        assert (lists["discovery_items"] == disc[0]).mean() > 0.99
        assert (lists["all_items"] == every[0]).mean() > 0.99
    bought_row0 = set(inter.matrix[0].indices.tolist())
    assert len(bought_row0) > SPARE and not bought_row0 & set(lists["discovery_items"][0].tolist())


def test_bought_mask_finds_exactly_the_purchases() -> None:
    history = sp.csr_matrix(np.array([[1, 0, 2, 0], [0, 0, 0, 1]], dtype=np.float32))
    items = np.array([[2, 1, 0, -1], [3, 0, 2, 1]])
    expected = [[True, False, True, False], [True, False, False, False]]
    assert bought_mask(history, items).tolist() == expected


def test_first_unbought_keeps_order_and_pads() -> None:
    items = np.array([[5, 6, 7, 8]])
    scores = np.array([[4.0, 3.0, 2.0, 1.0]], dtype=np.float32)
    picked, picked_scores = first_unbought(items, scores, np.array([[False, True, False, True]]), 3)
    assert picked.tolist() == [[5, 7, -1]]
    assert picked_scores[0, :2].tolist() == [4.0, 2.0] and np.isneginf(picked_scores[0, 2])
