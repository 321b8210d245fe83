"""Precompute every customer's ranked candidates, so serving is a lookup, not a computation.

Both lists (top unbought = discovery, top of everything = re-purchase) come from one scoring
pass: the top `k + spare` of everything, from which discovery is the first `k` items the
customer has not bought. Only customers who bought more than `spare` of their own top items
need a second, exact pass. A factor model (ALS) is searched with norm-bounded pruning
(`models.inner_product`), which scores a small fraction of the items per customer.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.als import ALSRecommender
from models.base import Recommender
from models.inner_product import top_k_inner_products
from models.interactions import IdMap
from models.ranking import bought_mask

LIST_LENGTH = 100
SPARE = 32  # extra candidates so bought items can be skipped without a second pass
_ROWS_PER_CHUNK = 65_536


def offerable_mask(items: IdMap, catalog: pd.DataFrame, today: date) -> np.ndarray:
    """True for items that may be promised today (available, and available_from not ahead)."""
    cat = catalog.drop_duplicates("item_id").set_index("item_id").reindex(items.ids)
    available = cat["available"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    starts = pd.to_datetime(cat["available_from"], errors="coerce")
    not_yet = (starts > pd.Timestamp(today)).fillna(False).to_numpy(dtype=bool)
    return available & ~not_yet


def precompute_lists(
    model: Recommender, matrix: sp.csr_matrix, offerable: np.ndarray, k: int = LIST_LENGTH
) -> dict[str, np.ndarray]:
    """Top-k unbought items (discovery) and top-k of everything (re-purchase) per customer,
    never an item that cannot be offered."""
    matrix = matrix.tocsr()
    cand_items, cand_scores = top_candidates(model, matrix, offerable, k + SPARE)
    disc_items = np.full((matrix.shape[0], k), -1, dtype=np.int32)
    disc_scores = np.full((matrix.shape[0], k), -np.inf, dtype=np.float32)
    for start in range(0, matrix.shape[0], _ROWS_PER_CHUNK):
        stop = min(start + _ROWS_PER_CHUNK, matrix.shape[0])
        items, scores = cand_items[start:stop], cand_scores[start:stop]
        bought = bought_mask(matrix[start:stop], items)
        disc_items[start:stop], disc_scores[start:stop] = first_unbought(items, scores, bought, k)
    _redo_short_rows(model, matrix, offerable, cand_items, disc_items, disc_scores)
    return {
        "discovery_items": disc_items,
        "discovery_scores": disc_scores,
        "all_items": np.ascontiguousarray(cand_items[:, :k], dtype=np.int32),
        "all_scores": np.ascontiguousarray(cand_scores[:, :k]),
    }


def top_candidates(
    model: Recommender, matrix: sp.csr_matrix, offerable: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k offerable item rows of every customer (bought or not) and their scores."""
    if isinstance(model, ALSRecommender):
        allowed = np.append(np.flatnonzero(offerable), -1).astype(np.int32)  # row -1 stays -1
        rows, scores = top_k_inner_products(model.user_factors, model.item_factors[allowed[:-1]], k)
        return allowed[rows], scores
    customers = np.arange(matrix.shape[0])
    return model.recommend(customers, matrix, k, exclude_seen=False, blocked=~offerable)


def first_unbought(
    items: np.ndarray, scores: np.ndarray, bought: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the first `k` candidates not bought (in order), padded with -1 / -inf."""
    usable = ~bought & (items >= 0)
    order = np.argsort(~usable, axis=1, kind="stable")[:, :k]
    keep = np.take_along_axis(usable, order, axis=1)
    picked = np.where(keep, np.take_along_axis(items, order, axis=1), -1).astype(np.int32)
    return picked, np.where(keep, np.take_along_axis(scores, order, axis=1), -np.inf).astype(np.float32)


def _redo_short_rows(
    model: Recommender,
    matrix: sp.csr_matrix,
    offerable: np.ndarray,
    cand_items: np.ndarray,
    disc_items: np.ndarray,
    disc_scores: np.ndarray,
) -> None:
    """Customers who bought so many of their own top items that the spare ran out (their
    candidate list is full, yet discovery is not) get an exact pass with purchases masked."""
    k = disc_items.shape[1]
    short = np.flatnonzero((disc_items[:, k - 1] < 0) & (cand_items[:, -1] >= 0))
    if len(short):
        items, scores = model.recommend(short, matrix, k, exclude_seen=True, blocked=~offerable)
        disc_items[short], disc_scores[short] = items, scores
