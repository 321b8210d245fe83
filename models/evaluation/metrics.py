"""Ranking metrics at k, each a small object with its formula, computed per customer.

Inputs are the same for every metric: `recos`, an (n_customers x >=k) array of recommended item
rows best first (-1 = no item), and `truth`, a CSR matrix whose row j holds the items customer j
actually bought in the test window. Per-customer values come back as arrays so reports can break
them down by segment; `calc_metrics` averages them into the `dict[str, float]` every report shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


def hits_at_k(recos: np.ndarray, truth: sp.csr_matrix, k: int) -> np.ndarray:
    """Boolean (n_customers x k): is the i-th recommendation in the customer's truth?"""
    top = np.asarray(recos)[:, :k].astype(np.int64)
    n_items = np.int64(truth.shape[1])
    truth_rows = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr))
    truth_keys = truth_rows * n_items + truth.indices
    reco_keys = np.arange(top.shape[0], dtype=np.int64)[:, None] * n_items + top
    return np.isin(reco_keys, truth_keys) & (top >= 0)


def truth_sizes(truth: sp.csr_matrix) -> np.ndarray:
    return np.diff(truth.indptr).astype(np.float64)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


@dataclass(frozen=True)
class Recall:
    """Recall@k = |top-k ∩ truth| / min(k, |truth|) (1.0 when every slot that could hit did)."""

    k: int

    def per_customer(self, recos: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
        hits = hits_at_k(recos, truth, self.k).sum(axis=1)
        return hits / np.maximum(np.minimum(self.k, truth_sizes(truth)), 1)


@dataclass(frozen=True)
class NDCG:
    """NDCG@k with binary gains: DCG = Σ_{i≤k} rel_i / log2(i+1), divided by the ideal
    IDCG = Σ_{i≤min(k,|truth|)} 1 / log2(i+1)."""

    k: int

    def per_customer(self, recos: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
        disc = _discounts(self.k)
        dcg = hits_at_k(recos, truth, self.k) @ disc
        ideal = np.concatenate([[0.0], np.cumsum(disc)])
        n_ideal = np.minimum(self.k, truth_sizes(truth)).astype(int)
        return np.divide(dcg, ideal[n_ideal], out=np.zeros_like(dcg), where=n_ideal > 0)


@dataclass(frozen=True)
class MAP:
    """MAP@k = Σ_{i≤k} Precision@i · rel_i / min(k, |truth|) (the average precision at k)."""

    k: int

    def per_customer(self, recos: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
        hits = hits_at_k(recos, truth, self.k).astype(np.float64)
        precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, self.k + 1)
        return (precision_at_i * hits).sum(axis=1) / np.maximum(np.minimum(self.k, truth_sizes(truth)), 1)


@dataclass(frozen=True)
class HitRate:
    """HitRate@k = 1 if at least one of the top k was bought, else 0."""

    k: int

    def per_customer(self, recos: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
        return np.asarray(hits_at_k(recos, truth, self.k).any(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class Coverage:
    """Catalog coverage@k = |∪ top-k over all customers| / n_items: how much of the catalog the
    model ever shows (popularity shows k items to everyone)."""

    k: int
    n_items: int

    def value(self, recos: np.ndarray) -> float:
        top = np.asarray(recos)[:, : self.k]
        return float(len(np.unique(top[top >= 0])) / max(self.n_items, 1))


@dataclass(frozen=True)
class PopularityRank:
    """Mean popularity rank@k = mean over all recommended items of their rank in the training
    popularity order (1 = best-seller). Low = popularity-biased; higher = more of the long tail."""

    k: int
    item_rank: np.ndarray  # rank (1-based) of each item row by training popularity

    def per_customer(self, recos: np.ndarray, truth: sp.csr_matrix | None = None) -> np.ndarray:
        top = np.asarray(recos)[:, : self.k]
        ranks = np.where(top >= 0, self.item_rank[np.maximum(top, 0)], np.nan)
        with np.errstate(invalid="ignore"):
            return np.nanmean(ranks, axis=1) if ranks.size else np.zeros(len(top))


def popularity_ranks(buyers_per_item: np.ndarray) -> np.ndarray:
    """1-based rank of each item by number of buyers (ties: lower row first)."""
    order = np.argsort(-np.asarray(buyers_per_item), kind="stable")
    ranks = np.empty(len(order), dtype=np.float64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def per_customer_metrics(
    recos: np.ndarray, truth: sp.csr_matrix, ks: Iterable[int], item_rank: np.ndarray
) -> dict[str, np.ndarray]:
    """`{"ndcg@10": values per customer, ...}` for the accuracy metrics and popularity rank."""
    out: dict[str, np.ndarray] = {}
    for k in ks:
        for metric in (Recall(k), NDCG(k), MAP(k), HitRate(k), PopularityRank(k, item_rank)):
            out[f"{type(metric).__name__.lower()}@{k}"] = metric.per_customer(recos, truth)
    return out


def calc_metrics(recos: np.ndarray, truth: sp.csr_matrix, ks: Iterable[int], item_rank: np.ndarray) -> dict[str, float]:
    """Every metric at every k, averaged over customers, plus catalog coverage."""
    ks = list(ks)
    out = {
        name: float(np.nanmean(v)) if len(v) else 0.0
        for name, v in per_customer_metrics(recos, truth, ks, item_rank).items()
    }
    for k in ks:
        out[f"coverage@{k}"] = Coverage(k, len(item_rank)).value(recos)
    return out
