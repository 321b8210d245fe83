"""From cleaned purchase lines to the matrices a model learns from.

Raw units make bad confidence: one wholesaler ordering 2,400 tea lights would outweigh a hundred
customers who each bought a pack. So each (customer, item) pair counts *purchase occasions*
(distinct invoices, or days when there is no invoice), optionally decayed by age so recent
taste weighs more, then log-scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from models.algorithms.interactions import IdMap, Interactions, sorted_codes
from models.algorithms.timed import PurchaseLog
from models.rules.replenishment import ReplenishmentStats, replenishment_stats


class WeightParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: str = "log"  # "log": 1 + log1p(occasions); "binary": 1; "count": occasions
    half_life_days: float | None = 180.0  # recency decay of each occasion; None = no decay


@dataclass(frozen=True)
class Occasions:
    """One entry per (customer, item, occasion) as integer codes into sorted unique ids."""

    customer_codes: np.ndarray
    item_codes: np.ndarray
    occasion_codes: np.ndarray
    timestamp: pd.Series  # the occasion's latest line
    customer_ids: np.ndarray
    item_ids: np.ndarray
    occasion_ids: np.ndarray  # invoice numbers, or days


def occasions(purchases: pd.DataFrame) -> Occasions:
    """Repeated lines on one invoice (or one day, without invoices) count once. Ids are hashed
    once into integer codes, and the grouping runs on those codes, not on strings."""
    has_invoice = purchases["invoice"].notna().any()
    occasion = purchases["invoice"] if has_invoice else purchases["timestamp"].dt.floor("D")
    cust, cust_ids = sorted_codes(purchases["customer_id"])
    item, item_ids = sorted_codes(purchases["item_id"])
    occ, occ_ids = pd.factorize(occasion)
    codes = pd.DataFrame({"c": cust, "i": item, "o": occ, "t": purchases["timestamp"].to_numpy()})
    grouped = codes.groupby(["c", "i", "o"], sort=False, as_index=False)["t"].max()
    return Occasions(
        grouped["c"].to_numpy(),
        grouped["i"].to_numpy(),
        grouped["o"].to_numpy(),
        grouped["t"],
        cust_ids,
        item_ids,
        np.asarray(occ_ids),
    )


def purchase_occasions(purchases: pd.DataFrame) -> pd.DataFrame:
    """One row per (customer, item, occasion) with its time, as ids (see `occasions`)."""
    occ = occasions(purchases)
    return pd.DataFrame(
        {
            "customer_id": occ.customer_ids[occ.customer_codes],
            "item_id": occ.item_ids[occ.item_codes],
            "occasion": occ.occasion_ids[occ.occasion_codes],
            "timestamp": occ.timestamp.to_numpy(),
        }
    )


def confidence_weights(timestamps: pd.Series | pd.DataFrame, params: WeightParams, now: pd.Timestamp) -> np.ndarray:
    """Each occasion's weight: halved every `half_life_days` of age (times, or occasion rows)."""
    if isinstance(timestamps, pd.DataFrame):
        timestamps = timestamps["timestamp"]
    if params.half_life_days is None:
        return np.ones(len(timestamps), dtype=np.float32)
    age_days = (now - timestamps).dt.total_seconds().to_numpy() / 86400.0
    return np.power(0.5, np.clip(age_days, 0, None) / params.half_life_days).astype(np.float32)


def build_interactions(
    purchases: pd.DataFrame, params: WeightParams, items: IdMap | None = None
) -> tuple[Interactions, Interactions]:
    """(confidence matrix for the model, plain occasion counts as the purchase history)."""
    occ = occasions(purchases)
    customers = IdMap.from_ids(occ.customer_ids)
    rows, cols = occ.customer_codes, occ.item_codes
    if items is None:
        items = IdMap.from_ids(occ.item_ids)
        keep = slice(None)
    else:
        cols = items.rows(occ.item_ids)[cols]
        keep = cols >= 0
        rows, cols = rows[keep], cols[keep]
    history = Interactions.from_rows(customers, items, rows, cols, np.ones(len(rows)))
    weights = confidence_weights(occ.timestamp, params, purchases["timestamp"].max())[keep]
    matrix = Interactions.from_rows(customers, items, rows, cols, weights).matrix
    if params.scheme == "binary":
        matrix.data[:] = 1.0
    elif params.scheme != "count":  # "log"
        matrix.data = (1.0 + np.log1p(matrix.data)).astype(np.float32)
    return Interactions(customers, items, matrix), history


def day_number(timestamps: pd.Series) -> np.ndarray:
    """Days since the epoch, fractional: the unit of every replenishment rhythm."""
    return timestamps.to_numpy(dtype="datetime64[s]").astype(np.int64) / 86400.0


def build_replenishment(purchases: pd.DataFrame, interactions: Interactions) -> ReplenishmentStats:
    occ = occasions(purchases)
    rows = interactions.customers.rows(occ.customer_ids)[occ.customer_codes]
    cols = interactions.items.rows(occ.item_ids)[occ.item_codes]
    keep = (rows >= 0) & (cols >= 0)
    days = day_number(occ.timestamp)
    return replenishment_stats(rows[keep], cols[keep], days[keep], interactions.shape)


def purchase_log(purchases: pd.DataFrame, interactions: Interactions) -> PurchaseLog:
    """Every purchase occasion as matrix rows and day numbers, and each item's median price:
    what a model that cuts the history at an earlier day reads (`models.algorithms.timed`)."""
    occ = occasions(purchases)
    rows = interactions.customers.rows(occ.customer_ids)[occ.customer_codes]
    cols = interactions.items.rows(occ.item_ids)[occ.item_codes]
    keep = (rows >= 0) & (cols >= 0)
    price = purchases.groupby("item_id", sort=False)["price"].median()
    item_price = price.reindex(interactions.items.ids).to_numpy(dtype=np.float64, na_value=np.nan)
    return PurchaseLog(
        rows[keep].astype(np.int32),
        cols[keep].astype(np.int32),
        day_number(occ.timestamp)[keep],
        item_price.astype(np.float32),
    )


def customer_countries(purchases: pd.DataFrame, customers: IdMap) -> np.ndarray:
    """Each customer's most frequent country ("" when the purchases name none): outbound quiet
    hours follow the customer's local time."""
    known = purchases.loc[purchases["country"].notna(), ["customer_id", "country"]]
    counts = known.groupby(["customer_id", "country"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["customer_id", "n", "country"], ascending=[True, False, True], kind="stable")
    mode = counts.drop_duplicates("customer_id").set_index("customer_id")["country"]
    return np.asarray(mode.reindex(customers.ids).fillna("").astype(str).to_numpy(), dtype=str)
