"""What the learned ranker knows about one (customer, candidate item) pair.

One table per batch of customers: a row per candidate (the union of every generator's top
`per_generator`), a column per feature in `FEATURES`. The features, as the issue that asked for
the ranker names them: the pair's purchase count and recency, days since the last purchase over
the customer's own interval (due-ness), the item's repeat rate across customers, each
generator's score and rank, the item's popularity and its trend, price, and what trends in the
customer's segment. Unknowns are NaN (LightGBM treats them as missing, e.g. the price on MovieLens).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.algorithms.candidate_generators import GENERATORS, Generators, Snapshot, top_ranks
from models.rules.replenishment import due_timing

PAIR = (
    "occasions",
    "days_since_last",
    "days_since_first",
    "interval_days",
    "due_ratio",
    "due_timing",
    "bought_before",
)
ITEM = (
    "item_buyers",
    "item_buyers_7d",
    "item_buyers_28d",
    "item_trend",
    "item_repeat_rate",
    "item_price",
    "item_days_since_sold",
)
# The segment enters through `segment_trend` (its score and rank): a k-means label itself means
# nothing across the two snapshots (each is clustered afresh), so it is no feature.
CUSTOMER = ("customer_items", "customer_occasions", "customer_days_since_last", "customer_visit_gap")
FEATURES = (
    *PAIR,
    *ITEM,
    *CUSTOMER,
    *(f"{g}_score" for g in GENERATORS),
    *(f"{g}_rank" for g in GENERATORS),
)


@dataclass(frozen=True)
class CandidateTable:
    """Candidates of a batch of customers: `local` indexes the batch's rows, `items` the items."""

    local: np.ndarray
    items: np.ndarray
    features: np.ndarray  # (candidates x len(FEATURES)) float32

    def column(self, name: str) -> np.ndarray:
        return self.features[:, FEATURES.index(name)]


def item_features(snap: Snapshot) -> np.ndarray:
    """(items x len(ITEM)): buyers all-time and recently, trend, repeat rate, price, staleness."""
    stats, log, today = snap.stats, snap.log, snap.today
    n_items = snap.shape[1]

    def buyers_since(days: float) -> np.ndarray:
        keep = log.days >= today - days
        pairs = np.unique(log.customer_rows[keep].astype(np.int64) * n_items + log.item_rows[keep])
        return np.bincount(pairs % n_items, minlength=n_items).astype(np.float32)

    occ = stats.occasions.tocsc()
    buyers = np.diff(occ.indptr).astype(np.float32)
    coo = stats.occasions.tocoo()
    repeat = np.bincount(coo.col[coo.data >= 2], minlength=n_items).astype(np.float32)
    recent_28 = buyers_since(28.0)
    previous_28 = buyers_since(56.0) - recent_28
    last_sold = np.full(n_items, np.nan, dtype=np.float64)
    if len(log.days):
        order = np.argsort(log.days, kind="stable")
        last_sold[log.item_rows[order]] = log.days[order]
    price = log.item_price if len(log.item_price) == n_items else np.full(n_items, np.nan, dtype=np.float32)
    return np.column_stack(
        [
            buyers,
            buyers_since(7.0),
            recent_28,
            (recent_28 + 1.0) / (previous_28 + 1.0),
            np.divide(repeat, buyers, out=np.zeros_like(buyers), where=buyers > 0),
            price,
            today - last_sold,
        ]
    ).astype(np.float32)


def customer_features(snap: Snapshot) -> np.ndarray:
    """(customers x len(CUSTOMER)): breadth, occasions, recency, mean gap between visit days."""
    stats, log, today = snap.stats, snap.log, snap.today
    n = snap.shape[0]
    items = np.diff(stats.occasions.indptr).astype(np.float32)
    occasions = np.asarray(stats.occasions.sum(axis=1)).ravel().astype(np.float32)
    day = 1_000_000  # day numbers stay far below it
    visits = np.unique(log.customer_rows.astype(np.int64) * day + np.floor(log.days).astype(np.int64))
    n_visits = np.bincount(visits // day, minlength=n).astype(np.float64)
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, log.customer_rows, log.days)
    np.maximum.at(last, log.customer_rows, log.days)
    known = np.isfinite(last)
    gap = np.where(n_visits > 1, (last - first) / np.maximum(n_visits - 1, 1), np.nan)
    since = np.where(known, today - last, np.nan)
    return np.column_stack([items, occasions, since, gap]).astype(np.float32)


def candidate_table(
    gens: Generators,
    rows: np.ndarray,
    per_generator: int,
    items_table: np.ndarray,
    customers_table: np.ndarray,
    exclude_owned: bool = False,
) -> CandidateTable:
    """The union of every generator's top `per_generator` for `rows`, with their features
    (`exclude_owned`: only items the customer never bought, the discovery question)."""
    snap = gens.snap
    scores = gens.scores(rows)
    owned = snap.stats.occasions[rows]
    occasions = owned.toarray()
    if exclude_owned:
        for name in scores:
            scores[name][occasions > 0] = -np.inf
    ranks = {name: top_ranks(s, per_generator) for name, s in scores.items()}
    member = np.zeros(occasions.shape, dtype=bool)
    for r in ranks.values():
        member |= r < per_generator
    local, items = np.nonzero(member)
    first = snap.stats.first_day[rows].toarray()[local, items]
    last = snap.stats.last_day[rows].toarray()[local, items]
    n = occasions[local, items]
    bought = n > 0
    interval = np.where(n >= 2, (last - first) / np.maximum(n - 1, 1), np.nan)
    since = np.where(bought, snap.today - last, np.nan)
    ratio = np.where(interval > 0, since / np.where(interval > 0, interval, 1.0), np.nan)
    pair = [
        n,
        since,
        np.where(bought, snap.today - first, np.nan),
        interval,
        ratio,
        np.where(np.isfinite(ratio), due_timing(np.nan_to_num(ratio, nan=1.0)), np.nan),
        bought.astype(np.float32),
    ]
    generator_scores = [
        _finite(scores[g][local, items]) if g in scores else np.full(len(local), np.nan) for g in GENERATORS
    ]
    generator_ranks = [
        ranks[g][local, items].astype(np.float32) if g in ranks else np.full(len(local), np.nan) for g in GENERATORS
    ]
    features = np.column_stack(
        [
            *pair,
            items_table[items],
            customers_table[rows[local]],
            *generator_scores,
            *generator_ranks,
        ]
    ).astype(np.float32)
    return CandidateTable(local.astype(np.int64), items.astype(np.int64), features)


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)
