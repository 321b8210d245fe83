"""Precompute every customer's ranked candidates, so serving is a lookup, not a computation.

Both lists (top unbought = discovery, top of everything = re-purchase) come from one model's
scores, so they share one scale: `models.rules.ranking.merge_lists` interleaves them by score.
Training publishes a blend of the repurchase model and the discovery winner, which ranks
unbought items exactly as the discovery winner does (see `models.algorithms.blend`). A blend of ALS,
popularity and repurchase parts takes the exact candidate search of `models.algorithms.search.blend`
(the top `k + spare` of its linear form plus the customer's own items, scored exactly); any
other model is scored on every item, a batch of customers at a time, and both lists come from
that one pass.

A plain factor model (ALS) takes a faster exact path: norm-bounded search
(`models.algorithms.search.inner_product`) for the top `k + spare` of everything, which scores a small fraction
of the items per customer; discovery is the first `k` of those the customer has not bought.
Only customers who bought more than `spare` of their own top items need a second, exact pass.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from models.algorithms.als import ALSRecommender
from models.algorithms.base import Recommender, top_k
from models.algorithms.search.blend import BlendSearch, supported
from models.algorithms.search.inner_product import top_k_inner_products
from models.rules.ranking import bought_mask

LIST_LENGTH = 100
SPARE = 32  # extra candidates so bought items can be skipped without a second pass
_ROWS_PER_CHUNK = 65_536
SEARCH_MIN_ITEMS = 10_000  # below this, scoring every item is as fast as searching (and simpler)
BATCH_CELLS = 2_000_000  # candidate cells (customers x candidates) a searched batch may hold
LIST_THREADS = min(4, os.cpu_count() or 1)  # the searched lists' batches run on this many threads
LIST_NAMES = ("discovery_items", "discovery_scores", "all_items", "all_scores")


def precompute_lists(
    model: Recommender, matrix: sp.csr_matrix, offerable: np.ndarray, k: int = LIST_LENGTH, batch_size: int = 2048
) -> dict[str, np.ndarray]:
    """Top-k unbought items (discovery) and top-k of everything (re-purchase) per customer,
    never an item that cannot be offered."""
    matrix = matrix.tocsr()
    if isinstance(model, ALSRecommender):
        return _factor_lists(model, matrix, offerable, k)
    if supported(model) and matrix.shape[1] >= SEARCH_MIN_ITEMS:
        return _searched_lists(model, matrix, offerable, k)
    return _scored_lists(model, matrix, offerable, k, batch_size)


def _scored_lists(
    model: Recommender, matrix: sp.csr_matrix, offerable: np.ndarray, k: int, batch_size: int
) -> dict[str, np.ndarray]:
    """Any model: every item scored once per batch of customers, both lists from those scores."""
    n = matrix.shape[0]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in LIST_NAMES}
    for start in range(0, n, batch_size):
        rows = np.arange(start, min(start + batch_size, n))
        for name, value in zip(LIST_NAMES, _dense_lists(model, rows, matrix[rows], offerable, k)):
            parts[name].append(value)
    return {name: _stack(values, k, name.endswith("items")) for name, values in parts.items()}


def _dense_lists(
    model: Recommender, rows: np.ndarray, seen: sp.csr_matrix, offerable: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(discovery items, scores, all items, scores) of `rows`, every item scored."""
    scores = model.score(rows, seen)
    scores[:, ~offerable] = -np.inf
    all_items, all_scores = top_k(scores, k)
    bought = seen.tocoo()
    scores[bought.row, bought.col] = -np.inf
    disc_items, disc_scores = top_k(scores, k)
    return disc_items, disc_scores, all_items, all_scores


def _searched_lists(
    model: Recommender,
    matrix: sp.csr_matrix,
    offerable: np.ndarray,
    k: int,
    batch_size: int = 4096,
    threads: int = LIST_THREADS,
) -> dict[str, np.ndarray]:
    """A supported blend (`models.algorithms.search.blend`): per batch, the candidates (top `k + SPARE` of
    the blend's linear form and the customer's own items) scored exactly; a customer whose
    lists are not proven complete by the search's bound is scored on every item instead.

    Batches run on `threads` threads: numpy lets go of the GIL in the large array operations
    that make up most of a batch, so the step uses every core (at 1M customers it was the
    longest step of `train`, on one core). A search keeps the current batch's state, so each
    thread has its own and takes every `threads`-th batch; each batch writes its own rows."""
    n = matrix.shape[0]
    out = {
        name: np.full(
            (n, k), -1 if name.endswith("items") else -np.inf, dtype=np.int32 if name.endswith("items") else np.float32
        )
        for name in LIST_NAMES
    }
    # Every customer's own items are candidates, padded to the batch's longest history, so
    # customers are batched by history length: one heavy buyer no longer widens 4,095 others.
    history = np.diff(matrix.indptr)
    by_history = np.argsort(history, kind="stable")
    batches = [np.sort(rows) for rows in _history_batches(by_history, history, batch_size, k + SPARE, BATCH_CELLS)]
    threads = max(1, min(threads, len(batches)))

    def run(first: int) -> None:
        search = BlendSearch(model, matrix.shape[1])
        for rows in batches[first::threads]:
            for name, value in zip(LIST_NAMES, _search_batch(model, search, matrix[rows], rows, offerable, k)):
                out[name][rows] = value

    if threads == 1:
        run(0)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, range(threads)))  # list(): a batch's exception is raised here
    return out


def _history_batches(
    by_history: np.ndarray, history: np.ndarray, batch_size: int, spare: int, cells: int = BATCH_CELLS
) -> list[np.ndarray]:
    """Consecutive runs of `by_history` (customers in order of history length): `batch_size`
    customers, fewer where the batch's widest row (its last customer's own items plus the `spare`
    searched candidates) would make more than `cells` candidate cells. The heaviest buyers of a
    skewed shop (thousands of items each) otherwise made the last batches `batch_size` x their
    width: the step's peak memory (7.7 GiB of a 1M-customer shop's train)."""
    out: list[np.ndarray] = []
    start, n = 0, len(by_history)
    while start < n:
        end = min(start + batch_size, n)
        width = int(history[by_history[end - 1]]) + spare
        end = min(end, start + max(1, cells // max(width, 1)))
        out.append(by_history[start:end])
        start = end
    return out


def _search_batch(
    model: Recommender, search: BlendSearch, seen: sp.csr_matrix, rows: np.ndarray, offerable: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(discovery items, scores, all items, scores) of one batch of `rows`."""
    items, bound = search.candidates(search.form(model, rows, seen), k + SPARE, offerable)
    scores = np.where(items >= 0, search.exact(model, rows, items), -np.inf).astype(np.float32)
    pos, all_scores = top_k(scores, k)
    all_items = np.where(pos >= 0, np.take_along_axis(items, np.maximum(pos, 0), axis=1), -1)
    scores[bought_mask(seen, items)] = -np.inf
    pos, disc_scores = top_k(scores, k)
    disc_items = np.where(pos >= 0, np.take_along_axis(items, np.maximum(pos, 0), axis=1), -1)
    unproven = np.flatnonzero((disc_scores[:, k - 1] < bound) | (all_scores[:, k - 1] < bound))
    if len(unproven):
        dense = _dense_lists(model, rows[unproven], seen[unproven], offerable, k)
        for value, exact in zip((disc_items, disc_scores, all_items, all_scores), dense):
            value[unproven] = exact
    return disc_items, disc_scores, all_items, all_scores


def _stack(values: list[np.ndarray], k: int, ids: bool) -> np.ndarray:
    if values:
        return np.vstack(values)
    return np.zeros((0, k), dtype=np.int64 if ids else np.float32)


def _factor_lists(model: ALSRecommender, matrix: sp.csr_matrix, offerable: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """ALS: the top `k + SPARE` of everything by pruned search, discovery filtered from it."""
    cand_items, cand_scores = top_candidates(model, offerable, k + SPARE)
    disc_items = np.full((matrix.shape[0], k), -1, dtype=np.int32)
    disc_scores = np.full((matrix.shape[0], k), -np.inf, dtype=np.float32)
    for start in range(0, matrix.shape[0], _ROWS_PER_CHUNK):
        stop = min(start + _ROWS_PER_CHUNK, matrix.shape[0])
        items, scores = cand_items[start:stop], cand_scores[start:stop]
        bought = bought_mask(matrix[start:stop], items)
        disc_items[start:stop], disc_scores[start:stop] = first_unbought(items, scores, bought, k)
    _redo_short_rows(model, matrix, offerable, cand_items, disc_items, disc_scores)
    return {
        "discovery_items": disc_items,
        "discovery_scores": disc_scores,
        "all_items": np.ascontiguousarray(cand_items[:, :k], dtype=np.int32),
        "all_scores": np.ascontiguousarray(cand_scores[:, :k]),
    }


def top_candidates(model: ALSRecommender, offerable: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k offerable item rows of every customer (bought or not) and their scores."""
    allowed = np.append(np.flatnonzero(offerable), -1).astype(np.int32)  # row -1 stays -1
    rows, scores = top_k_inner_products(model.user_factors, model.item_factors[allowed[:-1]], k)
    return allowed[rows], scores


def first_unbought(items: np.ndarray, scores: np.ndarray, bought: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the first `k` candidates not bought (in order), padded with -1 / -inf."""
    usable = ~bought & (items >= 0)
    order = np.argsort(~usable, axis=1, kind="stable")[:, :k]
    keep = np.take_along_axis(usable, order, axis=1)
    picked = np.where(keep, np.take_along_axis(items, order, axis=1), -1).astype(np.int32)
    return picked, np.where(keep, np.take_along_axis(scores, order, axis=1), -np.inf).astype(np.float32)


def _redo_short_rows(
    model: Recommender,
    matrix: sp.csr_matrix,
    offerable: np.ndarray,
    cand_items: np.ndarray,
    disc_items: np.ndarray,
    disc_scores: np.ndarray,
) -> None:
    """Customers who bought so many of their own top items that the spare ran out (their
    candidate list is full, yet discovery is not) get an exact pass with purchases masked."""
    k = disc_items.shape[1]
    short = np.flatnonzero((disc_items[:, k - 1] < 0) & (cand_items[:, -1] >= 0))
    if len(short):
        items, scores = model.recommend(short, matrix, k, exclude_seen=True, blocked=~offerable)
        disc_items[short], disc_scores[short] = items, scores
