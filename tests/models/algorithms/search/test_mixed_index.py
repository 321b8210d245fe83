"""Top-k of vectors plus exactly bounded shared columns equals dense scoring."""

from __future__ import annotations

import numpy as np
import pytest

from models.algorithms.base import top_k
from models.algorithms.search.mixed_index import MixedIndex


@pytest.mark.parametrize("k", [1, 4, 30])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_same_items_and_scores_as_dense_scoring(k: int, sign: float) -> None:
    rng = np.random.default_rng(7)
    lengths = 1.0 / (1.0 + np.arange(4000)) ** 1.2
    vectors = (rng.standard_normal((4000, 16)) * rng.permutation(lengths)[:, None]).astype(np.float32)
    columns = np.stack([rng.random(4000) ** 8, 1e-9 * rng.random(4000)], axis=1).astype(np.float32)
    queries = rng.standard_normal((500, 18)).astype(np.float32)
    queries[:, :16] *= rng.choice([1.0, 1e-3], size=(500, 1))  # short vectors: a column decides
    queries[:, 16:] = sign * np.abs(queries[:, 16:])
    ids, scores = MixedIndex(vectors, columns).search(queries, k, head=32, batch_size=128)
    dense_ids, dense_scores = top_k(queries @ np.hstack([vectors, columns]).T, k)
    assert np.allclose(scores, dense_scores, rtol=1e-5, atol=1e-6)
    assert (ids == dense_ids).mean() > 0.999  # near-ties may swap


def test_fewer_items_than_k_are_padded() -> None:
    rng = np.random.default_rng(8)
    vectors, columns = rng.standard_normal((3, 4)).astype(np.float32), rng.random((3, 1)).astype(np.float32)
    ids, scores = MixedIndex(vectors, columns).search(rng.standard_normal((2, 5)), 5)
    assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()
    assert sorted(ids[0, :3].tolist()) == [0, 1, 2]
