"""Replenishment plans behind the personal store and `/outbound`: a customer's steady reorder
rhythms (`models.rules.replenishment.Plan`) and what they said about them (`subscribe` and
`unsubscribe` events, kept in their live state).

Plans are measured as buy-again timing is, at the end of the training data (the manifest's
`data_end`), and a purchase since training moves the next reorder on. A reminder is due when, at
the time of asking, the plan's next reorder has come, its rhythm still holds, the item may be
offered, and the customer has not unsubscribed from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from models.contract.documents import MANIFEST
from models.contract.store_documents import manifest_end_day, store_doc
from models.rules.replenishment import Plan, due_score, due_timing, replenishment_plan
from models.rules.wording import plan_text, repeat_purchase_reason
from service.core.filters import ItemFilter
from service.core.store_sections import BuyAgain, Ingredients
from service.http.schemas import RecommendedItem, ReplenishmentPlan
from service.live.state import LiveSnapshot
from service.storage.json_documents import json_document
from service.storage.stores import OfferStore

DAY_MS = 86_400_000
EPOCH = date(1970, 1, 1)
OFFERED = "offered"  # a plan the customer has said nothing about
_END_DAYS: dict[str, float | None] = {}  # version -> its data_end day (a version's manifest never changes)


@dataclass(frozen=True)
class CustomerPlan:
    item: BuyAgain
    plan: Plan
    status: str  # offered | subscribed | unsubscribed

    def shown(self) -> ReplenishmentPlan:
        next_on = EPOCH + timedelta(days=math.floor(self.plan.next_day))
        return ReplenishmentPlan(
            every_days=round(self.plan.interval_days, 1),
            next_on=next_on.isoformat(),
            status=self.status,  # type: ignore[arg-type]
            text=plan_text(self.plan.interval_days, next_on),
        )


async def data_end_day(store: OfferStore, version: str) -> float | None:
    """The version's `data_end` as a day number, read once per version and process."""
    if version not in _END_DAYS:
        manifest = await json_document(store, version, MANIFEST)
        end = manifest_end_day(manifest) if manifest and manifest.get("data_end") else None
        if len(_END_DAYS) >= 32:  # versions come and go: keep the few being served
            _END_DAYS.clear()
        _END_DAYS[version] = end
    return _END_DAYS[version]


def customer_plans(buy_again: Sequence[BuyAgain], end_day: float, snapshot: LiveSnapshot) -> list[CustomerPlan]:
    """The plans of a customer's repeat items whose rhythm holds, in buy-again order."""
    out = []
    for b in buy_again:
        live = snapshot.purchases.get(b.item_id)
        since = live[1] / DAY_MS if live else None
        plan = replenishment_plan(b.occasions, b.interval_days, b.days_since, end_day, since)
        if plan is not None:
            out.append(CustomerPlan(b, plan, snapshot.plans.get(b.item_id, OFFERED)))
    return out


def store_plans(ing: Ingredients, end_day: float | None, snapshot: LiveSnapshot) -> dict[str, ReplenishmentPlan]:
    """Item -> the plan the personal store shows on its buy-again entry."""
    if end_day is None:
        return {}
    return {p.item.item_id: p.shown() for p in customer_plans(ing.buy_again, end_day, snapshot)}


async def due_reminder(
    store: OfferStore, version: str, customer_id: str, snapshot: LiveSnapshot, now: datetime
) -> tuple[RecommendedItem, ReplenishmentPlan] | None:
    """The most due plan's reminder at `now` (None when no plan is due): the item as outbound
    sends it, and its plan."""
    doc = await json_document(store, version, store_doc(customer_id))
    end_day = await data_end_day(store, version)
    if doc is None or end_day is None:
        return None
    rules = ItemFilter.of(await store.catalog(version))
    today = now.timestamp() * 1000 / DAY_MS
    due = [
        p
        for p in customer_plans(Ingredients.from_json(doc).buy_again, end_day, snapshot)
        if p.status != "unsubscribed"
        and p.item.item_id not in snapshot.suppressed
        and rules.allows(p.item.item_id)
        and p.plan.due(p.item.occasions, today)
    ]
    if not due:
        return None
    ratio = {p.item.item_id: (today - p.plan.last_day) / p.plan.interval_days for p in due}
    best = max(due, key=lambda p: due_score(ratio[p.item.item_id], p.item.occasions))
    item_id, interval = best.item.item_id, best.plan.interval_days
    reason = repeat_purchase_reason(best.item.occasions, interval, today - best.plan.last_day)
    item = RecommendedItem(
        item_id=item_id,
        title=rules.title(item_id),
        price=rules.price(item_id),
        score=round(float(due_timing(np.asarray(ratio[item_id]))), 6),  # 1 when due today, less before and after
        reason=f"replenishment due: {reason}",
    )
    return item, best.shown()
