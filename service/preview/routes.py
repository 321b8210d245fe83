"""`/preview`: server-rendered pages for marketers (segments, their offers, customer lookup, CSV
downloads), for a signed-in marketer (see `service.preview.auth`). Pages only; they are not part
of the JSON API's schema."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.templating import Jinja2Templates

from models.contract.artifact import Artifact
from service.core import experiment_results, experiments
from service.core.filters import today
from service.http.deps import CUSTOMER_ID_PATTERN, DenyListDep, LiveDep, ServingDep, StoresDep
from service.http.downloads import csv_download
from service.http.errors import NotFoundError
from service.preview import views as preview
from service.preview.auth import require_marketer
from service.preview.csrf import csrf_token
from service.preview.experiment_figures import lift_plot
from service.preview.figures import SegmentFeedback, feedback_by_segment
from service.preview.formatting import install_filters
from service.preview.moments import parse_moment

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
install_filters(TEMPLATES.env)
TEMPLATES.env.globals["form_token"] = lambda request: csrf_token(request.app.state.settings, request.state.preview_user)

router = APIRouter(prefix="/preview", dependencies=[Depends(require_marketer)], include_in_schema=False)

SegmentId = Annotated[int, PathParam(ge=0, le=100_000)]
OffersK = Annotated[int, Query(ge=1, le=40, description="offers per segment or customer")]


def get_artifact(serving: ServingDep) -> Artifact | None:
    """The artifact this process loaded (the embedded store, or Redis' fallback); None if none.
    Taken from the request's one serving generation, like everything else the page reads."""
    return serving.artifact


async def get_feedback(live: LiveDep) -> Mapping[int, SegmentFeedback] | None:
    return await feedback_by_segment(live.state)


ArtifactDep = Annotated[Artifact | None, Depends(get_artifact)]
FeedbackDep = Annotated[Mapping[int, SegmentFeedback] | None, Depends(get_feedback)]


@router.get("", response_class=HTMLResponse)
async def overview(
    request: Request,
    stores: StoresDep,
    artifact: ArtifactDep,
    sort: Annotated[preview.SegmentSort, Query()] = "size",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> HTMLResponse:
    page = await stores.answer(lambda store: preview.overview(store, artifact, sort, order == "desc"))
    return TEMPLATES.TemplateResponse(request, "overview.html", {"page": page})


@router.get("/segments/{segment_id}", response_class=HTMLResponse)
async def segment(
    request: Request,
    segment_id: SegmentId,
    stores: StoresDep,
    artifact: ArtifactDep,
    feedback: FeedbackDep,
    live: LiveDep,
) -> HTMLResponse:
    rules = live.rule_set()
    try:
        page = await stores.answer(lambda store: preview.segment_page(store, artifact, segment_id, feedback, rules))
    except NotFoundError as exc:
        return _not_found(request, f"Segment {segment_id} not found", str(exc))
    return TEMPLATES.TemplateResponse(request, "segment.html", {"page": page})


@router.get("/customers", response_class=HTMLResponse)
async def customer(
    request: Request,
    stores: StoresDep,
    artifact: ArtifactDep,
    live: LiveDep,
    customer_id: Annotated[str, Query(max_length=200)] = "",
    at: Annotated[str, Query(max_length=40, description="the store as of this day or time (UTC)")] = "",
) -> HTMLResponse:
    """The lookup form's target: a bad id (or `at`) re-renders the form with the problem named."""
    customer_id = customer_id.strip()
    moment, problem = _moment(at)
    if not re.fullmatch(CUSTOMER_ID_PATTERN, customer_id):
        problem = (
            "Type a customer id."
            if not customer_id
            else (f"“{customer_id}” is not a customer id: 1–64 letters, digits and _ . : @ -")
        )
    if problem:
        context = {"customer_id": customer_id, "problem": problem}
        return TEMPLATES.TemplateResponse(request, "lookup.html", context, status_code=422)
    page = await stores.answer(lambda store: preview.customer_page(store, artifact, customer_id, live, moment))
    return TEMPLATES.TemplateResponse(request, "customer.html", {"page": page})


@router.get("/segments/{segment_id}/offers.csv")
async def segment_offers_csv(
    segment_id: SegmentId, artifact: ArtifactDep, live: LiveDep, k: OffersK = 10
) -> StreamingResponse:
    """The segment's offer as CSV, the rows of `microoffers export --segment` (business rules as now)."""
    return csv_download(*preview.offers_csv(artifact, segment_id, k, today(), rules=live.rule_set(), at=live.clock()))


@router.get("/offers.csv")
async def all_offers_csv(artifact: ArtifactDep, live: LiveDep, deny: DenyListDep, k: OffersK = 10) -> StreamingResponse:
    """Every customer's offer as CSV, the rows of `microoffers export --all`: forgotten customers
    left out (and those forgotten while this model was served, restored since: the model keeps
    nothing of them), and what each customer's live state rules out (as on the API)."""
    hidden = await live.state.hidden_items(live.now_ms())
    erased = live.personalizer.forgotten if live.personalizer is not None else set()
    forgotten = frozenset(deny.ids | erased)
    return csv_download(
        *preview.offers_csv(artifact, None, k, today(), forgotten, hidden, live.rule_set(), live.clock())
    )


def _moment(at: str) -> tuple[datetime | None, str | None]:
    """`at` as a moment (None: now), or the problem with it."""
    if not at.strip():
        return None, None
    try:
        return parse_moment(at), None
    except ValueError:
        return None, f"“{at}” is not a day or time: give one like 2026-12-10 or 2026-12-10T09:00"


def _not_found(request: Request, title: str, message: str) -> HTMLResponse:
    context = {"title": title, "message": message}
    return TEMPLATES.TemplateResponse(request, "not_found.html", context, status_code=404)


@router.get("/experiments", response_class=HTMLResponse)
async def experiments_page(request: Request, live: LiveDep) -> HTMLResponse:
    found = await live.experiments.definitions() if live.experiments is not None else []
    context = {"experiments": [experiment_results.summary(e) for e in reversed(found)]}
    return TEMPLATES.TemplateResponse(request, "experiments.html", context)


@router.get("/experiments/{experiment_id}", response_class=HTMLResponse)
async def experiment_page(
    request: Request, experiment_id: Annotated[str, PathParam(max_length=64)], live: LiveDep
) -> HTMLResponse:
    """The results of `GET /experiments/{id}` for people: which wins and how sure, with the plot."""
    found = await live.experiments.get(experiment_id) if live.experiments is not None else None
    if found is None or live.experiments is None:
        return _not_found(request, f"Experiment {experiment_id} not found", "The experiments page lists them.")
    results = experiment_results.results(found, await live.experiments.tallies(found), experiments.utc_day())
    context = {"results": results, "plot": lift_plot(results.timeline)}
    return TEMPLATES.TemplateResponse(request, "experiment.html", context)
