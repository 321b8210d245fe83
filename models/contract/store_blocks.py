"""The `store:` documents of a block of customers at once, byte for byte those of
`models.contract.store_documents.customer_store_document`.

A million customers must publish at tens of thousands per second, and building each document
in Python (a loop over the customer's purchases, another over the neighbours of up to five
anchors) costs ~100 us. Here every part is computed for the whole block with array operations
over the flat purchase entries (one entry per customer x item, in CSR order), and only the
final lists and dicts are made per customer, from flat Python lists built by C loops.

Rounding: `round(float(x), d)` of a float32 x equals numpy's `np.round(x, d)` in float64
(x · 10^d is exact in float64, see `models.contract.encode_offer_rows`); values computed in
float64 are rounded by Python's `round` itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar, cast

import numpy as np
import orjson
import scipy.sparse as sp

from models.contract.artifact import Artifact
from models.contract.store_documents import (
    ANCHOR_MIN_ITEMS,
    ANCHOR_TRIES,
    BECAUSE_MAX,
    BUY_AGAIN_MAX,
    data_end_day,
    store_doc,
)
from models.contract.storefront import Storefront
from models.rules.loyalty import TIERS
from models.rules.ranking import bought_mask
from models.rules.replenishment import MIN_INTERVAL_DAYS, due_timing


def store_documents(a: Artifact, rows: range | None = None, block: int = 4096) -> Iterator[tuple[str, bytes]]:
    """`store:<customer>` for every known customer (or every customer row in `rows`), in
    customer-row order, encoded a block of customers at a time."""
    sf = a.storefront
    if sf is None:
        return
    end_day = data_end_day(a)
    todo = rows if rows is not None else range(len(a.customers))
    for start in range(todo.start, todo.stop, block):
        block_rows = slice(start, min(start + block, todo.stop))
        names = map(store_doc, a.customers.ids[block_rows].tolist())
        yield from zip(names, store_payloads(a, sf, block_rows, end_day))


def store_payloads(a: Artifact, sf: Storefront, rows: slice, end_day: float) -> list[bytes]:
    """The encoded `store:` documents of customer rows `rows` (a slice with a step of 1)."""
    tiers = [TIERS[t] for t in sf.tier[rows].tolist()]
    parts = zip(
        sf.segment_of[rows].tolist(),
        tiers,
        _round32(sf.rfm[rows], 2),
        _buy_again(a, rows, end_day),
        _anchors(a, sf, rows),
        _new_for_customer(a, sf, rows),
        _trending_bought(a, sf, rows),
    )
    return [
        orjson.dumps({"s": s, "t": t, "r": r, "b": b, "a": an, "n": n, "x": x}, option=orjson.OPT_SERIALIZE_NUMPY)
        for s, t, r, b, an, n, x in parts
    ]


def _buy_again(a: Artifact, rows: slice, end_day: float) -> list[list[list[object]]]:
    """`models.rules.replenishment.due_items`, most due first, rhythmic ones only, at most 15."""
    stats = a.replenishment
    owner, lo, hi = _entries(stats.occasions, rows)
    n = stats.occasions.data[lo:hi]
    first, last = stats.first_day.data[lo:hi], stats.last_day.data[lo:hi]
    keep = (n >= 2) & (last > first)
    owner, items, n, first, last = owner[keep], stats.occasions.indices[lo:hi][keep], n[keep], first[keep], last[keep]
    interval = (last - first) / (n - 1)  # float32, as the per-customer code computes it
    since = end_day - last  # float32 too (a Python float does not widen it)
    interval64, since64 = interval.astype(np.float64), since.astype(np.float64)
    ratio = np.divide(since64, interval64, out=np.zeros(len(n)), where=interval64 > 0)
    score = due_timing(ratio) * np.log1p(n.astype(np.int64).astype(np.float64))
    order = np.lexsort((-score, owner))
    order = order[interval64[order] >= MIN_INTERVAL_DAYS]
    order = order[_rank_in_group(owner[order]) < BUY_AGAIN_MAX]
    ids = a.items.ids[items[order]].tolist()
    entries = list(
        map(
            list,
            zip(
                ids,
                _round32(interval[order], 1),
                _round32(since[order], 1),
                [round(v, 3) for v in score[order].tolist()],
                n[order].astype(np.int64).tolist(),
            ),
        )
    )
    return _split(entries, np.bincount(owner[order], minlength=_count(rows)))


def _anchors(a: Artifact, sf: Storefront, rows: slice) -> list[list[object] | None]:
    """`models.contract.store_documents._anchor`: of the (up to five) most recently bought items, the
    first with at least three unbought neighbours, else the one with the most."""
    stats, n_rows = a.replenishment, _count(rows)
    owner, lo, hi = _entries(stats.occasions, rows)
    order = np.lexsort((-stats.occasions.data[lo:hi], -stats.last_day.data[lo:hi], owner))
    order = order[_rank_in_group(owner[order]) < ANCHOR_TRIES]
    anchors = np.full((n_rows, ANCHOR_TRIES), -1, dtype=np.int64)
    anchors[owner[order], _rank_in_group(owner[order])] = stats.occasions.indices[lo:hi][order]
    neighbours = sf.similar_items[np.maximum(anchors, 0)]  # rows x tries x k
    usable = (neighbours >= 0) & (anchors[:, :, None] >= 0)
    usable &= ~_bought(a.history, rows, neighbours.reshape(n_rows, -1)).reshape(neighbours.shape)
    usable &= np.cumsum(usable, axis=2) <= BECAUSE_MAX
    sizes = usable.sum(axis=2)
    best = np.full(n_rows, -1)
    best_size = np.full(n_rows, -1)
    done = np.zeros(n_rows, dtype=bool)
    for j in range(ANCHOR_TRIES):
        tried = ~done & (anchors[:, j] >= 0)
        better = tried & ((best < 0) | (sizes[:, j] > best_size))
        best[better], best_size[better] = j, sizes[better, j]
        done |= tried & (sizes[:, j] >= ANCHOR_MIN_ITEMS)
    chosen = np.flatnonzero(best_size > 0)
    picked = usable[chosen, best[chosen]]
    ids = a.items.ids
    pairs = list(
        map(
            list,
            zip(
                ids[neighbours[chosen, best[chosen]][picked]].tolist(),
                _round32(sf.similar_scores[anchors[chosen, best[chosen]]][picked], 3),
            ),
        )
    )
    grouped = _split(pairs, picked.sum(axis=1))
    out: list[list[object] | None] = [None] * n_rows
    for row, anchor, neighbour_pairs in zip(chosen.tolist(), ids[anchors[chosen, best[chosen]]].tolist(), grouped):
        out[row] = [anchor, neighbour_pairs]
    return out


def _new_for_customer(a: Artifact, sf: Storefront, rows: slice) -> list[list[list[object]]]:
    items, scores = sf.customer_new_items[rows], sf.customer_new_scores[rows]
    valid = items >= 0
    pairs = list(map(list, zip(a.items.ids[items[valid]].tolist(), _round32(scores[valid], 3))))
    return _split(pairs, valid.sum(axis=1))


def _trending_bought(a: Artifact, sf: Storefront, rows: slice) -> list[list[str]]:
    """Trending items (of the customer's segment and overall) the customer already bought,
    as sorted ids."""
    trending = np.concatenate(
        [
            sf.trending_items[sf.segment_of[rows]],
            np.broadcast_to(sf.trending_items[-1], (_count(rows), sf.trending_items.shape[1])),
        ],
        axis=1,
    )
    hit = _bought(a.history, rows, trending)
    owner = np.repeat(np.arange(_count(rows)), hit.sum(axis=1))
    ids = a.items.ids[trending[hit]].tolist()
    out: list[list[str]] = [[] for _ in range(_count(rows))]
    for row, item in zip(owner.tolist(), ids):
        out[row].append(item)
    return [sorted(set(found)) if found else found for found in out]


def _bought(history: sp.csr_matrix, rows: slice, items: np.ndarray) -> np.ndarray:
    """`items[r, j]` is among the purchases of customer `rows.start + r` (-1 never is)."""
    return bought_mask(history[rows], items)


def _entries(m: sp.csr_matrix, rows: slice) -> tuple[np.ndarray, int, int]:
    """For the stored entries of `rows`: their row within the block, and their span in `m.data`."""
    lo, hi = int(m.indptr[rows.start]), int(m.indptr[rows.stop])
    counts = np.diff(m.indptr[rows.start : rows.stop + 1])
    return np.repeat(np.arange(len(counts)), counts), lo, hi


def _rank_in_group(groups: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal (sorted) group values."""
    if len(groups) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    lengths = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, lengths)


def _round32(values: np.ndarray, digits: int) -> list[Any]:
    """`round(float(x), digits)` for every x (nested lists for 2-D input)."""
    if values.dtype != np.float32:
        flat = np.array([round(v, digits) for v in values.ravel().tolist()], dtype=np.float64)
        rounded: np.ndarray = flat.reshape(values.shape)
    else:
        rounded = np.round(values.astype(np.float64), digits)
    return cast(list[Any], rounded.tolist())


T = TypeVar("T")


def _split(flat: Sequence[T], counts: np.ndarray) -> list[list[T]]:
    ends = np.cumsum(counts).tolist()
    return [list(flat[end - c : end]) for end, c in zip(ends, counts.tolist())]


def _count(rows: slice) -> int:
    return rows.stop - rows.start
