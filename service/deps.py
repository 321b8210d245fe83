"""Typed dependencies: routes declare what they need (`store: StoreDep`), the lifespan provides it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from service.live.overlays import LiveContext
from service.metrics import Metrics
from service.settings import Settings
from service.store import OfferStore

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"


async def get_store(request: Request) -> OfferStore:
    return request.app.state.store  # type: ignore[no-any-return]


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_live(request: Request) -> LiveContext:
    return request.app.state.live  # type: ignore[no-any-return]


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


StoreDep = Annotated[OfferStore, Depends(get_store)]
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
