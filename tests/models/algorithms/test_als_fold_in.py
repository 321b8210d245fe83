"""Fold-in of one customer (the cache-miss path) agrees with implicit's own solver."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.algorithms.als import ALSParams, ALSRecommender
from models.algorithms.interactions import Interactions


def test_single_row_fold_in_equals_implicits_solver() -> None:
    """The numpy path for one customer solves the same system as implicit's batch solver."""
    rng = np.random.default_rng(6)
    rows, cols = rng.integers(0, 60, 900), rng.integers(0, 80, 900)
    inter = Interactions.from_triples(rows.astype(str), cols.astype(str), rng.random(900) * 3)
    model = ALSRecommender(ALSParams(factors=8, iterations=5, alpha=2.0)).fit(inter)
    history = sp.vstack([inter.matrix[[4]], inter.matrix[[9]]]).tocsr()
    batch = model.fold_in(history)
    one_by_one = np.vstack([model.fold_in(history[[0]]), model.fold_in(history[[1]])])
    assert np.allclose(one_by_one, batch, rtol=1e-3, atol=1e-4)
