"""Typed dependencies: routes declare what they need (`store: StoreDep`), the lifespan provides it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import StringConstraints

from service.settings import Settings
from service.store import OfferStore

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"


def get_store(request: Request) -> OfferStore:
    return request.app.state.store  # type: ignore[no-any-return]


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


StoreDep = Annotated[OfferStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
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
    list[ItemIdText] | None,
    Query(
        max_length=MAX_EXCLUDE,
        description=f"item ids not to show (cart, already on the page); repeatable, at most {MAX_EXCLUDE}",
    ),
]
Category = Annotated[
    str | None, Query(min_length=1, max_length=64, description="only items of this catalog category (any case)")
]
