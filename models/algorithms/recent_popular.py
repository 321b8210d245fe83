"""Recent popularity: what sold to the most customers in the last few days.

In a temporal evaluation this is a far stronger baseline than all-time popularity (seasons,
launches, a best-seller going out of fashion), and as a blend component it tells collaborative
models what is selling now.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.algorithms.params import ModelParams
from models.algorithms.timed import PurchaseTimes, TimeAwareRecommender
from models.rules.replenishment import ReplenishmentStats


class RecentPopularityParams(ModelParams):
    window_days: float = Field(default=14.0, gt=0.0)


def recent_buyers(stats: ReplenishmentStats, today: float, window_days: float) -> np.ndarray:
    """Distinct customers per item whose latest purchase of it is within `window_days` of today."""
    last = stats.last_day.tocsr()
    recent = last.data >= today - window_days
    return np.bincount(last.indices[recent], minlength=last.shape[1]).astype(np.float64)


def all_time_buyers(stats: ReplenishmentStats) -> np.ndarray:
    occ = stats.occasions.tocsc()
    return np.diff(occ.indptr).astype(np.float64)


class RecentPopularityRecommender(TimeAwareRecommender):
    """Items ranked by recent buyers; ties (and items nobody bought lately) by all-time buyers."""

    name = "recent_popularity"
    Params = RecentPopularityParams
    params: RecentPopularityParams
    same_for_everyone = True

    def __init__(self, params: RecentPopularityParams | None = None, times: PurchaseTimes | None = None) -> None:
        super().__init__(params, times)

    def _fit(self, user_items: sp.csr_matrix) -> None:
        times = self._require_times(user_items.shape)
        recent = recent_buyers(times.stats, times.today, self.params.window_days)
        overall = all_time_buyers(times.stats)
        scores = recent + overall / (overall.max() + 1.0)  # the tie-break never outweighs one buyer
        self.item_scores = (scores / max(scores.max(), 1e-12)).astype(np.float32)

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.item_scores, (len(user_rows), len(self.item_scores))).copy()

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.item_scores = state["item_scores"]
