"""A customer's purchase history as a person reads it: what they bought, how often, first and
last time. Read from the artifact's replenishment stats (one entry per customer x item), so the
marketers' preview can put it next to the store the customer is shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from models.artifact import Artifact

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Purchase:
    item_id: str
    occasions: int  # distinct orders that contained the item
    first: date
    last: date

    @property
    def interval_days(self) -> float | None:
        """Mean days between orders of the item, None when bought once."""
        return (self.last - self.first).days / (self.occasions - 1) if self.occasions > 1 else None


def purchase_history(artifact: Artifact, customer_id: str) -> list[Purchase] | None:
    """Everything the customer bought, most recent first (more orders first on the same day);
    None for a customer the artifact does not know."""
    row = artifact.customers.row(customer_id)
    if row is None:
        return None
    stats = artifact.replenishment
    lo, hi = stats.occasions.indptr[row], stats.occasions.indptr[row + 1]
    items = stats.occasions.indices[lo:hi]
    occasions, first, last = stats.occasions.data[lo:hi], stats.first_day.data[lo:hi], stats.last_day.data[lo:hi]
    order = np.lexsort((-occasions, -last))
    return [
        Purchase(str(artifact.items.ids[items[i]]), int(occasions[i]), _day(first[i]), _day(last[i])) for i in order
    ]


def _day(day_number: float) -> date:
    return EPOCH + timedelta(days=int(np.floor(day_number)))
