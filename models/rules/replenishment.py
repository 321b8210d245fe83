"""Replenishment: how often and how recently each customer buys each item, and whether it is due.

"Give them exactly what they need when they need it": a customer who reorders tea lights every
three weeks and last bought them four weeks ago is due. The rhythm is the customer's own
(their mean interval between purchase occasions of that item), not a global average.

Stats are sparse matrices with the customer x item layout of `models.algorithms.interactions`, so they
travel in artifacts as plain arrays and are looked up by row.

Saying "you reorder this every ~2 days" needs evidence (`rhythm_holds`): a mean of one gap
(two purchases) is no rhythm, and a rhythm the customer left long ago (last bought a year
back on a 2-day rhythm) has lapsed; it is not "due". Without a rhythm the reasons state facts.

A rhythm that holds is a replenishment plan (`Plan`): "every ~3 weeks, next on 12 Dec", offered
in the personal store and reminded of through outbound when due.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

MIN_INTERVAL_DAYS = 1.0  # repeat purchases closer than this on average are one shopping trip
RHYTHM_MIN_OCCASIONS = 3  # purchase occasions (two gaps) before a mean gap is a rhythm
LAPSED_AFTER_INTERVALS = 3.0  # silent this many intervals: the rhythm has lapsed (as loyalty's at_risk)


def rhythm_holds(occasions: int, interval_days: float, days_since: float) -> bool:
    """Whether a customer may be told they buy the item every `interval_days`: at least three
    purchase occasions a day or more apart on average, and the latest no more than three
    intervals ago. The one rule of every surface that states a rhythm."""
    return (
        occasions >= RHYTHM_MIN_OCCASIONS
        and interval_days >= MIN_INTERVAL_DAYS
        and days_since <= LAPSED_AFTER_INTERVALS * interval_days
    )


@dataclass(frozen=True)
class Plan:
    """A replenishment plan: the customer reorders the item every `interval_days`, the latest
    time on day `last_day` (days since the epoch, fractional, as every rhythm here)."""

    interval_days: float
    last_day: float

    @property
    def next_day(self) -> float:
        return self.last_day + self.interval_days

    def due(self, occasions: int, today_day: float) -> bool:
        """Its next reorder has come and the rhythm still holds today (a lapsed rhythm reminds no one)."""
        return self.next_day <= today_day and rhythm_holds(occasions, self.interval_days, today_day - self.last_day)


def replenishment_plan(
    occasions: int, interval_days: float, days_since: float, end_day: float, live_last_day: float | None = None
) -> Plan | None:
    """The plan of a repeat item measured at `end_day` (the end of the training data), when its
    rhythm holds (`rhythm_holds`); a purchase since (`live_last_day`) moves the next reorder on."""
    if not rhythm_holds(occasions, interval_days, days_since):
        return None
    last = end_day - days_since
    return Plan(interval_days, max(last, live_last_day) if live_last_day is not None else last)


@dataclass(frozen=True)
class ReplenishmentStats:
    occasions: sp.csr_matrix  # number of purchase occasions
    first_day: sp.csr_matrix  # day number (days since epoch) of the first occasion
    last_day: sp.csr_matrix  # day number of the latest occasion

    @property
    def shape(self) -> tuple[int, int]:
        return self.occasions.shape  # type: ignore[return-value]

    def interval_days(self) -> sp.csr_matrix:
        """Mean days between occasions (0 where bought once): (last - first) / (n - 1)."""
        n = self.occasions.copy()
        span = self.last_day - self.first_day
        gaps = n.copy()
        gaps.data = np.maximum(gaps.data - 1, 0)
        out = span.multiply(_reciprocal(gaps)).tocsr()
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for `np.savez` (all three share the occasions' sparsity pattern)."""
        o = self.occasions
        return {
            "indptr": o.indptr,
            "indices": o.indices,
            "occasions": o.data,
            "first_day": _aligned(self.first_day, o),
            "last_day": _aligned(self.last_day, o),
            "shape": np.asarray(o.shape),
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> ReplenishmentStats:
        shape = tuple(int(x) for x in a["shape"])

        def mat(data: np.ndarray) -> sp.csr_matrix:
            return sp.csr_matrix((data, a["indices"], a["indptr"]), shape=shape)

        return cls(mat(a["occasions"]), mat(a["first_day"]), mat(a["last_day"]))


def replenishment_stats(
    customer_rows: np.ndarray, item_rows: np.ndarray, days: np.ndarray, shape: tuple[int, int]
) -> ReplenishmentStats:
    """From one entry per purchase occasion (customer row, item row, day number)."""
    days = np.asarray(days, dtype=np.float64)
    ones = np.ones(len(days), dtype=np.float32)
    occasions = sp.csr_matrix((ones, (customer_rows, item_rows)), shape=shape)
    occasions.sum_duplicates()
    order = np.lexsort((days, item_rows, customer_rows))
    c, i, d = customer_rows[order], item_rows[order], days[order]
    new_pair = np.ones(len(c), dtype=bool)
    new_pair[1:] = (c[1:] != c[:-1]) | (i[1:] != i[:-1])
    last_of_pair = np.append(new_pair[1:], True)
    first = sp.csr_matrix((d[new_pair] + 1.0, (c[new_pair], i[new_pair])), shape=shape)
    last = sp.csr_matrix((d[last_of_pair] + 1.0, (c[last_of_pair], i[last_of_pair])), shape=shape)
    # +1 so a purchase on day 0 is not an implicit zero; removed again below.
    first.data -= 1.0
    last.data -= 1.0
    return ReplenishmentStats(occasions, _aligned_matrix(first, occasions), _aligned_matrix(last, occasions))


@dataclass(frozen=True)
class Due:
    """One repeatedly bought item of one customer, with its rhythm."""

    item_row: int
    occasions: int
    interval_days: float
    days_since: float

    @property
    def due_ratio(self) -> float:
        """1.0 = due today; above 1 = overdue."""
        return self.days_since / self.interval_days if self.interval_days > 0 else 0.0


def due_items(stats: ReplenishmentStats, row: int, today_day: float, min_occasions: int = 2) -> list[Due]:
    """The customer's repeat items ordered by how due they are: closest to (or just past) their
    usual interval first; long-overdue items (the customer may have switched) sink slowly."""
    o = stats.occasions
    lo, hi = o.indptr[row], o.indptr[row + 1]
    items, counts = o.indices[lo:hi], o.data[lo:hi]
    first, last = stats.first_day.data[lo:hi], stats.last_day.data[lo:hi]
    out = []
    for item, n, f, la in zip(items, counts, first, last, strict=True):
        if n >= min_occasions and la > f:
            out.append(Due(int(item), int(n), float((la - f) / (n - 1)), float(today_day - la)))
    out.sort(key=lambda d: -due_score(d.due_ratio, d.occasions))
    return out


def due_score(due_ratio: float, occasions: int) -> float:
    """Peaks when due (ratio 1), falls off before and slowly after; more occasions = surer."""
    return float(due_timing(np.asarray(due_ratio)) * np.log1p(occasions))


def due_timing(due_ratio: np.ndarray) -> np.ndarray:
    """The timing part of `due_score` for many ratios at once: 1 when due, a log-normal bump."""
    return np.exp(-0.5 * (np.log(np.maximum(due_ratio, 1e-3)) / 0.6) ** 2)


def _reciprocal(m: sp.csr_matrix) -> sp.csr_matrix:
    r = m.copy().astype(np.float64)
    r.data = np.divide(1.0, r.data, out=np.zeros_like(r.data), where=r.data != 0)
    return r


def _aligned_matrix(m: sp.csr_matrix, pattern: sp.csr_matrix) -> sp.csr_matrix:
    return sp.csr_matrix((_aligned(m, pattern), pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape)


def _aligned(m: sp.csr_matrix, pattern: sp.csr_matrix) -> np.ndarray:
    """`m`'s values in `pattern`'s storage order (both have the same non-zero positions)."""
    m = m.tocsr()
    m.sort_indices()
    p = pattern.tocsr()
    p.sort_indices()
    if not (np.array_equal(m.indptr, p.indptr) and np.array_equal(m.indices, p.indices)):
        raise ValueError("matrices do not share a sparsity pattern")
    return m.data.astype(np.float32)
