"""The application factory: resources open once in the lifespan and are shared as app state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from models.artifact import MANIFEST, Artifact, ArtifactNotFoundError, load_artifact
from service.errors import install_error_handlers
from service.live import EmbeddedLiveState, LivePolicy, LiveState, RedisLiveState
from service.live.overlays import Clock, LiveContext, customer_segment, system_clock
from service.metrics import Metrics
from service.middleware import RequestContextMiddleware
from service.personalize import Personalizer
from service.resilience import Stores
from service.routes import events, feedback, health, items, outbound, preview, recommend, segments, store
from service.settings import Settings, get_settings
from service.store import EmbeddedStore, OfferStore, RedisStore

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
    """The artifact whose factors serve fold-in and similar items. The embedded store needs it;
    with Redis it is optional (no local artifacts: the live overlays that need factors are off)."""
    try:
        return load_artifact(settings.artifacts)
    except ArtifactNotFoundError:
        if not settings.redis_url:
            raise
        log.warning("no artifact at %s: real-time personalization and similar-item push-down are off",
                    settings.artifacts)
        return None


def live_policy(settings: Settings) -> LivePolicy:
    return LivePolicy(
        dismiss_ms=int(settings.dismiss_suppress_s * 1000),
        cap_impressions=settings.cap_impressions,
        cap_window_ms=int(settings.cap_window_s * 1000),
        ttl_s=settings.live_ttl_s,
    )


def events_log_path(settings: Settings) -> Path:
    """Default: `events/events.jsonl` beside the versions, so it outlives every version."""
    if settings.events_log is not None:
        return settings.events_log
    root = settings.artifacts.parent if (settings.artifacts / MANIFEST).is_file() else settings.artifacts
    return root / "events" / "events.jsonl"


def open_live(settings: Settings, store: OfferStore, artifact: Artifact | None, clock: Clock) -> LiveContext:
    personalizer = Personalizer(artifact) if artifact is not None else None
    policy = live_policy(settings)
    state: LiveState
    if isinstance(store, RedisStore):
        state = RedisLiveState(store.client, policy, guard=store._call)  # one Redis, one error policy
    else:
        state = EmbeddedLiveState(policy, events_log_path(settings), partial(customer_segment, personalizer))
    return LiveContext(state, personalizer, policy, settings.similar_pushdown, clock)


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    """`clock` is injectable so tests can fix time (quiet hours, capping windows, expiry)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.artifact = load_model(settings)
        app.state.stores = open_stores(settings, app.state.artifact)
        app.state.store = app.state.stores.primary
        app.state.live = open_live(settings, app.state.store, app.state.artifact, clock)
        log.info("serving from the %s store", app.state.store.kind)
        try:
            yield
        finally:
            await app.state.live.state.close()
            await app.state.stores.close()

    app = FastAPI(
        title="Micro-offers",
        version="0.1.0",
        description="Personalized micro-offers for every customer and small segment.",
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
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
    app.include_router(events.router)
    app.include_router(outbound.router)
    app.include_router(feedback.router)
    app.include_router(health.router)
    app.include_router(preview.router)
    app.mount("/preview/static", StaticFiles(directory=STATIC), name="preview-static")
    return app
