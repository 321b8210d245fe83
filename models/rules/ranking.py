"""Small pure ranking rules, composed in one place (`select_offers`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from models.contract import Offer


def drop_bought(offers: Iterable[Offer]) -> Iterator[Offer]:
    return (o for o in offers if not o.bought)


def drop_items(offers: Iterable[Offer], excluded: Collection[str]) -> Iterator[Offer]:
    return (o for o in offers if o.item_id not in excluded)


def keep_if(offers: Iterable[Offer], predicate: Callable[[str], bool]) -> Iterator[Offer]:
    return (o for o in offers if predicate(o.item_id))


def dedupe(offers: Iterable[Offer]) -> Iterator[Offer]:
    seen: set[str] = set()
    for o in offers:
        if o.item_id not in seen:
            seen.add(o.item_id)
            yield o


def take(offers: Iterable[Offer], k: int) -> list[Offer]:
    out: list[Offer] = []
    for o in offers:
        if len(out) == k:
            break
        out.append(o)
    return out


def select_offers(
    offers: Iterable[Offer],
    k: int,
    include_bought: bool,
    offerable: Callable[[str], bool],
    excluded: Collection[str] = (),
) -> list[Offer]:
    """The top `k` offers that may be shown: offerable, not excluded, optionally not bought.
    Candidates are taken in order, so a dropped item is refilled by the next one."""
    stream: Iterable[Offer] = offers
    if not include_bought:
        stream = drop_bought(stream)
    if excluded:
        stream = drop_items(stream, excluded)
    return take(dedupe(keep_if(stream, offerable)), k)


def merge_lists(
    discovery: tuple[np.ndarray, np.ndarray],
    everything: tuple[np.ndarray, np.ndarray],
    bought: np.ndarray,
    item_ids: np.ndarray,
) -> list[Offer]:
    """One customer's candidates: the top unbought items plus the bought ones that rank among
    the overall top, best first. Both `/recommend` modes are answered from this one list."""
    offers = [Offer(str(item_ids[i]), float(s), False) for i, s in zip(*discovery) if i >= 0]
    bought_set = set(bought.tolist())
    offers += [Offer(str(item_ids[i]), float(s), True) for i, s in zip(*everything) if i in bought_set]
    offers.sort(key=lambda o: -o.score)
    return offers


def customer_offers(
    row: int,
    discovery_items: np.ndarray,
    discovery_scores: np.ndarray,
    all_items: np.ndarray,
    all_scores: np.ndarray,
    history: sp.csr_matrix,
    item_ids: np.ndarray,
) -> list[Offer]:
    bought = history.indices[history.indptr[row] : history.indptr[row + 1]]
    return merge_lists(
        (discovery_items[row], discovery_scores[row]),
        (all_items[row], all_scores[row]),
        bought,
        item_ids,
    )


def merged_candidates(
    rows: slice,
    discovery_items: np.ndarray,
    discovery_scores: np.ndarray,
    all_items: np.ndarray,
    all_scores: np.ndarray,
    history: sp.csr_matrix,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`merge_lists` for a block of customers at once: (item rows, scores, bought, lengths),
    each row sorted best first and valid up to its length. Same order as `merge_lists`
    (a stable sort, discovery first on ties), without a Python loop per customer."""
    disc_items, all_rows = discovery_items[rows], all_items[rows]
    bought = bought_mask(history[rows], all_rows)
    items = np.concatenate([disc_items, all_rows], axis=1)
    scores = np.concatenate([discovery_scores[rows], all_scores[rows]], axis=1)
    valid = np.concatenate([disc_items >= 0, bought], axis=1)
    flags = np.concatenate([np.zeros(disc_items.shape, dtype=bool), bought], axis=1)
    order = np.argsort(np.where(valid, -scores.astype(np.float64), np.inf), axis=1, kind="stable")
    take = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    return take(items), take(scores), take(flags), valid.sum(axis=1)


def bought_mask(history: sp.csr_matrix, items: np.ndarray) -> np.ndarray:
    """`items[r, j]` is one of row r's purchases in `history` (sorted keys, one searchsorted)."""
    history = history.tocsr()
    history.sort_indices()
    if history.nnz == 0:
        return np.zeros(items.shape, dtype=bool)
    n_items = history.shape[1]
    owned = np.repeat(np.arange(history.shape[0], dtype=np.int64), np.diff(history.indptr)) * n_items
    owned += history.indices
    wanted = np.arange(len(items), dtype=np.int64)[:, None] * n_items + np.maximum(items, 0)
    pos = np.minimum(np.searchsorted(owned, wanted), len(owned) - 1)
    return (items >= 0) & (owned[pos] == wanted)


def popular_offers(popular_items: np.ndarray, popular_scores: np.ndarray, item_ids: np.ndarray) -> list[Offer]:
    return [Offer(str(item_ids[i]), float(s), False) for i, s in zip(popular_items, popular_scores)]


def mark_bought(offers: Iterable[Offer], bought: Collection[str]) -> Iterator[Offer]:
    """Items bought since the lists were computed count as bought (they leave discovery)."""
    return (o._replace(bought=True) if o.item_id in bought and not o.bought else o for o in offers)


def demote(offers: Iterable[Offer], demoted: Collection[str]) -> list[Offer]:
    """Move `demoted` items behind all others, each group keeping its order: they are only
    shown when nothing else is left (frequency capping, items like a returned one)."""
    kept: list[Offer] = []
    behind: list[Offer] = []
    for o in offers:
        (behind if o.item_id in demoted else kept).append(o)
    return kept + behind


SCORE_DECIMALS = 6


class ScoreScale(NamedTuple):
    """The documented `score` of every answer: a candidate's model score placed between the
    lowest and the highest of the candidates it was chosen from (for discovery, the unbought
    ones), 0 to 1 with 6 decimals (1 = the strongest such candidate for this customer). Raw
    scores differ in scale between models (a blend, a re-solved ALS vector, popularity counts),
    so they are never shown as such:
    the same item scores the same on `/recommend` and in the store, before and after events."""

    low: float
    span: float

    @classmethod
    def of(cls, scores: Iterable[float]) -> ScoreScale:
        finite = [s for s in scores if math.isfinite(s)]
        if not finite:
            return cls(0.0, 0.0)
        low, high = min(finite), max(finite)
        return cls(low, high - low)

    def __call__(self, score: float) -> float:
        if self.span <= 0 or not math.isfinite(score):
            return 1.0 if math.isfinite(score) or score > 0 else 0.0
        return round(min(1.0, max(0.0, (score - self.low) / self.span)), SCORE_DECIMALS)


def scale_of(offers: Sequence[Offer]) -> ScoreScale:
    return ScoreScale.of(o.score for o in offers)
