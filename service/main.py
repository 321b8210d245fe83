"""The application factory: resources open once in the lifespan and are shared as app state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from models.artifact import load_artifact
from service.errors import install_error_handlers
from service.routes import health, items, recommend, segments, store
from service.settings import Settings, get_settings
from service.store import EmbeddedStore, OfferStore, RedisStore

log = logging.getLogger(__name__)


def open_store(settings: Settings) -> OfferStore:
    if settings.redis_url:
        return RedisStore(settings.redis_url, settings.redis_timeout_s, settings.redis_pool_size)
    return EmbeddedStore(load_artifact(settings.artifacts))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.store = open_store(settings)
        log.info("serving from the %s store", app.state.store.kind)
        try:
            yield
        finally:
            await app.state.store.close()

    app = FastAPI(
        title="Micro-offers",
        version="0.1.0",
        description="Personalized micro-offers for every customer and small segment.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(recommend.router)
    app.include_router(store.router)
    app.include_router(items.router)
    app.include_router(segments.router)
    app.include_router(health.router)
    return app
