"""What the training job computes for the personal store and the marketers' micro-segments.

Everything expensive is precomputed once per version (segments, similar items, trending per
segment, new arrivals per customer); the service assembles a store per request from a few
published documents (see `models.contract.store_documents`). Rows are the artifact's customer and item
rows; -1 pads short lists.

Files in a version directory:

    storefront.npz          the arrays below
    segments.json           segment table (names, descriptions, stats, sample customers),
                            loyalty thresholds and the parameters used
    segment_offers.parquet  segment, rank, item_row, lift, score, segment_share, overall_share
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.rules.loyalty import TIERS, Thresholds

ARRAYS = "storefront.npz"
SEGMENTS = "segments.json"
OFFERS = "segment_offers.parquet"
OFFER_COLUMNS = ["segment", "rank", "item_row", "lift", "score", "segment_share", "overall_share"]


@dataclass
class Storefront:
    segment_of: np.ndarray  # int32 [customers]: every customer's one segment
    segments: list[dict[str, Any]]  # segment table, index = segment id
    offers: pd.DataFrame  # OFFER_COLUMNS, best first within each segment
    similar_items: np.ndarray  # int32 [items, k]
    similar_scores: np.ndarray  # float32 [items, k]
    trending_items: np.ndarray  # int32 [segments + 1, k]; the last row is all customers
    trending_scores: np.ndarray  # float32, same shape
    trending_counts: np.ndarray  # float32 [segments + 1, k, 2]: buyers in the recent window / per earlier one
    new_items: np.ndarray  # int32 [m]: recently first-sold items, most bought first
    new_scores: np.ndarray  # float32 [m]
    customer_new_items: np.ndarray  # int32 [customers, k]: new arrivals that fit each customer
    customer_new_scores: np.ndarray  # float32 [customers, k]
    rfm: np.ndarray  # float32 [customers, 4]: recency days, orders, spend, tenure days
    tier: np.ndarray  # int8 [customers]: index into models.rules.loyalty.TIERS
    thresholds: Thresholds
    meta: dict[str, Any] = field(default_factory=dict)  # parameters and windows used

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    def tier_name(self, row: int) -> str:
        return TIERS[int(self.tier[row])]

    def save(self, d: Path) -> None:
        np.savez(d / ARRAYS, **{k: getattr(self, k) for k in _ARRAY_FIELDS})
        self.offers[OFFER_COLUMNS].to_parquet(d / OFFERS, index=False)
        table = {"segments": self.segments, "thresholds": self.thresholds.to_json(), "meta": self.meta}
        (d / SEGMENTS).write_text(json.dumps(table, indent=1, default=str))

    @classmethod
    def load(cls, d: Path) -> Storefront | None:
        """None for a version trained before the storefront existed."""
        if not (d / ARRAYS).is_file():
            return None
        with np.load(d / ARRAYS, allow_pickle=False) as data:
            arrays = {k: data[k] for k in _ARRAY_FIELDS}
        table = json.loads((d / SEGMENTS).read_text())
        return cls(
            segments=table["segments"],
            thresholds=Thresholds(**table["thresholds"]),
            meta=table.get("meta", {}),
            offers=pd.read_parquet(d / OFFERS),
            **arrays,
        )


_ARRAY_FIELDS = (
    "segment_of",
    "similar_items",
    "similar_scores",
    "trending_items",
    "trending_scores",
    "trending_counts",
    "new_items",
    "new_scores",
    "customer_new_items",
    "customer_new_scores",
    "rfm",
    "tier",
)
