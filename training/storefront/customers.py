"""Per-customer profiles from the cleaned purchases: recency, frequency, spend, country, basket.

They feed the loyalty tiers, the segment features (RFM next to the ALS taste vectors) and the
segment descriptions marketers read ("typical basket 18 items worth 320").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.algorithms.interactions import IdMap
from models.rules.loyalty import RFM, TIERS, Thresholds, thresholds_from, tier

DAY = pd.Timedelta(days=1)
PROFILE_COLUMNS = ["recency_days", "orders", "spend", "tenure_days", "items_per_order", "order_value", "country"]


def customer_profiles(purchases: pd.DataFrame, customers: IdMap) -> pd.DataFrame:
    """One row per customer row of `customers` (same order), PROFILE_COLUMNS."""
    end = purchases["timestamp"].max()
    order = purchases["invoice"] if purchases["invoice"].notna().any() else purchases["timestamp"].dt.floor("D")
    price = purchases["price"].fillna(0.0).clip(lower=0)
    lines = pd.DataFrame(
        {
            "customer_id": purchases["customer_id"].astype(str).to_numpy(),
            "order": order.astype(str).to_numpy(),
            "item_id": purchases["item_id"].to_numpy(),
            "timestamp": purchases["timestamp"].to_numpy(),
            "value": (purchases["quantity"].fillna(1.0) * price).to_numpy(),
        }
    )
    per_customer = lines.groupby("customer_id").agg(
        first=("timestamp", "min"),
        last=("timestamp", "max"),
        orders=("order", "nunique"),
        spend=("value", "sum"),
        lines=("item_id", "size"),
    )
    out = pd.DataFrame(index=pd.Index(customers.ids, name="customer_id"))
    out = out.join(per_customer)
    out["recency_days"] = (end - out["last"]) / DAY
    out["tenure_days"] = (end - out["first"]) / DAY
    out["orders"] = out["orders"].fillna(0).astype(int)
    out["items_per_order"] = out["lines"] / out["orders"].clip(lower=1)
    out["order_value"] = out["spend"] / out["orders"].clip(lower=1)
    out["country"] = _main_country(purchases).reindex(out.index).fillna("unknown").to_numpy()
    return out[PROFILE_COLUMNS].fillna({"recency_days": 0.0, "tenure_days": 0.0, "spend": 0.0})


def _main_country(purchases: pd.DataFrame) -> pd.Series:
    """Each customer's most frequent country (a few customers order from two)."""
    rows = purchases[["customer_id", "country"]].dropna()
    if rows.empty:
        return pd.Series(dtype=object)
    counts = rows.assign(customer_id=rows["customer_id"].astype(str)).value_counts(["customer_id", "country"])
    top = counts.reset_index().drop_duplicates("customer_id")
    return top.set_index("customer_id")["country"]


def rfm_array(profiles: pd.DataFrame) -> np.ndarray:
    cols = ["recency_days", "orders", "spend", "tenure_days"]
    return profiles[cols].to_numpy(dtype=np.float32)


def loyalty_tiers(profiles: pd.DataFrame) -> tuple[np.ndarray, Thresholds]:
    """Tier index per customer (into `models.rules.loyalty.TIERS`) and the shop's thresholds."""
    th = thresholds_from(profiles["orders"].to_numpy(), profiles["spend"].to_numpy())
    names = [
        tier(RFM(float(r), int(o), float(s), float(t)), th)
        for r, o, s, t in profiles[["recency_days", "orders", "spend", "tenure_days"]].itertuples(index=False)
    ]
    index = {name: i for i, name in enumerate(TIERS)}
    return np.fromiter((index[n] for n in names), dtype=np.int8, count=len(names)), th
