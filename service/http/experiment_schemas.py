"""Request and response shapes of `/experiments` (admin endpoints, bearer key)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.contract.experiments import NAME_PATTERN


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, examples=["B"])
    version: str | None = Field(
        None, min_length=1, max_length=128, description="a published model version; default: the one being served"
    )
    policy: Literal["personal", "popular"] = Field("personal", description="popular = a hold-out: best-sellers only")
    weight: float = Field(1.0, gt=0, le=1000, description="share of customers, relative to the other variants")


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=NAME_PATTERN, examples=["als-vs-ease"])
    variants: list[VariantIn] = Field(min_length=2, max_length=10, description="the first is the control")
    holdout: float = Field(0.0, ge=0, lt=1, description="share of customers in an extra popular-only variant")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="false-positive rate of the sequential test")
    mixture_sd: float = Field(0.01, gt=0, le=1, description="mSPRT prior spread of the conversion difference")
    description: str = Field("", max_length=500)


class VariantOut(BaseModel):
    name: str
    version: str | None
    policy: str
    weight: float
    share: float


class ExperimentSummary(BaseModel):
    id: str
    status: Literal["running", "stopped"]
    started: str
    stopped: str | None
    variants: list[VariantOut]
    alpha: float
    mixture_sd: float
    description: str


class ExperimentList(BaseModel):
    experiments: list[ExperimentSummary]


class VariantResult(BaseModel):
    name: str
    customers: int = Field(description="customers exposed (served an answer by this variant, or attributed an event)")
    impressions: int
    clicks: int
    click_through: float | None
    purchases: int
    converted_customers: int
    conversion: float | None = Field(description="converted customers / customers")
    revenue: float
    revenue_per_customer: float | None
    returns: int
    return_rate: float | None = Field(description="returns / purchases")


class Difference(BaseModel):
    estimate: float
    low: float = Field(description="95% interval for one look at a fixed sample size")
    high: float
    relative: float | None = Field(description="estimate / the control's value")


class Sequential(BaseModel):
    """The always-valid mSPRT on conversion: valid however often it is looked at."""

    p_value: float
    low: float
    high: float
    reject: bool
    decision: str


class Comparison(BaseModel):
    variant: str
    against: str
    conversion: Difference | None
    revenue_per_customer: Difference | None
    click_through: Difference | None
    sequential: Sequential | None


class SampleRatioOut(BaseModel):
    observed: dict[str, int]
    expected_shares: dict[str, float]
    p_value: float
    mismatch: bool


class TimelinePoint(BaseModel):
    day: str
    variant: str
    difference: float
    low: float
    high: float
    p_value: float


class ExperimentResults(BaseModel):
    experiment: ExperimentSummary
    variants: list[VariantResult]
    comparisons: list[Comparison]
    sample_ratio: SampleRatioOut
    timeline: list[TimelinePoint] = Field(description="the conversion difference and its always-valid interval by day")
