"""The loaded model at request time: re-solve a customer's vector from their live history, find
items similar to ones they returned, and say which country (time zone, segment) they are in.

The service never trains; it only folds a customer into the fixed item vectors (implicit's
`recalculate_user`), which takes well under a millisecond, so a brand-new customer gets
personal offers right after their first purchases instead of after the next nightly run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from models.algorithms.base import top_k
from models.contract import Offer
from models.contract.artifact import Artifact
from models.rules.ranking import merge_lists

LIST_LENGTH = 100
DISLIKE_CONFIDENCE = -1.0  # implicit reads a negative entry as "does not want this"
_SIMILAR_CACHE_LIMIT = 20_000


class Personalizer:
    def __init__(
        self, artifact: Artifact, list_length: int = LIST_LENGTH, forgotten: Collection[str] = frozenset()
    ) -> None:
        """`forgotten` are treated as customers the model never met: their trained history and
        country are not used. The set is this model's own and only grows (`forget`): a customer
        restored later is still someone this artifact must not remember."""
        self.version = artifact.version
        self.forgotten: set[str] = set(forgotten)
        self.model = artifact.model
        self.customers, self.items = artifact.customers, artifact.items
        self.history = artifact.history.tocsr()
        self.list_length = list_length
        factors = self.model.item_factors
        norms = np.linalg.norm(factors, axis=1)
        norms[norms == 0] = 1.0
        self._unit = (factors / norms[:, None]).astype(np.float32)
        self._countries = artifact.countries
        self._segments = artifact.storefront.segment_of if artifact.storefront is not None else None
        self._similar: dict[tuple[int, int], frozenset[str]] = {}
        events = artifact.manifest.get("events") or {}
        self.horizon_ms = int(events.get("last_ts_ms") or 0)  # live purchases up to here are in the model

    def forget(self, customer_id: str) -> None:
        self.forgotten.add(customer_id)

    def bought(self, customer_id: str) -> frozenset[str]:
        """What the customer bought in the training data (none for customers it has not met)."""
        row = self._row(customer_id)
        if row is None:
            return frozenset()
        cols = self.history.indices[self.history.indptr[row] : self.history.indptr[row + 1]]
        return frozenset(str(i) for i in self.items.ids[cols])

    def segment(self, customer_id: str) -> int | None:
        """The customer's micro-segment id in this version (None for customers it has not met)."""
        row = self._row(customer_id)
        if row is None or self._segments is None:
            return None
        return int(self._segments[row])

    def _row(self, customer_id: str) -> int | None:
        return None if customer_id in self.forgotten else self.customers.row(customer_id)

    def country(self, customer_id: str) -> str | None:
        row = self._row(customer_id)
        if row is None or self._countries is None:
            return None
        return str(self._countries[row]) or None

    def personal_offers(
        self, customer_id: str, live_bought: Mapping[str, int], disliked: Iterable[str] = ()
    ) -> list[Offer] | None:
        """Candidates from a vector re-solved with the live purchases (None: nothing to solve
        from, e.g. only items the model does not know)."""
        weights = self._history_weights(customer_id, live_bought, disliked)
        bought = np.asarray([col for col, w in weights.items() if w > 0], dtype=np.int64)
        if len(bought) == 0:
            return None
        cols = np.fromiter(weights, dtype=np.int64, count=len(weights))
        vals = np.fromiter(weights.values(), dtype=np.float32, count=len(weights))
        row = sp.csr_matrix((vals, (np.zeros(len(cols), dtype=np.int64), cols)), shape=(1, len(self.items)))
        scores = np.round(self.model.score_vectors(self.model.fold_in(row)), 6).astype(np.float32)
        unbought = scores.copy()
        unbought[0, bought] = -np.inf
        discovery = top_k(unbought, self.list_length)
        everything = top_k(scores, self.list_length)
        return merge_lists(
            (discovery[0][0], discovery[1][0]), (everything[0][0], everything[1][0]), bought, self.items.ids
        )

    def _history_weights(
        self, customer_id: str, live_bought: Mapping[str, int], disliked: Iterable[str]
    ) -> dict[int, float]:
        """Confidence per item column: trained history plus live purchases, log-scaled like
        training's weights (without the recency decay); disliked items negative."""
        occasions: dict[int, float] = {}
        row = self._row(customer_id)
        if row is not None:
            lo, hi = self.history.indptr[row], self.history.indptr[row + 1]
            occasions.update(zip(self.history.indices[lo:hi].tolist(), self.history.data[lo:hi].tolist()))
        for item, n in live_bought.items():
            col = self.items.row(item)
            if col is not None:
                occasions[col] = occasions.get(col, 0.0) + n
        weights = {col: 1.0 + float(np.log1p(n)) for col, n in occasions.items()}
        for item in disliked:
            col = self.items.row(item)
            if col is not None:
                weights[col] = DISLIKE_CONFIDENCE
        return weights

    def similar_items(self, item_ids: Sequence[str], per_item: int) -> frozenset[str]:
        """The `per_item` nearest neighbours (cosine of item vectors) of each known item."""
        out: set[str] = set()
        for item in item_ids:
            col = self.items.row(item)
            if col is not None and per_item > 0:
                out |= self._neighbours(col, per_item)
        return frozenset(out)

    def _neighbours(self, col: int, k: int) -> frozenset[str]:
        key = (col, k)
        if key not in self._similar:
            if len(self._similar) >= _SIMILAR_CACHE_LIMIT:
                self._similar.clear()
            sims = self._unit[col] @ self._unit.T
            sims[col] = -np.inf
            idx, _ = top_k(sims[None, :], k)
            self._similar[key] = frozenset(str(self.items.ids[i]) for i in idx[0] if i >= 0)
        return self._similar[key]
