"""Tests for training.data.load: formats, dtypes and one-line errors naming file/column/row."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.paths import BUNDLED
from training.data.load import CATALOG_COLUMNS, PURCHASE_COLUMNS, load_catalog, load_purchases, read_purchases
from training.errors import InputError


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.lstrip("\n"))
    return path


CANONICAL_CSV = """
customer_id,item_id,timestamp,quantity,price,title
c1,A1,2021-01-02T03:04:05,2,1.5,Mug
c2, B2 ,2021-01-02 10:00:00+02:00,1,2.0,Plate
,A1,2021-01-03,3,,
"""


def test_canonical_csv_columns_and_dtypes(tmp_path: Path) -> None:
    df = load_purchases(write_csv(tmp_path / "p.csv", CANONICAL_CSV))
    assert list(df.columns) == PURCHASE_COLUMNS
    assert df["timestamp"].dtype == "datetime64[ns]"
    assert df["quantity"].dtype == np.float64 and df["price"].dtype == np.float64
    assert df["customer_id"].dtype == object
    assert df["customer_id"].tolist() == ["c1", "c2", None]  # empty customer is not a load error
    assert df["item_id"].tolist() == ["A1", "B2"] + ["A1"]  # stripped
    # tz-aware input is converted to naive UTC
    assert df["timestamp"].tolist()[:2] == [pd.Timestamp("2021-01-02 03:04:05"), pd.Timestamp("2021-01-02 08:00:00")]
    assert np.isnan(df["price"].iloc[2])
    assert df["invoice"].isna().all() and df["country"].isna().all()


def test_optional_quantity_and_price_default(tmp_path: Path) -> None:
    df = load_purchases(write_csv(tmp_path / "p.csv", "customer_id,item_id,timestamp\nc1,A,2021-01-01\n"))
    assert df["quantity"].tolist() == [1.0]
    assert df["price"].isna().all()
    assert df["title"].tolist() == [None]


def test_epoch_seconds_numeric_and_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": ["c1", "c2"], "item_id": ["A", "B"], "timestamp": [1609459200, 1609459260.5]})
    frame.to_parquet(tmp_path / "p.parquet")
    df = load_purchases(tmp_path / "p.parquet")
    assert df["timestamp"].tolist() == [pd.Timestamp("2021-01-01 00:00:00"), pd.Timestamp("2021-01-01 00:01:00.5")]
    text = "customer_id,item_id,timestamp\nc1,A,1609459200\nc2,B,2021-01-01\n"
    csv = load_purchases(write_csv(tmp_path / "p.csv", text))
    assert csv["timestamp"].tolist() == [pd.Timestamp("2021-01-01")] * 2


def test_parquet_datetime_tz_aware(tmp_path: Path) -> None:
    ts = pd.to_datetime(["2021-06-01 12:00"]).tz_localize("Europe/Berlin")
    pd.DataFrame({"customer_id": ["c"], "item_id": ["A"], "timestamp": ts}).to_parquet(tmp_path / "p.pq")
    df = load_purchases(tmp_path / "p.pq")
    assert df["timestamp"].dtype == "datetime64[ns]"
    assert df["timestamp"].iloc[0] == pd.Timestamp("2021-06-01 10:00")


def test_csv_gz(tmp_path: Path) -> None:
    path = tmp_path / "p.csv.gz"
    path.write_bytes(gzip.compress(CANONICAL_CSV.lstrip().encode()))
    assert len(load_purchases(path)) == 3


ONLINE_RETAIL_II = pd.DataFrame(
    {
        "Invoice": ["489434", "C489449"],
        "StockCode": [" 85048 ", "22087"],
        "Description": ["LIGHT", "PAPER"],
        "Quantity": [12, -3],
        "InvoiceDate": ["2009-12-01 07:45:00", "2009-12-01 10:33:00"],
        "Price": [6.95, 2.1],
        "Customer ID": [13085.0, np.nan],
        "Country": ["United Kingdom", "Norway"],
    }
)


def test_online_retail_ii_parquet(tmp_path: Path) -> None:
    ONLINE_RETAIL_II.to_parquet(tmp_path / "r.parquet")
    df = load_purchases(tmp_path / "r.parquet", fmt="online-retail")
    assert list(df.columns) == PURCHASE_COLUMNS
    assert df["customer_id"].tolist() == ["13085", None]  # float id -> "13085", no ".0"
    assert df["item_id"].tolist() == ["85048", "22087"]
    assert df["invoice"].tolist() == ["489434", "C489449"]
    assert df["title"].tolist() == ["LIGHT", "PAPER"]
    assert df["quantity"].tolist() == [12.0, -3.0]
    assert df["price"].tolist() == [6.95, 2.1]
    assert df["country"].tolist() == ["United Kingdom", "Norway"]


def test_online_retail_ii_csv_float_customer_id(tmp_path: Path) -> None:
    ONLINE_RETAIL_II.to_csv(tmp_path / "r.csv", index=False)
    df = load_purchases(tmp_path / "r.csv", fmt="online-retail")
    assert df["customer_id"].tolist() == ["13085", None]


def test_online_retail_classic_spelling_and_us_dates(tmp_path: Path) -> None:
    text = (
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    )
    df = load_purchases(write_csv(tmp_path / "r.csv", text), fmt="online-retail")
    assert df["invoice"].tolist() == ["536365"]
    assert df["customer_id"].tolist() == ["17850"]
    assert df["price"].tolist() == [2.55]
    assert df["timestamp"].iloc[0] == pd.Timestamp("2010-12-01 08:26")


def test_latin1_csv(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes("customer_id,item_id,timestamp,title\nc,A,2021-01-01,Voucher \xa310\n".encode("latin-1"))
    assert load_purchases(path)["title"].tolist() == ["Voucher \xa310"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv.*not found"):
        load_purchases(tmp_path / "nope.csv")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(InputError, match=r"e\.csv.*empty"):
        load_purchases(tmp_path / "e.csv")


def test_header_only_has_no_data_rows(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no data rows"):
        load_purchases(write_csv(tmp_path / "h.csv", "customer_id,item_id,timestamp\n"))


def test_missing_column_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        load_purchases(write_csv(tmp_path / "p.csv", "customer_id,timestamp\nc,2021-01-01\n"))
    assert exc.value.column == "item_id" and exc.value.row is None
    assert "'item_id'" in str(exc.value) and "columns found: customer_id, timestamp" in str(exc.value)


def test_missing_column_online_retail_and_hint(tmp_path: Path) -> None:
    ONLINE_RETAIL_II.drop(columns=["Customer ID"]).to_parquet(tmp_path / "r.parquet")
    with pytest.raises(InputError, match=r"'CustomerID' or 'Customer ID'") as exc:
        load_purchases(tmp_path / "r.parquet", fmt="online-retail")
    assert exc.value.column == "Customer ID"
    ONLINE_RETAIL_II.to_parquet(tmp_path / "ok.parquet")
    with pytest.raises(InputError, match="use --format online-retail$"):  # the CLI flag, not the Python keyword
        load_purchases(tmp_path / "ok.parquet")


def test_bad_date_names_column_and_csv_line(tmp_path: Path) -> None:
    text = "customer_id,item_id,timestamp\nc,A,2021-01-01\nc,B,2021-01-02\nc,C,yesterday\nc,D,never\n"
    with pytest.raises(InputError) as exc:
        load_purchases(write_csv(tmp_path / "p.csv", text))
    err = exc.value
    assert (err.column, err.row) == ("timestamp", 4)  # CSV: line number, header is line 1
    assert str(err).startswith("file ") and "'yesterday'" in str(err) and "row 4" in str(err)
    assert "\n" not in str(err)


def test_blank_lines_skipped_but_counted_in_line_numbers(tmp_path: Path) -> None:
    text = "customer_id,item_id,timestamp\nc,A,2021-01-01\n\n\nc,B,2021-13-45\n\n"
    with pytest.raises(InputError) as exc:
        load_purchases(write_csv(tmp_path / "p.csv", text))
    assert exc.value.row == 5
    ok = load_purchases(write_csv(tmp_path / "ok.csv", "customer_id,item_id,timestamp\nc,A,2021-01-01\n\nc,B,0\n\n"))
    assert ok["item_id"].tolist() == ["A", "B"] and ok.index.tolist() == [0, 1]


def test_read_purchases_keeps_file_row_numbers_and_headers(tmp_path: Path) -> None:
    """Cleaning's errors point at rows the way load errors do: CSV lines (blank ones counted),
    1-based Parquet rows, the file's own headers."""
    csv = read_purchases(write_csv(tmp_path / "p.csv", "Customer ID,item_id,timestamp\nc,A,2021-01-01\n\nc,B,0\n"))
    assert csv.rows.tolist() == [2, 4] and csv.headers["customer_id"] == "Customer ID"
    ONLINE_RETAIL_II.to_parquet(tmp_path / "r.parquet")
    retail = read_purchases(tmp_path / "r.parquet", fmt="online-retail")
    assert retail.rows.tolist() == list(range(1, len(ONLINE_RETAIL_II) + 1))
    assert retail.headers["item_id"] == "StockCode" and retail.frame.equals(
        load_purchases(tmp_path / "r.parquet", fmt="online-retail")
    )


def test_bad_date_parquet_row_is_one_based(tmp_path: Path) -> None:
    bad = ONLINE_RETAIL_II.copy()
    bad.loc[1, "InvoiceDate"] = "31/31/2010"
    bad.to_parquet(tmp_path / "r.parquet")
    with pytest.raises(InputError) as exc:
        load_purchases(tmp_path / "r.parquet", fmt="online-retail")
    assert (exc.value.column, exc.value.row) == ("InvoiceDate", 2)


def test_empty_timestamp_is_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty timestamp") as exc:
        load_purchases(write_csv(tmp_path / "p.csv", "customer_id,item_id,timestamp\nc,A,2021-01-01\nc,B,\n"))
    assert exc.value.row == 3


def test_absurd_epoch_is_error(tmp_path: Path) -> None:
    # milliseconds mistaken for seconds land far outside the representable range
    with pytest.raises(InputError) as exc:
        load_purchases(write_csv(tmp_path / "p.csv", "customer_id,item_id,timestamp\nc,A,1609459200000000\n"))
    assert (exc.value.column, exc.value.row) == ("timestamp", 2)


def test_bad_quantity(tmp_path: Path) -> None:
    text = "customer_id,item_id,timestamp,quantity\nc,A,2021-01-01,2\nc,B,2021-01-01,two\n"
    with pytest.raises(InputError, match="'two'") as exc:
        load_purchases(write_csv(tmp_path / "p.csv", text))
    assert (exc.value.column, exc.value.row) == ("quantity", 3)


def test_bad_price(tmp_path: Path) -> None:
    text = "customer_id,item_id,timestamp,price\nc,A,2021-01-01,1.2.3\n"
    with pytest.raises(InputError) as exc:
        load_purchases(write_csv(tmp_path / "p.csv", text))
    assert (exc.value.column, exc.value.row) == ("price", 2)


def test_empty_item_id_is_error(tmp_path: Path) -> None:
    text = "customer_id,item_id,timestamp\nc,A,2021-01-01\nc,  ,2021-01-01\n"
    with pytest.raises(InputError, match="empty item id") as exc:
        load_purchases(write_csv(tmp_path / "p.csv", text))
    assert (exc.value.column, exc.value.row) == ("item_id", 3)


@pytest.mark.parametrize("name", ["junk.csv", "junk.parquet", "junk.csv.gz"])
def test_binary_junk(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InputError, match=rf"file .*{name}: cannot be read as (CSV|Parquet)") as exc:
        load_purchases(path)
    assert "\n" not in str(exc.value)


def test_binary_junk_without_nul_bytes(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(range(1, 256)) * 20)
    with pytest.raises(InputError, match="cannot be read as CSV: binary content"):
        load_purchases(path)


def test_unsupported_extension(tmp_path: Path) -> None:
    (tmp_path / "p.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match="unsupported file type"):
        load_purchases(tmp_path / "p.xlsx")


def test_unknown_format_is_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        load_purchases(write_csv(tmp_path / "p.csv", CANONICAL_CSV), fmt="excel")  # type: ignore[arg-type]


def test_catalog_booleans_dates_and_defaults(tmp_path: Path) -> None:
    text = (
        "item_id,title,price,category,available,available_from\n"
        "A,Mug,1.5,kitchen,yes,2021-03-01\nB,,,,No,\nC,Cup,2,,TRUE,\nD,Bowl,3,,0,\nE,Jar,4,,,\nF,Lid,1,,1,\n"
    )
    cat = load_catalog(write_csv(tmp_path / "c.csv", text))
    assert list(cat.columns) == CATALOG_COLUMNS
    assert cat["available"].dtype == bool
    assert cat["available"].tolist() == [True, False, True, False, True, True]
    assert cat["available_from"].dtype == "datetime64[ns]"
    assert cat["available_from"].iloc[0] == pd.Timestamp("2021-03-01") and cat["available_from"].iloc[1:].isna().all()
    assert cat["title"].tolist()[:2] == ["Mug", None]
    assert cat["category"].tolist()[:2] == ["kitchen", None]


def test_catalog_minimal_parquet_defaults(tmp_path: Path) -> None:
    pd.DataFrame({"item_id": [1, 2]}).to_parquet(tmp_path / "c.parquet")
    cat = load_catalog(tmp_path / "c.parquet")
    assert cat["item_id"].tolist() == ["1", "2"]
    assert cat["available"].tolist() == [True, True]
    assert cat["available_from"].isna().all() and cat["price"].isna().all()


def test_catalog_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        load_catalog(write_csv(tmp_path / "c.csv", "item_id,available\nA,yes\nB,maybe\n"))
    assert (exc.value.column, exc.value.row) == ("available", 3)
    with pytest.raises(InputError, match="duplicate item id 'A'") as exc:
        load_catalog(write_csv(tmp_path / "d.csv", "item_id\nA\nB\nA\n"))
    assert exc.value.row == 4
    with pytest.raises(InputError) as exc:
        load_catalog(write_csv(tmp_path / "f.csv", "item_id,available_from\nA,soon\n"))
    assert (exc.value.column, exc.value.row) == ("available_from", 2)
    with pytest.raises(InputError) as exc:
        load_catalog(write_csv(tmp_path / "m.csv", "title\nMug\n"))
    assert exc.value.column == "item_id"


def test_real_file_loads_fast() -> None:
    start = time.perf_counter()
    df = load_purchases(BUNDLED, fmt="online-retail")
    elapsed = time.perf_counter() - start
    assert len(df) == 525461
    assert elapsed < 5, f"took {elapsed:.1f}s"
    assert not df["customer_id"].dropna().str.endswith(".0").any()
    assert df["timestamp"].min() >= pd.Timestamp("2009-12-01")


def test_catalog_extras_are_read_when_given_and_checked(tmp_path: Path) -> None:
    text = (
        "item_id,title,image_url,url,currency\nA,Mug,https://img.example/a.jpg,https://shop.example/a,eur\nB,Cup,,,\n"
    )
    cat = load_catalog(write_csv(tmp_path / "c.csv", text))
    assert list(cat.columns) == [*CATALOG_COLUMNS, "image_url", "url", "currency"]
    assert cat["image_url"].tolist() == ["https://img.example/a.jpg", None]
    assert cat["currency"].tolist() == ["EUR", None]


@pytest.mark.parametrize(
    ("header", "cell", "column", "problem"),
    [
        ("image_url", "javascript:alert(1)", "image_url", "not an http(s) URL: 'javascript:alert(1)'"),
        ("url", "shop.example/a", "url", "not an http(s) URL"),
        ("url", "https://shop example/a", "url", "not an http(s) URL"),
        ("currency", "pounds", "currency", "not a currency code: 'POUNDS'"),
    ],
)
def test_a_bad_catalog_extra_names_its_column_and_row(
    tmp_path: Path, header: str, cell: str, column: str, problem: str
) -> None:
    text = f"item_id,{header}\nA,\nB,{cell}\n"
    with pytest.raises(InputError) as caught:
        load_catalog(write_csv(tmp_path / "c.csv", text))
    message = str(caught.value)
    assert f"column '{column}', row 3" in message and problem in message
