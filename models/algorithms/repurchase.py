"""Buy-again models: what this customer will reorder, from their own purchase rhythm.

Most of what a shop's regular customers buy next they have bought before, so for the *all* task
(repeats count) the customer's own history beats any collaborative model. Two models here:

- `PurchaseFrequencyRecommender`, the baseline: the customer's most frequently bought items,
  ties broken by recency and then popularity.
- `RepurchaseRecommender`: per customer x item, purchase occasions decayed by age (recent habits
  count more), raised when the item is due given the customer's own interval, and raised when
  the item is selling now (seasonal items come back every year).

Both read the replenishment stats (`models.rules.replenishment`) through `PurchaseTimes`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.algorithms.params import ModelParams, Search
from models.algorithms.recent_popular import all_time_buyers, recent_buyers
from models.algorithms.timed import PurchaseTimes, TimeAwareRecommender
from models.rules.replenishment import ReplenishmentStats, due_timing


class RepurchaseParams(ModelParams):
    half_life_days: float = Field(default=120.0, gt=0.0)  # age at which an occasion counts half
    due_weight: float = Field(default=0.0, ge=0.0)  # extra weight when the customer's own interval has passed
    trend_weight: float = Field(default=2.0, ge=0.0)  # extra weight for items selling now (x recent buyers / max)
    trend_window_days: float = Field(default=14.0, gt=0.0)

    search = Search(
        values={
            "trend_weight": (0.0, 1.0, 4.0),
            "half_life_days": (30.0, 60.0, 240.0),
            "trend_window_days": (7.0, 28.0),
            "due_weight": (0.3, 1.0),
        }
    )


def decayed_occasions(stats: ReplenishmentStats, today: float, half_life_days: float) -> np.ndarray:
    """Σ over occasions of 0.5^(age / half-life), per stored entry of `stats.occasions`.

    Only first day, last day and count are kept, so occasions are taken as evenly spaced between
    the first and the last: a geometric series r · (1 - q^n) / (1 - q), with r the weight of the
    latest occasion and q the decay over one interval.
    """
    n = stats.occasions.data.astype(np.float64)
    first, last = stats.first_day.data.astype(np.float64), stats.last_day.data.astype(np.float64)
    interval = np.where(n > 1, (last - first) / np.maximum(n - 1, 1), 0.0)
    latest = np.power(0.5, np.maximum(today - last, 0.0) / half_life_days)
    q = np.power(0.5, interval / half_life_days)
    series = np.divide(1.0 - q**n, 1.0 - q, out=n.copy(), where=q < 1.0 - 1e-9)
    return latest * series


def due_factor(stats: ReplenishmentStats, today: float) -> np.ndarray:
    """0..1 per stored entry: 1 when the days since the last purchase equal the customer's own
    mean interval for that item (only for items bought on at least two different days)."""
    n = stats.occasions.data.astype(np.float64)
    first, last = stats.first_day.data.astype(np.float64), stats.last_day.data.astype(np.float64)
    repeated = (n >= 2) & (last > first)
    interval = np.where(repeated, (last - first) / np.maximum(n - 1, 1), 1.0)
    return np.where(repeated, due_timing((today - last) / interval), 0.0)


def _popularity_tiebreak(stats: ReplenishmentStats) -> np.ndarray:
    buyers = all_time_buyers(stats)
    return buyers / (buyers.max() + 1.0)


class RepurchaseRecommender(TimeAwareRecommender):
    """Scores only items the customer bought. Others get a popularity tie-break so small (1e-9)
    that a customer with few purchases still gets a sensible list, yet in a blend it stays below
    float32 resolution and cannot reorder the other part's items (see `models.algorithms.blend`)."""

    name = "repurchase"
    Params = RepurchaseParams
    params: RepurchaseParams
    buy_again = True

    def __init__(self, params: RepurchaseParams | None = None, times: PurchaseTimes | None = None) -> None:
        super().__init__(params, times)

    def _fit(self, user_items: sp.csr_matrix) -> None:
        times = self._require_times(user_items.shape)
        stats, p = times.stats, self.params
        occ = stats.occasions.tocsr()
        score = np.log1p(decayed_occasions(stats, times.today, p.half_life_days))
        score *= 1.0 + p.due_weight * due_factor(stats, times.today)
        trend = recent_buyers(stats, times.today, p.trend_window_days)
        score *= 1.0 + p.trend_weight * (trend / max(trend.max(), 1.0))[occ.indices]
        self.scores = sp.csr_matrix((score.astype(np.float32), occ.indices, occ.indptr), shape=occ.shape)
        self.tiebreak = (1e-9 * _popularity_tiebreak(stats)).astype(np.float32)

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        return self.scores[user_rows].toarray() + self.tiebreak

    def _state(self) -> dict[str, np.ndarray]:
        return {**csr_state(self.scores), "tiebreak": self.tiebreak}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.scores = csr_restore(state)
        self.tiebreak = state["tiebreak"]


class PurchaseFrequencyRecommender(TimeAwareRecommender):
    """Baseline "buy what you bought before": most purchase occasions first, ties by the most
    recent purchase day, then by popularity; items never bought rank by popularity after them."""

    name = "purchase_frequency"
    buy_again = True

    def _fit(self, user_items: sp.csr_matrix) -> None:
        times = self._require_times(user_items.shape)
        stats = times.stats
        self.occasions = stats.occasions.tocsr().astype(np.float64)
        self.last_day = np.floor(stats.last_day.tocsr().data).astype(np.float64)
        self.origin = float(self.last_day.min()) if len(self.last_day) else 0.0
        self.popularity = _popularity_tiebreak(stats)

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        """Lexicographic key (occasions, day, popularity) in float64, returned as its rank order
        so the float32 scores every model returns cannot merge ties."""
        occ = self.occasions[user_rows]
        days = sp.csr_matrix((self.last_day, self.occasions.indices, self.occasions.indptr), shape=self.occasions.shape)
        days = days[user_rows]
        key = occ.toarray() * 1e7 + (days.toarray() - self.origin + 1.0) * (occ.toarray() > 0) * 10.0
        key += 9.0 * self.popularity
        return np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1).astype(np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **csr_state(self.occasions),
            "last_day": self.last_day,
            "popularity": self.popularity,
            "origin": np.asarray(self.origin),
        }

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.occasions = csr_restore(state)
        self.last_day, self.popularity = state["last_day"], state["popularity"]
        self.origin = float(state["origin"])


def csr_state(m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {"data": m.data, "indices": m.indices, "indptr": m.indptr, "shape": np.asarray(m.shape)}


def csr_restore(state: dict[str, np.ndarray]) -> sp.csr_matrix:
    return sp.csr_matrix((state["data"], state["indices"], state["indptr"]), shape=tuple(state["shape"]))
