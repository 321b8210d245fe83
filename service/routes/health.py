from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.http.deps import StoresDep
from service.http.schemas import Health, Readiness
from service.storage.stores import OfferStore, StoreUnavailableError

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(stores: StoresDep) -> JSONResponse:
    """Ready = a model version can be served. Redis down with an in-process fallback is still
    ready, but reported `degraded`; down without one is not ready (503)."""
    store = stores.primary
    version = await _version(store)
    reachable = version is not None or await store.ping()
    degraded = version is None and stores.fallback is not None
    if degraded:
        version = await _version(stores.fallback)  # type: ignore[arg-type]
    body = Readiness(
        ready=version is not None,
        store=store.kind,
        store_reachable=reachable,
        model_version=version,
        degraded=degraded,
    )
    return JSONResponse(status_code=200 if body.ready else 503, content=body.model_dump())


async def _version(store: OfferStore) -> str | None:
    try:
        return await store.active_version()
    except StoreUnavailableError:
        return None
