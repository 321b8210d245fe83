"""The top k of a blend try from its parts' best items, not from every item's score.

Tuning tries many blend weights on the same cached part scores (`models.algorithms.blend`:
`BlendedScores` of `ScaledScores`); ranking each try over every item costs a dense pass over
(evaluated customers x items) per try and task, which at 50k items was most of `select`.
A blend with non-negative weights is increasing in each part, so this is the threshold bound
of Fagin's algorithm: per customer and part, the part's `pool` best items (found once, one
dense pass per part and task) are the candidates; an item outside every part's pool scores at
most Σ w · (the part's pool-th value), computed with the same float32 operations in the same
order (rounding is monotone, so the bound holds for the computed scores too). A customer's
answer is taken from the candidates when the (k+1)-th best candidate beats that bound and the
top k + 1 are all different (then the answer is unique and equals `top_k`'s and
`top_k_wide`'s); every other customer is ranked over every item, as before. Candidates are
scored by gathering each part's value at them with the same operations as `BlendedScores.rows`,
hence the same numbers.
"""

from __future__ import annotations

import numpy as np

from models.algorithms.base import top_k, top_k_wide
from models.algorithms.blend import BlendedScores, ScaledScores, Scores, score_rows
from models.rules.ranking import bought_mask
from training.evaluation.evaluate import EvalData

POOL = 64  # best items kept per customer and part (at least k + 1)
MIN_ITEMS = 10_000  # below this, ranking every item is cheap (and the demo data keeps that path)
_BATCH = 1024


class BlendTopK:
    """Top k of blend tries for one `EvalData`; the parts' pools are cached by part and task."""

    def __init__(self, ev: EvalData, pool: int = POOL, min_items: int | None = None) -> None:
        self.ev, self.pool = ev, pool
        self.min_items = MIN_ITEMS if min_items is None else min_items
        self.from_candidates = self.from_every_item = 0  # customers answered each way (for the log)
        self._pools: dict[tuple[int, str], tuple[Scores, np.ndarray, np.ndarray]] = {}

    def ranked(self, scores: Scores, task: str, k: int) -> np.ndarray | None:
        """The evaluation's top k of `scores` for `task` from candidates, or None where this
        does not apply (a small catalogue, or scores of another kind): rank every item then."""
        if isinstance(scores, BlendedScores) and self.applies(scores, k):
            return self.recommendations(scores, task, k)
        if task == "discovery" and _one_row(scores) and scores.shape[1] >= self.min_items:
            return self.popular_recommendations(np.asarray(scores), task, k)
        return None

    def applies(self, scores: Scores, k: int) -> bool:
        """A weighted sum of scaled parts with non-negative weights, over enough items."""
        return (
            isinstance(scores, BlendedScores)
            and scores.scaled
            and scores.shape[1] >= self.min_items
            and self.pool > k
            and all(w >= 0 for _, w in scores.parts)
        )

    def recommendations(self, scores: BlendedScores, task: str, k: int) -> np.ndarray:
        """What `training.evaluation.evaluate.recommendations(scores, ev, task, k)` returns."""
        positions = self.ev.positions[task]
        ids = np.full((len(positions), k), -1, dtype=np.int64)
        for start in range(0, len(positions), _BATCH):
            batch = np.arange(start, min(start + _BATCH, len(positions)))
            ids[batch] = self._batch(scores, task, batch, k)
        return ids

    def _batch(self, scores: BlendedScores, task: str, batch: np.ndarray, k: int) -> np.ndarray:
        rows = self.ev.positions[task][batch]
        parts = [(part, w) for part, w in scores.parts if w]
        pools = [self._pool(part, task) for part, _ in parts]
        candidates = _unique_rows(np.concatenate([items[batch] for _, items, _ in pools], axis=1))
        values = np.where(candidates >= 0, values_at(scores, rows, np.maximum(candidates, 0)), -np.inf)
        bound = np.zeros(len(rows), dtype=np.float32)
        for (_, weight), (_, _, best) in zip(parts, pools):
            bound += np.float32(weight) * best[batch, -1]
        return self._settle(scores, task, rows, candidates, values.astype(np.float32), bound, k)

    def popular_recommendations(self, scores: np.ndarray, task: str, k: int, spare: int = 64) -> np.ndarray:
        """The same for scores that are one row for everyone (a broadcast view): the
        candidates are that row's best `k + 1 + spare` items, minus each customer's purchases
        for discovery; anything further down scores at most the next item's value."""
        positions = self.ev.positions[task]
        vector = score_rows(scores, positions[:1])[0]
        order = np.argsort(-vector, kind="stable")[: k + 2 + spare]
        ids = np.full((len(positions), k), -1, dtype=np.int64)
        if len(order) <= k + 1 + spare:  # fewer items than candidates: nothing to gain
            return self._every_item(scores, task, positions, k)
        candidates, bound = order[:-1], vector[order[-1]]
        for start in range(0, len(positions), _BATCH):
            rows = positions[start : start + _BATCH]
            items = np.broadcast_to(candidates, (len(rows), len(candidates)))
            values = np.broadcast_to(vector[candidates], items.shape).copy()
            if task == "discovery":
                values[bought_mask(self.ev.data.history.matrix[self.ev.rows[rows]], items)] = -np.inf
            bounds = np.full(len(rows), bound, dtype=np.float32)
            ids[start : start + len(rows)] = self._settle(scores, task, rows, np.asarray(items), values, bounds, k)
        return ids

    def _settle(
        self,
        scores: Scores,
        task: str,
        rows: np.ndarray,
        candidates: np.ndarray,
        values: np.ndarray,
        bound: np.ndarray,
        k: int,
    ) -> np.ndarray:
        """Each row's top k from its candidates where that is provably the answer over every
        item (the (k+1)-th best beats `bound`, no ties among the top k + 1); the others ranked
        over every item."""
        pos, ranked = top_k(values, k + 1)
        with np.errstate(invalid="ignore"):
            sure = np.isfinite(ranked).all(axis=1) & (ranked[:, k] > bound) & (np.diff(ranked, axis=1) < 0).all(axis=1)
        out = np.take_along_axis(candidates, np.maximum(pos[:, :k], 0), axis=1)
        unsure = np.flatnonzero(~sure)
        self.from_candidates += len(rows) - len(unsure)
        self.from_every_item += len(unsure)
        if len(unsure):
            out[unsure] = self._every_item(scores, task, rows[unsure], k)
        return out

    def _every_item(self, scores: Scores, task: str, rows: np.ndarray, k: int) -> np.ndarray:
        """The ranking over every item of `rows` (positions into the score rows), bought items
        masked for discovery, exactly as the evaluation ranks them."""
        sub = score_rows(scores, rows)
        if task == "discovery":
            seen = self.ev.data.history.matrix[self.ev.rows[rows]].tocoo()
            sub[seen.row, seen.col] = -np.inf
        return top_k_wide(sub, k)[0]

    def _pool(self, part: Scores, task: str) -> tuple[Scores, np.ndarray, np.ndarray]:
        """The part's `pool` best items (and values, best first) per evaluated customer of `task`."""
        key = (id(part), task)
        cached = self._pools.get(key)
        if cached is not None and cached[0] is part:
            return cached
        positions = self.ev.positions[task]
        items = np.full((len(positions), self.pool), -1, dtype=np.int64)
        values = np.full((len(positions), self.pool), -np.inf, dtype=np.float32)
        for start in range(0, len(positions), _BATCH):
            rows = positions[start : start + _BATCH]
            sub = score_rows(part, rows)
            if task == "discovery":
                seen = self.ev.data.history.matrix[self.ev.rows[rows]].tocoo()
                sub[seen.row, seen.col] = -np.inf
            # The values matter, not ties' order; blocks of 64 keep the threshold tight for k = 64.
            found = top_k_wide(sub, self.pool, block=64, same_ties=False)
            items[start : start + len(rows)], values[start : start + len(rows)] = found
        self._pools[key] = (part, items, values)
        return self._pools[key]


def values_at(scores: Scores, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """`score_rows(scores, rows)[r, items[r]]` for every r, computed only there (float32)."""
    if isinstance(scores, BlendedScores):
        if not scores.scaled:
            raise ValueError("values_at: only blends of scaled parts are gathered")
        total = np.zeros(items.shape, dtype=np.float32)
        for part, weight in scores.parts:
            if weight:
                total += np.float32(weight) * values_at(part, rows, items)
        return total
    if isinstance(scores, ScaledScores):
        raw = values_at(scores.scores, rows, items)
        low, span = scores.low[rows, None], scores.span[rows, None]
        return np.divide(raw - low, span, out=np.zeros_like(raw), where=span > 0)
    return np.asarray(scores[rows[:, None], items], dtype=np.float32)


def _one_row(scores: Scores) -> bool:
    """A broadcast view of one row (`training.evaluation.evaluate.model_scores`)."""
    return isinstance(scores, np.ndarray) and scores.ndim == 2 and scores.strides[0] == 0


def _unique_rows(items: np.ndarray) -> np.ndarray:
    """Each row's items once (repeats and pads become -1), sorted."""
    items = np.sort(items, axis=1)
    repeat = np.zeros(items.shape, dtype=bool)
    repeat[:, 1:] = items[:, 1:] == items[:, :-1]
    return np.where(repeat, -1, items)
