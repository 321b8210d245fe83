"""Splits for timestamped data: train on the past, test on the future, never a random split.

A random split lets a model learn from next month to predict last month, and flatters every
model that ignores time. Two splitters, both cutting by time:

- `TemporalSplit(days)`: the last `days` calendar days of the data are the test window, all
  before is training (the shop's question: "what will customers buy in the next four weeks?").
- `UserTailSplit(fraction)`: each customer's latest `fraction` of interactions is their test set
  (for data like MovieLens-100K, where a global cut leaves too few customers in the window).

Applied to a split's training part, the same splitter carves the validation window used for
tuning, so the test window is never looked at before the final evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    description: str


class Splitter(Protocol):
    def __call__(self, purchases: pd.DataFrame) -> Split: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class TemporalSplit:
    days: int = 28

    def describe(self) -> str:
        return f"temporal: the last {self.days} days held out"

    def cutoff(self, purchases: pd.DataFrame) -> pd.Timestamp:
        """Start of the test window: midnight `days - 1` days before the last day with data."""
        return purchases["timestamp"].max().normalize() - pd.Timedelta(days=self.days - 1)

    def __call__(self, purchases: pd.DataFrame) -> Split:
        if self.days < 1:
            raise ValueError(f"test window must be at least 1 day, not {self.days}")
        cutoff = self.cutoff(purchases)
        before = (purchases["timestamp"] < cutoff).to_numpy()
        train, test = purchases[before], purchases[~before]
        if train.empty:
            raise ValueError(
                f"a {self.days}-day test window leaves no training data (data starts "
                f"{purchases['timestamp'].min():%Y-%m-%d}); use fewer --test-days"
            )
        description = f"{self.describe()} from {cutoff:%Y-%m-%d}"
        return Split(train.reset_index(drop=True), test.reset_index(drop=True), description)


@dataclass(frozen=True)
class UserTailSplit:
    fraction: float = 0.1

    def describe(self) -> str:
        return f"per customer: their latest {self.fraction:.0%} of interactions in time held out"

    def __call__(self, purchases: pd.DataFrame) -> Split:
        """Customers with a single interaction stay wholly in training (nothing to learn from)."""
        ordered = purchases.sort_values(["customer_id", "timestamp", "item_id"], kind="stable")
        by_customer = ordered.groupby("customer_id", sort=False)
        size = by_customer["item_id"].transform("size").to_numpy()
        position = by_customer.cumcount().to_numpy()
        n_test = np.where(size > 1, np.ceil(self.fraction * size), 0)
        is_test = position >= size - n_test
        train, test = ordered[~is_test], ordered[is_test]
        if train.empty or test.empty:
            raise ValueError("too few interactions per customer to hold some out for testing")
        return Split(train.reset_index(drop=True), test.reset_index(drop=True), self.describe())
