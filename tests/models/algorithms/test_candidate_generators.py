"""Stage one of the two-stage recommender: every generator proposes the item it exists for.

A tiny shop whose right answers are known, seen by customer 0 on day 300:
- item A: bought by customer 0 five times long ago, and bought steadily by customers 20-29,
  also right now, so repurchase (decayed habit x what sells now) puts it first;
- item B: bought by customer 0 twice in the last three weeks, first by decayed frequency;
- item X: customer 0's latest purchase; Y is bought with X by customers 1-19 (and never by
  customer 0), the co-purchase neighbour;
- item T: nobody bought it before the last 28 days, then everybody but customer 0: trending,
  and with Y what EASE predicts for customer 0 among the items they never bought.
ALS on so tiny a shop is noise; its generator is checked to be the fitted ALS's scores.
"""

from __future__ import annotations

import numpy as np

from models.algorithms.candidate_generators import GeneratorParams, Generators, Snapshot, top_ranks
from models.algorithms.ranking_features import candidate_table, customer_features, item_features
from models.algorithms.timed import PurchaseLog

A, B, X, Y, T = 0, 1, 2, 3, 4
N_CUSTOMERS, N_ITEMS, TODAY = 30, 10, 300.0
PARAMS = GeneratorParams(30.0, 60.0, 14.0, 10.0, 4, 20, 1, 28.0, seed=3)


def tiny_shop() -> PurchaseLog:
    rows: list[tuple[int, int, float]] = [(0, A, d) for d in (40.0, 50.0, 60.0, 70.0, 80.0)]
    rows += [(0, B, 280.0), (0, B, 290.0), (0, X, 295.0)]
    for c in range(1, 20):
        rows += [(c, X, 100.0 + c), (c, Y, 100.0 + c), (c, X, 200.0 + c), (c, Y, 200.0 + c)]
        rows += [(c, 5 + c % 5, 150.0 + c)]  # fillers, so the catalogue is more than the answers
    for c in range(20, 30):
        rows += [(c, A, d + c) for d in (100.0, 160.0, 200.0, 240.0, 270.0)]
    rows += [(c, T, 280.0 + c % 15) for c in range(1, 30)]
    who, what, when = (np.asarray(v) for v in zip(*rows, strict=True))
    price = np.full(N_ITEMS, 2.0, np.float32)
    return PurchaseLog(who.astype(np.int32), what.astype(np.int32), when.astype(np.float64), price)


def fitted() -> Generators:
    snap = Snapshot.of(tiny_shop(), TODAY, (N_CUSTOMERS, N_ITEMS), PARAMS.frequency_half_life_days)
    return Generators(PARAMS).fit(snap)


def test_each_generator_proposes_its_own_item_first() -> None:
    scores = fitted().scores(np.array([0]))
    firsts = {name: int(np.argmax(s[0])) for name, s in scores.items()}
    assert firsts["repurchase"] == A
    assert firsts["decayed_frequency"] == B
    assert firsts["neighbours"] == Y
    assert firsts["segment_trend"] == T
    assert np.argsort(-scores["ease"][0])[:4].tolist() == [T, B, X, Y]  # T, then Y among the unbought
    gens = fitted()
    np.testing.assert_allclose(scores["als"][0], gens.models["als"].score(np.array([0]), gens.confidence[[0]])[0])
    assert set(scores) == {"repurchase", "decayed_frequency", "ease", "als", "neighbours", "segment_trend"}


def test_personal_generators_propose_only_what_the_customer_bought() -> None:
    scores = fitted().scores(np.array([0]))
    for name in ("repurchase", "decayed_frequency"):
        proposed = np.flatnonzero(np.isfinite(scores[name][0]))
        assert set(proposed.tolist()) == {A, B, X}, name


def test_the_candidates_are_the_union_of_every_generators_top() -> None:
    gens = fitted()
    snap = gens.snap
    table = candidate_table(gens, np.array([0]), 1, item_features(snap), customer_features(snap))
    assert set(table.items.tolist()) >= {A, B, Y, T}
    ranks = {name: top_ranks(s, 1)[0] for name, s in gens.scores(np.array([0])).items()}
    assert set(table.items.tolist()) == {int(np.flatnonzero(r == 0)[0]) for r in ranks.values()}
    assert table.column("bought_before")[table.items == A][0] == 1.0
    assert table.column("occasions")[table.items == A][0] == 5.0
    assert table.column("days_since_last")[table.items == B][0] == TODAY - 290.0


def test_discovery_candidates_leave_out_what_the_customer_bought() -> None:
    gens = fitted()
    snap = gens.snap
    table = candidate_table(gens, np.array([0]), 3, item_features(snap), customer_features(snap), exclude_owned=True)
    assert not {A, B, X} & set(table.items.tolist())
    assert {Y, T} <= set(table.items.tolist())


def test_top_ranks_mark_only_the_top_finite_scores() -> None:
    scores = np.array([[0.1, 3.0, -np.inf, 2.0]], dtype=np.float32)
    assert top_ranks(scores, 3).tolist() == [[2, 0, 3, 1]]
