"""Customers of the trained slice with replenishment plans, found from the artifact the way the
published `store:` documents record them (interval and days since rounded to a tenth)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from models.contract.artifact import Artifact
from models.contract.store_documents import BUY_AGAIN_MAX, data_end_day
from models.rules.replenishment import MIN_INTERVAL_DAYS, Plan, due_items, replenishment_plan


@dataclass(frozen=True)
class PlanOf:
    customer_id: str
    item_id: str
    country: str
    occasions: int
    plan: Plan

    @property
    def next_on(self) -> date:
        return date(1970, 1, 1) + timedelta(days=math.floor(self.plan.next_day))

    def moment(self, day: float) -> datetime:
        """A day number as a UTC time."""
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)


def plans_of(artifact: Artifact, limit: int = 50) -> list[PlanOf]:
    """Up to `limit` (customer, item) plans, in customer-row order."""
    end = data_end_day(artifact)
    found = []
    for row, customer in enumerate(artifact.customers.ids.tolist()):
        due = [d for d in due_items(artifact.replenishment, row, end) if d.interval_days >= MIN_INTERVAL_DAYS]
        for d in due[:BUY_AGAIN_MAX]:
            plan = replenishment_plan(d.occasions, round(d.interval_days, 1), round(d.days_since, 1), end)
            if plan is not None:
                country = str(artifact.countries[row]) if artifact.countries is not None else ""
                found.append(PlanOf(str(customer), str(artifact.items.ids[d.item_row]), country, d.occasions, plan))
        if len(found) >= limit:
            break
    assert found, "no customer of the slice reorders on a steady rhythm: choose another slice"
    return found
