"""Where experiments and their tallies live: one interface, Redis and in-process.

Redis holds every definition (`mo:{ctl}:experiments`), the running one by itself (`mo:{ctl}:experiment:running`,
read with every answer: the routes `GET` it, the hot path reads it in its tick's pipeline), and
per experiment the totals by variant and, per customer, the day they were first exposed, the day
they first converted and their revenue (see `models.contract.experiments`). The embedded store
keeps the same in memory (gone with the process: the embedded store is for demos).

At most one experiment runs at a time, so no customer is in two and every answer names at most
one variant.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import redis.asyncio as aioredis

from models.contract import experiments as contract
from models.contract.experiments import Experiment
from service.storage.guard import RedisGuard

Command = tuple[str | int, ...]

_STOP = """
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw)['id'] == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""


class ExperimentConflictError(Exception):
    """Another experiment is running (stop it first)."""


class Exposure(NamedTuple):
    """A customer was shown `items` items of one answer served by a variant."""

    experiment: str
    variant: str
    customer_id: str
    items: int
    day: int


class Outcome(NamedTuple):
    """An event attributed to a variant: a click, a purchase (with revenue) or a return."""

    experiment: str
    variant: str
    customer_id: str
    type: str
    revenue_cents: int
    day: int


COUNTED = {"click": "clicks", "purchase": "purchases", "return": "returns"}


class CustomerTally(NamedTuple):
    """One customer in one variant: first exposure and conversion days, revenue in cents."""

    experiment: str
    variant: str
    exposed_day: int | None
    converted_day: int | None
    revenue_cents: int


@dataclass
class Tallies:
    """What results are computed from: totals by "<variant>|<metric>", and per variant the
    first-exposure and first-conversion day of each customer and each customer's revenue."""

    counts: dict[str, int] = field(default_factory=dict)
    exposed: dict[str, dict[str, int]] = field(default_factory=dict)
    converted: dict[str, dict[str, int]] = field(default_factory=dict)
    revenue: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, variant: str, metric: str) -> int:
        return self.counts.get(f"{variant}|{metric}", 0)


class ExperimentStore(ABC):
    @abstractmethod
    async def running(self) -> Experiment | None: ...

    @abstractmethod
    async def definitions(self) -> list[Experiment]:
        """Every experiment, running or stopped, oldest first."""

    async def get(self, experiment_id: str) -> Experiment | None:
        return next((e for e in await self.definitions() if e.id == experiment_id), None)

    @abstractmethod
    async def start(self, experiment: Experiment) -> None:
        """Raises `ExperimentConflictError` while another runs (or the id is taken)."""

    @abstractmethod
    async def stop(self, experiment: Experiment, at_ms: int) -> Experiment: ...

    @abstractmethod
    async def record_exposures(self, exposures: Sequence[Exposure]) -> None: ...

    @abstractmethod
    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> None: ...

    @abstractmethod
    async def tallies(self, experiment: Experiment) -> Tallies: ...

    @abstractmethod
    async def forget(self, customer_id: str) -> None:
        """Take the customer out of every experiment's per-customer tallies (totals stay)."""

    @abstractmethod
    async def customer_tallies(self, customer_id: str) -> list[CustomerTally]:
        """What the experiments hold of one customer (privacy export)."""


def exposure_commands(exposures: Sequence[Exposure]) -> list[Command]:
    """The writes of exposures, as the routes' client and the hot path's connection send them:
    the first exposure of each customer, and one counter increment per variant (the hot path
    sends a tick's exposures at once)."""
    first = {(e.experiment, e.variant, e.customer_id): e.day for e in reversed(exposures)}
    commands: list[Command] = [
        ("HSETNX", contract.per_customer_key(experiment, "exposed", variant), customer, day)
        for (experiment, variant, customer), day in first.items()
    ]
    shown = Counter[tuple[str, str]]()
    for e in exposures:
        shown[(e.experiment, e.variant)] += e.items
    commands += [
        ("HINCRBY", contract.counts_key(experiment), f"{variant}|impressions", n)
        for (experiment, variant), n in shown.items()
        if n
    ]
    return commands


def outcome_commands(outcomes: Sequence[Outcome]) -> list[Command]:
    commands: list[Command] = []
    for o in outcomes:
        commands.append(("HSETNX", contract.per_customer_key(o.experiment, "exposed", o.variant), o.customer_id, o.day))
        commands.append(("HINCRBY", contract.counts_key(o.experiment), f"{o.variant}|{COUNTED[o.type]}", 1))
        if o.type == "purchase":
            key = contract.per_customer_key(o.experiment, "converted", o.variant)
            commands.append(("HSETNX", key, o.customer_id, o.day))
            revenue = contract.per_customer_key(o.experiment, "revenue", o.variant)
            commands.append(("HINCRBY", revenue, o.customer_id, o.revenue_cents))
            commands.append(
                ("HINCRBY", contract.counts_key(o.experiment), f"{o.variant}|revenue_cents", o.revenue_cents)
            )
    return commands


class RedisExperiments(ExperimentStore):
    def __init__(self, client: aioredis.Redis, guard: RedisGuard) -> None:
        self.client, self.guard = client, guard
        self._stop = client.register_script(_STOP)
        self._parsed: tuple[bytes, Experiment] | None = None

    def parse_running(self, raw: bytes | None) -> Experiment | None:
        """The running experiment from its key's value, parsed once per distinct value (the hot
        path reads the raw value every tick)."""
        if raw is None:
            return None
        if self._parsed is None or self._parsed[0] != raw:
            self._parsed = (raw, Experiment.decode(raw))
        return self._parsed[1]

    async def running(self) -> Experiment | None:
        return self.parse_running(await self.guard(self.client.get(contract.RUNNING_KEY)))

    async def definitions(self) -> list[Experiment]:
        raw = await self.guard(self.client.hvals(contract.EXPERIMENTS_KEY))
        return sorted((Experiment.decode(r) for r in raw), key=lambda e: e.started_ms)

    async def start(self, experiment: Experiment) -> None:
        if await self.guard(self.client.hexists(contract.EXPERIMENTS_KEY, experiment.id)):
            raise ExperimentConflictError(f"an experiment named {experiment.id!r} exists already")
        raw = experiment.encode()
        if not await self.guard(self.client.set(contract.RUNNING_KEY, raw, nx=True)):
            running = await self.running()
            raise ExperimentConflictError(f"experiment {running.id if running else '?'} is running: stop it first")
        await self.guard(self.client.hset(contract.EXPERIMENTS_KEY, experiment.id, raw))

    async def stop(self, experiment: Experiment, at_ms: int) -> Experiment:
        stopped = experiment.stopped(at_ms)
        keys = [contract.RUNNING_KEY, contract.EXPERIMENTS_KEY]
        await self.guard(self._stop(keys=keys, args=[experiment.id, stopped.encode()]))
        return stopped

    async def _send(self, commands: list[Command]) -> None:
        if not commands:
            return
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        await self.guard(pipe.execute())

    async def record_exposures(self, exposures: Sequence[Exposure]) -> None:
        await self._send(exposure_commands(exposures))

    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        await self._send(outcome_commands(outcomes))

    async def tallies(self, experiment: Experiment) -> Tallies:
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(contract.counts_key(experiment.id))
        for what in contract.PER_CUSTOMER:
            for v in experiment.variant_names:
                pipe.hgetall(contract.per_customer_key(experiment.id, what, v))
        replies = await self.guard(pipe.execute())
        tallies = Tallies(counts={k.decode(): int(n) for k, n in replies[0].items()})
        rest = iter(replies[1:])
        for what in contract.PER_CUSTOMER:
            for v in experiment.variant_names:
                getattr(tallies, what)[v] = {k.decode(): int(n) for k, n in next(rest).items()}
        return tallies

    async def customer_tallies(self, customer_id: str) -> list[CustomerTally]:
        found = [(e.id, v) for e in await self.definitions() for v in e.variant_names]
        pipe = self.client.pipeline(transaction=False)
        for experiment, variant in found:
            for what in contract.PER_CUSTOMER:
                pipe.hget(contract.per_customer_key(experiment, what, variant), customer_id)
        replies = iter(await self.guard(pipe.execute()))
        rows = [(experiment, variant, *(next(replies) for _ in contract.PER_CUSTOMER)) for experiment, variant in found]
        return [_tally(e, v, x, c, r) for e, v, x, c, r in rows if x is not None or c is not None or r is not None]

    async def forget(self, customer_id: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        for experiment in await self.definitions():
            for key in contract.experiment_keys(experiment)[1:]:
                pipe.hdel(key, customer_id)
        await self.guard(pipe.execute())


class EmbeddedExperiments(ExperimentStore):
    """The same in process memory (the embedded store serves one process)."""

    def __init__(self) -> None:
        self._definitions: dict[str, Experiment] = {}
        self._running: str | None = None
        self._tallies: dict[str, Tallies] = defaultdict(Tallies)

    async def running(self) -> Experiment | None:
        return self._definitions[self._running] if self._running else None

    async def definitions(self) -> list[Experiment]:
        return sorted(self._definitions.values(), key=lambda e: e.started_ms)

    async def start(self, experiment: Experiment) -> None:
        if experiment.id in self._definitions:
            raise ExperimentConflictError(f"an experiment named {experiment.id!r} exists already")
        if self._running is not None:
            raise ExperimentConflictError(f"experiment {self._running} is running: stop it first")
        self._definitions[experiment.id], self._running = experiment, experiment.id

    async def stop(self, experiment: Experiment, at_ms: int) -> Experiment:
        stopped = self._definitions[experiment.id] = experiment.stopped(at_ms)
        if self._running == experiment.id:
            self._running = None
        return stopped

    async def record_exposures(self, exposures: Sequence[Exposure]) -> None:
        for e in exposures:
            t = self._tallies[e.experiment]
            t.exposed.setdefault(e.variant, {}).setdefault(e.customer_id, e.day)
            _add(t.counts, f"{e.variant}|impressions", e.items)

    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        for o in outcomes:
            t = self._tallies[o.experiment]
            t.exposed.setdefault(o.variant, {}).setdefault(o.customer_id, o.day)
            _add(t.counts, f"{o.variant}|{COUNTED[o.type]}", 1)
            if o.type == "purchase":
                t.converted.setdefault(o.variant, {}).setdefault(o.customer_id, o.day)
                _add(t.revenue.setdefault(o.variant, {}), o.customer_id, o.revenue_cents)
                _add(t.counts, f"{o.variant}|revenue_cents", o.revenue_cents)

    async def tallies(self, experiment: Experiment) -> Tallies:
        t = self._tallies[experiment.id]
        return Tallies(
            dict(t.counts),
            {v: dict(t.exposed.get(v, {})) for v in experiment.variant_names},
            {v: dict(t.converted.get(v, {})) for v in experiment.variant_names},
            {v: dict(t.revenue.get(v, {})) for v in experiment.variant_names},
        )

    async def customer_tallies(self, customer_id: str) -> list[CustomerTally]:
        rows = [
            (
                e.id,
                v,
                *(getattr(self._tallies[e.id], what).get(v, {}).get(customer_id) for what in contract.PER_CUSTOMER),
            )
            for e in await self.definitions()
            for v in e.variant_names
        ]
        return [_tally(e, v, x, c, r) for e, v, x, c, r in rows if x is not None or c is not None or r is not None]

    async def forget(self, customer_id: str) -> None:
        for t in self._tallies.values():
            for per_variant in (t.exposed, t.converted, t.revenue):
                for values in per_variant.values():
                    values.pop(customer_id, None)


def _tally(experiment: str, variant: str, exposed: object, converted: object, revenue: object) -> CustomerTally:
    def number(raw: object) -> int | None:
        return None if raw is None else int(raw)  # type: ignore[call-overload]

    return CustomerTally(experiment, variant, number(exposed), number(converted), number(revenue) or 0)


def _add(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n
