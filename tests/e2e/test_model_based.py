"""The proof of issue 12: a model-based end-to-end test of the whole shop.

A Hypothesis state machine performs what a shop does — train, publish, roll back, reload, send
events of every type (for known, brand-new and forgotten customers), forget and restore
customers, read every surface and download the CSVs — against the real service over both
stores: the embedded store (events in a JSONL file) and a real redis-server with the hot path
on. It keeps a model of the world (`tests.e2e.world`) and, after every step, checks every
promise (`tests.e2e.promises`) on every surface a customer can be seen on, and in the store
itself: every Redis key, the event stream, the segment documents, the deny list.

`make test` runs a small profile; `make test-long` a large one (`MICROOFFERS_MBT_EXAMPLES`,
`MICROOFFERS_MBT_STEPS`). A failure names the surface, the promise it broke and what was seen;
Hypothesis prints the shrunk steps and a `@reproduce_failure` blob.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from typer.testing import CliRunner

from cli.main import app as cli
from models.contract.artifact import load_artifact
from models.rules.privacy import append_forgotten, forgotten_path, read_forgotten
from service.app import create_app
from tests.e2e.checks import (
    check_deny_list,
    check_log,
    check_offer_rows,
    check_redis,
    check_samples,
    check_seen,
    check_twin,
)
from tests.e2e.promises import expect, item_ids
from tests.e2e.shop import DISMISS_SUPPRESS_S, ITEM_POOL_SIZE, ROLES, ShopData, service_settings, train_version
from tests.e2e.surfaces import RedisContents, Seen, Surfaces, logged_customers
from tests.e2e.world import EVENT_TYPES, Customer, Event, Expect, Version, World
from tests.support.clocks import FixedClock
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

EXAMPLES = int(os.environ.get("MICROOFFERS_MBT_EXAMPLES", "5"))
STEPS = int(os.environ.get("MICROOFFERS_MBT_STEPS", "15"))
# `make test` (CI) runs the same examples every time, so a landing never depends on luck;
# `make test-long` explores new ones on every run (and keeps failures in .hypothesis/ to replay).
EXPLORE = os.environ.get("MICROOFFERS_MBT_EXPLORE") == "1"
settings.register_profile(
    "microoffers-mbt",
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=not EXPLORE,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("microoffers-mbt")
MAX_TRAINS = 2  # per example: a train takes about a second

ROLE = st.sampled_from(ROLES)
ITEM = st.integers(0, ITEM_POOL_SIZE - 1)  # index into ShopData.items
KIND = st.sampled_from(EVENT_TYPES)
_EXAMPLE = itertools.count()


class ShopMachine(RuleBasedStateMachine):
    """The rules and checks both stores share; subclasses open the store and add its rules."""

    kind: ClassVar[str]
    data: ClassVar[ShopData]
    answers_from_loaded: ClassVar[bool]  # the embedded store serves the version it loaded

    def __init__(self) -> None:
        super().__init__()
        self.root = self.data.new_artifacts_root(f"{self.kind}-{next(_EXAMPLE)}")
        base = load_artifact(self.root)
        version = Version(base.version, 0, frozenset(map(str, base.customers.ids)), frozenset(map(str, base.items.ids)))
        self.world = World(
            {role: Customer(role, cid) for role, cid in self.data.customers.items()},
            {base.version: version},
            served=base.version,
            loaded=base.version,
            dismiss_ms=DISMISS_SUPPRESS_S * 1000,
        )
        self.clock = FixedClock()
        self._twins = itertools.count()
        self._checked: dict[str, tuple[object, ...]] = {}
        self.client: TestClient | None = None

    forgotten = Bundle("forgotten")

    @initialize(target=forgotten, customer=st.none() | ROLE)
    def open_shop(self, customer: str | None) -> object:
        """The shop opens on the base version. `customer`: someone forgotten before, by a service
        that ran without Redis (only the deny-list file lists them), so the first publish has to
        read the file."""
        if customer is not None:
            append_forgotten(forgotten_path(self.root), [self.world.customers[customer].id])
            self.world.forget(customer, file_only=True)
        self.open_store()
        self.client = TestClient(create_app(self.service_settings(), clock=self.clock))
        self.client.__enter__()
        self.shop = Surfaces(self.client, self.settle)
        return multiple() if customer is None else customer

    def teardown(self) -> None:
        if self.client is not None:
            self.client.__exit__(None, None, None)
        self.close_store()
        shutil.rmtree(self.root.parent, ignore_errors=True)

    # --- what a store variant provides ---

    def open_store(self) -> None: ...

    def close_store(self) -> None: ...

    def service_settings(self) -> Any:
        raise NotImplementedError

    def settle(self) -> None:
        """Wait until impressions the service records after its answers have landed."""

    def logged(self) -> Counter[str]:
        """Customer id -> entries in the durable event log."""
        raise NotImplementedError

    def check_store_contents(self, exps: list[Expect]) -> None:
        raise NotImplementedError

    def reload_target(self) -> str:
        raise NotImplementedError

    # --- helpers ---

    def expect(self, role: str) -> Expect:
        return self.world.expect(role, self.clock.ms())

    def twin(self, events: tuple[Event, ...], read: Callable[[str], Seen]) -> Seen:
        """What a never-seen id with `events` (replayed at their times) is shown."""
        twin = f"mbt-twin-{next(self._twins)}"
        if events:
            resp = self.shop.post_events([e.body(twin, with_time=True) for e in events])
            expect(resp.status_code == 202, "answers", "POST /events (a never-seen twin)", resp.text[:300])
        return read(twin)

    def _changed(self, what: str, *key: object) -> bool:
        """Whether `key` differs from the last one `what` was checked under."""
        changed = self._checked.get(what) != key
        self._checked[what] = key
        return changed

    def check(self, seen: Seen, exp: Expect, read: Callable[[str], Seen] | None = None) -> None:
        """`seen` against the model; with `read` (the same query for another id), a customer who
        must look new is compared with a never-seen twin."""
        check_seen(seen, exp, self.world.served, self.data.titles)
        if read is not None and exp.mirror is not None:
            check_twin(seen, self.twin(exp.mirror, read), exp)

    # --- rules: what the shop does ---

    @rule(customer=ROLE, item=ITEM, kind=KIND)
    def send_event(self, customer: str, item: int, kind: str) -> None:
        self._send([(customer, item, kind)])

    @rule(events=st.lists(st.tuples(ROLE, ITEM, KIND), min_size=2, max_size=4))
    def send_batch(self, events: list[tuple[str, int, str]]) -> None:
        self._send(events)

    def _send(self, drawn: list[tuple[str, int, str]]) -> None:
        now = self.clock.ms()
        events = [(self.world.customers[role], Event(self.data.items[i], kind, now)) for role, i, kind in drawn]
        forgotten = sorted({f"{c.role} ({c.id})" for c, _ in events if c.forgotten})
        before = self.logged() if forgotten else None
        resp = self.shop.post_events([e.body(c.id) for c, e in events])
        if forgotten:
            body = _json(resp)
            refused = body.get("error") == "forgotten" and isinstance(body.get("message"), str)
            expect(
                resp.status_code == 409 and refused,
                "forgotten-events-409",
                "POST /events",
                f"{resp.status_code} {resp.text[:200]} for a batch of {len(events)} with forgotten {forgotten}",
            )
            expect(
                self.logged() == before,
                "forgotten-events-409",
                "the durable event log",
                f"changed by a refused batch with forgotten {forgotten}",
            )
            return
        expect(
            resp.status_code == 202 and _json(resp).get("accepted") == len(events),
            "answers",
            "POST /events",
            f"{resp.status_code} {resp.text[:200]}",
        )
        for c, e in events:
            c.events.append(e)
        self.world.step()

    @rule(target=forgotten, customer=ROLE)
    def forget(self, customer: str) -> str:
        self.shop.forget(self.world.customers[customer].id)
        self.world.forget(customer)
        return customer

    @rule(customer=consumes(forgotten))
    def restore(self, customer: str) -> None:
        """Restore someone forgotten (or, if they were forgotten twice, someone restored already)."""
        self.shop.restore(self.world.customers[customer].id)
        self.world.restore(customer)

    @precondition(lambda self: self.world.trains < MAX_TRAINS)
    @rule()
    def train(self) -> None:
        artifact = load_artifact(train_version(self.data.purchases, self.root))
        for c in self.world.forgotten():
            expect(
                artifact.customers.row(c.id) is None,
                "forgotten-out-of-training",
                f"train -> version {artifact.version}",
                f"{c.role} ({c.id}) has a row",
            )
        self.world.add_version(
            artifact.version, frozenset(map(str, artifact.customers.ids)), frozenset(map(str, artifact.items.ids))
        )

    @precondition(lambda self: self.world.trains < MAX_TRAINS)
    @rule()
    def nightly_run(self) -> None:
        """What a shop schedules: train, then serve it (publish, or reload the embedded store)."""
        self.train()
        self.deploy()

    def deploy(self) -> None:
        self.reload()

    @rule()
    def reload(self) -> None:
        target = self.reload_target()
        body = self.shop.reload()
        expect(body.get("version") == target, "served-version", "POST /admin/reload", f"{body}, expected {target}")
        self.world.loaded = target
        if self.answers_from_loaded:
            self.world.served = target
        self.world.step()

    @rule(minutes=st.integers(1, 12 * 60))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes * 60)

    # --- rules: reads, each checked against the model ---

    @rule(customer=ROLE, k=st.integers(1, 30), include_purchased=st.booleans())
    def read_recommend(self, customer: str, k: int, include_purchased: bool) -> None:
        exp = self.expect(customer)

        def read(cid: str) -> Seen:
            answer = self.shop.recommend(cid, k, include_purchased)
            return Seen(cid, recommend_all=answer) if include_purchased else Seen(cid, recommend=answer)

        self.check(read(exp.customer), exp, read)

    @rule(customer=ROLE, k=st.integers(1, 30))
    def read_unrecorded(self, customer: str, k: int) -> None:
        """Reading is not showing: `record=false` answers what a plain read answers, records
        nothing, and needs the key."""
        cid = self.world.customers[customer].id
        surface = f"GET /recommend/{cid}?k={k}&record=false"
        before = self.shop.impressions(cid)
        unrecorded = self.shop.recommend_unrecorded(cid, k)
        expect(
            unrecorded.status_code == 200,
            "record-false-same-items",
            surface,
            f"{unrecorded.status_code} {unrecorded.text[:200]}",
        )
        after = self.shop.impressions(cid)
        expect(after == before, "record-false-not-recorded", surface, f"impressions recorded: {changed(before, after)}")
        plain = self.shop.recommend(cid, k)
        if unrecorded.status_code == 200:
            quiet = item_ids(unrecorded.json()["items"])
            expect(
                quiet == item_ids(plain["items"]),
                "record-false-same-items",
                surface,
                f"{quiet}, a plain read {item_ids(plain['items'])}",
            )
        anonymous = self.shop.recommend_unrecorded(cid, k, key=False)
        expect(
            anonymous.status_code in (401, 403),
            "record-false-needs-key",
            f"{surface} without the key",
            f"{anonymous.status_code}",
        )

    @rule(customers=st.lists(ROLE, min_size=1, max_size=4, unique=True), k=st.integers(1, 30))
    def read_batch(self, customers: list[str], k: int) -> None:
        exps = [self.expect(role) for role in customers]
        results = self.shop.batch([e.customer for e in exps], k)
        for exp in exps:
            self.check(Seen(exp.customer, batch=results[exp.customer]), exp)

    @rule(customer=ROLE, k=st.integers(1, 20))
    def read_store(self, customer: str, k: int) -> None:
        exp = self.expect(customer)

        def read(cid: str) -> Seen:
            return Seen(cid, store=self.shop.store(cid, k))

        self.check(read(exp.customer), exp, read)

    @rule(customer=ROLE)
    def read_outbound(self, customer: str) -> None:
        exp = self.expect(customer)
        self.check(Seen(exp.customer, outbound=self.shop.outbound(exp.customer)), exp)

    @rule(customer=ROLE)
    def read_export(self, customer: str) -> None:
        exp = self.expect(customer)
        self.check(Seen(exp.customer, export=self.shop.export(exp.customer)), exp)

    @rule(customer=ROLE)
    def read_preview(self, customer: str) -> None:
        exp = self.expect(customer)
        before = self.shop.impressions(exp.customer)
        page = self.shop.preview(exp.customer)
        after = self.shop.impressions(exp.customer)
        expect(
            after == before,
            "preview-records-nothing",
            f"GET /preview/customers?customer_id={exp.customer}",
            f"impressions recorded: {changed(before, after)}",
        )
        self.check(Seen(exp.customer, preview=page), exp)

    @rule(k=st.integers(1, 12))
    def download_offers(self, k: int) -> None:
        rows = self.shop.offers_csv(k)
        per_customer = Counter(row["customer_id"] for row in rows)
        expect(
            max(per_customer.values(), default=0) <= k,
            "at-most-k",
            f"GET /preview/offers.csv?k={k}",
            f"{per_customer.most_common(1)}",
        )
        exps = [self.expect(role) for role in ROLES]
        check_offer_rows(
            rows, {e.customer: e for e in exps if e.forgotten or e.hidden_in_loaded}, f"GET /preview/offers.csv?k={k}"
        )

    @rule(segment=st.integers(0, 5), k=st.integers(1, 12))
    def download_segment_offers(self, segment: int, k: int) -> None:
        rows = self.shop.segment_csv(segment, k)
        expect(
            rows is None or len(rows) <= k,
            "at-most-k",
            f"GET /preview/segments/{segment}/offers.csv?k={k}",
            f"{len(rows or [])} rows",
        )

    # --- after every step ---

    @invariant()
    def every_surface_keeps_its_promises(self) -> None:
        self.settle()
        exps = [self.expect(role) for role in ROLES]
        batch = self.shop.batch([e.customer for e in exps])
        twins: dict[tuple[Event, ...], Seen] = {}
        for exp in exps:
            preview = exp.forgotten or exp.hidden_in_loaded or bool(exp.suppressed)
            seen = self.shop.look(exp.customer, batch, preview=preview)
            check_seen(seen, exp, self.world.served, self.data.titles)
            if exp.mirror is not None:
                if exp.mirror not in twins:
                    twins[exp.mirror] = self.twin(
                        exp.mirror, lambda cid: self.shop.look(cid, outbound=False, export=False)
                    )
                check_twin(seen, twins[exp.mirror], exp)
        # What only the loaded (served) version and the deny list decide is read again when they changed.
        hidden_in_loaded = {e.customer: e for e in exps if e.forgotten or e.hidden_in_loaded}
        if hidden_in_loaded and self._changed("offers.csv", self.world.loaded, *hidden_in_loaded):
            check_offer_rows(self.shop.offers_csv(), hidden_in_loaded, "GET /preview/offers.csv")
        hidden_in_served = {e.customer: e for e in exps if e.forgotten or e.hidden_in_served}
        if hidden_in_served and self._changed("segments", self.world.served, *hidden_in_served):
            check_samples(self.shop.segment_samples(), hidden_in_served)
        check_deny_list(frozenset(read_forgotten(forgotten_path(self.root))), exps, "deny-list file")
        self.settle()
        self.check_store_contents(exps)


class EmbeddedShop(ShopMachine):
    """No Redis: the service answers from the newest version in process memory; events go to a
    JSONL file."""

    kind = "embedded"
    answers_from_loaded = True

    def service_settings(self) -> Any:
        return service_settings(self.root)

    def logged(self) -> Counter[str]:
        return logged_customers(self.root / "events" / "events.jsonl")

    def check_store_contents(self, exps: list[Expect]) -> None:
        check_log(self.logged(), exps, "the event log events/events.jsonl")

    def reload_target(self) -> str:
        return self.world.newest()


class RedisShop(ShopMachine):
    """A real redis-server, published to with the CLI, the hot path answering plain reads."""

    kind = "redis"
    answers_from_loaded = False
    server: ClassVar[RedisServer]

    def open_store(self) -> None:
        self.redis = redis.Redis.from_url(self.server.url)
        self.redis.flushdb()
        self.publish()

    def close_store(self) -> None:
        if hasattr(self, "redis"):
            self.redis.flushdb()
            self.redis.close()

    def service_settings(self) -> Any:
        return service_settings(self.root, self.server.url, hot_path=True)

    def settle(self) -> None:
        """The hot path sends the impressions of its answers with its next pipeline, within a
        few milliseconds: wait for it to have nothing pending."""
        assert self.client is not None, "settle() runs while the app is open"
        hot = getattr(self.client.app, "hot", None)
        if hot is None:
            return
        batcher = hot.batcher
        if not all(hasattr(batcher, name) for name in ("_shown", "_late", "_tasks")):
            time.sleep(0.02)  # its internals changed: its documented delay is 5 ms
            return
        deadline = time.monotonic() + 2
        while (batcher._shown or batcher._late is not None or batcher._tasks) and time.monotonic() < deadline:
            time.sleep(0.001)

    def logged(self) -> Counter[str]:
        return RedisContents.read(self.redis).logged

    def check_store_contents(self, exps: list[Expect]) -> None:
        check_redis(RedisContents.read(self.redis), exps, self.world.served)

    def reload_target(self) -> str:
        return self.world.served

    def cli(self, *args: str) -> None:
        result = CliRunner().invoke(cli, [*args, "--redis-url", self.server.url])
        expect(
            result.exit_code == 0,
            "answers",
            f"microoffers {args[0]}",
            f"exit {result.exit_code}: {result.output[-500:]} {result.exception!r}",
        )

    @rule()
    def publish(self) -> None:
        """`microoffers publish`: the newest version, forgotten customers left out (the Redis
        set and the deny-list file), then the switch of mo:current."""
        self.cli("publish", "--artifacts", str(self.root))
        self.world.publish(self.world.newest())

    def deploy(self) -> None:
        self.publish()

    @precondition(lambda self: self.world.previous is not None)
    @rule()
    def rollback(self) -> None:
        self.cli("rollback")
        self.world.rollback()


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Item -> (impressions before, after), for the items whose count changed."""
    return {
        item: (before.get(item, 0), after.get(item, 0))
        for item in sorted(before.keys() | after.keys())
        if before.get(item, 0) != after.get(item, 0)
    }


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def bound(machine: type[ShopMachine], **fixtures: object) -> type[ShopMachine]:
    return type(machine.__name__, (machine,), fixtures)


def test_the_embedded_store_keeps_every_promise(shop_data: ShopData) -> None:
    run_state_machine_as_test(bound(EmbeddedShop, data=shop_data), settings=PROFILE)


def test_redis_with_the_hot_path_keeps_every_promise(shop_data: ShopData, redis_server: RedisServer) -> None:
    run_state_machine_as_test(bound(RedisShop, data=shop_data, server=redis_server), settings=PROFILE)
