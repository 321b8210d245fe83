"""Cold answers from the pre-rendered `a:` document (`service.hotpath.cold`) are byte for byte
the routes' answers: over many customers and k, beside customers with live state (computed in
full), for items available from tomorrow across the day change, after a customer is forgotten,
and after a version switch. Two apps share one real Redis; one has the hot path off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis
from fastapi.testclient import TestClient

from models import contract
from models.contract import documents
from models.contract.artifact import Artifact, load_artifact
from service.app import create_app
from service.hotpath.app import HotPath
from tests.support.apps import RECOMMEND, add_version, answered, client_for, settings_for
from tests.support.keys import AUTH
from tests.support.redis_reads import fields, kind
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from training.publish import publish

pytestmark = pytest.mark.redis

QUERIES = ["", "?k=1", "?k=3", "?k=37", "?k=100", "?include_purchased=false&k=5"]


def _hot(client: TestClient) -> HotPath:
    hot = client.app.hot  # type: ignore[attr-defined]
    assert isinstance(hot, HotPath)
    return hot


def _answered_cold(client: TestClient, customer: str) -> bool:
    """The hot path answered from the `a:` document, without reading the `c:` list."""
    cache = _hot(client).recommend_cache
    entry = cache.get(customer) if cache is not None else None
    return entry is not None and entry.answer is not None and not entry.offers_read


@contextmanager
def two_apps(artifacts: Path, own_redis: RedisServer) -> Iterator[tuple[TestClient, TestClient]]:
    """(routes, hot path); large caps, so a few requests never cap an item."""
    with (
        client_for(artifacts, own_redis.url, hot_path=False, cap_impressions=1000) as routes,
        client_for(artifacts, own_redis.url, cap_impressions=1000) as hot,
    ):
        yield routes, hot


def _same(routes: TestClient, hot: TestClient, customer: str, query: str) -> bytes:
    got = hot.get(f"/recommend/{customer}{query}")
    expected = routes.get(f"/recommend/{customer}{query}")
    assert got.status_code == expected.status_code == 200
    assert got.content == expected.content, (customer, query)
    return got.content


def test_cold_answers_are_the_routes_bytes_over_many_customers(
    artifact: Artifact, artifacts: Path, own_redis: RedisServer, published: redis.Redis
) -> None:
    with two_apps(artifacts, own_redis) as (routes, hot):
        customers = [str(c) for c in artifact.customers.ids[:: max(1, len(artifact.customers) // 150)]]
        for customer in customers:
            for query in QUERIES:
                _same(routes, hot, customer, query)
            assert _answered_cold(hot, customer), customer
        assert answered(hot, RECOMMEND, "hot_path") == len(customers) * len(QUERIES)


def test_customers_with_live_state_are_answered_in_full_and_alike(
    artifact: Artifact, artifacts: Path, own_redis: RedisServer, published: redis.Redis
) -> None:
    """One customer in ten has events (a purchase, a dismissal, a return of their top items):
    theirs are computed from the `c:` list, the others' from the `a:` document."""
    with two_apps(artifacts, own_redis) as (routes, hot):
        customers = [str(c) for c in artifact.customers.ids[20:80]]
        dismissed: dict[str, str] = {}
        for customer in customers[::10]:
            top = [i["item_id"] for i in orjson.loads(routes.get(f"/recommend/{customer}?k=3").content)["items"]]
            kinds = ["purchase", "dismiss", "return"]
            events = [{"customer_id": customer, "item_id": i, "type": t} for i, t in zip(top, kinds, strict=True)]
            assert routes.post("/events", json={"events": events}, headers=AUTH).status_code == 202
            dismissed[customer] = top[1]
        for customer in customers:
            for query in ["?k=3", "?k=20", "?k=5&include_purchased=true"]:
                items = [i["item_id"] for i in orjson.loads(_same(routes, hot, customer, query))["items"]]
                assert dismissed.get(customer) not in items
                if query == "?k=20":  # before include_purchased=true reads the `c:` list
                    assert _answered_cold(hot, customer) == (customer not in dismissed)


def test_items_available_from_tomorrow_appear_tomorrow_on_both_paths(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catalog where a customer's top items are available from tomorrow: left out today,
    shown after the day changes (the day's availability is decided again), the same on both."""
    customer = str(artifact.customers.ids[7])
    with client_for(artifacts, own_redis.url, hot_path=False, cap_impressions=1000) as routes:
        top = [i["item_id"] for i in routes.get(f"/recommend/{customer}?k=4").json()["items"]][::2]
    today = datetime.now(UTC).date()
    key = contract.document_key(artifact.version, documents.CATALOG)
    catalog = orjson.loads(published.get(key))  # type: ignore[arg-type]
    for item in top:
        catalog[item]["available_from"] = (today + timedelta(days=1)).isoformat()
    published.set(key, orjson.dumps(catalog))
    with (
        client_for(artifacts, own_redis.url, hot_path=False, cap_impressions=1000) as routes,
        client_for(artifacts, own_redis.url, cap_impressions=1000) as hot,
    ):
        for day, shown in [(today, False), (today + timedelta(days=1), True), (today, False)]:
            monkeypatch.setattr("service.core.filters.today", lambda day=day: day)
            for query in ["?k=4", "?k=30"]:
                items = {i["item_id"] for i in orjson.loads(_same(routes, hot, customer, query))["items"]}
                assert (set(top) <= items) is shown and (not set(top) & items) is not shown, (day, query)
            assert _answered_cold(hot, customer)


def test_a_forgotten_customer_is_a_stranger_on_both_paths(
    artifact: Artifact, published: redis.Redis, artifacts: Path, own_redis: RedisServer
) -> None:
    with two_apps(artifacts, own_redis) as (routes, hot):
        customer = str(artifact.customers.ids[11])
        assert orjson.loads(_same(routes, hot, customer, "?k=5"))["source"] == "personal"
        assert published.exists(contract.document_key(artifact.version, documents.answer_doc(customer)))
        assert hot.delete(f"/customers/{customer}", headers=AUTH).status_code == 204
        assert not published.exists(contract.document_key(artifact.version, documents.answer_doc(customer)))
        for query in ["?k=5", ""]:
            body = orjson.loads(_same(routes, hot, customer, query))
            assert body["source"] == "popular"


def test_after_a_version_switch_cold_answers_come_from_the_new_version(
    artifacts: Path, artifact: Artifact, published: redis.Redis, own_redis: RedisServer
) -> None:
    with two_apps(artifacts, own_redis) as (routes, hot):
        customers = [str(c) for c in artifact.customers.ids[30:40]]
        for customer in customers:
            assert orjson.loads(_same(routes, hot, customer, "?k=6"))["model_version"] == artifact.version
        newer = load_artifact(add_version(artifacts, "next"))
        publish(newer, published)
        for customer in customers:
            assert orjson.loads(_same(routes, hot, customer, "?k=6"))["model_version"] == newer.version
            assert _answered_cold(hot, customer)


def _recorded(r: redis.Redis, customer: str) -> dict[str, dict[bytes, bytes]]:
    """What an answer's impressions write: the customer's live hashes and the feedback counters."""
    keys = [*contract.live_keys(customer), contract.FEEDBACK_COUNTS_KEY]
    return {key: fields(r, key) for key in keys if kind(r, key) == "hash"}


def test_cold_answers_record_the_impressions_the_routes_record(
    artifact: Artifact, artifacts: Path, own_redis: RedisServer, published: redis.Redis
) -> None:
    """From the same (empty) live state, one answer by the route and one from the `a:`
    document leave the same counts (same stopped clock on both apps)."""
    customer = str(artifact.customers.ids[17])
    clock = lambda: datetime(2024, 3, 1, 12, 0, tzinfo=UTC)  # noqa: E731
    with (
        TestClient(create_app(settings_for(artifacts, own_redis.url, hot_path=False), clock=clock)) as routes,
        TestClient(create_app(settings_for(artifacts, own_redis.url), clock=clock)) as hot,
    ):
        assert routes.get(f"/recommend/{customer}?k=7").status_code == 200
        by_route = _recorded(published, customer)
        assert any(by_route.values())
        published.delete(*contract.live_keys(customer), contract.FEEDBACK_COUNTS_KEY)
        assert hot.get(f"/recommend/{customer}?k=7").status_code == 200
        assert wait_until(lambda: _recorded(published, customer) == by_route, timeout=5), (
            _recorded(published, customer),
            by_route,
        )
        assert _answered_cold(hot, customer)
