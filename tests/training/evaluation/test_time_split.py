"""Splits cut by time: the model never learns from the period it is tested on."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.support.synthetic_shop import as_purchases, taste_shop
from training.evaluation.split import TemporalSplit, UserTailSplit


def test_temporal_split_holds_out_the_last_calendar_days() -> None:
    purchases = as_purchases(taste_shop(n_customers=12, days=60))
    split = TemporalSplit(days=14)(purchases)
    last_day = purchases["timestamp"].max().normalize()
    assert split.test["timestamp"].min() >= last_day - pd.Timedelta(days=13)
    assert split.train["timestamp"].max() < last_day - pd.Timedelta(days=13)
    assert len(split.train) + len(split.test) == len(purchases)
    assert "from" in split.description


def test_temporal_split_refuses_a_window_longer_than_the_data() -> None:
    purchases = as_purchases(taste_shop(n_customers=6, days=20))
    with pytest.raises(ValueError, match="leaves no training data"):
        TemporalSplit(days=400)(purchases)


def test_user_tail_split_holds_out_each_customers_latest_tenth() -> None:
    rows = [("a", f"i{n}", n) for n in range(20)] + [("b", f"i{n}", n) for n in range(5)] + [("c", "i0", 3)]
    purchases = pd.DataFrame(rows, columns=["customer_id", "item_id", "day"])
    purchases["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(purchases.pop("day"), unit="D")
    split = UserTailSplit(0.1)(purchases)
    held = split.test.groupby("customer_id")["item_id"].apply(sorted).to_dict()
    assert held == {"a": ["i18", "i19"], "b": ["i4"]}  # ceil(10% of 20) = 2, ceil(10% of 5) = 1; c has one
    for customer, test_rows in split.test.groupby("customer_id"):
        train_rows = split.train[split.train["customer_id"] == customer]
        assert train_rows["timestamp"].max() <= test_rows["timestamp"].min()
