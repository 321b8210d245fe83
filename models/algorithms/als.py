"""Matrix factorisation by alternating least squares (implicit's ALS, CPU).

Customers and items become vectors whose dot product is the predicted preference. The item
vectors also give "similar items", and a customer the model has never seen can be folded in
from their purchases alone, without retraining.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from pydantic import Field
from threadpoolctl import threadpool_limits

from models.algorithms.base import Recommender, top_k
from models.algorithms.params import ModelParams, Search


class ALSParams(ModelParams):
    factors: int = Field(default=64, ge=1, le=4096)
    regularization: float = Field(default=0.05, ge=0.0)
    alpha: float = Field(default=1.0, gt=0.0)  # confidence = alpha x weight
    iterations: int = Field(default=15, ge=1)
    random_state: int = 42

    search = Search(
        start={"factors": 128},
        values={"factors": (64, 256), "regularization": (0.5, 5.0), "alpha": (0.5, 2.0)},
    )


class ALSRecommender(Recommender):
    name = "als"
    Params = ALSParams
    params: ALSParams

    def __init__(self, params: ALSParams | None = None, num_threads: int = 0) -> None:
        super().__init__(params)
        self._als = self._new_model(num_threads)
        self._gram: np.ndarray | None = None  # YtY + reg I, for single-customer fold-in

    def _new_model(self, num_threads: int = 0) -> AlternatingLeastSquares:
        p = self.params
        with threadpool_limits(1, "blas"):  # implicit checks the BLAS threading when built
            return AlternatingLeastSquares(
                factors=p.factors,
                regularization=p.regularization,
                alpha=p.alpha,
                iterations=p.iterations,
                random_state=p.random_state,
                num_threads=num_threads,
            )

    @property
    def user_factors(self) -> np.ndarray:
        return np.asarray(self._als.user_factors)

    @property
    def item_factors(self) -> np.ndarray:
        return np.asarray(self._als.item_factors)

    def _fit(self, user_items: sp.csr_matrix) -> None:
        # implicit parallelises itself; a multi-threaded BLAS underneath only fights it.
        with threadpool_limits(1, "blas"):
            self._als.fit(user_items, show_progress=False)
        self._gram = None

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        return self.user_factors[user_rows] @ self.item_factors.T

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Customer vector(s) solved from purchase rows (1 x n_items each) against fixed item
        vectors: how a new or changed customer gets personal scores at once.

        One row (a request's cache miss) is solved here in a few numpy calls on the cached
        item Gram matrix, without implicit's thread pool: waking threads for one 64 x 64 solve
        costs more than the solve, and much more on a busy machine. Batches go to implicit."""
        self._check_fitted()
        history = history.tocsr()
        if history.shape[0] == 1:
            return self._fold_in_row(history.indices, history.data)[None, :]
        rows = np.arange(history.shape[0])
        # One thread: a few customers solve in microseconds, while waking an OpenMP team for them
        # costs milliseconds (measured: 26 us vs 6 ms per customer on 2 busy cores).
        threads, self._als.num_threads = self._als.num_threads, 1
        try:
            return np.asarray(self._als.recalculate_user(rows, history), dtype=np.float32)
        finally:
            self._als.num_threads = threads

    def _fold_in_row(self, items: np.ndarray, values: np.ndarray) -> np.ndarray:
        """implicit's least squares for one customer: (YtY + reg I + Yh' (C - 1) Yh) x = Yh' C p."""
        if self._gram is None:
            y = self.item_factors.astype(np.float64)
            self._gram = y.T @ y + self.params.regularization * np.eye(y.shape[1])
        confidence = self.params.alpha * np.asarray(values, dtype=np.float64)
        bought = self.item_factors[items].astype(np.float64)
        a = self._gram + (bought.T * (np.abs(confidence) - 1.0)) @ bought
        b = bought.T @ np.where(confidence > 0, confidence, 0.0)
        return np.linalg.solve(a, b).astype(np.float32)

    def score_vectors(self, vectors: np.ndarray) -> np.ndarray:
        return np.atleast_2d(vectors) @ self.item_factors.T

    def similar_items(self, item_rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        factors = self.item_factors
        norms = np.linalg.norm(factors, axis=1)
        norms[norms == 0] = 1.0
        unit = factors / norms[:, None]
        sims = unit[np.asarray(item_rows)] @ unit.T
        sims[np.arange(len(item_rows)), item_rows] = -np.inf
        return top_k(sims, k)

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self._als = self._new_model()
        self._gram = None
        self._als.user_factors = np.ascontiguousarray(state["user_factors"], dtype=np.float32)
        self._als.item_factors = np.ascontiguousarray(state["item_factors"], dtype=np.float32)
