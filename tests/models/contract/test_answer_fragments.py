"""The `a:` document holds what the route computes for a cold `/recommend`: the unbought pool in
order without repeats, each score on the pool's `ScoreScale`, as the answer's JSON text."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from models.contract import decode_offers, encode_offer_rows
from models.contract.answer_fragments import decode_answer_rows, encode_answer_rows, item_pieces
from models.rules.ranking import dedupe, scale_of


def _block(rng: np.random.Generator, customers: int, width: int) -> tuple[np.ndarray, ...]:
    items = rng.integers(0, width * 2, (customers, width)).astype(np.int32)  # repeats on purpose
    scores = np.sort(rng.normal(size=(customers, width)).astype(np.float32), axis=1)[:, ::-1].copy()
    scores[0, :] = 1.5  # one row all ties: span 0
    scores[1, :] = scores[1, 0]  # ties with the top  (no infinities: a `c:` document cannot hold them)
    bought = rng.random((customers, width)) < 0.2
    lengths = rng.integers(0, width + 1, customers)
    return items, scores, bought, lengths


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_answer_rows_are_the_routes_pool_and_scores(seed: int) -> None:
    items, scores, bought, lengths = _block(np.random.default_rng(seed), 300, 40)
    item_ids = np.array([f"I{i}" for i in range(80)], dtype=object)
    offers_docs = encode_offer_rows(item_ids, items, scores, bought, lengths)
    for raw_offers, raw_answer in zip(offers_docs, encode_answer_rows(items, scores, bought, lengths), strict=True):
        pool = [o for o in decode_offers(raw_offers) if not o.bought]
        scale = scale_of(pool)
        expected = list(dedupe(pool))
        answer = decode_answer_rows(raw_answer)
        assert [str(item_ids[int(r)]) for r, _ in answer] == [o.item_id for o in expected]
        assert [orjson.dumps(s) for _, s in answer] == [orjson.dumps(scale(o.score)) for o in expected]


def test_near_half_scores_round_as_python_rounds() -> None:
    """Scaled values a hair from a rounding half, where numpy's and Python's rounding could part."""
    rng = np.random.default_rng(7)
    scores = np.concatenate([[1.0, 0.0], rng.integers(0, 10**6, 500) / 1e6 + 5e-7]).astype(np.float64)[None, :]
    items = np.arange(scores.shape[1], dtype=np.int32)[None, :]
    raw = encode_answer_rows(items, scores, np.zeros(scores.shape, bool), np.array([scores.shape[1]]))[0]
    expected = [orjson.dumps(round((s - 0.0) / 1.0, 6)) for s in np.round(scores[0], 6).tolist()]
    assert [orjson.dumps(s) for _, s in decode_answer_rows(raw)] == expected


def test_item_pieces_wrap_a_score_into_the_items_json() -> None:
    fields = {"item_id": "I1", "title": 'say "score":0.0, twice', "price": 2.5, "score": 0.0, "reason": "r"}
    head, tail = item_pieces(fields)
    assert head + b"0.123" + tail == orjson.dumps({**fields, "score": 0.123})
