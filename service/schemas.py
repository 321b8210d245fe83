"""Response shapes of the public API (the OpenAPI schema frontends code against)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.deps import CUSTOMER_ID_PATTERN, ITEM_ID_PATTERN, MAX_EXCLUDE


class RecommendedItem(BaseModel):
    item_id: str
    title: str
    price: float | None = None
    score: float
    reason: str = Field("", description='why this item: "bought by customers like you", "a best-seller", ...')


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


MAX_BATCH = 500


class BatchRecommendRequest(BaseModel):
    """Many customers at once (e-mail and CRM jobs), all answered from one model version."""

    model_config = ConfigDict(extra="forbid")

    customer_ids: list[Annotated[str, Field(pattern=CUSTOMER_ID_PATTERN)]] = Field(min_length=1, max_length=MAX_BATCH)
    k: int = Field(10, ge=1, le=100)
    include_purchased: bool = False
    exclude: list[Annotated[str, Field(pattern=ITEM_ID_PATTERN)]] = Field(default_factory=list, max_length=MAX_EXCLUDE)
    category: str | None = Field(None, min_length=1, max_length=64)


class BatchRecommendation(BaseModel):
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    results: list[Recommendation]


class StoreItem(BaseModel):
    item_id: str
    title: str
    price: float | None
    score: float
    reason: str


class StoreSection(BaseModel):
    id: str
    title: str
    reason: str
    items: list[StoreItem]


class Loyalty(BaseModel):
    tier: Literal["new", "regular", "loyal", "vip", "at_risk"]
    why: str


class PersonalStore(BaseModel):
    customer_id: str
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    source: Literal["personal", "popular"]
    loyalty: Loyalty
    sections: list[StoreSection]


class SimilarItems(BaseModel):
    item_id: str
    title: str
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    items: list[StoreItem]


class SegmentSummary(BaseModel):
    id: int
    name: str
    size: int
    description: str


class SegmentList(BaseModel):
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    segments: list[SegmentSummary]


class SegmentDetail(SegmentSummary):
    model_version: str
    degraded: bool = False
    countries: list[dict[str, Any]]
    loyalty: list[dict[str, Any]]
    stats: dict[str, float]
    top_products: list[dict[str, Any]]
    distinctive_products: list[dict[str, Any]]
    top_categories: list[dict[str, Any]]
    sample_customers: list[str]


class SegmentOffer(BaseModel):
    item_id: str
    title: str
    price: float | None
    lift: float = Field(description="share of the segment that bought it / share of all customers")
    score: float = Field(description="lift shrunk toward 1 for items few customers bought (the ranking)")
    segment_share: float
    overall_share: float
    reason: str


class SegmentOffers(BaseModel):
    segment_id: int
    name: str
    model_version: str
    degraded: bool = False  # answered from the in-process fallback while Redis is down
    offers: list[SegmentOffer]
