"""The hot path and the routes are two ways to the same answer: with live events and impression
capping on, they answer alike and leave the same Redis state (per-item impression counts, the
overlay view, the feedback counters). Two apps share one real Redis and one stopped clock; one
has the hot path off, so the routes answer there."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from fastapi.testclient import TestClient

from models import contract
from models.contract.artifact import Artifact
from service.app import create_app
from tests.support.apps import RECOMMEND, STORE, answered, settings_for
from tests.support.keys import AUTH
from tests.support.redis_reads import fields, kind
from tests.support.redis_server import RedisServer
from tests.support.replenishment import plans_of
from tests.support.waiting import wait_until

pytestmark = pytest.mark.redis

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CAP = 2  # a third showing of an item within the window is at the cap
Dump = dict[str, tuple[bytes, int]]
STORE_PAGE = "/personal-store/"


def stopped_clock() -> datetime:
    return NOW


def app_client(artifacts: Path, url: str, **overrides: object) -> TestClient:
    return TestClient(create_app(settings_for(artifacts, url, cap_impressions=CAP, **overrides), clock=stopped_clock))


def live_state(r: redis.Redis, customer: str) -> dict[str, Any]:
    """Everything impressions can change: the customer's live keys and the feedback counters
    (with whether each key expires, not when: the view's expiry follows Redis' own clock)."""
    out: dict[str, Any] = {}
    for key in [*contract.live_keys(customer), contract.FEEDBACK_COUNTS_KEY]:
        type_ = kind(r, key)
        value: Any = None
        if type_ == "hash":
            value = r.hgetall(key)
        elif type_ == "zset":
            value = r.zrange(key, 0, -1, withscores=True)
        elif type_ == "string":
            value = r.get(key)
        out[key] = (type_, value, r.pttl(key) > 0)
    return out


def dump(r: redis.Redis, customer: str) -> Dump:
    saved: Dump = {}
    for key in [*contract.live_keys(customer), contract.FEEDBACK_COUNTS_KEY]:
        raw = r.dump(key)  # None: no such key
        if raw is not None:
            saved[key] = (raw, max(r.pttl(key), 0))
    return saved


def restore(r: redis.Redis, customer: str, saved: Dump) -> None:
    r.delete(*contract.live_keys(customer), contract.FEEDBACK_COUNTS_KEY)
    for key, (raw, ttl_ms) in saved.items():
        r.restore(key, ttl_ms, raw)


def impressions_counted(r: redis.Redis) -> int:
    return sum(int(v) for k, v in fields(r, contract.FEEDBACK_COUNTS_KEY).items() if k.startswith(b"impression|"))


def counted_is(r: redis.Redis, n: int) -> Callable[[], bool]:
    """Whether `n` impressions are counted, with `n` bound now rather than when polled."""
    return lambda: impressions_counted(r) == n


def items_of(body: dict[str, Any]) -> list[str]:
    return [i["item_id"] for i in body["items"]]


def post_events(client: TestClient, customer: str) -> None:
    """A purchase, a dismissal and a return of the customer's current top items: the overlay
    view exists and changes every answer from here on."""
    top = items_of(client.get(f"/recommend/{customer}?k=3&record=false", headers=AUTH).json())
    kinds = ["purchase", "dismiss", "return"]
    events = [{"customer_id": customer, "item_id": item, "type": kind} for item, kind in zip(top, kinds, strict=True)]
    assert client.post("/events", json={"events": events}, headers=AUTH).status_code == 202


def test_either_path_leaves_the_same_redis_state_for_the_same_answers(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    """The same requests for one customer, from the same starting state, once through the routes
    and once through the hot path: the same answers, and the same Redis state after them,
    including answers that show items already at the cap (counted, not written)."""
    customer = str(artifact.customers.ids[4])
    queries = ["?k=3", "?k=3", "?k=3", "?k=100", "?k=100", "?k=100", "?k=5&include_purchased=true"]
    with app_client(artifacts, own_redis.url, hot_path=False) as routes, app_client(artifacts, own_redis.url) as hot:
        post_events(routes, customer)
        start = dump(published, customer)
        by_route = [routes.get(f"/recommend/{customer}{q}").json() for q in queries]
        after_route = live_state(published, customer)
        restore(published, customer, start)
        by_hot = [hot.get(f"/recommend/{customer}{q}").json() for q in queries]
        assert wait_until(lambda: live_state(published, customer) == after_route, timeout=5), (
            live_state(published, customer),
            after_route,
        )
        assert answered(hot, RECOMMEND, "hot_path") == len(queries)
    assert by_hot == by_route
    shown = {k.decode(): v.decode() for k, v in after_route[contract.live_key(customer, "shown")][1].items()}
    appearances = Counter(item for body in by_route for item in items_of(body))
    over = [item for item, n in appearances.items() if n > CAP]
    assert over, "no answer showed an item already at the cap"
    assert all(shown[item].split("|")[1] == str(CAP) for item in over)  # counted, never written past the cap


def test_hot_path_answers_as_the_routes_do_with_events_and_capping_on(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    """Request by request, the routes' answer (read with `record=false`, so it changes nothing)
    equals the hot path's, which then records its impressions; the next comparison starts from
    the state those left. Customers with purchases, dismissals and returns, a customer the
    model never met (a live purchase gives them personal offers), both pages."""
    customers = [*(str(c) for c in artifact.customers.ids[10:16]), "never-seen-live"]
    queries = ["?k=3", "?k=10", "?k=3&include_purchased=true", "?k=100"]
    hot_answers = 0
    shown = 0
    with app_client(artifacts, own_redis.url, hot_path=False) as routes, app_client(artifacts, own_redis.url) as hot:
        for customer in customers:
            post_events(routes, customer)
        for round_ in range(CAP + 1):
            for customer in customers:
                for query in queries:
                    expected = routes.get(f"/recommend/{customer}{query}&record=false", headers=AUTH)
                    got = hot.get(f"/recommend/{customer}{query}")
                    assert got.status_code == expected.status_code == 200
                    assert got.json() == expected.json(), (round_, customer, query)
                    hot_answers += 1
                    shown += len(got.json()["items"])
                    assert wait_until(counted_is(published, shown), timeout=5)
                for query in ["", "?k=4"]:
                    page = f"/personal-store/{customer}{query}"
                    assert hot.get(page).json() == routes.get(page).json(), (round_, customer, query)
        assert answered(hot, RECOMMEND, "hot_path") == hot_answers
        assert answered(hot, STORE, "hot_path") == 2 * len(customers) * (CAP + 1)
    capped = [
        customer
        for customer in customers
        if any(int(v.split(b"|")[1]) >= CAP for v in fields(published, contract.live_key(customer, "shown")).values())
    ]
    assert capped == customers  # every customer had items at the cap: the answers above rotated


def test_hot_path_store_shows_replenishment_plans_as_the_route_does(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    """Byte for byte, before and after a `subscribe` event changes the customer's overlay view:
    the hot path's cached page is not reused once the plan's status changed."""

    def client(hot_path: bool) -> TestClient:
        settings = settings_for(artifacts, own_redis.url, hot_path=hot_path, cap_impressions=1000)
        return TestClient(create_app(settings, clock=stopped_clock))

    def plan_status(body: bytes, item: str) -> str | None:
        sections = {s["id"]: s["items"] for s in orjson.loads(body)["sections"]}
        return next((i["plan"]["status"] for i in sections.get("buy_again", []) if i["item_id"] == item), None)

    with client(False) as routes, client(True) as hot:
        p = next(
            p for p in plans_of(artifact) if plan_status(routes.get(f"{STORE_PAGE}{p.customer_id}").content, p.item_id)
        )
        page = f"{STORE_PAGE}{p.customer_id}"
        before = hot.get(page).content
        assert before == routes.get(page).content and plan_status(before, p.item_id) == "offered"
        event = {"customer_id": p.customer_id, "item_id": p.item_id, "type": "subscribe"}
        assert routes.post("/events", json=event, headers=AUTH).status_code == 202
        after = hot.get(page).content
        assert after == routes.get(page).content and plan_status(after, p.item_id) == "subscribed"
        assert answered(hot, STORE, "hot_path") == 2
