"""Each segment's offer: the items it likes far more than customers in general (lift), that
most of its members have not bought yet.

lift = share of the segment that bought the item / share of all customers that bought it
     = buyers in the segment / buyers expected from the overall rate.
Raw lift explodes for rare items (2 buyers, both in the segment), so items are ranked by a
shrunk lift, (buyers + a) / (expected + a) with `a = smoothing` pseudo-buyers, and need a
minimum share of the segment; both numbers are kept, the raw one for the marketer, the shrunk
one as the ranking `score`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from models.contract.storefront import OFFER_COLUMNS


class OfferParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(40, ge=1, description="offers kept per segment (extra ones refill unavailable items)")
    max_segment_share: float = Field(0.5, gt=0, le=1, description="offer only what most have not bought")
    min_buyers: int = Field(3, ge=1, description="segment buyers an item needs to count as liked")
    min_segment_share: float = Field(0.03, ge=0, le=1, description="share of the segment that must have bought it")
    smoothing: float = Field(5.0, ge=0, description="pseudo-buyers shrinking lift toward 1")


def segment_buyers(labels: np.ndarray, history: sp.csr_matrix, n_segments: int) -> np.ndarray:
    """[segments, items]: how many customers of each segment bought each item."""
    bought = history.tocsr().copy()
    bought.data = np.ones_like(bought.data)
    onehot = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(n_segments, len(labels)))
    return np.asarray((onehot @ bought).todense())


def segment_offers(
    labels: np.ndarray, history: sp.csr_matrix, deliverable: np.ndarray, params: OfferParams
) -> pd.DataFrame:
    """OFFER_COLUMNS rows, best first within each segment; never an undeliverable item."""
    n_segments = int(labels.max()) + 1 if len(labels) else 0
    buyers = segment_buyers(labels, history, n_segments)
    sizes = np.bincount(labels, minlength=n_segments).astype(np.float64)
    overall = buyers.sum(axis=0) / max(len(labels), 1)
    frames = [_one_segment(s, buyers[s], sizes[s], overall, deliverable, params) for s in range(n_segments)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in OFFER_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def _one_segment(
    segment: int, buyers: np.ndarray, size: float, overall: np.ndarray, deliverable: np.ndarray, p: OfferParams
) -> pd.DataFrame:
    share = buyers / size
    expected = overall * size
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(overall > 0, share / overall, 0.0)
    shrunk = (buyers + p.smoothing) / (expected + p.smoothing)
    liked = (buyers >= p.min_buyers) & (share >= p.min_segment_share) & (share < p.max_segment_share)
    ok = deliverable & liked & (shrunk > 1.0)
    rows = np.flatnonzero(ok)
    rows = rows[np.argsort(-shrunk[rows], kind="stable")][: p.k]
    return pd.DataFrame(
        {
            "segment": np.full(len(rows), segment, dtype=np.int32),
            "rank": np.arange(len(rows), dtype=np.int32),
            "item_row": rows.astype(np.int32),
            "lift": lift[rows].astype(np.float32),
            "score": shrunk[rows].astype(np.float32),
            "segment_share": share[rows].astype(np.float32),
            "overall_share": overall[rows].astype(np.float32),
        }
    )
