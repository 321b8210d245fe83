"""A weighted blend of recommenders, each one's scores rescaled per customer first.

Scores of different models live on different scales (ALS dot products, EASE regressions,
decayed purchase counts), so each model's row is min-max scaled to [0, 1] for that customer
before the weighted sum. The scaling is affine and increasing, which keeps one useful property:
in `Blend([(repurchase, a), (cf, b)])` the repurchase model scores only bought items, so among
items the customer never bought the blend ranks exactly as `cf` does. That is how one list can
answer both the discovery and the buy-again question consistently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from models.algorithms.base import Recommender
from models.algorithms.interactions import Interactions
from models.algorithms.params import ModelParams


def minmax_rows(scores: np.ndarray) -> np.ndarray:
    """Each row scaled to [0, 1] (a constant row becomes 0)."""
    scores = np.asarray(scores, dtype=np.float32)
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    return np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)


def blend_scores(parts: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """Σ weight · minmax_rows(scores): shared by the model and by tuning on cached scores."""
    total = np.zeros(np.shape(parts[0][0]), dtype=np.float32)
    for scores, weight in parts:
        if weight:
            total += np.float32(weight) * minmax_rows(scores)
    return total


class BlendedScores:
    """`blend_scores(parts)` of cached score matrices, computed only for the rows asked for.

    Tuning tries many blend weights on the same cached scores; holding each try's dense
    (customers x items) result would cost a full matrix per weight, while every row of a blend
    depends only on the same row of its parts (the rescaling is per row). So a try is this
    recipe, read a batch of rows at a time: the same numbers as `blend_scores` on all rows.
    With `scaled`, the parts are already `minmax_rows` of the scores (see `scaled_rows`), so
    a try costs one weighted sum instead of finding every part's extremes again."""

    def __init__(self, parts: Sequence[tuple[Scores, float]], scaled: bool = False) -> None:
        self.parts, self.scaled = list(parts), scaled

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.parts[0][0].shape)  # type: ignore[return-value]

    def rows(self, index: np.ndarray) -> np.ndarray:
        if not self.scaled:
            return blend_scores([(score_rows(scores, index), w) for scores, w in self.parts])
        total = np.zeros((len(index), self.shape[1]), dtype=np.float32)
        for scores, weight in self.parts:
            if weight:
                total += np.float32(weight) * score_rows(scores, index)
        return total


class ScaledScores:
    """`minmax_rows` of a score matrix without a second dense matrix: each row's low and span
    are found once (one pass) and applied when rows are read, with the same operations, hence
    the same numbers."""

    def __init__(self, scores: Scores, low: np.ndarray, span: np.ndarray) -> None:
        self.scores, self.low, self.span = scores, low, span

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.scores.shape)  # type: ignore[return-value]

    def rows(self, index: np.ndarray) -> np.ndarray:
        raw = score_rows(self.scores, index)
        low, span = self.low[index, None], self.span[index, None]
        return np.divide(raw - low, span, out=np.zeros_like(raw), where=span > 0)


Scores = np.ndarray | BlendedScores | ScaledScores  # customers x items, or a recipe read per batch of rows


def score_rows(scores: Scores, index: np.ndarray) -> np.ndarray:
    """Rows `index` of a score matrix or of a recipe, as a new dense array."""
    if isinstance(scores, BlendedScores | ScaledScores):
        return scores.rows(index)
    return np.array(scores[index], dtype=np.float32)


def scaled_rows(scores: Scores, batch: int = 1024) -> Scores:
    """`minmax_rows` of every row (see `ScaledScores`); scores that are the same for every row
    (a broadcast view) stay one row seen through a broadcast view."""
    n, n_items = scores.shape
    if isinstance(scores, np.ndarray) and n and scores.strides[0] == 0:
        return np.broadcast_to(minmax_rows(scores[:1])[0], (n, n_items))
    low, span = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)
    for start in range(0, n, batch):
        raw = score_rows(scores, np.arange(start, min(start + batch, n)))
        low[start : start + len(raw)] = raw.min(axis=1)
        span[start : start + len(raw)] = raw.max(axis=1) - low[start : start + len(raw)]
    return ScaledScores(scores, low, span)


class BlendRecommender(Recommender):
    """Parts that are already fitted are used as they are (a tuned model is not fitted twice);
    the others are fitted on the blend's own `fit` data.

    A saved blend keeps each part's name, weight, parameters and arrays. To load one, the blend
    needs `new_part`, which makes an unfitted model from its name: the registry passes its own
    `new_model` (see `models.algorithms.registry.load_model`), so this module needs no table of
    models and the registry, above it, is the only one."""

    name = "blend"

    def __init__(
        self,
        parts: Sequence[tuple[Recommender, float]] = (),
        params: ModelParams | None = None,  # NoParams: a blend's parts and weights are its settings
        new_part: Callable[[str], Recommender] | None = None,
    ) -> None:
        super().__init__(params)
        self.parts = list(parts)
        self.new_part = new_part

    def fit(self, interactions: Interactions) -> BlendRecommender:
        if not self.parts:
            raise ValueError("a blend needs at least one part")
        for model, _ in self.parts:
            if not model._fitted:
                model.fit(interactions)
        return super().fit(interactions)

    def _fit(self, user_items: sp.csr_matrix) -> None:
        """The parts are fitted in `fit`; nothing is learnt on top of them."""

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        return blend_scores([(model.score(user_rows, user_items), w) for model, w in self.parts])

    def describe(self) -> list[dict[str, object]]:
        return [{"model": model.name, "weight": w} for model, w in self.parts]

    def _state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {"parts": np.asarray(json.dumps(self.describe()))}
        for i, (model, _) in enumerate(self.parts):
            state.update({f"p{i}__{key}": value for key, value in model.state().items()})
        return state

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        if self.new_part is None:
            raise ValueError("a saved blend needs `new_part` to make its parts: load it with registry.load_model")
        self.parts = []
        for i, part in enumerate(json.loads(str(state["parts"]))):
            prefix = f"p{i}__"
            model = self.new_part(str(part["model"]))
            model.restore({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
            self.parts.append((model, float(part["weight"])))
