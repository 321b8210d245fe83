"""`training.data.clean`'s rules as Spark SQL, with the same counts.

`RULES` stays the one home of the rules; each key here is its Spark SQL twin (`CONDITIONS`),
checked against the pandas tests on the same rows by tests/training/engines/. Rules apply in
`rules_for(fmt)`'s order: a row's reason is the first rule that takes it, exactly as filtering
in sequence does. The catalog, history and storefront steps then run on the driver on the
cleaned rows (`to_clean_result`), so `CleanResult` is the single-machine one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from training.data.clean import (
    _NON_PRODUCT_PREFIXES,
    EXAMPLES,
    NON_PRODUCT_CODES,
    CleanResult,
    build_catalog,
    rules_for,
)
from training.data.clean_report import nothing_left
from training.data.load import PURCHASE_COLUMNS, Format, LoadedPurchases
from training.engines.spark.load import ROW, SparkPurchases
from training.engines.spark.session import to_frame
from training.errors import InputError

REASON = "_reason"


def _no_customer(_: Collection[str]) -> Column:
    cid = F.col("customer_id")
    return cid.isNull() | (F.trim(cid) == "")


def _forgotten(forgotten: Collection[str]) -> Column:
    return F.col("customer_id").isin(sorted(forgotten)) if forgotten else F.lit(False)


def _non_product(_: Collection[str]) -> Column:
    ids, lower = F.col("item_id"), F.lower(F.col("item_id"))
    prefixed = F.lit(False)
    for prefix in _NON_PRODUCT_PREFIXES:
        prefixed = prefixed | lower.startswith(prefix)
    return ids.isin(sorted(NON_PRODUCT_CODES)) | ~ids.rlike(r"(?U)\d") | prefixed


def _non_positive(_: Collection[str]) -> Column:
    return F.col("quantity") <= 0


def _cancelled(forgotten: Collection[str]) -> Column:
    invoice = F.upper(F.trim(F.col("invoice")))
    return F.coalesce(invoice.startswith("C"), F.lit(False)) | _non_positive(forgotten)


def _zero_price(_: Collection[str]) -> Column:
    return F.coalesce(F.col("price") <= 0, F.lit(False)) & ~F.isnan(F.col("price"))


# The rule's test function name in `training.data.clean` -> its condition in Spark SQL.
CONDITIONS: dict[str, Callable[[Collection[str]], Column]] = {
    "no_customer": _no_customer,
    "forgotten_customer": _forgotten,
    "non_product": _non_product,
    "non_positive_quantity": _non_positive,
    "cancelled_or_returned": _cancelled,
    "zero_price": _zero_price,
}


@dataclass(frozen=True)
class SparkClean:
    """The cleaned rows in Spark, and the counts and examples of `training.data.clean`."""

    purchases: DataFrame
    returns: DataFrame
    counts: dict[str, int]
    examples: dict[str, tuple[int, ...]]  # rule key -> first few ROW positions
    fmt: Format


def reasons(frame: DataFrame, fmt: Format, forgotten: Collection[str]) -> DataFrame:
    """`frame` with REASON: the key of the first rule that takes the row out, null if none."""
    reason: Column | None = None
    for rule in rules_for(fmt):
        condition = F.coalesce(CONDITIONS[rule.test.__name__](forgotten), F.lit(False))
        reason = F.when(condition, rule.key) if reason is None else reason.when(condition, rule.key)
    return frame.withColumn(REASON, reason if reason is not None else F.lit(None).cast("string"))


def clean(loaded: SparkPurchases, fmt: Format, forgotten: Collection[str] = ()) -> SparkClean:
    tagged = reasons(loaded.frame, fmt, forgotten).cache()
    by_reason = {r[REASON]: int(r["count"]) for r in tagged.groupBy(REASON).count().collect()}
    counts = {"rows_in": sum(by_reason.values())}
    for rule in rules_for(fmt):
        counts[rule.key] = by_reason.get(rule.key, 0)
    purchases = tagged.where(F.col(REASON).isNull()).drop(REASON)
    distinct = purchases.agg(F.countDistinct("customer_id").alias("c"), F.countDistinct("item_id").alias("i")).first()
    counts["purchases_out"] = by_reason.get(None, 0)
    counts["customers"], counts["items"] = int(distinct["c"]), int(distinct["i"])  # type: ignore[index]
    returns_key = next((r.key for r in rules_for(fmt) if r.sets_aside), None)
    returns = tagged.where(F.col(REASON) == F.lit(returns_key)).withColumn("quantity", F.abs("quantity"))
    return SparkClean(purchases, returns.drop(REASON), counts, _examples(tagged), fmt)


def _examples(tagged: DataFrame) -> dict[str, tuple[int, ...]]:
    from pyspark.sql.window import Window

    first = F.row_number().over(Window.partitionBy(REASON).orderBy(ROW))
    rows = tagged.where(F.col(REASON).isNotNull()).withColumn("_n", first).where(F.col("_n") <= EXAMPLES)
    out: dict[str, list[int]] = {}
    for r in rows.select(REASON, ROW).orderBy(ROW).collect():
        out.setdefault(r[REASON], []).append(int(r[ROW]))
    return {k: tuple(v) for k, v in out.items()}


def to_pandas(frame: DataFrame) -> pd.DataFrame:
    """Rows in file order with the loader's dtypes (what `clean_purchases` would have kept)."""
    df = to_frame(frame.orderBy(ROW).select(*PURCHASE_COLUMNS))
    df["timestamp"] = pd.to_datetime(df["timestamp"]).astype("datetime64[ns]")
    for column in ("customer_id", "item_id", "title", "invoice", "country"):
        df[column] = df[column].astype(object).where(df[column].notna(), None)
    return df.astype({"quantity": "float64", "price": "float64"})


def to_clean_result(cleaned: SparkClean, catalog: pd.DataFrame | None) -> CleanResult:
    purchases = to_pandas(cleaned.purchases)
    returns = to_pandas(cleaned.returns)
    return CleanResult(
        purchases, returns, build_catalog(purchases, catalog), cleaned.counts, cleaned.fmt, cleaned.examples
    )


def refuse_if_empty(cleaned: SparkClean, loaded: SparkPurchases, file: str) -> None:
    """`training.data.clean_report.nothing_left`'s error, with the example rows fetched from Spark."""
    if cleaned.counts["purchases_out"]:
        return
    positions = sorted({p for rows in cleaned.examples.values() for p in rows})
    raw = to_pandas(loaded.frame.where(F.col(ROW).isin(positions))) if positions else pd.DataFrame()
    local = {p: i for i, p in enumerate(positions)}
    result = CleanResult(
        raw.iloc[:0],
        raw.iloc[:0],
        raw.iloc[:0],
        cleaned.counts,
        cleaned.fmt,
        {k: tuple(local[p] for p in v) for k, v in cleaned.examples.items()},
    )
    rows = np.asarray(positions, dtype=np.int64) + loaded.row_offset
    raise InputError(file, nothing_left(result, raw, LoadedPurchases(raw, rows, loaded.headers)))
