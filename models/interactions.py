"""External ids <-> matrix rows, and the customer x item matrix.

Ids are mapped once, here, at the edge: everything past `models/` speaks in the shop's own
customer and item ids; matrix row numbers never leak out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class IdMap:
    """A fixed, ordered set of external ids and their row numbers."""

    ids: np.ndarray
    index: dict[str, int] = field(repr=False, compare=False)

    @classmethod
    def from_ids(cls, ids: np.ndarray | list[str]) -> IdMap:
        arr = np.asarray(ids, dtype=str)
        return cls(ids=arr, index={v: i for i, v in enumerate(arr.tolist())})

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, external_id: object) -> bool:
        return external_id in self.index

    def row(self, external_id: str) -> int | None:
        return self.index.get(external_id)

    def rows(self, external_ids: np.ndarray | list[str]) -> np.ndarray:
        """Row numbers, -1 for ids this map does not know."""
        get = self.index.get
        return np.fromiter((get(x, -1) for x in external_ids), dtype=np.int64, count=len(external_ids))


@dataclass(frozen=True)
class Interactions:
    """Customers x items confidence matrix (CSR, float32) with its two id maps."""

    customers: IdMap
    items: IdMap
    matrix: sp.csr_matrix

    @classmethod
    def from_triples(
        cls,
        customer_ids: np.ndarray,
        item_ids: np.ndarray,
        weights: np.ndarray,
        items: IdMap | None = None,
    ) -> Interactions:
        """Sum `weights` per (customer, item). `items` fixes the item space (e.g. a catalog)."""
        cust_codes, cust_uniques = _factorize(customer_ids)
        if items is None:
            item_codes, item_uniques = _factorize(item_ids)
            items = IdMap.from_ids(item_uniques)
        else:
            item_codes = items.rows(item_ids)
            keep = item_codes >= 0
            cust_codes, item_codes, weights = cust_codes[keep], item_codes[keep], weights[keep]
        matrix = sp.csr_matrix(
            (np.asarray(weights, dtype=np.float32), (cust_codes, item_codes)),
            shape=(len(cust_uniques), len(items)),
        )
        matrix.sum_duplicates()
        return cls(customers=IdMap.from_ids(cust_uniques), items=items, matrix=matrix)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniques, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return codes.astype(np.int64), uniques
