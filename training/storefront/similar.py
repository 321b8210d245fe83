"""Similar items, precomputed for every item: "because you bought X" and /items/{id}/similar.

Two sources: item-item cosine over who bought what (`cosine`, the default) or the cosine of the
ALS item vectors (`als`). On the bundled year the co-purchase cosine found a later purchase of
the customer among an item's top 10 more often (benchmarks/bench_similar_items.py, numbers in
docs/similar_items.md), so it is the default.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import ItemItemRecommender
from sklearn.preprocessing import normalize

from models.algorithms.base import Recommender

SimilarSource = Literal["cosine", "als"]


def cosine_neighbours(history: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k items per item by cosine of their buyer columns, itself excluded; -1 padded."""
    buyers = history.tocsr().astype(np.float64)
    buyers.data = np.ones_like(buyers.data)  # who bought, not how often: wholesalers would dominate
    knn = ItemItemRecommender(K=k + 1, num_threads=1)
    knn.fit(normalize(buyers, axis=0, copy=True).tocsr(), show_progress=False)
    return _top_rows(knn.similarity.tocsr(), k)


def model_neighbours(model: Recommender, n_items: int, k: int, batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    items = np.full((n_items, k), -1, dtype=np.int32)
    scores = np.zeros((n_items, k), dtype=np.float32)
    for start in range(0, n_items, batch):
        rows = np.arange(start, min(start + batch, n_items))
        ids, vals = model.similar_items(rows, k)
        items[rows] = ids
        scores[rows] = np.where(ids >= 0, vals, 0.0)
    return items, scores


def similar_items(
    source: SimilarSource, history: sp.csr_matrix, model: Recommender, k: int
) -> tuple[np.ndarray, np.ndarray]:
    if source == "als":
        return model_neighbours(model, history.shape[1], k)
    return cosine_neighbours(history, k)


def _top_rows(sim: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = sim.shape[0]
    items = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    for row in range(n):
        lo, hi = sim.indptr[row], sim.indptr[row + 1]
        cols, vals = sim.indices[lo:hi], sim.data[lo:hi]
        others = (cols != row) & (vals > 0)
        cols, vals = cols[others], vals[others]
        order = np.argsort(-vals, kind="stable")[:k]
        items[row, : len(order)] = cols[order]
        scores[row, : len(order)] = vals[order]
    return items, scores
