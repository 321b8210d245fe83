"""Trending: items whose buyers within a group of customers are rising right now.

The recent window (default the last 4 weeks of data) is compared with the mean of the
`earlier_windows` windows before it. The score is a Poisson-style z value,
(recent - expected) / sqrt(expected + 1): a jump from 0 to 2 buyers in a small segment does not
outrank a jump from 20 to 40 in a big one, and an item nobody bought before can still trend.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field


class TrendingParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: float = Field(28.0, gt=0)
    earlier_windows: int = Field(3, ge=1)
    min_buyers: int = Field(2, ge=1, description="recent buyers an item needs to trend")
    k: int = Field(30, ge=1)


def buyers_in(
    customer_rows: np.ndarray, item_rows: np.ndarray, keep: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Binary customer x item matrix of the occasions selected by `keep`."""
    m = sp.csr_matrix((np.ones(int(keep.sum())), (customer_rows[keep], item_rows[keep])), shape=shape)
    m.data = np.ones_like(m.data)
    return m


def group_counts(labels: np.ndarray, n_groups: int, bought: sp.csr_matrix) -> np.ndarray:
    """[n_groups + 1, items] distinct buyers per group; the last row counts everyone."""
    onehot = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(n_groups, len(labels)))
    per_group = np.asarray((onehot @ bought).todense())
    return np.vstack([per_group, per_group.sum(axis=0, keepdims=True)])


def trending(
    customer_rows: np.ndarray,
    item_rows: np.ndarray,
    days: np.ndarray,
    labels: np.ndarray,
    shape: tuple[int, int],
    end_day: float,
    deliverable: np.ndarray,
    params: TrendingParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment (and a last row for all customers): top-k item rows, scores and
    [recent buyers, mean buyers per earlier window]; -1 / 0 padded."""
    n_groups = int(labels.max()) + 1 if len(labels) else 0

    def buyers_per_group(window: int) -> np.ndarray:  # window 0 = the recent one, 1 = the one before, ...
        end = end_day - params.window_days * window
        keep = (days > end - params.window_days) & (days <= end)
        return group_counts(labels, n_groups, buyers_in(customer_rows, item_rows, keep, shape))

    now = buyers_per_group(0)
    # Each earlier window counted alone: the same regulars every month are steady, not rising.
    earlier = [buyers_per_group(w) for w in range(1, params.earlier_windows + 1)]
    expected = np.mean(earlier, axis=0)
    score = (now - expected) / np.sqrt(expected + 1.0)
    ok = (now >= params.min_buyers) & (score > 0) & deliverable[None, :]
    score = np.where(ok, score, -np.inf)
    k = params.k
    items = np.full((n_groups + 1, k), -1, dtype=np.int32)
    scores = np.zeros((n_groups + 1, k), dtype=np.float32)
    counts = np.zeros((n_groups + 1, k, 2), dtype=np.float32)
    for g in range(n_groups + 1):
        top = np.argsort(-score[g], kind="stable")[:k]
        top = top[np.isfinite(score[g, top])]
        items[g, : len(top)] = top
        scores[g, : len(top)] = score[g, top]
        counts[g, : len(top), 0] = now[g, top]
        counts[g, : len(top), 1] = expected[g, top]
    return items, scores, counts
