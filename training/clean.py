"""Turn loaded purchases into the interactions the recommender trains on.

Each rule is a small function so it can be tested alone, and each one's
effect is counted: when a model looks odd, the first question is "how many
rows did cleaning throw away, and why?", and ``CleanResult.counts`` answers it.
Counts are additive: rows_in = dropped_no_customer + dropped_forgotten
+ dropped_non_product + returns + dropped_zero_price + purchases_out.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

# Stock codes of Online Retail (I and II) that are fees, postage, adjustments,
# samples, vouchers or tests rather than things a customer would want
# recommended. Verified against data/online_retail_ii_2009_2010.parquet.
# Codes without any digit are caught by rule as well (POST, DOT, M, D, S, B,
# PADS, AMAZONFEE, BANK CHARGES, CRUK, ...); the set also lists those with digits.
NON_PRODUCT_CODES: frozenset[str] = frozenset({
    "POST", "DOT", "M", "m", "D", "S", "B", "C2", "C3", "CRUK", "PADS", "BANK CHARGES",
    "AMAZONFEE", "ADJUST", "ADJUST2", "TEST001", "TEST002", "GIFT", "SAMPLES",
})
_NON_PRODUCT_PREFIXES = ("gift_", "test")  # gift_0001_20 vouchers, TEST001 (matched lower-case)

CATALOG_OUT_COLUMNS = ["item_id", "title", "price", "category", "available", "available_from",
                       "first_sold", "last_sold"]


@dataclass(frozen=True)
class CleanResult:
    """Cleaned purchases, the returns kept aside, one catalog row per item, and step counts."""

    purchases: pd.DataFrame
    returns: pd.DataFrame
    catalog: pd.DataFrame
    counts: dict[str, int]


def is_non_product(item_ids: pd.Series) -> pd.Series:
    """True for stock codes that are not sellable products (see NON_PRODUCT_CODES)."""
    ids = item_ids.astype("str")
    lower = ids.str.lower()
    no_digit = ~ids.str.contains(r"\d", regex=True).fillna(False).astype(bool)
    prefixed = lower.str.startswith(_NON_PRODUCT_PREFIXES).fillna(False).astype(bool)
    return (ids.isin(NON_PRODUCT_CODES) | no_digit | prefixed).astype(bool)


def drop_missing_customers(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Anonymous rows (no customer id) cannot become user-item interactions."""
    cid = df["customer_id"]
    keep = cid.notna() & (cid.astype("str").str.strip() != "")
    return df[keep], int((~keep).sum())


def drop_forgotten(df: pd.DataFrame, forgotten: Collection[str]) -> tuple[pd.DataFrame, int]:
    """Customers on the deny list (`models.privacy`) asked to be forgotten: none of their rows
    may reach a model, a list or a segment again."""
    if not forgotten:
        return df, 0
    bad = df["customer_id"].astype("str").isin(set(forgotten)).to_numpy()
    return df[~bad], int(bad.sum())


def drop_non_products(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Postage, fees and vouchers would otherwise top every popularity list."""
    bad = is_non_product(df["item_id"])
    return df[~bad.to_numpy()], int(bad.sum())


def split_returns(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cancellations (invoice 'C...') or non-positive quantity are not purchases.

    They are kept aside (quantity made positive) because a returned item is a
    useful negative signal, but they must not count as interest.
    """
    invoice = df["invoice"].astype("str").str.strip().str.upper()
    cancelled = invoice.str.startswith("C").fillna(False).astype(bool)
    is_return = (cancelled | (df["quantity"] <= 0)).to_numpy()
    returns = df[is_return].copy()
    returns["quantity"] = returns["quantity"].abs()
    return df[~is_return], returns


def drop_zero_prices(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Price <= 0 marks free samples, write-offs and bad-debt adjustments.

    A missing price (file without prices) is not evidence of that and is kept.
    """
    bad = (df["price"] <= 0).to_numpy()
    return df[~bad], int(bad.sum())


def _derived_catalog(purchases: pd.DataFrame) -> pd.DataFrame:
    """One row per purchased item from the purchases themselves.

    title: most frequent description (ties: alphabetically first; none: the
    item id) because Online Retail descriptions drift between invoices.
    price: median positive unit price, robust to the odd discount line.
    """
    items = pd.Index(np.sort(purchases["item_id"].unique()), name="item_id", dtype=object)
    titled = purchases.loc[purchases["title"].notna(), ["item_id", "title"]]
    freq = titled.groupby(["item_id", "title"], sort=False).size().reset_index(name="n")
    freq = freq.sort_values(["item_id", "n", "title"], ascending=[True, False, True], kind="stable")
    title = freq.drop_duplicates("item_id").set_index("item_id")["title"].reindex(items)
    title = title.astype(object).where(title.notna(), pd.Series(items, index=items))
    priced = purchases.loc[purchases["price"] > 0]
    price = priced.groupby("item_id")["price"].median().reindex(items)
    sold = purchases.groupby("item_id")["timestamp"].agg(["min", "max"]).reindex(items)
    out = pd.DataFrame({
        "item_id": items.to_numpy(dtype=object), "title": title.to_numpy(dtype=object),
        "price": price.to_numpy(dtype="float64"), "category": np.full(len(items), None, dtype=object),
        "available": np.ones(len(items), dtype=bool),
        "available_from": pd.Series(pd.NaT, index=range(len(items)), dtype="datetime64[ns]"),
        "first_sold": sold["min"].to_numpy(dtype="datetime64[ns]"),
        "last_sold": sold["max"].to_numpy(dtype="datetime64[ns]"),
    })
    # pandas 3 infers the "str" dtype; keep object like load_purchases does.
    return out.astype({"item_id": object, "title": object})


def build_catalog(purchases: pd.DataFrame, catalog: pd.DataFrame | None = None) -> pd.DataFrame:
    """Catalog for the service: the given one (filled in from purchases) or a derived one.

    A given catalog wins for title/price/category/availability; gaps in it and
    items sold but absent from it are filled from the purchases, so every
    recommendable item has a title. first_sold/last_sold always come from
    purchases (NaT for catalog items never sold).
    """
    derived = _derived_catalog(purchases)
    if catalog is None:
        return derived
    given = catalog.drop(columns=["first_sold", "last_sold"], errors="ignore").copy()
    given["item_id"] = given["item_id"].astype(object)
    d = derived.set_index("item_id")

    def lookup(col: str) -> pd.Series:  # reindex, not map: map on an empty lookup coerces dtypes
        return pd.Series(d[col].reindex(given["item_id"]).to_numpy(), index=given.index)

    for col in ("title", "price"):
        given[col] = given[col].where(given[col].notna(), lookup(col))
    given["title"] = given["title"].where(given["title"].notna(), given["item_id"]).astype(object)
    given["first_sold"] = lookup("first_sold").astype("datetime64[ns]")
    given["last_sold"] = lookup("last_sold").astype("datetime64[ns]")
    extra = derived[~derived["item_id"].isin(given["item_id"])]
    parts = [p for p in (given[CATALOG_OUT_COLUMNS], extra) if len(p)]
    if not parts:
        return derived
    out = pd.concat(parts, ignore_index=True)
    out["available"] = out["available"].astype(bool)
    return out.sort_values("item_id", kind="stable").reset_index(drop=True)


def clean_purchases(
    df: pd.DataFrame, catalog: pd.DataFrame | None = None, forgotten: Collection[str] = frozenset()
) -> CleanResult:
    """Apply the cleaning steps in order, counting and logging what each removes."""
    counts: dict[str, int] = {"rows_in": len(df)}
    log.info("cleaning %d purchase rows", len(df))

    rows, counts["dropped_no_customer"] = drop_missing_customers(df)
    log.info("dropped %d rows without customer id", counts["dropped_no_customer"])

    rows, counts["dropped_forgotten"] = drop_forgotten(rows, forgotten)
    log.info("dropped %d rows of forgotten customers", counts["dropped_forgotten"])

    rows, counts["dropped_non_product"] = drop_non_products(rows)
    log.info("dropped %d non-product rows (postage, fees, vouchers, ...)", counts["dropped_non_product"])

    purchases, returns = split_returns(rows)
    counts["returns"] = len(returns)
    log.info("set aside %d returns/cancellations", counts["returns"])

    purchases, counts["dropped_zero_price"] = drop_zero_prices(purchases)
    log.info("dropped %d purchases with price <= 0", counts["dropped_zero_price"])

    purchases = purchases.reset_index(drop=True)
    counts["purchases_out"] = len(purchases)
    counts["customers"] = int(purchases["customer_id"].nunique())
    counts["items"] = int(purchases["item_id"].nunique())
    log.info("kept %d purchases by %d customers of %d items",
             counts["purchases_out"], counts["customers"], counts["items"])

    cat = build_catalog(purchases, catalog)
    log.info("catalog has %d items", len(cat))
    return CleanResult(purchases, returns.reset_index(drop=True), cat, {k: int(v) for k, v in counts.items()})
