"""Confidence weightings and the basket lines models read, on purchases whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.support.synthetic_shop import as_purchases
from training.data.features import WeightParams, build_interactions, purchase_log

NO_DECAY = {"half_life_days": None}


def purchases() -> pd.DataFrame:
    """Everyone (a, b, c, d) bought x once; a also bought y, twice on two invoices."""
    rows = [("a", "x", 0, "1"), ("b", "x", 1, "2"), ("c", "x", 2, "3"), ("d", "x", 3, "4")]
    rows += [("a", "y", 5, "5"), ("a", "y", 9, "6")]
    frame = pd.DataFrame(rows, columns=["customer_id", "item_id", "d", "invoice"])
    frame["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame.pop("d"), unit="D")
    invoices = frame.pop("invoice")
    return as_purchases(frame.assign(quantity=1, price=1.0)).assign(invoice=invoices)


def test_tfidf_weighting_makes_what_everyone_buys_count_less() -> None:
    log, _ = build_interactions(purchases(), WeightParams(scheme="log", **NO_DECAY))
    tfidf, _ = build_interactions(purchases(), WeightParams(scheme="tfidf", **NO_DECAY))
    a, x, y = log.customers.row("a"), log.items.row("x"), log.items.row("y")
    assert log.matrix[a, x] == pytest.approx(1 + np.log1p(1)) and log.matrix[a, y] == pytest.approx(1 + np.log1p(2))
    assert tfidf.matrix[a, y] == pytest.approx((1 + np.log1p(2)) * np.log(4 / 1))  # one buyer in four
    assert tfidf.matrix[a, x] == pytest.approx((1 + np.log1p(1)) * np.log(2) / 2)  # everyone: the floor


def test_the_purchase_log_has_every_occasion_line_in_matrix_rows_with_its_invoice() -> None:
    data = purchases()
    _, history = build_interactions(data, WeightParams())
    log = purchase_log(data, history)
    assert len(log.customer_rows) == 6
    pairs = sorted(zip(history.customers.ids[log.customer_rows], history.items.ids[log.item_rows]))
    assert pairs == sorted(zip(data["customer_id"], data["item_id"]))
    assert log.occasions is not None and len(set(log.occasions.tolist())) == 6  # six invoices, six baskets
    np.testing.assert_array_equal(np.sort(log.days - log.days.min()), [0, 1, 2, 3, 5, 9])
