"""Tests for training.data.clean: each rule, where it applies, its count, the catalog, and the real bundled file."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.paths import BUNDLED
from training.data.clean import (
    NON_PRODUCT_CODES,
    CleanResult,
    build_catalog,
    clean_purchases,
    is_non_product,
    no_customer,
    rules_for,
    zero_price,
)
from training.data.load import load_catalog, load_purchases


def frame(rows: list[dict]) -> pd.DataFrame:
    """Rows in load_purchases' output shape; unspecified fields get harmless defaults."""
    base = {
        "customer_id": "c1",
        "item_id": "10001",
        "timestamp": "2021-01-01",
        "quantity": 1.0,
        "price": 1.0,
        "title": None,
        "invoice": "1",
        "country": None,
    }
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["timestamp"] = pd.to_datetime(df["timestamp"]).astype("datetime64[ns]")
    df["quantity"] = df["quantity"].astype("float64")
    df["price"] = df["price"].astype("float64")
    for col in ("customer_id", "item_id", "title", "invoice", "country"):
        df[col] = df[col].astype(object).where(df[col].notna(), None)  # pandas 3 infers str + NaN
    return df


def test_no_customer() -> None:
    df = frame([{"customer_id": None}, {"customer_id": "c2"}, {"customer_id": "  "}])
    assert no_customer(df).tolist() == [True, False, True]


def test_returns_by_invoice_and_quantity_under_online_retail_rules() -> None:
    df = frame(
        [
            {"invoice": "C100", "quantity": 2},
            {"invoice": "101", "quantity": -3},
            {"invoice": "102", "quantity": 0},
            {"invoice": "103", "quantity": 4},
            {"invoice": None},
        ]
    )
    result = clean_purchases(df, fmt="online-retail")
    assert result.purchases["invoice"].tolist() == ["103", None]
    assert result.returns["invoice"].tolist() == ["C100", "101", "102"]
    assert result.returns["quantity"].tolist() == [2.0, 3.0, 0.0]  # made positive


def test_canonical_invoices_starting_with_c_are_purchases() -> None:
    """Regression: a shop's own invoice numbers ("CUST-7", "C100") were taken for Online Retail
    cancellations; only a quantity of 0 or below makes a return in a canonical file."""
    df = frame([{"invoice": "C100", "quantity": 2}, {"invoice": "CUST-7"}, {"invoice": "102", "quantity": 0}])
    result = clean_purchases(df, fmt="canonical")
    assert result.purchases["invoice"].tolist() == ["C100", "CUST-7"]
    assert result.returns["invoice"].tolist() == ["102"]


@pytest.mark.parametrize(
    "code",
    [
        "POST",
        "DOT",
        "M",
        "m",
        "D",
        "C2",
        "C3",
        "BANK CHARGES",
        "AMAZONFEE",
        "CRUK",
        "PADS",
        "ADJUST",
        "ADJUST2",
        "TEST001",
        "TEST002",
        "S",
        "B",
        "gift_0001_20",
        "SOMETHINGNEW",
    ],
)
def test_non_product_codes(code: str) -> None:
    assert is_non_product(pd.Series([code], dtype=object)).tolist() == [True]


@pytest.mark.parametrize("code", ["85123A", "22423", "79323P", "DCGS0058", "47503J"])
def test_product_codes_kept(code: str) -> None:
    assert is_non_product(pd.Series([code], dtype=object)).tolist() == [False]


SHOP_IDS = ["apple", "bread", "test tube", "TEST-KIT", "gift_box", "GIFT", "POST", "M"]


def test_non_products_dropped_only_under_online_retail_rules() -> None:
    df = frame([{"item_id": "POST"}, {"item_id": "85123A"}, {"item_id": "gift_0001_10"}, {"item_id": "TEST001"}])
    result = clean_purchases(df, fmt="online-retail")
    assert result.counts["dropped_non_product"] == 3 and result.purchases["item_id"].tolist() == ["85123A"]


def test_canonical_keeps_the_shops_own_ids() -> None:
    """Regression: ids without a digit or starting with test/gift_ were dropped from canonical
    files by the Online Retail non-product rule, leaving "no purchases" and no reason."""
    result = clean_purchases(frame([{"item_id": i} for i in SHOP_IDS]), fmt="canonical")
    assert result.purchases["item_id"].tolist() == SHOP_IDS
    assert "dropped_non_product" not in result.counts and result.counts["purchases_out"] == len(SHOP_IDS)
    assert sorted(result.catalog["item_id"]) == sorted(SHOP_IDS)


def test_rules_per_format() -> None:
    canonical, retail = rules_for("canonical"), rules_for("online-retail")
    assert [r.key for r in canonical] == ["dropped_no_customer", "dropped_forgotten", "returns", "dropped_zero_price"]
    assert [r.key for r in retail] == [
        "dropped_no_customer",
        "dropped_forgotten",
        "dropped_non_product",
        "returns",
        "dropped_zero_price",
    ]
    assert all("Online Retail" in r.words for r in retail if r not in canonical)
    with pytest.raises(ValueError, match="unknown format"):
        rules_for("excel")  # type: ignore[arg-type]


def test_zero_price_keeps_missing_price() -> None:
    df = frame([{"price": 0.0}, {"price": -5.0}, {"price": np.nan}, {"price": 2.0}])
    assert zero_price(df).tolist() == [True, True, False, False]
    result = clean_purchases(df, fmt="canonical")
    assert result.counts["dropped_zero_price"] == 2 and result.purchases["price"].isna().tolist() == [True, False]


def test_clean_purchases_counts_in_order(caplog: pytest.LogCaptureFixture) -> None:
    df = frame(
        [
            {"customer_id": None, "item_id": "10001"},  # no customer
            {"customer_id": None, "item_id": "POST"},  # no customer (counted first)
            {"customer_id": "c1", "item_id": "POST"},  # non-product
            {"customer_id": "c1", "item_id": "C2", "invoice": "C9"},  # non-product cancellation: dropped, not a return
            {"customer_id": "c1", "item_id": "10001", "invoice": "C5", "quantity": -1},  # return
            {"customer_id": "c2", "item_id": "10002", "quantity": -2},  # return by quantity
            {"customer_id": "c1", "item_id": "10003", "price": 0.0},  # zero price
            {"customer_id": "c1", "item_id": "10001"},
            {"customer_id": "c2", "item_id": "10001"},
            {"customer_id": "c2", "item_id": "10004", "price": np.nan},
        ]
    )
    with caplog.at_level(logging.INFO, logger="training.data.clean"):
        result = clean_purchases(df, fmt="online-retail")
    assert isinstance(result, CleanResult)
    assert list(result.counts) == [
        "rows_in",
        "dropped_no_customer",
        "dropped_forgotten",
        "dropped_non_product",
        "returns",
        "dropped_zero_price",
        "purchases_out",
        "customers",
        "items",
    ]
    assert result.counts == {
        "rows_in": 10,
        "dropped_no_customer": 2,
        "dropped_forgotten": 0,
        "dropped_non_product": 2,
        "returns": 2,
        "dropped_zero_price": 1,
        "purchases_out": 3,
        "customers": 2,
        "items": 2,
    }
    assert all(type(v) is int for v in result.counts.values())
    assert result.returns["item_id"].tolist() == ["10001", "10002"]
    assert (result.returns["quantity"] > 0).all()
    assert result.purchases.index.tolist() == [0, 1, 2]
    assert result.examples == {
        "dropped_no_customer": (0, 1),
        "dropped_non_product": (2, 3),
        "returns": (4, 5),
        "dropped_zero_price": (6,),
    }  # positions in the frame given
    assert "no customer id: 2 rows" in caplog.text and "online-retail rules" in caplog.text


def test_clean_result_is_frozen() -> None:
    result = clean_purchases(frame([{}]), fmt="canonical")
    with pytest.raises(AttributeError):
        result.counts = {}  # type: ignore[misc]


def test_derived_catalog_title_price_dates() -> None:
    df = frame(
        [
            {"item_id": "10001", "title": "MUG RED", "price": 1.0, "timestamp": "2021-01-05"},
            {"item_id": "10001", "title": "RED MUG", "price": 3.0, "timestamp": "2021-01-01"},
            {"item_id": "10001", "title": "RED MUG", "price": 2.0, "timestamp": "2021-02-01"},
            {"item_id": "10001", "title": None, "price": 10.0, "timestamp": "2021-01-20"},
            {"item_id": "10001", "title": None, "price": 0.0, "timestamp": "2021-01-21"},  # not positive: ignored
            {"item_id": "10002", "title": "ZEBRA", "price": np.nan},
            {"item_id": "10002", "title": "APPLE", "price": np.nan},  # tie -> alphabetically first
            {"item_id": "10003", "title": None},  # no description -> item id
        ]
    )
    cat = build_catalog(df).set_index("item_id")
    assert list(cat.reset_index().columns) == [
        "item_id",
        "title",
        "price",
        "category",
        "available",
        "available_from",
        "first_sold",
        "last_sold",
    ]
    assert cat.loc["10001", "title"] == "RED MUG"  # most frequent description
    assert cat.loc["10002", "title"] == "APPLE"
    assert cat.loc["10003", "title"] == "10003"
    assert cat.loc["10001", "price"] == 2.5  # median of positive prices 1, 2, 3, 10
    assert np.isnan(cat.loc["10002", "price"])
    assert cat.loc["10001", "first_sold"] == pd.Timestamp("2021-01-01")
    assert cat.loc["10001", "last_sold"] == pd.Timestamp("2021-02-01")
    assert cat["available"].all() and cat["available_from"].isna().all() and cat["category"].isna().all()


def test_given_catalog_wins_and_is_filled(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(
        "item_id,title,price,category,available\n10001,Red mug,9.5,kitchen,no\n10002,,,,yes\n10009,Never sold,1,,1\n"
    )
    given = load_catalog(tmp_path / "c.csv")
    df = frame(
        [
            {"item_id": "10001", "title": "RED MUG", "price": 2.0},
            {"item_id": "10002", "title": "PLATE", "price": 3.0},
            {"item_id": "10003", "title": "BOWL", "price": 4.0},
        ]
    )
    cat = clean_purchases(df, catalog=given, fmt="canonical").catalog.set_index("item_id")
    assert cat.index.tolist() == ["10001", "10002", "10003", "10009"]
    assert cat.loc["10001", ["title", "price", "category"]].tolist() == ["Red mug", 9.5, "kitchen"]
    assert not cat.loc["10001", "available"]
    assert cat.loc["10002", ["title", "price"]].tolist() == ["PLATE", 3.0]  # gaps filled from purchases
    assert cat.loc["10003", "title"] == "BOWL" and cat.loc["10003", "available"]  # unknown item gets derived row
    assert pd.isna(cat.loc["10009", "first_sold"]) and cat.loc["10001", "first_sold"] == pd.Timestamp("2021-01-01")
    assert cat["available"].dtype == bool


def test_real_bundled_file() -> None:
    df = load_purchases(BUNDLED, fmt="online-retail")
    start = time.perf_counter()
    result = clean_purchases(df, fmt="online-retail")
    elapsed = time.perf_counter() - start
    assert elapsed < 5, f"cleaning took {elapsed:.1f}s"
    c = result.counts
    assert 4000 <= c["customers"] <= 4400
    assert c["rows_in"] == sum(c[r.key] for r in rules_for("online-retail")) + c["purchases_out"]
    assert c["dropped_non_product"] > 0
    p = result.purchases
    assert not p["item_id"].isin(NON_PRODUCT_CODES).any()
    assert not is_non_product(p["item_id"]).any()
    assert not p["invoice"].str.startswith("C").any()
    assert (p["quantity"] > 0).all() and (p["price"] > 0).all()
    assert p["customer_id"].notna().all()
    assert len(result.catalog) == c["items"] and result.catalog["title"].notna().all()
    assert (result.returns["quantity"] > 0).all() and len(result.returns) == c["returns"] > 0


def test_everything_dropped_still_gives_typed_catalog() -> None:
    given = pd.DataFrame(
        {
            "item_id": ["A"],
            "title": [None],
            "price": [np.nan],
            "category": [None],
            "available": [True],
            "available_from": pd.Series([pd.NaT], dtype="datetime64[ns]"),
        }
    )
    result = clean_purchases(frame([{"item_id": "POST"}]), catalog=given, fmt="online-retail")
    assert result.counts["purchases_out"] == 0 and result.counts["items"] == 0
    assert result.catalog["item_id"].tolist() == ["A"] and result.catalog["title"].tolist() == ["A"]
    assert result.catalog["first_sold"].dtype == "datetime64[ns]" and result.catalog["first_sold"].isna().all()
    assert len(clean_purchases(frame([{"item_id": "POST"}]), fmt="online-retail").catalog) == 0
