"""The top k items of a blend per customer without scoring every item.

A blend (`models.algorithms.blend`) rescales each part per customer, so for one customer u it is an affine
function of its parts' raw scores; with ALS, popularity-like and repurchase parts that is

    blend(u, i) = Σ a(u) q(u)·v(i)  +  Σ b(u) g(i)  +  Σ c(u) S(u, i)  +  d(u)

low-rank terms (ALS vectors), item vectors shared by everyone (popularity, the repurchase
tie-break) and sparse terms non-zero only on the customer's own purchases (repurchase). Off
the sparse support it is one inner product of augmented vectors, [a q, b] · [v, g], so the
exact norm-bounded search (`models.algorithms.search.inner_product`) finds its best items; the customer's own
items are candidates anyway. The coefficients need every part's min and max over all items
for that customer: the best candidates of the part's own form and of its negation.

Candidates are then scored as the dense path scores them (`models.algorithms.blend`, float32, the same
operations in the same order), and a customer's answer is kept only when its k-th best is at
least the bound of every item left out (the search's last value): exact up to float rounding
of near-ties. Customers for whom that fails are scored densely, on every item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from models.algorithms.als import ALSRecommender
from models.algorithms.base import Recommender
from models.algorithms.blend import BlendRecommender
from models.algorithms.repurchase import RepurchaseRecommender
from models.algorithms.search.mixed_index import MixedIndex

EXTREME_CANDIDATES = 4  # best items whose exact score gives a part's per-customer min and max


def supported(model: Recommender) -> bool:
    """Blends whose every leaf has a linear form (ALS, same-for-everyone, repurchase)."""
    if isinstance(model, BlendRecommender):
        return all(supported(part) for part, _ in model.parts)
    return isinstance(model, ALSRecommender | RepurchaseRecommender) or model.same_for_everyone


@dataclass
class Form:
    """The affine form of one model for a batch of customers (coefficients per customer)."""

    lowrank: list[tuple[np.ndarray, np.ndarray, int]] = field(default_factory=list)  # (coef, Q rows, leaf)
    shared: list[tuple[np.ndarray, int]] = field(default_factory=list)  # (coef, leaf with a vector)
    sparse: list[tuple[np.ndarray, sp.csr_matrix]] = field(default_factory=list)  # (coef, rows of S)
    const: np.ndarray | None = None

    @property
    def size(self) -> int:
        """How many customers the form is for."""
        if self.const is not None:
            return len(self.const)
        first: Any = next(c for c, *_ in [*self.lowrank, *self.shared, *self.sparse])
        return len(first)

    def scaled(self, factor: np.ndarray, shift: np.ndarray) -> Form:
        """factor · self + shift (per customer)."""
        const = shift if self.const is None else factor * self.const + shift
        return Form(
            [(c * factor, q, leaf) for c, q, leaf in self.lowrank],
            [(c * factor, leaf) for c, leaf in self.shared],
            [(c * factor, s) for c, s in self.sparse],
            const,
        )

    def plus(self, other: Form) -> Form:
        const = [c for c in (self.const, other.const) if c is not None]
        return Form(
            self.lowrank + other.lowrank,
            self.shared + other.shared,
            self.sparse + other.sparse,
            sum(const[1:], const[0]) if const else None,
        )

    def own_items(self, n: int) -> sp.csr_matrix:
        """Per customer, the items where a sparse term may be non-zero (as a 0/1 pattern)."""
        own = sp.csr_matrix((n, 0))
        for _, s in self.sparse:
            pattern = s.copy()
            pattern.data = np.ones_like(pattern.data)
            own = pattern if own.shape[1] == 0 else own + pattern
        return own.tocsr()


class BlendSearch:
    """Exact top-k of a supported blend, a batch of customers at a time (see the module doc)."""

    def __init__(self, model: Recommender, n_items: int) -> None:
        self.model, self.n_items = model, n_items
        self._leaves: list[Recommender] = []
        self._vectors: dict[int, np.ndarray] = {}  # leaf -> its shared item vector
        self._indexes: dict[tuple[tuple[int, ...], tuple[int, ...], bytes], tuple[MixedIndex, np.ndarray]] = {}
        self._orders: dict[tuple[int, bytes], np.ndarray] = {}
        self._part_extremes: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # of the current batch

    # --- forms and extremes -------------------------------------------------------------

    def form(self, model: Recommender, rows: np.ndarray, seen: sp.csr_matrix) -> Form:
        n = len(rows)
        ones = np.ones(n)
        if isinstance(model, ALSRecommender):
            return Form(lowrank=[(ones, model.user_factors[rows], self._leaf(model))])
        if isinstance(model, RepurchaseRecommender):
            return Form(shared=[(ones, self._leaf(model, model.tiebreak))], sparse=[(ones, model.scores[rows])])
        if model.same_for_everyone:
            return Form(shared=[(ones, self._leaf(model, model.score(rows[:1], seen[:1])[0]))])
        assert isinstance(model, BlendRecommender)
        total = Form(const=np.zeros(n))
        for part, weight in model.parts:
            if not weight:
                continue
            part_form = self.form(part, rows, seen)
            low, high = self.extremes(part, part_form, rows, seen)
            self._part_extremes[id(part)] = low, high
            span = (high - low).astype(np.float32)
            factor = np.divide(weight, span, out=np.zeros(n), where=span > 0)
            total = total.plus(part_form.scaled(factor, -factor * low))
        return total

    def extremes(
        self, model: Recommender, form: Form, rows: np.ndarray, seen: sp.csr_matrix
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per customer, the min and max over all items of `model`'s score, as dense scoring
        computes them (float32)."""
        if model.same_for_everyone:
            vector = self._vectors[self._leaf(model)]
            return np.full(len(rows), vector.min(), np.float32), np.full(len(rows), vector.max(), np.float32)
        everything = np.ones(self.n_items, dtype=bool)
        extremes, unsure = [], np.zeros(len(rows), dtype=bool)
        for sign in (-1.0, 1.0):
            signed = form.scaled(np.full(len(rows), sign), np.zeros(len(rows)))
            items, bound = self.candidates(signed, EXTREME_CANDIDATES, everything)
            scores = sign * self.exact(model, rows, items)
            best = np.max(np.where(items >= 0, scores, -np.inf), axis=1)
            unsure |= best < bound
            extremes.append((sign * best).astype(np.float32))
        low, high = extremes
        redo = np.flatnonzero(unsure)
        if len(redo):  # near-ties at rounding level: score those customers densely
            dense = model.score(rows[redo], seen[redo])
            low[redo], high[redo] = dense.min(axis=1), dense.max(axis=1)
        return low, high

    # --- candidates -------------------------------------------------------------------------

    def candidates(self, form: Form, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per customer the `k` best allowed items of the form off the sparse support, plus
        the allowed sparse-support items (padded with -1); and the bound of every item not
        among them (the k-th best value of the search, -inf when it ran out of items)."""
        found, values = self._search(form, k, allowed)
        bound = np.where(found[:, -1] >= 0, values[:, -1], -np.inf)
        own = form.own_items(form.size) if form.sparse else None
        if own is None or own.nnz == 0:
            return found, bound
        own = own.multiply(allowed[None, :]).tocsr()
        own.eliminate_zeros()
        extra = _padded_rows(own)
        extra[_rowwise_isin(extra, found)] = -1
        return np.concatenate([found, extra], axis=1), bound

    def _search(self, form: Form, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = form.size
        const = form.const if form.const is not None else np.zeros(n)
        if not form.lowrank and len(form.shared) <= 1:
            return self._sorted_search(form, k, allowed, const)
        queries = np.hstack([c[:, None] * q for c, q, _ in form.lowrank] + [c[:, None] for c, _ in form.shared])
        key = (tuple(leaf for _, _, leaf in form.lowrank), tuple(leaf for _, leaf in form.shared), allowed.tobytes())
        if key not in self._indexes:
            vectors = [self._leaves[leaf].item_factors for _, _, leaf in form.lowrank]  # type: ignore[attr-defined]
            columns = [self._vectors[leaf][:, None] for _, leaf in form.shared]
            rows = np.flatnonzero(allowed)
            vectors_all = np.hstack(vectors)[rows]
            columns_all = np.hstack(columns)[rows] if columns else np.zeros((len(rows), 0), dtype=np.float32)
            self._indexes[key] = (MixedIndex(vectors_all, columns_all), rows)
        index, rows = self._indexes[key]
        found, scores = index.search(queries.astype(np.float32), k, head=max(4 * k, 128))
        items = np.where(found >= 0, rows[np.maximum(found, 0)], -1)
        assert items.shape[0] == n
        return items, scores + const[:, None]

    def _sorted_search(
        self, form: Form, k: int, allowed: np.ndarray, const: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """No low-rank term: the best items follow one shared vector's order (or its reverse)."""
        n = len(const)
        if not form.shared:
            vector, coef = np.zeros(self.n_items), np.zeros(n)
        else:
            coef, leaf = form.shared[0]
            vector = self._vectors[leaf]
        key = (id(vector), allowed.tobytes())
        if key not in self._orders:
            candidates = np.flatnonzero(allowed)
            self._orders[key] = candidates[np.argsort(-vector[candidates], kind="stable")]
        order = self._orders[key]
        top, bottom = order[:k], order[::-1][:k]
        items = np.where((coef >= 0)[:, None], top[None, :], bottom[None, :])
        if items.shape[1] < k:
            items = np.pad(items, ((0, 0), (0, k - items.shape[1])), constant_values=-1)
        values = coef[:, None] * vector[np.maximum(items, 0)] + const[:, None]
        return items, np.where(items >= 0, values, -np.inf)

    # --- exact scores -------------------------------------------------------------------------

    def exact(self, model: Recommender, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """`model.score(rows)[r, items[r]]` as dense scoring computes it (float32); -1 pads
        get any value (callers mask them)."""
        items = np.maximum(items, 0)
        if isinstance(model, ALSRecommender):
            vectors = model.item_factors[items]  # rows x candidates x factors
            return np.matmul(vectors, model.user_factors[rows][:, :, None])[:, :, 0].astype(np.float32)
        if isinstance(model, RepurchaseRecommender):
            return _sparse_lookup(model.scores[rows], items) + model.tiebreak[items]
        if model.same_for_everyone:
            return self._vectors[self._leaf(model)][items]
        assert isinstance(model, BlendRecommender)
        total = np.zeros(items.shape, dtype=np.float32)
        for part, weight in model.parts:
            if weight:
                low, high = self._part_extremes[id(part)]
                span = (high - low)[:, None]
                scaled = np.divide(
                    self.exact(part, rows, items) - low[:, None],
                    span,
                    out=np.zeros(items.shape, dtype=np.float32),
                    where=span > 0,
                )
                total += np.float32(weight) * scaled
        return total

    def _leaf(self, model: Recommender, vector: np.ndarray | None = None) -> int:
        for i, leaf in enumerate(self._leaves):
            if leaf is model:
                return i
        self._leaves.append(model)
        if vector is not None:
            self._vectors[len(self._leaves) - 1] = np.asarray(vector, dtype=np.float32)
        return len(self._leaves) - 1


def _padded_rows(m: sp.csr_matrix) -> np.ndarray:
    """The column indices of each row of `m`, padded with -1 to the longest row."""
    counts = np.diff(m.indptr)
    out = np.full((m.shape[0], int(counts.max()) if len(counts) else 0), -1, dtype=np.int64)
    rows = np.repeat(np.arange(m.shape[0]), counts)
    out[rows, np.arange(m.nnz) - m.indptr[rows]] = m.indices
    return out


def _rowwise_isin(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a[r, j] in b[r]` for every row (values >= 0)."""
    n_cols = np.int64(max(int(a.max(initial=0)), int(b.max(initial=0))) + 1)
    keys_b = np.sort((np.arange(len(b))[:, None] * n_cols + b).ravel())
    keys_a = np.arange(len(a))[:, None] * n_cols + a
    pos = np.minimum(np.searchsorted(keys_b, keys_a), len(keys_b) - 1)
    return (a >= 0) & (keys_b[pos] == keys_a)


def _sparse_lookup(m: sp.csr_matrix, items: np.ndarray) -> np.ndarray:
    """`m[r, items[r, j]]` for every row r (zero where nothing is stored), float32."""
    m = m.tocsr()
    m.sort_indices()
    out = np.zeros(items.shape, dtype=np.float32)
    if m.nnz == 0:
        return out
    keys = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr)) * m.shape[1] + m.indices
    wanted = np.arange(len(items), dtype=np.int64)[:, None] * m.shape[1] + items
    pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    hit = keys[pos] == wanted
    out[hit] = m.data[pos[hit]]
    return out
