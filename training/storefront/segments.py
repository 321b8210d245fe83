"""Micro-segments: small groups of similar customers, each of which gets its own offer.

"Similar" means two things at once: what they buy (the direction of their ALS taste vector) and
how they buy (recency, frequency, spend). Both blocks are scaled so each carries a known share
of the distance, then k-means cuts the customers into a few dozen groups. Groups smaller than
`min_size` are dissolved into their members' nearest remaining group: a segment of three is an
anecdote, not a target for a campaign. Segment ids are 0..n-1, largest first.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.preprocessing import StandardScaler, normalize

log = logging.getLogger(__name__)

MINIBATCH_ABOVE = 50_000  # customers; full k-means above this is needlessly slow


class SegmentParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_segments: int = Field(36, ge=1, description="clusters before small ones are merged")
    min_size: int = Field(20, ge=1, description="smallest segment a marketer gets")
    rfm_weight: float = Field(0.7, ge=0, description="share of the distance given to recency/frequency/spend")
    random_state: int = 42


def segment_features(factors: np.ndarray, rfm: np.ndarray, rfm_weight: float) -> np.ndarray:
    """[unit taste vector | weighted standardized log-RFM]. Unit rows make taste a direction
    (total variance <= 1); the RFM block is scaled to total variance rfm_weight**2."""
    taste = normalize(np.nan_to_num(np.asarray(factors, dtype=np.float64)))
    logged = np.log1p(np.clip(np.asarray(rfm, dtype=np.float64), 0, None))
    scaled = StandardScaler().fit_transform(logged) if len(logged) > 1 else np.zeros_like(logged)
    block = scaled * (rfm_weight / np.sqrt(max(logged.shape[1], 1)))
    return np.hstack([taste, block]).astype(np.float32)


def cluster(features: np.ndarray, n_clusters: int, random_state: int) -> np.ndarray:
    n_clusters = max(1, min(n_clusters, len(features)))
    if n_clusters == 1:
        return np.zeros(len(features), dtype=np.int32)
    if len(features) > MINIBATCH_ABOVE:
        model: KMeans | MiniBatchKMeans = MiniBatchKMeans(
            n_clusters, random_state=random_state, n_init=3, batch_size=4096
        )
    else:
        model = KMeans(n_clusters, random_state=random_state, n_init=3)
    return model.fit_predict(features).astype(np.int32)


def merge_small(features: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Dissolve the smallest group below `min_size` into the nearest remaining centroids,
    until every group is big enough (or one is left). Returns ids 0..n-1, largest first."""
    labels = labels.astype(np.int32).copy()
    while True:
        ids, sizes = np.unique(labels, return_counts=True)
        if len(ids) <= 1 or sizes.min() >= min_size:
            return relabel_by_size(labels)
        small = ids[np.argmin(sizes)]
        keep = ids[ids != small]
        centers = centroids(features, labels)[keep]
        members = np.flatnonzero(labels == small)
        distance = ((features[members, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        labels[members] = keep[distance.argmin(axis=1)]


def centroids(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean feature vector per label (rows indexed by label; empty labels are zero)."""
    n = int(labels.max()) + 1
    onehot = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(n, len(labels)))
    counts = np.asarray(onehot.sum(axis=1)).ravel()
    return np.asarray(onehot @ features) / np.maximum(counts, 1)[:, None]


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    ids, sizes = np.unique(labels, return_counts=True)
    order = ids[np.argsort(-sizes, kind="stable")]
    mapping = np.empty(int(labels.max()) + 1, dtype=np.int32)
    mapping[order] = np.arange(len(order), dtype=np.int32)
    return mapping[labels]


def assign_segments(factors: np.ndarray, rfm: np.ndarray, params: SegmentParams) -> np.ndarray:
    """Every customer's one segment id."""
    if len(factors) == 0:
        return np.zeros(0, dtype=np.int32)
    features = segment_features(factors, rfm, params.rfm_weight)
    labels = cluster(features, params.n_segments, params.random_state)
    labels = merge_small(features, labels, params.min_size)
    log.info("%d customers in %d segments (min size %d)", len(labels), labels.max() + 1, params.min_size)
    return labels
