from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.deps import StoreDep
from service.schemas import Health, Readiness
from service.store import StoreUnavailableError

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(store: StoreDep) -> JSONResponse:
    """A model is loaded and the store answers: safe to route traffic here."""
    reachable = await store.ping()
    version = None
    if reachable:
        try:
            version = await store.active_version()
        except StoreUnavailableError:
            reachable = False
    body = Readiness(
        ready=reachable and version is not None,
        store=store.kind,
        store_reachable=reachable,
        model_version=version,
        degraded=not reachable,
    )
    return JSONResponse(status_code=200 if body.ready else 503, content=body.model_dump())
