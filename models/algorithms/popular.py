"""Popularity: the cold-start answer and the first baseline every model must beat."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.algorithms.base import Recommender


class PopularityRecommender(Recommender):
    """Items ranked by how many distinct customers bought them (not by units: wholesalers
    buying thousands of one item would otherwise dominate)."""

    name = "popularity"
    same_for_everyone = True

    def _fit(self, user_items: sp.csr_matrix) -> None:
        binary = user_items.copy()
        binary.data = np.ones_like(binary.data)
        counts = np.asarray(binary.sum(axis=0)).ravel().astype(np.float32)
        self.item_scores = counts / max(float(counts.max()), 1.0)

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.item_scores, (len(user_rows), len(self.item_scores))).copy()

    def ranking(self, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Item rows best first, with their scores."""
        self._check_fitted()
        order = np.argsort(-self.item_scores, kind="stable")
        if k is not None:
            order = order[:k]
        return order, self.item_scores[order]

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.item_scores = state["item_scores"]
