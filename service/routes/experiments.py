"""Admin endpoints of online experiments (bearer key): start, list, read the results, stop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.exceptions import RequestValidationError

from models.contract.experiments import HOLDOUT, Experiment, Variant
from service.core import experiment_results, experiments
from service.core.experiments import ExperimentError
from service.http.auth import WriteAccessDep
from service.http.deps import LiveDep, StoreDep
from service.http.experiment_schemas import ExperimentIn, ExperimentList, ExperimentResults, ExperimentSummary
from service.http.schemas import ErrorBody
from service.live.overlays import LiveContext
from service.storage.experiments import ExperimentStore

router = APIRouter(prefix="/experiments", tags=["experiments"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 422, 429, 503)
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExperimentSummary,
    responses=ERRORS,
    dependencies=[WriteAccessDep],
)
async def start_experiment(body: ExperimentIn, live: LiveDep, store: StoreDep) -> ExperimentSummary:
    """Start splitting customers between the variants (the first is the control), with an extra
    popular-only hold-out of `holdout` of them. 409 while another experiment runs."""
    variants = tuple(Variant(v.name, v.version, v.policy, v.weight) for v in body.variants)
    if body.holdout > 0:
        rest = sum(v.weight for v in variants)
        variants += (Variant(HOLDOUT, None, "popular", rest * body.holdout / (1 - body.holdout)),)
    try:
        started = await experiments.start(
            live.experiments, store, body.id, variants, live.now_ms(), body.alpha, body.mixture_sd, body.description
        )
    except ExperimentError as exc:
        raise _http(exc) from exc
    return experiment_results.summary(started)


@router.get("", response_model=ExperimentList, responses=ERRORS, dependencies=[WriteAccessDep])
async def list_experiments(live: LiveDep) -> ExperimentList:
    return ExperimentList(experiments=[experiment_results.summary(e) for e in await _store(live).definitions()])


@router.get("/{experiment_id}", response_model=ExperimentResults, responses=ERRORS, dependencies=[WriteAccessDep])
async def experiment(experiment_id: str, live: LiveDep) -> ExperimentResults:
    """Per variant impressions, click-through, conversion, revenue and returns; differences with
    95% intervals; the always-valid sequential test (look as often as you like); the
    sample-ratio check; and the test's course by day."""
    found = await _get(live, experiment_id)
    tallies = await _store(live).tallies(found)
    return experiment_results.results(found, tallies, experiments.utc_day())


@router.post("/{experiment_id}/stop", response_model=ExperimentSummary, responses=ERRORS, dependencies=[WriteAccessDep])
async def stop_experiment(experiment_id: str, live: LiveDep) -> ExperimentSummary:
    """Every customer gets the served version again; the results stay readable."""
    found = await _get(live, experiment_id)
    if not found.running:
        raise HTTPException(status.HTTP_409_CONFLICT, f"experiment {experiment_id} has already stopped")
    return experiment_results.summary(await _store(live).stop(found, live.now_ms()))


def _store(live: LiveContext) -> ExperimentStore:
    if live.experiments is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "experiments are off in this service")
    return live.experiments


async def _get(live: LiveContext, experiment_id: str) -> Experiment:
    found = await _store(live).get(experiment_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}: GET /experiments lists them")
    return found


def _http(exc: ExperimentError) -> Exception:
    if exc.field is None:
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    return RequestValidationError([{"loc": ("body", exc.field), "msg": str(exc), "type": "value_error"}])
