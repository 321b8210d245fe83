"""Micro-segments: every customer in exactly one segment, no segment below the minimum size,
ids by size, and customers with different tastes kept apart."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from training.storefront.segments import SegmentParams, assign_segments, merge_small, relabel_by_size, segment_features


@settings(max_examples=60, deadline=None)
@given(
    features=arrays(
        np.float32, st.tuples(st.integers(1, 80), st.integers(1, 4)), elements=st.floats(-10, 10, width=32)
    ),
    n_labels=st.integers(1, 12),
    min_size=st.integers(1, 30),
    seed=st.integers(0, 10_000),
)
def test_merge_small_leaves_every_customer_in_one_big_enough_segment(
    features: np.ndarray, n_labels: int, min_size: int, seed: int
) -> None:
    labels = np.random.default_rng(seed).integers(0, n_labels, len(features))
    merged = merge_small(features, labels, min_size)
    assert merged.shape == (len(features),)
    ids, sizes = np.unique(merged, return_counts=True)
    assert ids.tolist() == list(range(len(ids)))  # ids 0..n-1
    assert len(ids) == 1 or sizes.min() >= min_size
    assert list(sizes) == sorted(sizes, reverse=True)  # largest first


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 120),
    n_segments=st.integers(1, 10),
    min_size=st.integers(1, 25),
    seed=st.integers(0, 1000),
)
def test_assign_segments_covers_everyone(n: int, n_segments: int, min_size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    factors, rfm = rng.normal(size=(n, 4)), np.abs(rng.normal(size=(n, 4))) * 10
    labels = assign_segments(factors, rfm, SegmentParams(n_segments=n_segments, min_size=min_size))
    assert labels.shape == (n,)
    sizes = np.bincount(labels)
    assert (sizes > 0).all() and len(sizes) <= n_segments
    assert len(sizes) == 1 or sizes.min() >= min_size


def test_different_tastes_end_up_in_different_segments() -> None:
    """Checkerboard: half the customers point one way in taste space, half the other; RFM alike."""
    rng = np.random.default_rng(0)
    a = rng.normal([5, 0, 0], 0.3, size=(60, 3))
    b = rng.normal([0, 5, 0], 0.3, size=(60, 3))
    rfm = np.tile([10.0, 3, 100, 200], (120, 1))
    labels = assign_segments(np.vstack([a, b]), rfm, SegmentParams(n_segments=2, min_size=10))
    assert len(set(labels[:60])) == 1 and len(set(labels[60:])) == 1 and labels[0] != labels[60]


def test_rfm_block_carries_the_configured_weight() -> None:
    rng = np.random.default_rng(1)
    feats = segment_features(rng.normal(size=(500, 8)), np.abs(rng.normal(size=(500, 4))) * 50, rfm_weight=0.7)
    taste, rfm = feats[:, :8], feats[:, 8:]
    assert np.allclose(np.linalg.norm(taste, axis=1), 1.0, atol=1e-5)
    assert abs(rfm.var(axis=0).sum() - 0.7**2) < 1e-3


def test_relabel_by_size_orders_ids() -> None:
    assert relabel_by_size(np.array([5, 5, 2, 5, 2, 9])).tolist() == [0, 0, 1, 0, 1, 2]
