"""Experiments at request time: which variant answers a customer, the id every answer carries,
and the attribution of events to variants.

Every surface asks `assignment` (or, on the hot path, `assign` over the experiment its pipeline
read) and stamps its answer with `stamp`, so the same customer gets the same variant and the same
recommendation id on every path. A forgotten customer, a degraded answer from the in-process copy
of a version other than the variant's, and any answer while the experiment cannot be read are
served outside the experiment (variant null): nothing is counted for them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from models import contract as keys
from models.contract import experiments as contract
from models.contract.events import Event
from models.contract.experiments import Experiment, Variant
from models.rules.catalog import CatalogItem
from service.core import filters
from service.live.overlays import LiveContext
from service.live.state import NONE, Recorded
from service.storage.experiments import COUNTED, ExperimentConflictError, ExperimentStore, Exposure, Outcome
from service.storage.stores import EmbeddedStore, OfferStore, RedisStore, StoreUnavailableError

log = logging.getLogger(__name__)
EPOCH = date(1970, 1, 1).toordinal()


class ExperimentError(ValueError):
    """An experiment that cannot be started or stopped as asked; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Assignment:
    """The variant serving one customer ("" outside an experiment) and what it changes."""

    experiment: str = ""
    variant: str = ""
    version: str | None = None  # None: the version being served
    popular_only: bool = False

    def version_or(self, current: str) -> str:
        return self.version or current

    @property
    def label(self) -> str | None:
        return self.variant or None


NO_EXPERIMENT = Assignment()


def utc_day() -> int:
    """Days since the epoch of the day catalog rules use: ids change with the hot path's cache."""
    return filters.today().toordinal() - EPOCH


def assign(
    experiment: Experiment | None, customer_id: str, store: OfferStore | None = None, live: LiveContext | None = None
) -> Assignment:
    """The customer's variant, unless they are forgotten (per `live`) or `store` cannot serve it."""
    if experiment is None or (live is not None and live.is_forgotten(customer_id)):
        return NO_EXPERIMENT
    variant = experiment.assign(customer_id)
    if store is not None and not _holds(store, variant):
        return NO_EXPERIMENT
    return Assignment(experiment.id, variant.name, variant.version, variant.policy == "popular")


def _holds(store: OfferStore, variant: Variant) -> bool:
    """An in-process copy (embedded store, or the fallback while Redis is down) holds one version."""
    if variant.version is None or not isinstance(store, EmbeddedStore):
        return True
    return store.artifact.version == variant.version


async def running(live: LiveContext | None) -> Experiment | None:
    """The running experiment; None also while it cannot be read (answers go out without it)."""
    if live is None or live.experiments is None:
        return None
    try:
        return await live.experiments.running()
    except StoreUnavailableError as exc:
        log.warning("experiments unreadable, answering outside them: %s", exc)
        return None


async def assignment(live: LiveContext | None, store: OfferStore, customer_id: str) -> Assignment:
    """The customer's variant in the running experiment, if any."""
    return assign(await running(live), customer_id, store, live)


def stamp(a: Assignment, version: str, surface: str, subject: str, day: int | None = None) -> str:
    """The recommendation id of an answer (see `models.contract.experiments`)."""
    day = utc_day() if day is None else day
    return contract.recommendation_id(version, a.experiment, a.variant, surface, day, subject)


def exposure_of(recommendation_id: str, customer_id: str, items: int) -> Exposure | None:
    """What showing an answer counts for its variant (None outside an experiment)."""
    rid = contract.decode_recommendation_id(recommendation_id)
    if not rid.experiment:
        return None
    return Exposure(rid.experiment, rid.variant, customer_id, items, rid.day)


async def record_exposure(live: LiveContext, exposure: Exposure | None) -> None:
    """After the response (a background task): a failure is logged, never the client's problem."""
    if exposure is None or live.experiments is None:
        return
    try:
        await live.experiments.record_exposures([exposure])
    except StoreUnavailableError as exc:
        log.warning("exposure not recorded: %s", exc)


# --- attribution ---


def attribute(
    experiment: Experiment | None, event: Event, recorded: Recorded, day: int, price: float | None
) -> Outcome | None:
    """The variant an event counts for: the one its `recommendation_id` names (if it names the
    running experiment and this customer), else, for an item the service showed the customer
    (its impressions know where it was last shown), the customer's variant. `price`: the event's
    or the catalog's, for purchases."""
    if experiment is None or event.type not in COUNTED:
        return None
    variant = _variant_by_id(experiment, event) or _variant_by_impression(experiment, event, recorded)
    if variant is None:
        return None
    cents = int(round((price or 0.0) * 100 * event.quantity)) if event.type == "purchase" else 0
    return Outcome(experiment.id, variant, event.customer_id, event.type, cents, day)


def _variant_by_id(experiment: Experiment, event: Event) -> str | None:
    if not event.recommendation_id:
        return None
    rid = contract.decode_recommendation_id(event.recommendation_id)
    if rid.experiment != experiment.id or not rid.is_for(event.customer_id) or experiment.variant(rid.variant) is None:
        return None
    return rid.variant


def _variant_by_impression(experiment: Experiment, event: Event, recorded: Recorded) -> str | None:
    if recorded.source == NONE:  # never shown by the service: nothing to attribute it to
        return None
    return experiment.assign(event.customer_id).name


async def attribute_events(
    live: LiveContext, store: OfferStore, events: Sequence[Event], recorded: Sequence[Recorded]
) -> int:
    """Count recorded events for their variants; returns how many counted."""
    if live.experiments is None:
        return 0
    experiment = await live.experiments.running()
    if experiment is None:
        return 0
    prices = await _catalog_prices(store)
    day = utc_day()  # the day recommendation ids and exposures are counted by
    outcomes = [
        o
        for e, r in zip(events, recorded, strict=True)
        if (o := attribute(experiment, e, r, day, e.price if e.price is not None else _price(prices, e.item_id)))
    ]
    await live.experiments.record_outcomes(outcomes)
    return len(outcomes)


async def _catalog_prices(store: OfferStore) -> Mapping[str, CatalogItem]:
    """The served version's catalog (kept per version by the store: no read per event)."""
    version = await store.active_version()
    return {} if version is None else await store.catalog(version)


def _price(catalog: Mapping[str, CatalogItem], item_id: str) -> float | None:
    entry = catalog.get(item_id)
    return entry.price if entry is not None else None


# --- start and stop ---


async def start(
    tallies: ExperimentStore | None,
    store: OfferStore,
    experiment_id: str,
    variants: tuple[Variant, ...],
    now_ms: int,
    alpha: float = 0.05,
    mixture_sd: float = 0.01,
    description: str = "",
) -> Experiment:
    """Check the variants against what the store holds, then start (one running at a time)."""
    if tallies is None:
        raise ExperimentError("experiments are off in this service")
    try:
        contract.check_variants(variants)
    except ValueError as exc:
        raise ExperimentError(str(exc), "variants") from exc
    for v in variants:
        if v.version is not None:
            await _check_version(store, v)
    experiment = Experiment(experiment_id, secrets.token_hex(8), variants, now_ms, None, alpha, mixture_sd, description)
    try:
        await tallies.start(experiment)
    except ExperimentConflictError as exc:
        raise ExperimentError(str(exc)) from exc
    return experiment


async def _check_version(store: OfferStore, v: Variant) -> None:
    assert v.version is not None
    if isinstance(store, EmbeddedStore):
        if v.version != store.artifact.version:
            raise ExperimentError(
                f"variant {v.name}: the embedded store serves only version {store.artifact.version}; "
                "compare versions with Redis, or leave version out",
                "variants",
            )
        return
    if await store.document(v.version, "manifest") is None:
        raise ExperimentError(f"variant {v.name}: version {v.version} is not published", "variants")
    if isinstance(store, RedisStore) and await store.guard(store.client.sismember(keys.EXPIRING_KEY, v.version)):
        raise ExperimentError(f"variant {v.name}: version {v.version} is expiring; publish it again", "variants")
