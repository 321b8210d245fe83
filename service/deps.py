"""Typed dependencies: routes declare what they need (`store: StoreDep`), the lifespan provides it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import StringConstraints

from service.live.overlays import LiveContext
from service.metrics import Metrics
from service.resilience import Stores
from service.settings import Settings
from service.store import OfferStore

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"


async def get_store(request: Request) -> OfferStore:
    return request.app.state.store  # type: ignore[no-any-return]


async def get_stores(request: Request) -> Stores:
    return request.app.state.stores  # type: ignore[no-any-return]


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_live(request: Request) -> LiveContext:
    return request.app.state.live  # type: ignore[no-any-return]


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


StoreDep = Annotated[OfferStore, Depends(get_store)]
StoresDep = Annotated[Stores, Depends(get_stores)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
LiveDep = Annotated[LiveContext, Depends(get_live)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
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
