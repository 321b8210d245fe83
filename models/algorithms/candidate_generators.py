"""The two-stage recommender's first stage: candidates from several generators.

Each generator is a cheap model that is good at one reason to buy, and each proposes its top
`per_generator` items per customer; the union is what the learned ranker
(`models.algorithms.two_stage`) orders. The generators, by name:

- `repurchase`: the customer's own items by their rhythm (`RepurchaseRecommender`: decayed
  occasions, due-ness, what sells now);
- `decayed_frequency`: the customer's own items by time-decayed purchase frequency, each
  occasion counted exactly (the personal part of TIFU-KNN, Hu et al. 2020);
- `ease`, `als`: collaborative models on the decayed confidence matrix (EASE only while the
  catalogue fits its dense item x item matrix);
- `neighbours`: co-purchase neighbours (item-kNN, cosine) of what the customer bought recently;
- `segment_trend`: what is rising among customers like them (a segment is a k-means cluster
  of the customers' ALS taste directions), a Poisson z value as in `training.storefront.trending`.

A `Snapshot` is the history cut at one day: the ranker is trained on a snapshot before its
label window and scores with one of all the data, with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.algorithms.als import ALSParams, ALSRecommender
from models.algorithms.base import Recommender, top_k
from models.algorithms.ease import MAX_ITEMS, EASEParams, EASERecommender
from models.algorithms.interactions import IdMap, Interactions
from models.algorithms.knn import ItemKNNRecommender, KNNParams
from models.algorithms.repurchase import RepurchaseRecommender
from models.algorithms.timed import PurchaseLog, PurchaseTimes
from models.rules.replenishment import ReplenishmentStats, replenishment_stats

GENERATORS = ("repurchase", "decayed_frequency", "ease", "als", "neighbours", "segment_trend")
PERSONAL = ("repurchase", "decayed_frequency")  # propose only the customer's own items


def decayed_counts(log: PurchaseLog, today: float, half_life_days: float, shape: tuple[int, int]) -> sp.csr_matrix:
    """Σ over each pair's occasions of 0.5^(age / half-life), every occasion counted exactly."""
    weight = np.power(0.5, np.maximum(today - log.days, 0.0) / half_life_days)
    m = sp.csr_matrix((weight, (log.customer_rows, log.item_rows)), shape=shape, dtype=np.float64)
    m.sum_duplicates()
    return m


@dataclass(frozen=True)
class GeneratorParams:
    half_life_days: float  # the confidence matrix EASE, ALS and kNN learn from
    frequency_half_life_days: float
    recent_half_life_days: float  # what "bought recently" means for the neighbours
    ease_l2: float
    als_factors: int
    neighbours: int
    segments: int
    trend_window_days: float
    seed: int


@dataclass
class Snapshot:
    """The history strictly before `today` (a day number), as generators and features read it."""

    log: PurchaseLog
    today: float
    shape: tuple[int, int]
    stats: ReplenishmentStats
    frequency: sp.csr_matrix  # decayed occasion counts (`decayed_frequency`)

    @classmethod
    def of(cls, log: PurchaseLog, today: float, shape: tuple[int, int], frequency_half_life_days: float) -> Snapshot:
        stats = replenishment_stats(log.customer_rows, log.item_rows, log.days, shape)
        return cls(log, today, shape, stats, decayed_counts(log, today, frequency_half_life_days, shape))

    def confidence(self, half_life_days: float) -> Interactions:
        """1 + log1p(decayed occasions): the weighting the tuned collaborative models use."""
        m = decayed_counts(self.log, self.today, half_life_days, self.shape).astype(np.float32)
        m.data = 1.0 + np.log1p(m.data)
        ids = IdMap.from_ids
        return Interactions(ids(np.arange(self.shape[0])), ids(np.arange(self.shape[1])), m)


class Generators:
    """Every generator fitted on one snapshot; `scores` gives their dense scores for some rows."""

    def __init__(self, params: GeneratorParams) -> None:
        self.params = params
        self.models: dict[str, Recommender] = {}
        self.recent = sp.csr_matrix((0, 0))
        self.segment_of = np.zeros(0, dtype=np.int32)
        self.segment_trend = np.zeros((0, 0), dtype=np.float32)
        self.confidence = sp.csr_matrix((0, 0), dtype=np.float32)
        self.neighbour_of = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, snap: Snapshot) -> Generators:
        p = self.params
        self.snap = snap
        times = PurchaseTimes(snap.stats, snap.today)
        confidence = snap.confidence(p.half_life_days)
        if confidence.matrix.nnz == 0:
            raise ValueError("no purchases before the snapshot's day to fit the generators on")
        self.models["repurchase"] = RepurchaseRecommender(times=times).fit(confidence)
        if snap.shape[1] <= MAX_ITEMS:
            self.models["ease"] = EASERecommender(EASEParams(l2=p.ease_l2)).fit(confidence)
        factors = min(p.als_factors, max(1, min(snap.shape) - 1))
        self.models["als"] = ALSRecommender(ALSParams(factors=factors, random_state=p.seed), num_threads=1).fit(
            confidence
        )
        knn = KNNParams(similarity="cosine", neighbours=p.neighbours)
        self.models["neighbours"] = ItemKNNRecommender(knn).fit(confidence)
        self._derived(self._segments())
        return self

    def restore(self, snap: Snapshot, models: dict[str, dict[str, np.ndarray]], segment_of: np.ndarray) -> Generators:
        """Generators saved with `Recommender.state()`, on the snapshot they were fitted on."""
        kinds: dict[str, type[Recommender]] = {
            "repurchase": RepurchaseRecommender,
            "ease": EASERecommender,
            "als": ALSRecommender,
            "neighbours": ItemKNNRecommender,
        }
        self.snap = snap
        self.models = {name: kinds[name]().restore(state) for name, state in models.items()}
        self._derived(segment_of)
        return self

    def _derived(self, segment_of: np.ndarray) -> None:
        p, snap = self.params, self.snap
        self.recent = decayed_counts(snap.log, snap.today, p.recent_half_life_days, snap.shape).astype(np.float32)
        self.confidence = snap.confidence(p.half_life_days).matrix
        knn = self.models["neighbours"]
        assert isinstance(knn, ItemKNNRecommender)
        self.neighbour_of = knn.similarity.tolil()
        self.neighbour_of.setdiag(0.0)  # an item is no neighbour of itself
        self.neighbour_of = self.neighbour_of.tocsr()
        self.neighbour_of.eliminate_zeros()
        self.segment_of = segment_of
        self.segment_trend = segment_trend(snap, segment_of, p.trend_window_days)

    def _segments(self) -> np.ndarray:
        from sklearn.cluster import KMeans  # here, not at the top: the service imports this module, never fits
        from sklearn.preprocessing import normalize

        model = self.models["als"]
        assert isinstance(model, ALSRecommender)
        taste = normalize(np.nan_to_num(model.user_factors.astype(np.float64)))
        n = max(1, min(self.params.segments, len(taste)))
        if n == 1:
            return np.zeros(len(taste), dtype=np.int32)
        return KMeans(n, random_state=self.params.seed, n_init=3).fit_predict(taste).astype(np.int32)

    def names(self) -> list[str]:
        return [g for g in GENERATORS if g in self.models or g in ("decayed_frequency", "segment_trend")]

    def scores(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Dense (len(rows) x items) scores of every generator; -inf where it proposes nothing."""
        snap = self.snap
        owned = snap.stats.occasions[rows].toarray() > 0
        out: dict[str, np.ndarray] = {}
        for name in self.names():
            if name == "decayed_frequency":
                raw = snap.frequency[rows].toarray().astype(np.float32)
            elif name == "segment_trend":
                raw = self.segment_trend[self.segment_of[rows]].copy()
            elif name == "neighbours":
                raw = np.asarray((self.recent[rows] @ self.neighbour_of).todense(), dtype=np.float32)
            else:
                raw = self.models[name].score(rows, self.confidence[rows])
            if name in PERSONAL:
                raw = np.where(owned, raw, -np.inf).astype(np.float32)
            out[name] = raw
        return out


def segment_trend(snap: Snapshot, segment_of: np.ndarray, window_days: float, earlier_windows: int = 3) -> np.ndarray:
    """(segments x items) z value of each item's distinct buyers in the segment over the last
    `window_days` against the mean of the `earlier_windows` windows before."""
    n_segments = int(segment_of.max()) + 1 if len(segment_of) else 1
    log = snap.log

    def buyers(window: int) -> np.ndarray:
        end = snap.today - window_days * window
        keep = (log.days >= end - window_days) & (log.days < end)
        pairs = sp.csr_matrix(
            (np.ones(int(keep.sum())), (log.customer_rows[keep], log.item_rows[keep])), shape=snap.shape
        )
        pairs.data[:] = 1.0
        per_customer = pairs.tocoo()
        counts = sp.csr_matrix(
            (per_customer.data, (segment_of[per_customer.row], per_customer.col)), shape=(n_segments, snap.shape[1])
        )
        return np.asarray(counts.todense(), dtype=np.float64)

    now = buyers(0)
    expected = np.mean([buyers(w) for w in range(1, earlier_windows + 1)], axis=0)
    return ((now - expected) / np.sqrt(expected + 1.0)).astype(np.float32)


def top_ranks(scores: np.ndarray, n: int) -> np.ndarray:
    """Each item's 0-based rank in its row's top `n` (finite scores only), `n` elsewhere."""
    ranks = np.full(scores.shape, n, dtype=np.int32)
    idx, vals = top_k(scores, n)
    rows = np.repeat(np.arange(len(scores)), idx.shape[1]).reshape(idx.shape)
    ok = (idx >= 0) & np.isfinite(vals)
    ranks[rows[ok], idx[ok]] = np.broadcast_to(np.arange(idx.shape[1]), idx.shape)[ok]
    return ranks
