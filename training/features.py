"""From cleaned purchase lines to the matrices a model learns from.

Raw units make bad confidence: one wholesaler ordering 2,400 tea lights would outweigh a hundred
customers who each bought a pack. So each (customer, item) pair counts *purchase occasions*
(distinct invoices, or days when there is no invoice), optionally decayed by age so recent
taste weighs more, then log-scaled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from models.interactions import IdMap, Interactions
from models.replenishment import ReplenishmentStats, replenishment_stats


class WeightParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: str = "log"  # "log": 1 + log1p(occasions); "binary": 1; "count": occasions
    half_life_days: float | None = 180.0  # recency decay of each occasion; None = no decay


def purchase_occasions(purchases: pd.DataFrame) -> pd.DataFrame:
    """One row per (customer, item, occasion) with its time: repeated lines on one invoice
    count once."""
    occasion = purchases["invoice"] if purchases["invoice"].notna().any() else purchases["timestamp"].dt.floor("D")
    frame = pd.DataFrame(
        {
            "customer_id": purchases["customer_id"].to_numpy(),
            "item_id": purchases["item_id"].to_numpy(),
            "occasion": occasion.to_numpy(),
            "timestamp": purchases["timestamp"].to_numpy(),
        }
    )
    return frame.groupby(["customer_id", "item_id", "occasion"], sort=False, as_index=False)["timestamp"].max()


def confidence_weights(occasions: pd.DataFrame, params: WeightParams, now: pd.Timestamp) -> np.ndarray:
    if params.half_life_days is None:
        return np.ones(len(occasions), dtype=np.float32)
    age_days = (now - occasions["timestamp"]).dt.total_seconds().to_numpy() / 86400.0
    return np.power(0.5, np.clip(age_days, 0, None) / params.half_life_days).astype(np.float32)


def build_interactions(
    purchases: pd.DataFrame, params: WeightParams, items: IdMap | None = None
) -> tuple[Interactions, Interactions]:
    """(confidence matrix for the model, plain occasion counts as the purchase history)."""
    occ = purchase_occasions(purchases)
    now = purchases["timestamp"].max()
    customers, item_ids = occ["customer_id"].to_numpy(), occ["item_id"].to_numpy()
    history = Interactions.from_triples(customers, item_ids, np.ones(len(occ)), items=items)
    decayed = Interactions.from_triples(customers, item_ids, confidence_weights(occ, params, now), items=history.items)
    matrix = decayed.matrix
    if params.scheme == "binary":
        matrix.data[:] = 1.0
    elif params.scheme != "count":  # "log"
        matrix.data = (1.0 + np.log1p(matrix.data)).astype(np.float32)
    return Interactions(history.customers, history.items, matrix), history


def day_number(timestamps: pd.Series) -> np.ndarray:
    """Days since the epoch, fractional: the unit of every replenishment rhythm."""
    return timestamps.to_numpy(dtype="datetime64[s]").astype(np.int64) / 86400.0


def build_replenishment(purchases: pd.DataFrame, interactions: Interactions) -> ReplenishmentStats:
    occ = purchase_occasions(purchases)
    rows = interactions.customers.rows(occ["customer_id"].to_numpy())
    cols = interactions.items.rows(occ["item_id"].to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    days = day_number(occ["timestamp"])
    return replenishment_stats(rows[keep], cols[keep], days[keep], interactions.shape)


def customer_countries(purchases: pd.DataFrame, customers: IdMap) -> np.ndarray:
    """Each customer's most frequent country ("" when the purchases name none): outbound quiet
    hours follow the customer's local time."""
    known = purchases.loc[purchases["country"].notna(), ["customer_id", "country"]]
    counts = known.groupby(["customer_id", "country"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["customer_id", "n", "country"], ascending=[True, False, True], kind="stable")
    mode = counts.drop_duplicates("customer_id").set_index("customer_id")["country"]
    return np.asarray(mode.reindex(customers.ids).fillna("").astype(str).to_numpy(), dtype=str)
