"""A customer's `/recommend` answer, pre-rendered at publish time (the `a:` document).

Answering a customer without live state from their `c:` list costs the service a decode of
~100 offers, the catalog rules, the score scale and a JSON encoding per request. The `a:`
document holds what is left of that once everything that cannot change until the next publish
is done: the discovery pool (`include_purchased=false`: the unbought candidates, in order, first
occurrence of each item) as item rows, and each one's `score` already placed on the pool's
`ScoreScale`, as the JSON text the answer shows. The service adds, per version, each item's
JSON around the score (title, price, reason, extras: `item_pieces`) and, per day, which rows the
catalog allows (availability changes by date); a cold answer is then a lookup and a byte copy.

The document is binary: per pool entry its row (uint32) and scaled score (float64), little
endian, 12 bytes each, so publish writes one slice of a block's buffer per customer and the
service reads only the first entries it needs. Rows index the version's item ids, published
once as the `ANSWER_ITEMS` document.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import orjson

from models.rules.ranking import SCORE_DECIMALS

ANSWER_ITEMS = "answer-items"  # the version's item ids by row, as rows in `a:` documents name them
SCORE_SLOT = 0.0  # the score `item_pieces` renders and cuts out
_SCORE_CUT = b',"score":0.0,'


_ENTRY = struct.Struct("<Id")  # row, scaled score
_ENTRY_DTYPE = np.dtype([("row", "<u4"), ("score", "<f8")])  # the same, packed


def encode_answer_rows(items: np.ndarray, scores: np.ndarray, bought: np.ndarray, lengths: np.ndarray) -> list[bytes]:
    """One `a:` document per row of a block of merged candidates (`merged_candidates`' arrays:
    row r valid up to `lengths[r]`). Scores are first rounded as the `c:` document rounds them
    (the route scales those), then scaled as `ScoreScale` does, to the same float."""
    valid = np.arange(items.shape[1]) < lengths[:, None]
    pool = valid & ~bought.astype(bool)
    rounded = np.round(scores.astype(np.float64), SCORE_DECIMALS)
    scaled = scaled_scores(rounded, pool)  # on the whole pool, repeats included, as the route scales
    pool &= ~_repeated(np.where(pool, items, -1))
    entries = np.empty(int(pool.sum()), dtype=_ENTRY_DTYPE)
    entries["row"], entries["score"] = items[pool], scaled[pool]
    buffer = entries.tobytes()
    ends = (np.cumsum(pool.sum(axis=1)) * _ENTRY.size).tolist()
    return [buffer[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def answer_entries(raw: bytes) -> Iterator[tuple[int, float]]:
    """An `a:` document's (row, scaled score) pairs, in order, decoded as they are iterated."""
    return _ENTRY.iter_unpack(raw)


def decode_answer_rows(raw: bytes) -> list[list[float]]:
    """The whole document as [row, score] pairs (the privacy export shows it so)."""
    return [[row, score] for row, score in answer_entries(raw)]


def _repeated(items: np.ndarray) -> np.ndarray:
    """True where an item (>= 0) already appeared earlier in its row (none, as a rule: the pool
    comes from one top-k list, so only a sort is paid to find out)."""
    ranked = np.sort(items, axis=1)
    if not ((ranked[:, 1:] == ranked[:, :-1]) & (ranked[:, 1:] >= 0)).any():
        return np.zeros(items.shape, dtype=bool)
    order = np.argsort(items, axis=1, kind="stable")
    ranked = np.take_along_axis(items, order, axis=1)
    again = np.zeros(items.shape, dtype=bool)
    again[:, 1:] = (ranked[:, 1:] == ranked[:, :-1]) & (ranked[:, 1:] >= 0)
    out = np.zeros(items.shape, dtype=bool)
    np.put_along_axis(out, order, again, axis=1)
    return out


def scaled_scores(rounded: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """`ScoreScale.of(pool's scores)(score)` for every entry, per row, vectorised. numpy's
    rounding (scale by 10**6, round half to even) can differ from Python's `round` when the
    scaled value lies next to a half; those few entries are rounded by Python."""
    finite = pool & np.isfinite(rounded)
    any_finite = finite.any(axis=1)
    low = np.where(any_finite, np.where(finite, rounded, np.inf).min(axis=1), 0.0)
    high = np.where(any_finite, np.where(finite, rounded, -np.inf).max(axis=1), 0.0)
    span = (high - low)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.minimum(1.0, np.maximum(0.0, (rounded - low[:, None]) / span))
    scaled = np.round(ratio, SCORE_DECIMALS)
    step = ratio * 10.0**SCORE_DECIMALS
    near_half = np.abs(step - np.floor(step) - 0.5) < 1e-6
    ordinary = (span > 0) & np.isfinite(rounded)
    for r, c in zip(*np.nonzero(near_half & ordinary & pool), strict=True):
        scaled[r, c] = round(float(ratio[r, c]), SCORE_DECIMALS)
    special = np.where(np.isfinite(rounded) | (rounded > 0), 1.0, 0.0)
    return np.where(ordinary, scaled, special)


def item_pieces(fields: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """An answer item's JSON (the route's fields, `score` = `SCORE_SLOT`) cut around its score:
    head + score text + tail is what `orjson.dumps` gives for the item with that score (quotes
    inside strings are escaped, so the cut cannot fall inside a value)."""
    head, cut, tail = orjson.dumps(fields).partition(_SCORE_CUT)
    if not cut:
        raise ValueError(f"no score slot in {fields!r}")
    return head + b',"score":', b"," + tail
