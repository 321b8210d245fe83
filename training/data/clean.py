"""Turn loaded purchases into the interactions the recommender trains on.

This module is the single home of the cleaning rules: `RULES` lists every reason a loaded row
does not become a purchase, in the order they apply, with its name in words and the formats it
applies to. The shop's data is kept unless a rule says why, so the Online Retail rules
(non-product stock codes, `C...` invoices as cancellations) apply only to `--format
online-retail`: a shop's own ids ("apple", "gift_box") and invoice numbers mean nothing of the
sort. Each rule's effect is counted (`CleanResult.counts`, the manifest, the summary every
`train`/`evaluate` prints, see `training.data.clean_report`): rows_in = the counts of the rules that
applied + purchases_out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.rules.catalog import EXTRAS
from training.data.load import Format

log = logging.getLogger(__name__)

# Stock codes of Online Retail (I and II) that are fees, postage, adjustments,
# samples, vouchers or tests rather than things a customer would want
# recommended. Verified against data/online_retail_ii_2009_2010.parquet.
# Codes without any digit are caught by rule as well (POST, DOT, M, D, S, B,
# PADS, AMAZONFEE, BANK CHARGES, CRUK, ...); the set also lists those with digits.
NON_PRODUCT_CODES: frozenset[str] = frozenset(
    {
        "POST",
        "DOT",
        "M",
        "m",
        "D",
        "S",
        "B",
        "C2",
        "C3",
        "CRUK",
        "PADS",
        "BANK CHARGES",
        "AMAZONFEE",
        "ADJUST",
        "ADJUST2",
        "TEST001",
        "TEST002",
        "GIFT",
        "SAMPLES",
    }
)
_NON_PRODUCT_PREFIXES = ("gift_", "test")  # gift_0001_20 vouchers, TEST001 (matched lower-case)
EXAMPLES = 3  # rows kept per rule to show in an error

CATALOG_OUT_COLUMNS = [
    "item_id",
    "title",
    "price",
    "category",
    "available",
    "available_from",
    "first_sold",
    "last_sold",
]


@dataclass(frozen=True)
class CleanResult:
    """Cleaned purchases, the returns kept aside, one catalog row per item, and step counts.

    `examples` holds, per rule that removed rows, the positions (in the frame given to
    `clean_purchases`) of the first few, so an error can show them.
    """

    purchases: pd.DataFrame
    returns: pd.DataFrame
    catalog: pd.DataFrame
    counts: dict[str, int]
    fmt: Format
    examples: dict[str, tuple[int, ...]]


def is_non_product(item_ids: pd.Series) -> pd.Series:
    """True for Online Retail stock codes that are not sellable products (see NON_PRODUCT_CODES)."""
    ids = item_ids.astype("str")
    lower = ids.str.lower()
    no_digit = ~ids.str.contains(r"\d", regex=True).fillna(False).astype(bool)
    prefixed = lower.str.startswith(_NON_PRODUCT_PREFIXES).fillna(False).astype(bool)
    return (ids.isin(NON_PRODUCT_CODES) | no_digit | prefixed).astype(bool)


def no_customer(df: pd.DataFrame, forgotten: Collection[str] = ()) -> np.ndarray:
    """Anonymous rows (no customer id) cannot become user-item interactions."""
    cid = df["customer_id"]
    return (~(cid.notna() & (cid.astype("str").str.strip() != ""))).to_numpy(dtype=bool)


def forgotten_customer(df: pd.DataFrame, forgotten: Collection[str] = ()) -> np.ndarray:
    """Customers on the deny list (`models.rules.privacy`) asked to be forgotten: none of their rows
    may reach a model, a list or a segment again."""
    if not forgotten:
        return np.zeros(len(df), dtype=bool)
    return df["customer_id"].astype("str").isin(set(forgotten)).to_numpy(dtype=bool)


def non_product(df: pd.DataFrame, forgotten: Collection[str] = ()) -> np.ndarray:
    """Online Retail's postage, fees and vouchers would otherwise top every popularity list."""
    return is_non_product(df["item_id"]).to_numpy(dtype=bool)


def non_positive_quantity(df: pd.DataFrame, forgotten: Collection[str] = ()) -> np.ndarray:
    """A quantity of 0 or below is a return in any shop's export, not a purchase."""
    return (df["quantity"] <= 0).to_numpy(dtype=bool)


def cancelled_or_returned(df: pd.DataFrame, forgotten: Collection[str] = ()) -> np.ndarray:
    """Online Retail marks cancellations with a 'C...' invoice (one has a positive quantity)."""
    invoice = df["invoice"].astype("str").str.strip().str.upper()
    return invoice.str.startswith("C").fillna(False).to_numpy(dtype=bool) | non_positive_quantity(df)


def zero_price(df: pd.DataFrame, forgotten: Collection[str] = ()) -> np.ndarray:
    """Price <= 0 marks free samples, write-offs and bad-debt adjustments: nobody paid for it.

    A missing price (file without prices) is not evidence of that and is kept.
    """
    return (df["price"] <= 0).to_numpy(dtype=bool)


ALL_FORMATS: tuple[Format, ...] = ("canonical", "online-retail")


@dataclass(frozen=True)
class Rule:
    """One reason a loaded row is not a purchase. Every test takes the rows and the deny list
    (only `forgotten_customer` reads it) so that `RULES` holds them all alike."""

    key: str  # in CleanResult.counts and the manifest
    words: str  # what a person reads in the summary and in errors
    test: Callable[[pd.DataFrame, Collection[str]], np.ndarray]  # True for the rows it takes out
    columns: tuple[str, ...]  # what shows why, in an error's example rows
    formats: tuple[Format, ...] = ALL_FORMATS
    sets_aside: bool = False  # kept as returns (a negative signal), not thrown away

    @property
    def verb(self) -> str:
        return "set aside" if self.sets_aside else "dropped"


RULES: tuple[Rule, ...] = (
    Rule("dropped_no_customer", "no customer id", no_customer, ("customer_id",)),
    Rule("dropped_forgotten", "forgotten customers (deny list)", forgotten_customer, ()),  # ids not shown
    Rule(
        "dropped_non_product", "non-product codes (Online Retail rules)", non_product, ("item_id",), ("online-retail",)
    ),
    Rule("returns", "returns (quantity 0 or below)", non_positive_quantity, ("quantity",), ("canonical",), True),
    Rule(
        "returns",
        "returns (quantity 0 or below, or an Online Retail C... cancellation invoice)",
        cancelled_or_returned,
        ("invoice", "quantity"),
        ("online-retail",),
        True,
    ),
    Rule("dropped_zero_price", "price 0 or below", zero_price, ("price",)),
)


def rules_for(fmt: Format) -> tuple[Rule, ...]:
    """The rules that apply to a file of this format, in order."""
    if fmt not in ALL_FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    return tuple(rule for rule in RULES if fmt in rule.formats)


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
    out = pd.DataFrame(
        {
            "item_id": items.to_numpy(dtype=object),
            "title": title.to_numpy(dtype=object),
            "price": price.to_numpy(dtype="float64"),
            "category": np.full(len(items), None, dtype=object),
            "available": np.ones(len(items), dtype=bool),
            "available_from": pd.Series(pd.NaT, index=range(len(items)), dtype="datetime64[ns]"),
            "first_sold": sold["min"].to_numpy(dtype="datetime64[ns]"),
            "last_sold": sold["max"].to_numpy(dtype="datetime64[ns]"),
        }
    )
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
    kept = CATALOG_OUT_COLUMNS + [c for c in EXTRAS if c in given.columns]  # image_url, url, currency if given
    parts = [p for p in (given[kept], extra) if len(p)]
    if not parts:
        return derived
    out = pd.concat(parts, ignore_index=True)
    out["available"] = out["available"].astype(bool)
    return out.sort_values("item_id", kind="stable").reset_index(drop=True)


def clean_purchases(
    df: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    forgotten: Collection[str] = frozenset(),
    *,
    fmt: Format,
) -> CleanResult:
    """Apply `rules_for(fmt)` in order, counting and logging what each removes.

    `fmt` has no default: which rules apply depends on where the rows came from, and guessing
    silently dropped a shop's own ids before.
    """
    rows = df.reset_index(drop=True)  # index = position in `df`, kept through the filters below
    counts: dict[str, int] = {"rows_in": len(rows)}
    examples: dict[str, tuple[int, ...]] = {}
    returns = rows.iloc[:0]
    log.info("cleaning %d purchase rows (%s rules)", len(rows), fmt)
    for rule in rules_for(fmt):
        out = rule.test(rows, forgotten)
        counts[rule.key] = int(out.sum())
        if out.any():
            examples[rule.key] = tuple(int(i) for i in rows.index[out][:EXAMPLES])
        if rule.sets_aside:
            returns = rows[out].copy()
            returns["quantity"] = returns["quantity"].abs()  # a returned item is a useful negative signal
        rows = rows[~out]
        log.info("%s: %d rows", rule.words, counts[rule.key])

    purchases = rows.reset_index(drop=True)
    counts["purchases_out"] = len(purchases)
    counts["customers"] = int(purchases["customer_id"].nunique())
    counts["items"] = int(purchases["item_id"].nunique())
    log.info(
        "kept %d purchases by %d customers of %d items", counts["purchases_out"], counts["customers"], counts["items"]
    )

    cat = build_catalog(purchases, catalog)
    log.info("catalog has %d items", len(cat))
    return CleanResult(purchases, returns.reset_index(drop=True), cat, counts, fmt, examples)
