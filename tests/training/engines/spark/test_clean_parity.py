"""The Spark engine loads and cleans with the single-machine rules: the same counts, the same
kept rows, the same examples, the same errors naming file, column and row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.support.spark import spark_fixture  # noqa: F401
from training.data.clean import clean_purchases
from training.data.load import read_purchases
from training.engines.spark import clean as spark_clean
from training.engines.spark.load import read_purchases as spark_read
from training.errors import InputError

pytestmark = pytest.mark.slow


ONLINE_RETAIL = {
    "customer_id": "Customer ID",
    "item_id": "StockCode",
    "timestamp": "InvoiceDate",
    "quantity": "Quantity",
    "price": "Price",
    "invoice": "Invoice",
}


def _tricky_shop(path: Path, fmt: str) -> Path:
    """One row for every rule and the edges of each (blank ids, codes without digits, `gift_`
    vouchers, a C invoice with a positive quantity, zero and missing prices, a forgotten id)."""
    rows = [
        ("c1", "85123A", "2024-01-01", "2", "2.5", "inv1"),
        ("", "85123A", "2024-01-01", "1", "2.5", "inv2"),
        ("  ", "22222", "2024-01-02", "1", "1.0", "inv3"),
        ("c2", "POST", "2024-01-02", "1", "18", "inv4"),
        ("c2", "gift_0001_20", "2024-01-02", "1", "20", "inv5"),
        ("c2", "TEST001", "2024-01-02", "1", "1", "inv6"),
        ("c3", "22222", "2024-01-03", "-1", "1.0", "inv7"),
        ("c3", "22222", "2024-01-03", "3", "1.0", "C9001"),
        ("c3", "22223", "2024-01-03", "0", "1.0", "inv8"),
        ("c4", "22224", "2024-01-04", "1", "0", "inv9"),
        ("c4", "22225", "2024-01-04", "1", "", "inv10"),
        ("c5", "22226", "2024-01-05", "", "3.0", ""),
        ("gone", "22226", "2024-01-05", "1", "3.0", "inv11"),
        ("13085.0", "22227", "2024-01-06", "1", "3.0", "inv12"),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "item_id", "timestamp", "quantity", "price", "invoice"])
    frame.rename(columns=ONLINE_RETAIL if fmt == "online-retail" else {}).to_csv(path, index=False)
    return path


def _both(spark: Any, path: Path, fmt: Any, forgotten: frozenset[str] = frozenset()) -> tuple[Any, Any]:
    single = clean_purchases(read_purchases(path, fmt).frame, None, forgotten, fmt=fmt)
    cleaned = spark_clean.clean(spark_read(spark, path, fmt), fmt, forgotten)
    return single, spark_clean.to_clean_result(cleaned, None)


@pytest.mark.parametrize("fmt", ["canonical", "online-retail"])
def test_every_count_and_kept_row_match_the_single_machine_engine(spark: Any, tmp_path: Path, fmt: str) -> None:
    single, ours = _both(spark, _tricky_shop(tmp_path / "shop.csv", fmt), fmt, frozenset({"gone"}))
    assert ours.counts == single.counts
    assert list(ours.counts) == list(single.counts)
    assert ours.examples == single.examples
    pd.testing.assert_frame_equal(ours.purchases, single.purchases, check_dtype=False)
    pd.testing.assert_frame_equal(ours.returns, single.returns, check_dtype=False)
    pd.testing.assert_frame_equal(ours.catalog, single.catalog, check_dtype=False)


def test_counts_match_on_real_online_retail_rows(spark: Any, retail_slice: Path) -> None:
    single, ours = _both(spark, retail_slice, "online-retail")
    assert ours.counts == single.counts
    assert ours.counts["dropped_non_product"] > 0 and ours.counts["returns"] > 0
    assert np.array_equal(ours.purchases["customer_id"].to_numpy(), single.purchases["customer_id"].to_numpy())


def _error(read: Any) -> str:
    with pytest.raises(InputError) as caught:
        read()
    return str(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        "customer_id,item_id,timestamp,quantity\nc1,a1,2024-01-01,1\nc1,a2,2024-01-02,lots\nc1,,2024-01-03,1\n",
        "customer_id,item_id,timestamp\nc1,a1,2024-01-01\nc1,a2,yesterday\n",
        "customer_id,item,timestamp\nc1,a1,2024-01-01\n",
    ],
    ids=["first-failing-check-wins", "bad-timestamp", "missing-column"],
)
def test_bad_input_is_the_same_error_naming_file_column_and_row(spark: Any, tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    expected = _error(lambda: read_purchases(path, "canonical"))
    assert _error(lambda: spark_read(spark, path, "canonical")) == expected
    assert str(path) in expected and "column" in expected


def test_nothing_left_is_the_same_error(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "anonymous.csv"
    path.write_text("customer_id,item_id,timestamp\n,a1,2024-01-01\n,a2,2024-01-02\n")
    loaded = spark_read(spark, path, "canonical")
    cleaned = spark_clean.clean(loaded, "canonical")
    message = _error(lambda: spark_clean.refuse_if_empty(cleaned, loaded, str(path)))
    assert "no purchases left after cleaning" in message and "row 2 customer_id=None" in message
