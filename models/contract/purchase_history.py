"""A customer's purchase history as a person reads it: what they bought, how often, first and
last time. Read from the artifact's replenishment stats (one entry per customer x item), so the
marketers' preview can put it next to the store the customer is shown.

Intervals and days since are measured, and rounded, as in the published store document (at the
end of the training data, to a tenth of a day), so a rhythm next to the store reads as the
store's buy-again reason does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from models.contract.artifact import Artifact
from models.contract.store_documents import data_end_day
from models.rules.replenishment import rhythm_holds
from models.rules.wording import every

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Purchase:
    item_id: str
    occasions: int  # distinct orders that contained the item
    first: date
    last: date
    interval_days: float | None  # mean days between orders of the item, None when bought once
    days_since: float  # since the latest order, at the end of the training data

    @property
    def rhythm(self) -> str | None:
        """ "every ~3 weeks" where a rhythm may be claimed (`models.rules.replenishment.rhythm_holds`)."""
        if self.interval_days is None or not rhythm_holds(self.occasions, self.interval_days, self.days_since):
            return None
        return every(self.interval_days)


def purchase_history(artifact: Artifact, customer_id: str) -> list[Purchase] | None:
    """Everything the customer bought, most recent first (more orders first on the same day);
    None for a customer the artifact does not know."""
    row = artifact.customers.row(customer_id)
    if row is None:
        return None
    stats = artifact.replenishment
    end_day = data_end_day(artifact)
    lo, hi = stats.occasions.indptr[row], stats.occasions.indptr[row + 1]
    items = stats.occasions.indices[lo:hi]
    occasions, first, last = stats.occasions.data[lo:hi], stats.first_day.data[lo:hi], stats.last_day.data[lo:hi]
    order = np.lexsort((-occasions, -last))
    return [
        Purchase(
            str(artifact.items.ids[items[i]]),
            int(occasions[i]),
            _day(first[i]),
            _day(last[i]),
            _interval(int(occasions[i]), first[i], last[i]),
            round(float(end_day - last[i]), 1),
        )
        for i in order
    ]


def _interval(occasions: int, first: np.float32, last: np.float32) -> float | None:
    """As `models.rules.replenishment.due_items` and the store document compute it (float32, 0.1 day)."""
    return round(float((last - first) / (occasions - 1)), 1) if occasions > 1 else None


def _day(day_number: float) -> date:
    return EPOCH + timedelta(days=int(np.floor(day_number)))
