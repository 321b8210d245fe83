"""What time-aware recommenders need besides the matrix: when each customer bought each item.

A customer x item matrix forgets time, yet in shop data time is much of the signal: what is
selling *now*, how recently a customer bought something, whether their usual interval has
passed. `PurchaseTimes` carries that (the replenishment stats, aligned with the matrix rows and
columns, and the day the data ends) so `fit(interactions)` stays the one interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from models.algorithms.base import Recommender
from models.algorithms.params import ModelParams
from models.rules.replenishment import ReplenishmentStats


@dataclass(frozen=True)
class PurchaseLog:
    """Every purchase occasion (customer row, item row, day number), and each item's usual
    price (NaN when unknown): what a model needs to cut the history at an earlier day and
    learn from what came after (the two-stage ranker's training windows)."""

    customer_rows: np.ndarray
    item_rows: np.ndarray
    days: np.ndarray
    item_price: np.ndarray

    def before(self, day: float) -> PurchaseLog:
        """The occasions strictly before `day`."""
        keep = self.days < day
        return PurchaseLog(self.customer_rows[keep], self.item_rows[keep], self.days[keep], self.item_price)


@dataclass(frozen=True)
class PurchaseTimes:
    """Per customer x item occasions, first and last day (see `models.rules.replenishment`), and
    `today`: the day number (days since the epoch) at which the training data ends. `log`, the
    occasions themselves, is there for models that cut the history in time (None otherwise)."""

    stats: ReplenishmentStats
    today: float
    log: PurchaseLog | None = None


class TimeAwareRecommender(Recommender):
    """A recommender that reads purchase times at fit time.

    Give them in the constructor (`times=`) or with `with_times(...)` before `fit`; a saved model
    keeps what it derived from them, so a loaded one needs no times. The matrix only gives the
    shape (`reads_matrix`): everything is learnt from the times.
    """

    reads_matrix = False

    def __init__(self, params: ModelParams | dict[str, Any] | None = None, times: PurchaseTimes | None = None) -> None:
        super().__init__(params)
        self.times = times

    def with_times(self, times: PurchaseTimes) -> Self:
        self.times = times
        return self

    def _require_times(self, shape: tuple[int, int]) -> PurchaseTimes:
        if self.times is None:
            raise ValueError(f"{self.name} needs purchase times: pass `times=` or call `with_times(...)` before `fit`")
        if self.times.stats.shape != shape:
            raise ValueError(f"{self.name}: purchase times are {self.times.stats.shape}, the matrix is {shape}")
        return self.times
