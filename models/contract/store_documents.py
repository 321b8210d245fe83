"""Published documents of the personal store, similar items and micro-segments.

Size matters (a million customers must stay publishable), so a customer's own document
(`store:<id>`) holds only what is theirs, in short arrays: segment, tier and RFM, their due
repeat items, one "because you bought" anchor with its unbought neighbours, their new-arrival
picks and the trending items they already have. Everything shared (similar items, trending per
segment, new arrivals, segments and their offers) is one document per thing; the service
assembles a store from the customer's two documents (`c:` and `store:`) plus two shared ones.

Replenishment timing ("last time 4 weeks ago") is measured at the end of the training data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from models import contract
from models.contract import Offer
from models.contract.artifact import Artifact
from models.contract.storefront import Storefront
from models.rules.replenishment import MIN_INTERVAL_DAYS, Due, due_items, due_score
from models.rules.wording import offer_figures

SEGMENTS = "segments"
NEW_ARRIVALS = "new_arrivals"
ALL_CUSTOMERS = "all"
BUY_AGAIN_MAX = 15
BECAUSE_MAX = 15
ANCHOR_TRIES = 5
ANCHOR_MIN_ITEMS = 3


def store_doc(customer_id: str) -> str:
    return f"store:{customer_id}"


def similar_doc(item_id: str) -> str:
    return f"similar:{item_id}"


def trending_doc(segment: int | str) -> str:
    return f"trending:{segment}"


def segment_doc(segment: int) -> str:
    return f"segment:{segment}"


def segment_offers_doc(segment: int) -> str:
    return f"segment:{segment}:offers"


def segment_of_store_document(raw: bytes | str) -> int | None:
    """The segment id recorded in a customer's `store:` document."""
    doc = contract.decode_json(raw)
    segment = doc.get("s") if isinstance(doc, dict) else None
    return int(segment) if segment is not None else None


def segment_without_customer(raw: bytes | str, customer_id: str) -> bytes | None:
    """A `segment:<id>` document with `customer_id` taken out of its sample customers (None when
    they are not in it): what forgetting a customer changes in a shared document."""
    doc = contract.decode_json(raw)
    sample = doc.get("sample_customers") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not sample or customer_id not in sample:
        return None
    return contract.encode_json({**doc, "sample_customers": [c for c in sample if c != customer_id]})


def data_end_day(artifact: Artifact) -> float:
    """The end of the training data as a day number (the unit of `models.rules.replenishment`)."""
    return manifest_end_day(artifact.manifest)


def manifest_end_day(manifest: dict[str, Any]) -> float:
    """`data_end_day` from a manifest document (naive = UTC, as training writes it)."""
    end = pd.Timestamp(manifest["data_end"])
    return (end.tz_convert("UTC") if end.tzinfo else end).value / 86_400e9


def customer_store_document(a: Artifact, sf: Storefront, row: int, end_day: float) -> dict[str, Any]:
    """`b` entries are [item, mean days between occasions, days since the latest, due score,
    occasions]: the occasions decide whether a reason may claim the rhythm."""
    ids = a.items.ids
    bought = a.history.indices[a.history.indptr[row] : a.history.indptr[row + 1]]
    bought_set = set(bought.tolist())
    segment = int(sf.segment_of[row])
    trending_rows = np.concatenate([sf.trending_items[segment], sf.trending_items[-1]])
    return {
        "s": segment,
        "t": sf.tier_name(row),
        "r": [round(float(v), 2) for v in sf.rfm[row]],
        "b": [
            [
                str(ids[d.item_row]),
                round(d.interval_days, 1),
                round(d.days_since, 1),
                round(due_score(d.due_ratio, d.occasions), 3),
                d.occasions,
            ]
            for d in _rhythmic(due_items(a.replenishment, row, end_day))[:BUY_AGAIN_MAX]
        ],
        "a": _anchor(a, sf, row, bought_set),
        "n": _pairs(ids, sf.customer_new_items[row], sf.customer_new_scores[row]),
        "x": sorted({str(ids[i]) for i in trending_rows.tolist() if i in bought_set}),
    }


def _rhythmic(due: list[Due]) -> list[Due]:
    """Repeat purchases at least a day apart on average: two invoices within hours are one
    shopping trip, not a rhythm to remind anyone of."""
    return [d for d in due if d.interval_days >= MIN_INTERVAL_DAYS]


def _anchor(a: Artifact, sf: Storefront, row: int, bought: set[int]) -> list[Any] | None:
    """The most recently bought item (more occasions first on the same day) whose similar items
    the customer mostly has not bought: [anchor id, [[item, similarity], ...]]."""
    stats = a.replenishment
    lo, hi = stats.occasions.indptr[row], stats.occasions.indptr[row + 1]
    items, last, count = stats.occasions.indices[lo:hi], stats.last_day.data[lo:hi], stats.occasions.data[lo:hi]
    best: list[Any] | None = None
    for i in np.lexsort((-count, -last))[:ANCHOR_TRIES]:
        anchor = int(items[i])
        neighbours = [
            (int(n), float(s))
            for n, s in zip(sf.similar_items[anchor], sf.similar_scores[anchor])
            if n >= 0 and int(n) not in bought
        ][:BECAUSE_MAX]
        if best is None or len(neighbours) > len(best[1]):
            best = [str(a.items.ids[anchor]), [[str(a.items.ids[n]), round(s, 3)] for n, s in neighbours]]
        if len(neighbours) >= ANCHOR_MIN_ITEMS:
            break
    return best if best and best[1] else None


def _pairs(ids: np.ndarray, rows: np.ndarray, scores: np.ndarray) -> list[list[Any]]:
    return [[str(ids[i]), round(float(s), 3)] for i, s in zip(rows, scores) if i >= 0]


def shared_store_documents(a: Artifact) -> Iterator[tuple[str, bytes]]:
    """Similar items per item, trending per segment and overall, new arrivals, segments."""
    sf = a.storefront
    if sf is None:
        return
    ids = a.items.ids
    yield from similar_documents(ids, sf.similar_items, sf.similar_scores)
    window = sf.meta.get("trending_window_days")
    for g in range(sf.trending_items.shape[0]):
        name = trending_doc(g if g < sf.n_segments else ALL_CUSTOMERS)
        entries = [
            [str(ids[i]), round(float(s), 4), round(float(c[0]), 1), round(float(c[1]), 1)]
            for i, s, c in zip(sf.trending_items[g], sf.trending_scores[g], sf.trending_counts[g])
            if i >= 0
        ]
        segment = sf.segments[g]["name"] if g < sf.n_segments else None
        yield name, contract.encode_json({"window_days": window, "segment": segment, "items": entries})
    new_arrivals = [Offer(str(ids[i]), float(s)) for i, s in zip(sf.new_items, sf.new_scores)]
    yield NEW_ARRIVALS, contract.encode_offers(new_arrivals)
    yield from segment_documents(a, sf)


def similar_documents(
    ids: np.ndarray, similar_items: np.ndarray, similar_scores: np.ndarray, block: int = 4096
) -> Iterator[tuple[str, bytes]]:
    """`similar:<item>` per item with at least one neighbour: `contract.encode_offers` of its
    valid neighbours (row >= 0) in column order, encoded a block of items at a time (one per
    item in Python was a fixed ~2 s of every publish at 50k items)."""
    item_ids = ids.astype(object)
    for start in range(0, len(ids), block):
        rows = slice(start, start + block)
        items = similar_items[rows]
        first_valid = np.argsort(items < 0, axis=1, kind="stable")
        items = np.take_along_axis(items, first_valid, axis=1)
        scores = np.take_along_axis(similar_scores[rows], first_valid, axis=1)
        lengths = (items >= 0).sum(axis=1)
        payloads = contract.encode_offer_rows(item_ids, items, scores, np.zeros(items.shape, dtype=bool), lengths)
        for item_id, payload, n in zip(ids[rows].tolist(), payloads, lengths.tolist()):
            if n:
                yield similar_doc(item_id), payload


def segment_documents(a: Artifact, sf: Storefront) -> Iterator[tuple[str, bytes]]:
    summary = [{k: s[k] for k in ("id", "name", "size", "description")} for s in sf.segments]
    yield SEGMENTS, contract.encode_json({"segments": summary})
    ids = a.items.ids
    offers = sf.offers.sort_values(["segment", "rank"])
    by_segment = {int(s): g for s, g in offers.groupby("segment")}
    for seg in sf.segments:
        yield segment_doc(seg["id"]), contract.encode_json(seg)
        rows = by_segment.get(seg["id"])
        entries = (
            []
            if rows is None
            else [
                [str(ids[r.item_row]), lift, round(float(r.score), 3), share, overall]
                for r in rows.itertuples()
                for lift, share, overall in [offer_figures(r.lift, r.segment_share, r.overall_share)]
            ]
        )
        yield segment_offers_doc(seg["id"]), contract.encode_json({"items": entries})
