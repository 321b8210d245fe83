"""RP3beta against the random walk computed by hand, and its popularity penalty."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.algorithms.interactions import IdMap, Interactions
from models.algorithms.rp3beta import RP3betaParams, RP3betaRecommender

BOUGHT = np.array(
    [
        [1, 1, 0, 0, 0, 0],
        [1, 0, 1, 0, 1, 0],
        [0, 1, 1, 1, 0, 0],
        [1, 1, 0, 0, 0, 1],
        [0, 0, 1, 1, 1, 1],
        [1, 0, 0, 1, 0, 0],
    ],
    dtype=np.float32,
)


def matrix(dense: np.ndarray) -> Interactions:
    n, m = dense.shape
    return Interactions(
        IdMap.from_ids([f"c{c}" for c in range(n)]), IdMap.from_ids([f"i{i}" for i in range(m)]), sp.csr_matrix(dense)
    )


def test_beta_zero_ranks_unbought_items_as_the_three_step_walk() -> None:
    p_ui = BOUGHT / BOUGHT.sum(axis=1, keepdims=True)
    p_iu = BOUGHT.T / BOUGHT.T.sum(axis=1, keepdims=True)
    walk = p_ui @ p_iu @ p_ui  # P³ by hand: customer -> item -> customer -> item
    data = matrix(BOUGHT)
    model = RP3betaRecommender(RP3betaParams(alpha=1.0, beta=0.0, neighbours=100)).fit(data)
    scores = model.score(np.arange(6), data.matrix)
    for c in range(6):
        unbought = np.flatnonzero(BOUGHT[c] == 0)
        # the same values up to the customer's own factor (x_u instead of P_u), so the same order
        np.testing.assert_allclose(scores[c, unbought] / BOUGHT[c].sum(), walk[c, unbought], rtol=1e-5)


def test_beta_penalises_the_popular_arrival_item() -> None:
    """Item 0 is bought by everyone but customer 0, item 2 only by the one customer who shares
    item 1 with customer 0; without the penalty the best-seller wins, with it the niche item."""
    dense = np.zeros((6, 3), dtype=np.float32)
    dense[0, 1] = dense[1, [0, 1, 2]] = 1
    dense[2:, 0] = 1
    data = matrix(dense)

    def first(beta: float) -> int:
        model = RP3betaRecommender(RP3betaParams(beta=beta)).fit(data)
        return int(model.recommend(np.array([0]), data.matrix, 1)[0][0, 0])

    assert first(0.0) == 0 and first(1.0) == 2
