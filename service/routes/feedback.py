from __future__ import annotations

from fastapi import APIRouter, Response

from service.core import feedback
from service.http.deps import LiveDep, MetricsDep, StoresDep
from service.http.schemas import FeedbackSummary
from service.observability.model_info import refresh_model_metrics

router = APIRouter(tags=["feedback"])


@router.get("/feedback/summary", response_model=FeedbackSummary)
async def feedback_summary(live: LiveDep) -> FeedbackSummary:
    """Impressions, clicks, purchases, dismissals, returns and complaints, with click-through and
    conversion, by source, section and segment; the items most complained about."""
    return await feedback.summarize(live.state)


@router.get("/metrics", tags=["operations"], response_class=Response)
async def prometheus_metrics(metrics: MetricsDep, stores: StoresDep) -> Response:
    """Prometheus exposition of this process: request latency and status per route, cache hits
    and misses, degraded answers, events, rate limiting, reloads, and the served model's version
    and age."""
    await refresh_model_metrics(stores, metrics)
    return Response(metrics.exposition(), media_type=metrics.content_type)
