"""The preview's complaints page: the newest complaints and returns, and the same grouped per
item and per segment, read from the live state's durable log (so it is current to the last
event), with each item's all-time counts beside them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from models.contract.events import LoggedEvent
from models.contract.store_documents import SEGMENTS
from service.core.recommend import active_version
from service.http.deps import LiveDep, StoreDep
from service.live.overlays import LiveContext
from service.preview.auth import require_marketer
from service.preview.routes import TEMPLATES
from service.storage.json_documents import json_document
from service.storage.stores import OfferStore

router = APIRouter(prefix="/preview/complaints", dependencies=[Depends(require_marketer)], include_in_schema=False)
NEWEST = 50
UNMET = "customers the model has not met"


@dataclass(frozen=True)
class Complaint:
    at: datetime
    type: str
    customer_id: str
    item_id: str
    title: str
    segment: str


@dataclass
class Group:
    """One item's or one segment's complaints and returns among the newest."""

    key: str
    name: str
    complaints: int = 0
    returns: int = 0
    newest: datetime | None = None
    all_time: dict[str, int] = field(default_factory=dict)

    def add(self, c: Complaint) -> None:
        if c.type == "complaint":
            self.complaints += 1
        else:
            self.returns += 1
        self.newest = max(self.newest or c.at, c.at)


@dataclass(frozen=True)
class ComplaintsPage:
    newest: list[Complaint]
    by_item: list[Group]
    by_segment: list[Group]
    looked_at: int  # how many of the newest events the groups cover


@router.get("", response_class=HTMLResponse)
async def complaints(
    request: Request, store: StoreDep, live: LiveDep, n: Annotated[int, Query(ge=1, le=1000)] = 500
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "complaints.html", {"view": await complaints_page(store, live, n)})


async def complaints_page(store: OfferStore, live: LiveContext, n: int) -> ComplaintsPage:
    version = await active_version(store)
    catalog = await store.catalog(version)
    names = {
        str(s["id"]): s["name"] for s in ((await json_document(store, version, SEGMENTS)) or {}).get("segments", [])
    }
    logged = [x for x in await live.state.recent_negative(n) if not live.is_forgotten(x.event.customer_id)]
    rows = [_complaint(x, catalog, live) for x in logged]
    totals = await live.state.item_feedback()
    by_item: dict[str, Group] = {}
    by_segment: dict[str, Group] = {}
    for c in rows:
        by_item.setdefault(c.item_id, Group(c.item_id, c.title, all_time=_all_time(totals, c.item_id))).add(c)
        by_segment.setdefault(c.segment, Group(c.segment, names.get(c.segment, "customers the model has not met"))).add(
            c
        )
    return ComplaintsPage(rows[:NEWEST], _worst_first(by_item), _worst_first(by_segment), len(rows))


def _complaint(x: LoggedEvent, catalog: Mapping[str, Any], live: LiveContext) -> Complaint:
    e = x.event
    entry = catalog.get(e.item_id)
    at = datetime.fromtimestamp(e.ts_ms / 1000, UTC)
    return Complaint(
        at, e.type, e.customer_id, e.item_id, entry.title if entry else e.item_id, live.segment_of(e.customer_id)
    )


def _all_time(totals: Mapping[str, Mapping[str, int]], item_id: str) -> dict[str, int]:
    return {kind: totals.get(kind, {}).get(item_id, 0) for kind in ("complaint", "return")}


def _worst_first(groups: Mapping[str, Group]) -> list[Group]:
    return sorted(
        groups.values(),
        key=lambda g: (-(g.complaints + g.returns), -(g.newest or datetime.min.replace(tzinfo=UTC)).timestamp(), g.key),
    )
