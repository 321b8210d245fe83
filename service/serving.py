"""What requests read, built from settings and an artifact, and swapped as one on a reload.

A `Serving` bundles the loaded artifact, the stores (Redis with the in-process fallback, or the
embedded store) and the live context (live state plus the model's factors). A reload builds a
complete new `Serving` beside the old one and then replaces the single reference on
`app.state`; a request takes that reference once (see `service.http.deps.get_serving`), so requests
in flight finish on the old generation and no request ever mixes two.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from models.contract.artifact import Artifact, ArtifactNotFoundError, artifacts_root, load_artifact
from service.core.personalize import Personalizer
from service.live import EmbeddedLiveState, LivePolicy, LiveState, RedisLiveState
from service.live.overlays import Clock, LiveContext, customer_segment
from service.observability.metrics import Metrics
from service.settings import Settings
from service.storage.experiments import EmbeddedExperiments, ExperimentStore, RedisExperiments
from service.storage.fallback import Stores
from service.storage.stores import EmbeddedStore, OfferStore, RedisStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Serving:
    artifact: Artifact | None  # the in-process model: embedded store or Redis fallback, and fold-in factors
    stores: Stores
    live: LiveContext

    @property
    def loaded_version(self) -> str | None:
        return self.artifact.version if self.artifact is not None else None

    def forget_in_process(self, customer_id: str) -> None:
        """Drop a customer from what this process holds of the model (the in-process stores and
        the personalizer's trained histories): another worker forgot them, Redis already has."""
        self.stores.forget_in_process(customer_id)
        if self.live.personalizer is not None:
            self.live.personalizer.forget(customer_id)


def load_model(settings: Settings) -> Artifact | None:
    """The artifact whose factors serve fold-in and similar items. The embedded store needs it;
    with Redis it is optional (no local artifacts: the live overlays that need factors are off)."""
    try:
        return load_artifact(settings.artifacts)
    except ArtifactNotFoundError:
        if not settings.redis_url:
            raise
        log.warning(
            "no artifact at %s: real-time personalization and similar-item push-down are off", settings.artifacts
        )
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
    return artifacts_root(settings.artifacts) / "events" / "events.jsonl"


def open_stores(
    settings: Settings, artifact: Artifact | None, forgotten: Collection[str] = (), metrics: Metrics | None = None
) -> Stores:
    """Redis when configured, with the artifact in process memory as its fallback; otherwise
    the embedded store alone."""
    if not settings.redis_url:
        embedded = _embedded(artifact or load_artifact(settings.artifacts), forgotten, metrics)
        return Stores(embedded, metrics=metrics)
    primary = RedisStore(settings.redis_url, settings.redis_timeout_s, settings.redis_pool_size)
    _count_lookups(primary, metrics)
    if artifact is None:
        log.warning("no artifact at %s: no in-process fallback while Redis is down", settings.artifacts)
    fallback = _embedded(artifact, forgotten, metrics) if artifact is not None else None
    return Stores(primary, fallback, metrics=metrics)


def open_live(
    settings: Settings, store: OfferStore, artifact: Artifact | None, clock: Clock, forgotten: Collection[str] = ()
) -> LiveContext:
    """`forgotten` is the live deny list (shared by reference); the personalizer keeps a
    growing copy of its own (see `Personalizer`)."""
    personalizer = Personalizer(artifact, forgotten=forgotten) if artifact is not None else None
    policy = live_policy(settings)
    state: LiveState
    experiments: ExperimentStore
    if isinstance(store, RedisStore):
        state = RedisLiveState(store.client, policy, store.guard)  # one Redis, one guard
        experiments = RedisExperiments(store.client, store.guard)
    else:
        state = EmbeddedLiveState(policy, events_log_path(settings), partial(customer_segment, personalizer), forgotten)
        experiments = EmbeddedExperiments()
    return LiveContext(state, personalizer, policy, settings.similar_pushdown, clock, forgotten, experiments)


def start_serving(settings: Settings, clock: Clock, forgotten: Collection[str], metrics: Metrics) -> Serving:
    artifact = load_model(settings)
    stores = open_stores(settings, artifact, forgotten, metrics)
    return Serving(artifact, stores, open_live(settings, stores.primary, artifact, clock, forgotten))


def next_serving(
    current: Serving, artifact: Artifact, forgotten_now: frozenset[str], forgotten: Collection[str]
) -> Serving:
    """The same Redis and live state over a newly loaded artifact (CPU-bound: run it in a thread).
    The embedded store and the personalizer leave out `forgotten_now` (a snapshot: the live set
    may grow meanwhile, see `Reloader.reload`); the live context keeps the live set `forgotten`."""
    old = current.stores
    embedded = _embedded(artifact, forgotten_now, old.metrics)
    if isinstance(old.primary, RedisStore):
        stores = Stores(old.primary, embedded, old.degraded, old.metrics)
    else:
        stores = Stores(embedded, metrics=old.metrics)
    live = replace(current.live, personalizer=Personalizer(artifact, forgotten=forgotten_now), forgotten=forgotten)
    return Serving(artifact, stores, live)


def install(state: Any, serving: Serving) -> None:
    """Make `serving` what new requests read: one reference assignment. Everything reaches it
    through `service.http.deps.get_serving` (one generation per request), the preview too."""
    state.serving = serving


def _embedded(artifact: Artifact, forgotten: Collection[str], metrics: Metrics | None) -> EmbeddedStore:
    store = EmbeddedStore(artifact, forgotten)
    _count_lookups(store, metrics)
    return store


def _count_lookups(store: OfferStore, metrics: Metrics | None) -> None:
    if metrics is not None:
        store.count_lookup = metrics.count_lookup
