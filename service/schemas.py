"""Response shapes of the public API (the OpenAPI schema frontends code against)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class RecommendedItem(BaseModel):
    item_id: str
    title: str
    score: float


class Recommendation(BaseModel):
    customer_id: str
    model_version: str
    source: Literal["personal", "popular"]
    degraded: bool = False
    items: list[RecommendedItem]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    store: str
    store_reachable: bool
    model_version: str | None
    degraded: bool


class ErrorBody(BaseModel):
    error: str
    message: str
