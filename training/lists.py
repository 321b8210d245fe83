"""Precompute every customer's ranked candidates, so serving is a lookup, not a computation."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.base import Recommender, top_k

LIST_LENGTH = 100


def precompute_lists(
    model: Recommender, matrix: sp.csr_matrix, offerable: np.ndarray, k: int = LIST_LENGTH, batch_size: int = 2048
) -> dict[str, np.ndarray]:
    """Top-k unbought items (discovery) and top-k of everything (re-purchase) per customer,
    never an item that cannot be offered.

    Both lists come from one model's scores, computed once per batch, so they share one scale:
    `models.ranking.merge_lists` interleaves them by score. Training publishes a blend of the
    repurchase model and the discovery winner, which ranks unbought items exactly as the
    discovery winner does (see `models.blend`).
    """
    n = matrix.shape[0]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in LIST_NAMES}
    for start in range(0, n, batch_size):
        rows = np.arange(start, min(start + batch_size, n))
        seen = matrix[rows]
        scores = model.score(rows, seen)
        scores[:, ~offerable] = -np.inf
        all_items, all_scores = top_k(scores, k)
        bought = seen.tocoo()
        scores[bought.row, bought.col] = -np.inf
        disc_items, disc_scores = top_k(scores, k)
        for name, value in zip(LIST_NAMES, (disc_items, disc_scores, all_items, all_scores)):
            parts[name].append(value)
    return {name: _stack(values, k, name.endswith("items")) for name, values in parts.items()}


LIST_NAMES = ("discovery_items", "discovery_scores", "all_items", "all_scores")


def _stack(values: list[np.ndarray], k: int, ids: bool) -> np.ndarray:
    if values:
        return np.vstack(values)
    return np.zeros((0, k), dtype=np.int64 if ids else np.float32)
