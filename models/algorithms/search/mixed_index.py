"""Exact top-k of `q · v + c · g` per query: item vectors plus item values shared by everyone.

A blend's linear form (`models.algorithms.search.blend`) is ALS vectors plus columns such as recent
popularity that each customer weighs by a coefficient of their own. Bounding such a column by
its length (as `models.algorithms.search.inner_product` bounds the vectors) lifts every item with a little
popularity above the cut; so here each column is bounded exactly: past position j of an order
an item adds at most `c` times the largest value of the column from j on (the smallest for a
negative `c`), and the vectors at most `|q|` times the longest vector from j on.

No one order suits every customer: when the vectors dominate, longest vector first prunes
best; when a customer's vector is short, their best (or, for a minimum, worst) items follow a
column. So the items are kept in several orders (by vector length, and by each column both
ways); a customer whose bound reaches far in the first order is searched in the order where it
reaches least. Same head / reach / tail search as `models.algorithms.search.inner_product`, hence the same answer
as scoring every item (up to ties).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.algorithms.base import top_k
from models.algorithms.search.inner_product import _padded_hits


@dataclass
class _Order:
    rows: np.ndarray  # item rows in this order
    items: np.ndarray  # [vector, columns] in this order (float32)
    longest: np.ndarray  # longest vector from each position on
    col_max: np.ndarray  # largest value of each column from each position on
    col_min: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray, vectors: np.ndarray, columns: np.ndarray) -> _Order:
        norms = np.linalg.norm(vectors[rows].astype(np.float64), axis=1)
        cols = columns[rows].astype(np.float64)
        suffix = lambda a, f: f.accumulate(a[::-1], axis=0)[::-1]  # noqa: E731
        items = np.ascontiguousarray(np.hstack([vectors[rows], columns[rows]]), dtype=np.float32)
        return cls(rows, items, suffix(norms, np.maximum), suffix(cols, np.maximum), suffix(cols, np.minimum))

    def reach(self, lengths: np.ndarray, coef: np.ndarray, kth: np.ndarray, start: int) -> np.ndarray:
        """Per query, the first position (>= start) from which no item can reach `kth`: the
        bound only falls along the order, so a bisection finds it."""
        low = np.full(len(kth), min(start, len(self.rows)))
        high = np.full(len(kth), len(self.rows))
        while (active := np.flatnonzero(low < high)).size:
            mid = (low[active] + high[active]) // 2
            c = coef[active]
            bound = lengths[active] * self.longest[mid]
            bound += np.where(c >= 0, c * self.col_max[mid], c * self.col_min[mid]).sum(axis=1)
            out = bound < kth[active]
            high[active[out]] = mid[out]
            low[active[~out]] = mid[~out] + 1
        return low


class MixedIndex:
    def __init__(self, vectors: np.ndarray, columns: np.ndarray) -> None:
        n = len(vectors)
        self.n_items, self.split = n, vectors.shape[1]
        by_length = np.argsort(-np.linalg.norm(vectors, axis=1), kind="stable")
        self.orders = [_Order.of(by_length, vectors, columns)]
        for c in range(columns.shape[1]):
            by_value = np.argsort(-columns[:, c], kind="stable")
            self.orders += [_Order.of(by_value, vectors, columns), _Order.of(by_value[::-1].copy(), vectors, columns)]

    def search(
        self, queries: np.ndarray, k: int, head: int = 512, batch_size: int = 2048
    ) -> tuple[np.ndarray, np.ndarray]:
        """Item rows with the `k` largest scores per query, best first, and the scores; padded
        with -1 / -inf when there are fewer than `k` items. `queries` are [q, c] rows."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        head = min(max(head, k), self.n_items)
        for start in range(0, len(queries), batch_size):
            part = slice(start, min(start + batch_size, len(queries)))
            ids[part], scores[part] = self._search_batch(queries[part], k, head)
        return ids, scores

    def _search_batch(self, queries: np.ndarray, k: int, head: int) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.linalg.norm(queries[:, : self.split].astype(np.float64), axis=1)
        coef = queries[:, self.split :].astype(np.float64)
        first = self.orders[0]
        best, best_scores = top_k(queries @ first.items[:head].T, k)
        reach = first.reach(lengths, coef, best_scores[:, k - 1], head)
        choice = np.zeros(len(queries), dtype=np.int64)
        far = np.flatnonzero(reach > 2 * head)
        if len(far) and len(self.orders) > 1:
            kth = best_scores[far, k - 1]
            alternatives = np.stack([o.reach(lengths[far], coef[far], kth, head) for o in self.orders[1:]], axis=1)
            better = 1 * (alternatives.min(axis=1) + head) < reach[far]
            choice[far[better]] = 1 + alternatives[better].argmin(axis=1)
        out_ids = np.full(best.shape, -1, dtype=np.int64)
        out_scores = np.full(best.shape, -np.inf, dtype=np.float32)
        for o, order in enumerate(self.orders):
            rows = np.flatnonzero(choice == o)
            if len(rows) == 0:
                continue
            if o == 0:
                found, found_scores, found_reach = best[rows], best_scores[rows], reach[rows]
            else:
                found, found_scores = top_k(queries[rows] @ order.items[:head].T, k)
                found_reach = order.reach(lengths[rows], coef[rows], found_scores[:, k - 1], head)
            _search_tail(queries[rows], order, lengths[rows], coef[rows], found_reach, head, found, found_scores)
            out_ids[rows] = np.where(found >= 0, order.rows[np.maximum(found, 0)], -1)
            out_scores[rows] = found_scores
        return out_ids, out_scores


def _search_tail(
    queries: np.ndarray,
    order: _Order,
    lengths: np.ndarray,
    coef: np.ndarray,
    reach: np.ndarray,
    head: int,
    best: np.ndarray,
    best_scores: np.ndarray,
    chunk: int = 256,
    block: int = 8192,
) -> None:
    """`models.algorithms.search.inner_product._search_tail` a block of items at a time: after each block the
    queries' k-th best rise and their reach is bounded again, so a query whose best items hide
    deep in the order stops as soon as nothing further can beat them (in place)."""
    k = best.shape[1]
    todo = np.flatnonzero(reach > head)
    todo = todo[np.argsort(reach[todo], kind="stable")]
    for c in range(0, len(todo), chunk):
        q = todo[c : c + chunk]
        start = head
        while len(q) and start < (stop := min(start + block, int(reach[q].max()))):
            scores = queries[q] @ order.items[start:stop].T
            hits = np.flatnonzero(scores > best_scores[q, k - 1, None])
            if len(hits):
                hit_scores, hit_items = _padded_hits(hits, scores.ravel()[hits], stop - start, len(q))
                merged_scores = np.concatenate([best_scores[q], hit_scores], axis=1)
                merged_items = np.concatenate([best[q], hit_items + start], axis=1)
                pos, best_scores[q] = top_k(merged_scores, k)
                best[q] = np.take_along_axis(merged_items, np.maximum(pos, 0), axis=1)
                reach[q] = np.minimum(reach[q], order.reach(lengths[q], coef[q], best_scores[q, k - 1], stop))
            start = stop
            q = q[reach[q] > start]
