"""External ids <-> matrix rows, and the customer x item matrix.

Ids are mapped once, here, at the edge: everything past `models/` speaks in the shop's own
customer and item ids; matrix row numbers never leak out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True)
class IdMap:
    """A fixed, ordered set of external ids and their row numbers."""

    ids: np.ndarray
    index: dict[str, int] = field(repr=False, compare=False)

    @classmethod
    def from_ids(cls, ids: np.ndarray | list[str] | pd.Index) -> IdMap:
        arr = np.asarray(ids, dtype=str)
        as_list = arr.tolist()
        return cls(ids=arr, index=dict(zip(as_list, range(len(as_list)))))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, external_id: object) -> bool:
        return external_id in self.index

    def row(self, external_id: str) -> int | None:
        return self.index.get(external_id)

    def rows(self, external_ids: np.ndarray | list[str] | pd.Series) -> np.ndarray:
        """Row numbers, -1 for ids this map does not know (one hash lookup per id, in C)."""
        if len(external_ids) == 0:
            return np.empty(0, dtype=np.int64)
        return self._lookup.get_indexer(pd.Index(external_ids, dtype=object)).astype(np.int64)

    @cached_property
    def _lookup(self) -> pd.Index:
        return pd.Index(self.ids.tolist(), dtype=object)


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
        customers, items, rows, cols, keep = encode_pairs(customer_ids, item_ids, items)
        return cls.from_rows(customers, items, rows, cols, np.asarray(weights)[keep])

    @classmethod
    def from_rows(
        cls, customers: IdMap, items: IdMap, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray
    ) -> Interactions:
        """From row numbers already mapped (see `encode_pairs`); duplicates are summed."""
        matrix = sp.csr_matrix(
            (np.asarray(weights, dtype=np.float32), (rows, cols)), shape=(len(customers), len(items))
        )
        matrix.sum_duplicates()
        return cls(customers=customers, items=items, matrix=matrix)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]


def encode_pairs(
    customer_ids: np.ndarray | pd.Series, item_ids: np.ndarray | pd.Series, items: IdMap | None = None
) -> tuple[IdMap, IdMap, np.ndarray, np.ndarray, np.ndarray]:
    """Id maps (sorted ids) and matrix rows/columns for (customer, item) pairs, hashed once.

    With a fixed `items` map, pairs of unknown items are dropped (`keep` marks the pairs kept);
    their customers still get a row.
    """
    cust_codes, cust_uniques = sorted_codes(customer_ids)
    if items is None:
        item_codes, item_uniques = sorted_codes(item_ids)
        items, keep = IdMap.from_ids(item_uniques), np.ones(len(item_codes), dtype=bool)
    else:
        item_codes = items.rows(np.asarray(item_ids, dtype=object))
        keep = item_codes >= 0
        cust_codes, item_codes = cust_codes[keep], item_codes[keep]
    return IdMap.from_ids(cust_uniques), items, cust_codes, item_codes, keep


def sorted_codes(values: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per value, sorted unique values as str): a hash factorisation, not a string sort."""
    if not isinstance(values, pd.Series):
        values = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object).astype(str)
