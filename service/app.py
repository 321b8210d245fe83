"""The application factory: resources open once in the lifespan and are shared as app state.

What requests read (stores, live context, model) is one `service.serving.Serving` on
`app.state.serving`, which `POST /admin/reload` or the reload watch replaces as a whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from models.contract.artifact import artifacts_root
from models.rules.privacy import forgotten_path
from service import background
from service.core.business_rules import RuleBook
from service.core.complaint_webhook import open_complaint_webhook
from service.core.deny_list import DenyList
from service.hotpath.app import HotPath, open_hot_path
from service.http.auth import RateLimiters
from service.http.bodylimit import MaxBodySizeMiddleware
from service.http.cors import ScopedCORSMiddleware
from service.http.errors import install_error_handlers
from service.http.failures import AuthFailures, AuthGuard
from service.http.middleware import RequestContextMiddleware
from service.live.overlays import Clock, system_clock
from service.observability.logs import AccessLog
from service.observability.metrics import Metrics
from service.preview import campaign_pages, complaints_page, login
from service.preview import routes as preview
from service.preview import rules_routes as preview_rules
from service.reload import Reloader
from service.routes import (
    admin,
    business_rules,
    campaigns,
    customers,
    events,
    experiments,
    feedback,
    health,
    items,
    outbound,
    recommend,
    segments,
    store,
)
from service.serving import Serving, install, start_serving
from service.settings import Settings, get_settings
from service.storage.campaign_book import open_campaign_book
from service.storage.rules_storage import FileRules, RedisRules, rules_dir
from service.storage.stores import RedisStore

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "preview" / "static"


class ServiceApp(FastAPI):
    """FastAPI with the hot path in front: a plain `/recommend` or `/personal-store` read is
    answered before the middleware stack and routing run (see `service.hotpath`); everything
    else, and anything the hot path declines, goes through FastAPI as usual."""

    hot: HotPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hot is not None and scope["type"] == "http" and await self.hot.handle(scope, send):
            return
        await super().__call__(scope, receive, send)


def deny_list_path(settings: Settings) -> Path:
    return settings.forgotten_file or forgotten_path(artifacts_root(settings.artifacts))


def open_rule_book(settings: Settings, serving: Serving, clock: Clock) -> RuleBook:
    """The business rules in Redis when serving from Redis, else in files beside the artifacts."""
    primary = serving.stores.primary
    if isinstance(primary, RedisStore):
        return RuleBook(RedisRules(primary.client, primary.guard), clock)
    return RuleBook(FileRules(settings.rules_dir or rules_dir(artifacts_root(settings.artifacts))), clock)


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    """`clock` is injectable so tests can fix time (quiet hours, capping windows, expiry)."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: ServiceApp) -> AsyncIterator[None]:
        app.state.settings = settings
        deny = DenyList(deny_list_path(settings))
        deny.refresh_file()  # before the stores are built, so they are built without those customers
        serving = start_serving(settings, clock, deny.ids, metrics)
        if isinstance(primary := serving.stores.primary, RedisStore):
            deny.attach(primary.client, primary.guard)
            for customer_id in await deny.load_redis():
                serving.forget_in_process(customer_id)
        app.state.rule_book = book = open_rule_book(settings, serving, clock)
        await book.refresh()
        serving = replace(serving, live=replace(serving.live, rules=book))
        install(app.state, serving)
        metrics.set_loaded_model(serving.loaded_version)
        app.state.deny_list = deny
        app.state.campaigns = open_campaign_book(settings, serving.stores.primary)
        app.state.complaint_webhook = webhook = open_complaint_webhook(settings, metrics)
        if webhook is not None:
            await webhook.start()
        if settings.hot_path:
            access = AccessLog(settings.access_log, settings.log_customer_ids, metrics)
            app.hot = open_hot_path(
                app.state,
                [*recommend.router.routes, *store.router.routes],
                deny,
                access,
                settings.hot_path_cache_size,
                bool(settings.cors_origins),
            )
        app.state.reloader = reloader = Reloader(settings, deny, metrics)
        watch = (
            asyncio.create_task(reloader.watch(app.state, settings.reload_interval_s))
            if settings.reload_interval_s > 0
            else None
        )
        rules_watch = asyncio.create_task(book.watch(settings.rules_refresh_s))
        log.info("serving from the %s store", serving.stores.primary.kind)
        try:
            yield
        finally:
            for task in (watch, rules_watch):
                if task is not None:
                    await background.stop(task)
            if app.hot is not None:
                app.hot.close()
                app.hot = None
            if webhook is not None:
                await webhook.close()
            await app.state.serving.live.state.close()
            await app.state.serving.stores.close()

    app = ServiceApp(
        title="Micro-offers",
        version="0.1.0",
        description="Personalized micro-offers for every customer and small segment.",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.rate_limiters = RateLimiters.from_settings(settings)
    app.state.auth_guard = AuthGuard(AuthFailures(settings.auth_failure_limit, settings.auth_failure_window_s), metrics)
    install_error_handlers(app)
    app.add_middleware(MaxBodySizeMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(ScopedCORSMiddleware, allow_origins=settings.cors_origins, routes=app.router.routes)
    app.add_middleware(
        RequestContextMiddleware,
        access_log=settings.access_log,
        log_customer_ids=settings.log_customer_ids,
        metrics=metrics,
    )
    for module in (
        recommend,
        store,
        items,
        segments,
        events,
        outbound,
        campaigns,
        business_rules,
        customers,
        admin,
        experiments,
        feedback,
        health,
        login,
        preview,
        preview_rules,
        campaign_pages,
        complaints_page,
    ):
        app.include_router(module.router)
    app.mount("/preview/static", StaticFiles(directory=STATIC), name="preview-static")
    return app
