"""Read the purchase file with Spark and check every row with the loader's own converters.

The file is read by Spark (Parquet, or CSV with every column as text); each row gets its
0-based position in the file; then each partition runs `training.data.load`'s converters on
its rows, so the columns, types and errors are those of the single-machine engine. A partition
does not raise: it returns its first failing check as a row, and the driver raises the
`InputError` of the earliest one (the check that comes first in the loader's order, then the
lowest row), naming the file, the column and the row as a person finds it. CSV row numbers
count data lines (Spark skips blank lines, which the single-machine reader still counts).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from training.data.load import (
    _CANONICAL,
    _ONLINE_RETAIL,
    PURCHASE_COLUMNS,
    Format,
    _item_ids,
    _number,
    _select,
    _Source,
    _text,
    _timestamp,
    file_kind,
)
from training.errors import InputError

ROW = "_row"  # 0-based position in the file
CHECKED = (
    "customer_id string, item_id string, timestamp timestamp_ntz, quantity double, price double, "
    "title string, invoice string, country string, _row long, "
    "_error string, _error_column string, _error_row long, _error_check int"
)


@dataclass(frozen=True)
class SparkPurchases:
    """The checked purchase rows (columns PURCHASE_COLUMNS and ROW) and, per canonical
    column, the file's header for it (errors and examples use the file's names)."""

    frame: DataFrame
    headers: dict[str, str]
    row_offset: int  # add to ROW to get the row a person finds in the file


def read_purchases(spark: SparkSession, path: Path, fmt: Format) -> SparkPurchases:
    """`training.data.load.read_purchases` on Spark: the same columns, types and errors."""
    if fmt not in ("canonical", "online-retail"):
        raise ValueError(f"unknown format {fmt!r}")
    raw, src = _read(spark, path)
    spec = _CANONICAL if fmt == "canonical" else _ONLINE_RETAIL
    headers = {c: str(s.name) for c, s in _select(pd.DataFrame(columns=raw.columns), src, spec, fmt).items()}
    indexed = with_positions(raw)
    wanted = [F.col(f"`{h}`").alias(c) for c, h in headers.items()]
    checked = indexed.select(*wanted, ROW).mapInPandas(_checker(src, headers, fmt), CHECKED)
    checked = checked.cache()
    _raise_first_error(checked, src)
    return SparkPurchases(checked.select(*PURCHASE_COLUMNS, ROW), headers, src.row_offset)


def _read(spark: SparkSession, path: Path) -> tuple[DataFrame, _Source]:
    """The loader's file checks (type, presence, emptiness, readability), then Spark's reader."""
    file, kind = str(path), file_kind(path)
    try:
        if kind == "Parquet":
            df = spark.read.parquet(str(path.resolve()))
        else:
            df = spark.read.option("header", True).option("ignoreLeadingWhiteSpace", True).csv(str(path.resolve()))
        empty = df.isEmpty()
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault here
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(file, f"cannot be read as {kind}: {detail}") from exc
    if empty:
        raise InputError(file, "no data rows")
    return df, _Source(file, 1 if kind == "Parquet" else 2)


def with_positions(df: DataFrame) -> DataFrame:
    """`df` with ROW, each row's 0-based position: partition starts (one small count per
    partition) plus the position within the partition, without a shuffle."""
    tagged = df.withColumn("_part", F.spark_partition_id()).withColumn("_id", F.monotonically_increasing_id())
    tagged = tagged.withColumn("_local", F.col("_id") - F.shiftleft(F.col("_part").cast("long"), 33))
    sizes = sorted((int(r["_part"]), int(r["count"])) for r in tagged.groupBy("_part").count().collect())
    starts, total = [], 0
    for part, size in sizes:
        starts.append((part, total))
        total += size
    offsets = df.sparkSession.createDataFrame(starts, "_part int, _start long")
    joined = tagged.join(F.broadcast(offsets), "_part")
    return joined.withColumn(ROW, F.col("_start") + F.col("_local")).drop("_part", "_id", "_local", "_start")


def _checker(src: _Source, headers: dict[str, str], fmt: Format):  # type: ignore[no-untyped-def]
    """The function each partition runs (a closure: it is pickled to the executors)."""

    def check(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            batch = batch.set_index(pd.Index(batch[ROW].to_numpy(dtype=np.int64)))
            try:
                out = convert(batch, src, headers, fmt)
            except _Failed as failed:
                yield failed.row
                continue
            out[ROW] = batch.index.to_numpy(dtype=np.int64)
            for column, dtype in (("_error", object), ("_error_column", object), ("_error_row", "Int64")):
                out[column] = pd.Series(None, index=out.index, dtype=dtype)
            out["_error_check"] = pd.Series(None, index=out.index, dtype="Int32")
            yield out.reset_index(drop=True)

    return check


class _Failed(Exception):
    def __init__(self, error: InputError, check: int) -> None:
        columns = {c: [None] for c in PURCHASE_COLUMNS}
        self.row = pd.DataFrame(
            {
                **columns,
                "timestamp": pd.Series([pd.NaT], dtype="datetime64[us]"),
                "quantity": [np.nan],
                "price": [np.nan],
                ROW: [-1],
                "_error": [error.detail],
                "_error_column": [error.column],
                "_error_row": [error.row],
                "_error_check": [check],
            }
        )


def convert(batch: pd.DataFrame, src: _Source, headers: dict[str, str], fmt: Format) -> pd.DataFrame:
    """The body of `training.data.load.read_purchases` on one batch, checks in its order."""
    cols = {c: batch[c].rename(headers[c]) for c in headers}
    out = pd.DataFrame(index=batch.index)
    out["customer_id"] = _text(cols["customer_id"], is_id=True)
    steps = [
        ("item_id", lambda: _item_ids(cols["item_id"], src, headers["item_id"])),
        ("timestamp", lambda: _timestamp(cols["timestamp"], src, headers["timestamp"], True, fmt == "online-retail")),
        ("quantity", lambda: _number(cols["quantity"], src, headers["quantity"]).fillna(1.0)),
        ("price", lambda: _number(cols["price"], src, headers["price"])),
    ]
    for check, (name, step) in enumerate(steps):
        if name not in cols:
            out[name] = 1.0 if name == "quantity" else np.nan
            continue
        try:
            out[name] = step()
        except InputError as error:
            raise _Failed(error, check) from error
    for extra in ("title", "invoice", "country"):
        out[extra] = _text(cols[extra]) if extra in cols else pd.Series([None] * len(batch), index=batch.index)
    out["timestamp"] = out["timestamp"].astype("datetime64[us]")
    return out[PURCHASE_COLUMNS]


def _raise_first_error(checked: DataFrame, src: _Source) -> None:
    failed = checked.where(F.col("_error").isNotNull()).orderBy("_error_check", "_error_row").limit(1).collect()
    if failed:
        first = failed[0]
        raise InputError(src.file, first["_error"], column=first["_error_column"], row=first["_error_row"])
