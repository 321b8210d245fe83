"""GP-TopFreq: the customer's own most frequent items, then the shop's, the next-basket baseline.

"A Next Basket Recommendation Reality Check" (Li et al. 2023) shows this two-line model (P-TopFreq
filled with G-TopFreq) ahead of several published deep next-basket models on grocery data. Items
the customer bought rank by how many of their baskets held them (the matrix of occasion counts),
ties by the item's frequency in every basket; the rest of the list is filled by that global
frequency alone.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.algorithms.base import Recommender


class GPTopFreqRecommender(Recommender):
    """Fitted on occasion counts (`COUNTS`): the global frequency is the column sums."""

    name = "gp_topfreq"
    buy_again = True  # without the customer's own items it is plain popularity

    def _fit(self, user_items: sp.csr_matrix) -> None:
        self.global_frequency = np.asarray(user_items.sum(axis=0), dtype=np.float64).ravel()

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        """The lexicographic key (own count, global count) as its rank order, exact in float32."""
        key = user_items.toarray().astype(np.float64) * (self.global_frequency.max() + 1.0)
        key += self.global_frequency
        return np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1).astype(np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {"global_frequency": self.global_frequency}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.global_frequency = state["global_frequency"]
