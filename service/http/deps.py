"""Typed dependencies: routes declare what they need (`store: StoreDep`), the lifespan provides it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import StringConstraints

from service.core.business_rules import RuleBook
from service.core.deny_list import DenyList
from service.live.overlays import LiveContext
from service.observability.metrics import Metrics
from service.reload import Reloader
from service.serving import Serving
from service.settings import Settings
from service.storage.fallback import Stores
from service.storage.stores import OfferStore

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"


async def get_serving(request: Request) -> Serving:
    """What this request reads (stores, live context, model), taken once per request: FastAPI
    caches a dependency per request, so every dependency below sees the same generation even
    if a reload swaps `app.state.serving` meanwhile."""
    return request.app.state.serving  # type: ignore[no-any-return]


ServingDep = Annotated[Serving, Depends(get_serving)]


async def get_store(serving: ServingDep) -> OfferStore:
    return serving.stores.primary


async def get_stores(serving: ServingDep) -> Stores:
    return serving.stores


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_live(serving: ServingDep) -> LiveContext:
    return serving.live


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


async def get_deny_list(request: Request) -> DenyList:
    return request.app.state.deny_list  # type: ignore[no-any-return]


async def get_reloader(request: Request) -> Reloader:
    return request.app.state.reloader  # type: ignore[no-any-return]


async def get_rule_book(request: Request) -> RuleBook:
    return request.app.state.rule_book  # type: ignore[no-any-return]


StoreDep = Annotated[OfferStore, Depends(get_store)]
StoresDep = Annotated[Stores, Depends(get_stores)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
LiveDep = Annotated[LiveContext, Depends(get_live)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
DenyListDep = Annotated[DenyList, Depends(get_deny_list)]
ReloaderDep = Annotated[Reloader, Depends(get_reloader)]
RuleBookDep = Annotated[RuleBook, Depends(get_rule_book)]
CustomerId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=CUSTOMER_ID_PATTERN,
        description="the shop's customer id: 1-64 letters, digits and _ . : @ -",
        examples=["13085"],
    ),
]


ITEM_ID_PATTERN = CUSTOMER_ID_PATTERN
MAX_EXCLUDE = 100
ItemId = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=ITEM_ID_PATTERN, description="the shop's item id", examples=["85123A"]),
]
ItemIdText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ITEM_ID_PATTERN)]
Exclude = Annotated[
    list[ItemIdText],
    Query(
        default_factory=list,
        max_length=MAX_EXCLUDE,
        description=f"item ids not to show (cart, already on the page); repeatable, at most {MAX_EXCLUDE}",
    ),
]
Category = Annotated[
    str | None, Query(min_length=1, max_length=64, description="only items of this catalog category (any case)")
]


@dataclass(frozen=True)
class ItemFilters:
    """What a frontend asks not to see: `exclude` ids and an optional `category`."""

    exclude: tuple[str, ...] = ()
    category: str | None = None


def get_item_filters(request: Request, exclude: Exclude, category: Category = None) -> ItemFilters:
    """A single-valued parameter sent twice is refused rather than silently taking the last."""
    if len(request.query_params.getlist("category")) > 1:
        raise RequestValidationError(
            [{"loc": ("query", "category"), "msg": "give category at most once", "type": "value_error"}]
        )
    return ItemFilters(tuple(exclude), category)


ItemFiltersDep = Annotated[ItemFilters, Depends(get_item_filters)]
