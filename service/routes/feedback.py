from __future__ import annotations

from fastapi import APIRouter, Response

from service import feedback
from service.deps import LiveDep, MetricsDep
from service.schemas import FeedbackSummary

router = APIRouter(tags=["feedback"])


@router.get("/feedback/summary", response_model=FeedbackSummary)
async def feedback_summary(live: LiveDep) -> FeedbackSummary:
    """Impressions, clicks, purchases, dismissals, returns and complaints, with click-through and
    conversion, by source, section and segment; the items most complained about."""
    return await feedback.summarize(live.state)


@router.get("/metrics", tags=["operations"], response_class=Response)
async def prometheus_metrics(metrics: MetricsDep) -> Response:
    """Prometheus exposition of this process's counters."""
    return Response(metrics.exposition(), media_type=metrics.content_type)
