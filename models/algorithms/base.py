"""The one interface every recommender honours.

Each model only has to say how much every item suits a batch of customers (`score`); ranking,
filtering what the customer already has and batching are written once here, so every model is
ranked by the same rules and tested by the same contract tests. Each model also declares its
parameters class (`Params`, see `models.algorithms.params`); saving and loading keep the
parameters with the arrays and validate them on the way back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from models.algorithms.interactions import Interactions
from models.algorithms.params import ModelParams, NoParams, validate

PARAMS_KEY = "params"  # the parameters' JSON among a saved model's arrays


class NotFittedError(RuntimeError):
    """Raised when a model is used before `fit`."""


class Recommender(ABC):
    """Fit on a customer x item matrix; score, recommend and compare items."""

    name: str = "recommender"
    Params: ClassVar[type[ModelParams]] = NoParams
    # True when every customer gets the same scores (popularity): callers may score one row.
    same_for_everyone: bool = False
    # False when `fit` learns from something other than the matrix's values (purchase times): a
    # blend then takes its confidence weights from a part that reads them.
    reads_matrix: ClassVar[bool] = True
    # True when it ranks the customer's own purchases first: it answers the buy-again question
    # (the *all* task), never discovery, which excludes those purchases.
    buy_again: ClassVar[bool] = False
    max_items: ClassVar[int | None] = None  # the largest catalogue it can be fitted on, when bounded

    def __init__(self, params: ModelParams | dict[str, Any] | None = None) -> None:
        self._fitted = False
        self.params = validate(self.name, self.Params, params)

    def fit(self, interactions: Interactions) -> Self:
        """Learn from `interactions.matrix` (customers x items confidence weights)."""
        if interactions.matrix.nnz == 0:
            raise ValueError("cannot fit on an empty interaction matrix")
        self._fit(interactions.matrix.tocsr())
        self._fitted = True
        return self

    @abstractmethod
    def _fit(self, user_items: sp.csr_matrix) -> None: ...

    @abstractmethod
    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        """Dense (len(user_rows) x n_items) scores; `user_items` are those customers' rows."""

    def score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self._score(np.asarray(user_rows), user_items), dtype=np.float32)

    def recommend(
        self,
        user_rows: np.ndarray,
        user_items: sp.csr_matrix,
        k: int,
        exclude_seen: bool = True,
        blocked: np.ndarray | None = None,
        batch_size: int = 2048,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` item rows and scores per customer, best first.

        `user_items` holds the full matrix rows of *all* customers (indexed by `user_rows`).
        With `exclude_seen` items with a non-zero entry are never returned. Rows that run out of
        candidates are padded with item -1 and score -inf. `blocked` (a boolean mask over items)
        removes items for everyone, e.g. those that cannot be delivered.
        """
        self._check_fitted()
        user_rows = np.asarray(user_rows, dtype=np.int64)
        ids = np.full((len(user_rows), k), -1, dtype=np.int64)
        scores = np.full((len(user_rows), k), -np.inf, dtype=np.float32)
        for start, stop in _batches(len(user_rows), batch_size):
            rows = user_rows[start:stop]
            seen = user_items[rows]
            batch = self.score(rows, seen)
            if exclude_seen:
                _mask_seen(batch, seen)
            if blocked is not None:
                batch[:, blocked] = -np.inf
            ids[start:stop], scores[start:stop] = top_k(batch, k)
        return ids, scores

    def similar_items(self, item_rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Most similar items to each of `item_rows`, itself excluded. Not every model has it."""
        raise NotImplementedError(f"{self.name} does not compare items")

    def save(self, path: Path) -> None:
        np.savez(path, **self.state())  # type: ignore[arg-type]  # numpy's stub types **arrays as bool

    def load(self, path: Path) -> Self:
        with np.load(path, allow_pickle=False) as data:
            return self.restore({k: data[k] for k in data.files})

    def state(self) -> dict[str, np.ndarray]:
        """What `save` writes: the fitted arrays and the parameters as JSON."""
        self._check_fitted()
        return {**self._state(), PARAMS_KEY: np.asarray(self.params.model_dump_json())}

    def restore(self, state: dict[str, np.ndarray]) -> Self:
        """The model `state()` describes; its parameters are validated by `Params` first, so a
        file with an unknown or out-of-bounds parameter is refused, naming it."""
        arrays = dict(state)
        saved = arrays.pop(PARAMS_KEY, None)
        if saved is None and self.Params.model_fields:
            raise ValueError(f"{self.name}: the saved model has no {PARAMS_KEY!r}")
        self.params = validate(self.name, self.Params, None if saved is None else str(saved))
        self._restore(arrays)
        self._fitted = True
        return self

    def _state(self) -> dict[str, np.ndarray]:
        raise NotImplementedError(f"{self.name} cannot be saved")

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError(f"{self.name} cannot be loaded")

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise NotFittedError(f"{self.name} isn't fitted, call `fit` first")


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the `k` largest entries per row, sorted best first."""
    n_items = scores.shape[1]
    k_eff = min(k, n_items)
    part = np.argpartition(-scores, k_eff - 1, axis=1)[:, :k_eff]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(part_scores, order, axis=1)
    idx = np.where(np.isfinite(vals), idx, -1)
    if k_eff < k:
        pad = k - k_eff
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        vals = np.pad(vals, ((0, 0), (0, pad)), constant_values=-np.inf)
    return idx, vals


def top_k_wide(scores: np.ndarray, k: int, block: int = 512, same_ties: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`top_k` of rows with many more items than `k`, a few times faster, the same answer.

    The k-th largest of the rows' block maxima is at most the row's k-th largest value (any
    partition of the items into blocks will do; here item j is in block j mod the count), so
    only the entries at or above it can be in the top k: those few are ranked. Where two of
    the top k + 1 values tie, `top_k`'s order depends on how `argpartition` arranged them, so
    those rows go through `top_k` itself; elsewhere the answer is unique and both agree.
    Without `same_ties`, tied rows keep this function's own (equally correct) choice among
    equal values: for callers that need the k largest values, not `top_k`'s order of ties."""
    n, n_items = scores.shape
    if n == 0 or n_items < 4 * block or n_items // block <= k:
        return top_k(scores, k)
    width = n_items // block * block
    # Interleaved blocks (item j in block j mod n_blocks): item rows often follow popularity,
    # and contiguous blocks would then put the best items in the first few, loosening the bound.
    maxima = scores[:, :width].reshape(n, block, -1).max(axis=1)
    threshold = -np.partition(-maxima, k - 1, axis=1)[:, k - 1]
    above = scores >= threshold[:, None]
    counts = above.sum(axis=1)
    crowded = counts > 8 * k + block  # many ties at the threshold: left to `top_k`
    above[crowded] = False
    rows, cols = np.divmod(np.flatnonzero(above), n_items)
    counts[crowded] = 0
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    values = np.full((n, max(int(counts.max()), k + 1)), -np.inf, dtype=scores.dtype)
    columns = np.zeros(values.shape, dtype=np.int64)
    values[rows, rank], columns[rows, rank] = scores[rows, cols], cols
    ranked = -np.sort(-values, axis=1)[:, : k + 1]
    pos, best = top_k(values, k)
    idx = np.where(pos >= 0, np.take_along_axis(columns, np.maximum(pos, 0), axis=1), -1)
    with np.errstate(invalid="ignore"):  # -inf padding: every other value is below the threshold
        tied = ((np.diff(ranked, axis=1) == 0).any(axis=1) & same_ties) | ~np.isfinite(threshold) | crowded
    if tied.any():
        idx[tied], best[tied] = top_k(scores[tied], k)
    return idx, best


def _mask_seen(scores: np.ndarray, seen: sp.csr_matrix) -> None:
    coo = seen.tocoo()
    scores[coo.row, coo.col] = -np.inf


def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(start + size, n)
