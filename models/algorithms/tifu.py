"""TIFU-KNN (Hu et al., SIGIR 2020): time-decayed personal item frequencies plus their neighbours'.

A customer's baskets, newest last, are cut into groups of `group_size` (aligned on the newest
basket, so the oldest group may be short). Within a group each basket's binary item vector is
weighted r_b^p (p = baskets between it and the group's newest one) and averaged over the group's
`group_size` places (a short group's missing baskets count as empty, so one old basket alone in
its group does not weigh as much as a full group); the groups are weighted r_g^g (g = groups
between it and the newest) and averaged: the customer's vector u.
The `neighbours` customers nearest to u (cosine) give u_n, the mean of their vectors, and an
item's score is alpha · u + (1 - alpha) · u_n. "A Next Basket Recommendation Reality Check" (Li
et al. 2023) found this simple model ahead of most deep next-basket models; here it is a
baseline every model must beat. Baskets are invoices or days (`basket`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.algorithms.params import ModelParams, Search
from models.algorithms.repurchase import csr_restore, csr_state
from models.algorithms.timed import PurchaseLog, PurchaseTimes, TimeAwareRecommender


class TIFUParams(ModelParams):
    basket: Literal["invoice", "day"] = "invoice"  # what one basket is
    group_size: int = Field(default=7, ge=1)  # m: baskets per group
    within_decay: float = Field(default=0.9, gt=0.0, le=1.0)  # r_b: decay between baskets of a group
    group_decay: float = Field(default=0.7, gt=0.0, le=1.0)  # r_g: decay between groups
    neighbours: int = Field(default=300, ge=1)  # k nearest customers
    alpha: float = Field(default=0.7, ge=0.0, le=1.0)  # weight of the customer's own vector

    search = Search(
        values={
            "alpha": (0.5, 0.9),
            "group_decay": (0.5, 0.9),
            "group_size": (3, 15),
            "within_decay": (1.0,),
            "neighbours": (100, 900),
            "basket": ("day",),
        }
    )


def basket_weights(log: PurchaseLog, params: TIFUParams, n_customers: int) -> tuple[np.ndarray, np.ndarray]:
    """(basket of each line, weight of each basket) with the weight r_b^p · r_g^g / (m · groups).
    Invoice baskets need the log's `occasions`; without them a basket is a day."""
    by_invoice = params.basket == "invoice" and log.occasions is not None
    key = log.occasions if by_invoice else np.floor(log.days)
    key = np.unique(np.asarray(key), return_inverse=True)[1].astype(np.int64)
    customer = log.customer_rows.astype(np.int64)
    pairs, basket_of_line = np.unique(customer * (int(key.max(initial=0)) + 1) + key, return_inverse=True)
    owner = pairs // (int(key.max(initial=0)) + 1)
    first_day = np.full(len(pairs), np.inf)
    np.minimum.at(first_day, basket_of_line, log.days)
    order = np.lexsort((first_day, owner))  # per customer, oldest basket first
    counts = np.bincount(owner, minlength=n_customers)
    sorted_owner = owner[order]
    n = counts[sorted_owner]
    newest_first = n - 1 - (np.arange(len(order)) - (np.cumsum(counts) - counts)[sorted_owner])
    m = params.group_size
    group, position = np.divmod(newest_first, m)
    groups = -(-n // m)
    weight = np.empty(len(order))
    weight[order] = np.power(params.within_decay, position) * np.power(params.group_decay, group) / (m * groups)
    return basket_of_line, weight


def personal_vectors(log: PurchaseLog, params: TIFUParams, shape: tuple[int, int]) -> sp.csr_matrix:
    """u for every customer (rows) over items (columns); an item counts once per basket."""
    basket_of_line, weight = basket_weights(log, params, shape[0])
    items = log.item_rows.astype(np.int64)
    _, first = np.unique(basket_of_line * shape[1] + items, return_index=True)
    rows, cols = log.customer_rows[first], items[first]
    u = sp.csr_matrix((weight[basket_of_line[first]], (rows, cols)), shape=shape)
    u.sum_duplicates()
    return u


def nearest_customers(vectors: sp.csr_matrix, k: int, batch: int = 1024) -> np.ndarray:
    """The `k` customers whose vectors have the highest cosine with each one's, itself excluded."""
    n = vectors.shape[0]
    k = max(1, min(k, n - 1))
    norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel())
    unit = sp.diags(1.0 / np.maximum(norms, 1e-12)) @ vectors
    unit_t = unit.T.tocsr()
    out = np.zeros((n, k), dtype=np.int32)
    for start in range(0, n, batch):
        rows = np.arange(start, min(start + batch, n))
        sims = (unit[rows] @ unit_t).toarray()
        sims[np.arange(len(rows)), rows] = -np.inf
        out[rows] = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n else np.argsort(-sims, axis=1)[:, :k]
    return out


class TIFUKNNRecommender(TimeAwareRecommender):
    """Reads the purchase log (`PurchaseTimes.log`); a saved one keeps u and the neighbours."""

    name = "tifu_knn"
    Params = TIFUParams
    params: TIFUParams

    def __init__(self, params: TIFUParams | None = None, times: PurchaseTimes | None = None) -> None:
        super().__init__(params, times)

    def _fit(self, user_items: sp.csr_matrix) -> None:
        times = self._require_times(user_items.shape)
        if times.log is None:
            raise ValueError(f"{self.name} needs the baskets themselves (`PurchaseTimes.log`), not only their stats")
        self.vectors = personal_vectors(times.log, self.params, user_items.shape).astype(np.float32)
        self.neighbours = nearest_customers(self.vectors, self.params.neighbours)

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        alpha, k = self.params.alpha, self.neighbours.shape[1]
        rows = np.repeat(np.arange(len(user_rows)), k)
        mean = sp.csr_matrix(
            (np.full(len(rows), 1.0 / k, dtype=np.float32), (rows, self.neighbours[user_rows].ravel())),
            shape=(len(user_rows), self.vectors.shape[0]),
        )
        return np.asarray((alpha * self.vectors[user_rows] + (1.0 - alpha) * (mean @ self.vectors)).toarray())

    def _state(self) -> dict[str, np.ndarray]:
        return {**csr_state(self.vectors), "neighbours": self.neighbours}

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        self.neighbours = state.pop("neighbours")
        self.vectors = csr_restore(state)
