"""Precompute every customer's ranked candidates, so serving is a lookup, not a computation."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.base import Recommender
from models.interactions import IdMap

LIST_LENGTH = 100


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
    rows = np.arange(matrix.shape[0])
    blocked = ~offerable
    disc_items, disc_scores = model.recommend(rows, matrix, k, exclude_seen=True, blocked=blocked)
    all_items, all_scores = model.recommend(rows, matrix, k, exclude_seen=False, blocked=blocked)
    return {
        "discovery_items": disc_items,
        "discovery_scores": disc_scores,
        "all_items": all_items,
        "all_scores": all_scores,
    }
