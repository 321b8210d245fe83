"""The application factory: resources open once in the lifespan and are shared as app state.

What requests read (stores, live context, model) is one `service.serving.Serving` on
`app.state.serving`, which `POST /admin/reload` or the reload watch replaces as a whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from models.artifact import artifacts_root
from models.privacy import forgotten_path
from service.bodylimit import MaxBodySizeMiddleware
from service.errors import install_error_handlers
from service.forgotten import DenyList
from service.hotpath.app import HotPathMiddleware, open_hot_path
from service.live.overlays import Clock, system_clock
from service.metrics import Metrics
from service.middleware import RequestContextMiddleware
from service.ratelimit import RateLimiter
from service.reload import Reloader
from service.routes import (
    admin,
    customers,
    events,
    feedback,
    health,
    items,
    outbound,
    preview,
    recommend,
    segments,
    store,
)
from service.serving import install, start_serving
from service.settings import Settings, get_settings
from service.store import RedisStore

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def deny_list_path(settings: Settings) -> Path:
    return settings.forgotten_file or forgotten_path(artifacts_root(settings.artifacts))


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    """`clock` is injectable so tests can fix time (quiet hours, capping windows, expiry)."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        deny = DenyList(deny_list_path(settings))
        deny.refresh_file()  # before the stores are built, so they are built without those customers
        serving = start_serving(settings, clock, deny.ids, metrics)
        if isinstance(primary := serving.stores.primary, RedisStore):
            deny.attach(primary.client, primary._call)
            for customer_id in await deny.load_redis():
                serving.stores.forget_in_process(customer_id)
        install(app.state, serving)
        metrics.set_loaded_model(serving.loaded_version)
        app.state.deny_list = deny
        app.state.hot = (open_hot_path([*recommend.router.routes, *store.router.routes], serving, deny, metrics, settings.hot_path_cache_size)
                         if settings.hot_path else None)
        app.state.reloader = reloader = Reloader(settings, deny, metrics)
        watch = (asyncio.create_task(reloader.watch(app.state, settings.reload_interval_s))
                 if settings.reload_interval_s > 0 else None)
        log.info("serving from the %s store", serving.stores.primary.kind)
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
            await app.state.serving.live.state.close()
            await app.state.serving.stores.close()

    app = FastAPI(
        title="Micro-offers",
        version="0.1.0",
        description="Personalized micro-offers for every customer and small segment.",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.rate_limiter = RateLimiter(settings.write_rate_per_s, settings.write_burst)
    install_error_handlers(app)
    app.add_middleware(HotPathMiddleware)  # innermost: request ids, metrics and CORS still wrap it
    app.add_middleware(MaxBodySizeMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )
    app.add_middleware(
        RequestContextMiddleware, access_log=settings.access_log, log_customer_ids=settings.log_customer_ids,
        metrics=metrics,
    )
    for module in (recommend, store, items, segments, events, outbound, customers, admin, feedback, health, preview):
        app.include_router(module.router)
    app.mount("/preview/static", StaticFiles(directory=STATIC), name="preview-static")
    return app
