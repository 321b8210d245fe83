"""The application factory: resources open once in the lifespan and are shared as app state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from models.artifact import Artifact, ArtifactNotFoundError, load_artifact
from service.errors import install_error_handlers
from service.middleware import RequestContextMiddleware
from service.resilience import Stores
from service.routes import health, items, preview, recommend, segments, store
from service.settings import Settings, get_settings
from service.store import EmbeddedStore, RedisStore

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def open_stores(settings: Settings, artifact: Artifact | None) -> Stores:
    """Redis when configured, with the artifact in process memory as its fallback; otherwise
    the embedded store alone."""
    if not settings.redis_url:
        return Stores(EmbeddedStore(artifact or load_artifact(settings.artifacts)))
    primary = RedisStore(settings.redis_url, settings.redis_timeout_s, settings.redis_pool_size)
    if artifact is None:
        log.warning("no artifact at %s: no in-process fallback while Redis is down", settings.artifacts)
    return Stores(primary, EmbeddedStore(artifact) if artifact is not None else None)


def load_model(settings: Settings) -> Artifact | None:
    """The artifact held in process memory: the embedded store needs it; with Redis it is the
    fallback and the source of the preview's purchase histories and CSVs (optional)."""
    try:
        return load_artifact(settings.artifacts)
    except ArtifactNotFoundError:
        if not settings.redis_url:
            raise
        return None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.artifact = load_model(settings)
        app.state.stores = open_stores(settings, app.state.artifact)
        app.state.store = app.state.stores.primary
        log.info("serving from the %s store", app.state.store.kind)
        try:
            yield
        finally:
            await app.state.stores.close()

    app = FastAPI(
        title="Micro-offers",
        version="0.1.0",
        description="Personalized micro-offers for every customer and small segment.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(
        RequestContextMiddleware, access_log=settings.access_log, log_customer_ids=settings.log_customer_ids
    )
    app.include_router(recommend.router)
    app.include_router(store.router)
    app.include_router(items.router)
    app.include_router(segments.router)
    app.include_router(health.router)
    app.include_router(preview.router)
    app.mount("/preview/static", StaticFiles(directory=STATIC), name="preview-static")
    return app
