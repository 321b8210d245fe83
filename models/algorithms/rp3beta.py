"""RP3beta (Paudel et al., 2017): a three-step random walk item -> customer -> item, with the
arrival item's popularity penalised.

P_ui is the customer x item matrix with rows scaled to sum to 1, P_iu the same for its
transpose; both are raised element-wise to `alpha`. The item-item weight is
W_ij = (P_iu · P_ui)_ij / popularity_j^beta (popularity = distinct buyers), its diagonal zeroed,
and only each item's `neighbours` largest weights kept. A customer's scores are x_u · W, which for
binary x is, up to a factor per customer, the walk's probability P³ = P_ui · P_iu · P_ui
(beta = 0, alpha = 1). A strong, cheap baseline in "Are We Really Making Much Progress?"
(Dacrema et al. 2019).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.algorithms.base import Recommender
from models.algorithms.params import ModelParams, Search
from models.algorithms.repurchase import csr_restore, csr_state


class RP3betaParams(ModelParams):
    alpha: float = Field(default=1.0, gt=0.0)  # element-wise power of the transition probabilities
    beta: float = Field(default=0.5, ge=0.0)  # popularity penalty of the arrival item
    neighbours: int = Field(default=200, ge=1)  # weights kept per item

    search = Search(values={"beta": (0.25, 0.75, 0.0), "alpha": (0.6, 1.4), "neighbours": (50, 1000)})


def row_stochastic(m: sp.csr_matrix, power: float) -> sp.csr_matrix:
    """Rows scaled to sum to 1, then raised element-wise to `power`."""
    sums = np.asarray(m.sum(axis=1)).ravel()
    out = (sp.diags(1.0 / np.maximum(sums, 1e-12)) @ m).tocsr()
    out.data = np.power(out.data, power)
    return out


def keep_largest(weights: np.ndarray, k: int) -> sp.csr_matrix:
    """Each row's `k` largest entries (positive ones only) as a sparse matrix."""
    n_rows, n_cols = weights.shape
    k = min(k, n_cols)
    cols = np.argpartition(-weights, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(weights, cols, axis=1)
    rows = np.repeat(np.arange(n_rows), k)
    keep = values.ravel() > 0
    return sp.csr_matrix((values.ravel()[keep], (rows[keep], cols.ravel()[keep])), shape=weights.shape)


class RP3betaRecommender(Recommender):
    name = "rp3beta"
    Params = RP3betaParams
    params: RP3betaParams

    def __init__(self, params: RP3betaParams | None = None) -> None:
        super().__init__(params)

    def _fit(self, user_items: sp.csr_matrix, block: int = 2048) -> None:
        p = self.params
        x = user_items.astype(np.float32)
        to_items = row_stochastic(x, p.alpha)
        to_customers = row_stochastic(x.T.tocsr(), p.alpha)
        buyers = np.diff(x.tocsc().indptr).astype(np.float64)
        penalty = np.where(buyers > 0, np.power(np.maximum(buyers, 1.0), -p.beta), 0.0).astype(np.float32)
        parts = []
        for start in range(0, x.shape[1], block):  # one block of item rows is dense at a time
            w = (to_customers[start : start + block] @ to_items).toarray() * penalty
            w[np.arange(w.shape[0]), np.arange(start, start + w.shape[0])] = 0.0
            parts.append(keep_largest(w, p.neighbours))
        self.weights = sp.vstack(parts).tocsr().astype(np.float32)

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        return np.asarray((user_items.astype(np.float32) @ self.weights).toarray())

    def _state(self) -> dict[str, np.ndarray]:
        return csr_state(self.weights)

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.weights = csr_restore(state)
