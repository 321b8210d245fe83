"""Norm-bounded top-k search gives exactly the dense answer."""

from __future__ import annotations

import numpy as np
import pytest

from models.algorithms.base import top_k
from models.algorithms.search.inner_product import top_k_inner_products


def factors(n: int, rng: np.random.Generator, skew: float) -> np.ndarray:
    """Vectors whose lengths fall off like item popularity does in implicit-feedback ALS."""
    lengths = 1.0 / (1.0 + np.arange(n)) ** skew
    return (rng.standard_normal((n, 16)) * rng.permutation(lengths)[:, None]).astype(np.float32)


@pytest.mark.parametrize("skew", [0.0, 0.7, 1.5])
@pytest.mark.parametrize("k", [1, 10, 40])
def test_same_items_and_scores_as_dense_scoring(skew: float, k: int) -> None:
    rng = np.random.default_rng(3)
    queries, items = factors(300, rng, 0.3), factors(3000, rng, skew)
    ids, scores = top_k_inner_products(queries, items, k, batch_size=128, head=64)
    dense_ids, dense_scores = top_k(queries @ items.T, k)
    assert np.array_equal(ids, dense_ids)
    assert np.allclose(scores, dense_scores, rtol=1e-5, atol=1e-6)


def test_fewer_items_than_k_are_padded() -> None:
    rng = np.random.default_rng(4)
    ids, scores = top_k_inner_products(factors(5, rng, 0.0), factors(3, rng, 0.0), 5)
    assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()
    assert sorted(ids[0, :3].tolist()) == [0, 1, 2]


def test_zero_query_still_gets_k_items() -> None:
    rng = np.random.default_rng(5)
    queries = np.zeros((2, 16), dtype=np.float32)
    ids, scores = top_k_inner_products(queries, factors(500, rng, 1.0), 7, head=20)
    assert (ids >= 0).all() and (scores == 0).all()
