"""The hot path (`service.hotpath`) answers exactly what the routes answer, declines what it does
not handle, follows version switches and erasures made by other workers at once, records
impressions, and steps aside while Redis is down. Everything runs on real Redis servers; one
test runs a real uvicorn (uvloop) process, the loop production uses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis

from models import contract
from models.contract.artifact import Artifact, load_artifact
from service.hotpath.app import RECOMMEND_QUERY, STORE_QUERY, parse_query
from service.hotpath.batcher import RedisBatcher
from service.http.params import MAX_RECOMMEND_K, MAX_STORE_K
from service.live import LivePolicy, RedisLiveState
from service.live.impressions import encode_impressions
from service.live.state import Impressions
from service.storage.stores import RedisStore
from tests.support.apps import RECOMMEND, STORE, add_version, answered, client_for
from tests.support.keys import AUTH
from tests.support.paths import ROOT
from tests.support.redis_reads import fields
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_until
from training.publish import publish

pytestmark = pytest.mark.redis

NOW_MS = 1_800_000_000_000


def customers(artifact: Artifact, n: int) -> list[str]:
    known = [str(c) for c in artifact.customers.ids[:n]]
    return [*known, "never-seen-1", "never-seen-2"]


@pytest.mark.redis
def test_hot_path_answers_exactly_what_the_routes_answer(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    queries = ["", "?k=3", "?k=25&include_purchased=true", "?include_purchased=false&k=7", "?k=100"]
    no_cap = {"cap_impressions": 1000}  # both answer each query: capping would change the second answer
    with (
        client_for(artifacts, own_redis.url, hot_path=False, **no_cap) as routes,
        client_for(artifacts, own_redis.url, **no_cap) as hot,
    ):
        for customer in customers(artifact, 30):
            for query in queries:
                expected = routes.get(f"/recommend/{customer}{query}")
                got = hot.get(f"/recommend/{customer}{query}")
                assert got.status_code == expected.status_code == 200
                assert got.json() == expected.json(), (customer, query)
                assert got.headers["content-type"] == "application/json"
                assert got.headers["x-content-type-options"] == "nosniff" and got.headers["x-request-id"]
            for query in ["", "?k=2", "?k=50"]:
                expected = routes.get(f"/personal-store/{customer}{query}")
                got = hot.get(f"/personal-store/{customer}{query}")
                assert got.json() == expected.json(), (customer, query)
        n_recommend = 32 * len(queries)
        assert answered(hot, RECOMMEND, "hot_path") == n_recommend
        assert answered(hot, STORE, "hot_path") == 32 * 3
        assert answered(routes, RECOMMEND, "hot_path") == 0  # turned off: the routes answered
        assert 'route="/recommend/{customer_id}",status="200"' in hot.get("/metrics").text


@pytest.mark.redis
def test_unusual_requests_go_to_the_routes(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[0])
    with client_for(artifacts, own_redis.url) as client:
        bad = client.get(f"/recommend/{customer}?k=0")
        assert bad.status_code == 422 and "k" in bad.text
        assert client.get(f"/recommend/{customer}?k=abc").status_code == 422
        assert client.get("/recommend/bad%20id").status_code == 422
        assert client.get(f"/recommend/{customer}?k={MAX_RECOMMEND_K + 1}").status_code == 422
        assert client.get(f"/personal-store/{customer}?k={MAX_STORE_K + 1}").status_code == 422
        excluded = client.get(f"/recommend/{customer}?k=5")
        first = excluded.json()["items"][0]["item_id"]
        without = client.get(f"/recommend/{customer}?k=5&exclude={first}").json()
        assert first not in [i["item_id"] for i in without["items"]]
        # a repeated parameter is the route's to read: FastAPI takes the last value given
        twice = client.get(f"/recommend/{customer}?k=5&k=6")
        assert twice.status_code == 200 and len(twice.json()["items"]) == 6
        assert answered(client, RECOMMEND, "route") == 6
        assert answered(client, RECOMMEND, "hot_path") == 1
        assert answered(client, STORE, "route") == 1
        # the largest k either way: the hot path answers it, as the route would
        assert client.get(f"/personal-store/{customer}?k={MAX_STORE_K}").status_code == 200
        assert answered(client, STORE, "hot_path") == 1


def test_parse_query_accepts_only_known_single_valid_parameters() -> None:
    assert parse_query(b"", RECOMMEND_QUERY) == {}
    assert parse_query(b"k=12&include_purchased=true", RECOMMEND_QUERY) == {b"k": 12, b"include_purchased": True}
    for refused in (
        b"k=0",
        b"k=%d" % (MAX_RECOMMEND_K + 1),
        b"k=1000",
        b"k=1&k=2",
        b"k",
        b"k=1&",
        b"exclude=a",
        b"include_purchased=maybe",
        b"k=-1",
        b"k=%201",
    ):
        assert parse_query(refused, RECOMMEND_QUERY) is None, refused
    assert parse_query(b"k=%d" % MAX_RECOMMEND_K, RECOMMEND_QUERY) == {b"k": MAX_RECOMMEND_K}
    assert parse_query(b"k=%d" % MAX_STORE_K, STORE_QUERY) == {b"k": MAX_STORE_K}
    assert parse_query(b"k=%d" % (MAX_STORE_K + 1), STORE_QUERY) is None


@pytest.mark.redis
def test_a_new_version_is_served_by_the_first_request_after_the_switch(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[0])
    with client_for(artifacts, own_redis.url) as client:
        assert client.get(f"/recommend/{customer}").json()["model_version"] == artifact.version
        assert client.get(f"/personal-store/{customer}").json()["model_version"] == artifact.version
        newer = load_artifact(add_version(artifacts, "next"))
        publish(newer, published)
        assert client.get(f"/recommend/{customer}").json()["model_version"] == newer.version
        assert client.get(f"/personal-store/{customer}").json()["model_version"] == newer.version
        assert answered(client, RECOMMEND, "hot_path") == 2


@pytest.mark.redis
def test_an_erasure_on_one_worker_empties_every_workers_cached_answers(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[3])
    with client_for(artifacts, own_redis.url) as worker_a, client_for(artifacts, own_redis.url) as worker_b:
        assert worker_b.get(f"/recommend/{customer}").json()["source"] == "personal"
        assert worker_b.get(f"/personal-store/{customer}").json()["source"] == "personal"
        assert worker_a.delete(f"/customers/{customer}", headers=AUTH).status_code == 204
        # worker B never heard of the deletion, and answered this customer from its cache before
        assert worker_b.get(f"/recommend/{customer}").json()["source"] == "popular"
        assert worker_b.get(f"/personal-store/{customer}").json()["source"] == "popular"
        assert answered(worker_b, RECOMMEND, "hot_path") == 2


@pytest.mark.redis
def test_impressions_of_hot_answers_reach_redis_and_cap_items(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[5])
    with client_for(artifacts, own_redis.url, cap_impressions=2) as client:
        first = [i["item_id"] for i in client.get(f"/recommend/{customer}?k=3").json()["items"]]
        assert wait_until(lambda: published.hlen(f"mo:live:{{{customer}}}:shown") == 3, timeout=5)
        assert [i["item_id"] for i in client.get(f"/recommend/{customer}?k=3").json()["items"]] == first
        # shown twice: capped, so the next answer rotates to other items
        third = [i["item_id"] for i in client.get(f"/recommend/{customer}?k=3").json()["items"]]
        assert not set(third) & set(first)
        counts = {k.decode(): int(v) for k, v in fields(published, contract.FEEDBACK_COUNTS_KEY).items()}
        assert wait_until(
            lambda: (
                sum(
                    int(v)
                    for k, v in fields(published, contract.FEEDBACK_COUNTS_KEY).items()
                    if k.startswith(b"impression|")
                )
                == 9
            ),
            timeout=5,
        ), counts
        assert answered(client, RECOMMEND, "hot_path") == 3


@pytest.mark.redis
def test_while_redis_is_down_the_routes_answer_from_the_fallback(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    customer = str(artifact.customers.ids[1])
    with client_for(artifacts, own_redis.url) as client:
        fresh = client.get(f"/recommend/{customer}?k=5").json()
        assert fresh["degraded"] is False
        own_redis.stop()
        down = client.get(f"/recommend/{customer}?k=5")
        assert down.status_code == 200 and down.json()["degraded"] is True
        assert [i["item_id"] for i in down.json()["items"]] == [i["item_id"] for i in fresh["items"]]
        own_redis.start()  # empty (no persistence): publish again, as a recovering deployment would
        publish(artifact, redis.Redis.from_url(own_redis.url))
        assert wait_until(lambda: client.get(f"/recommend/{customer}?k=5").json()["degraded"] is False, timeout=15)
        assert answered(client, RECOMMEND, "route") >= 1
        hot_before = answered(client, RECOMMEND, "hot_path")
        client.get(f"/recommend/{customer}?k=5")
        assert answered(client, RECOMMEND, "hot_path") == hot_before + 1  # the hot path is back too


@pytest.mark.redis
def test_a_real_uvicorn_worker_answers_on_the_hot_path(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis
) -> None:
    """uvloop's transports are not asyncio's: the hot path's own Redis connection must work on
    the loop production runs (the test client runs asyncio's)."""
    port = free_port()
    env = {
        **os.environ,
        "MICROOFFERS_ARTIFACTS": str(artifacts),
        "REDIS_URL": own_redis.url,
        "MICROOFFERS_ACCESS_LOG": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "service.app:create_app",
            "--factory",
            "--loop",
            "uvloop",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _up(base), timeout=60)
        customer = str(artifact.customers.ids[2])
        for _ in range(3):
            answer = httpx.get(f"{base}/recommend/{customer}?k=4", timeout=5)
            assert answer.status_code == 200 and len(answer.json()["items"]) == 4
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        assert (
            'microoffers_hot_path_answers_total{answered_by="hot_path",route="/recommend/{customer_id}"} 3.0' in metrics
        )
        assert 'answered_by="route",route="/recommend/{customer_id}"' not in metrics
    finally:
        proc.terminate()
        proc.wait(20)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.redis
def test_both_writers_leave_the_same_state_and_survive_a_script_flush(own_redis: RedisServer) -> None:
    """The routes' writer (`RedisLiveState.record_impressions`) and the hot path's
    (`RedisBatcher.shown`) send the same commands: an answer whose items were all at the cap
    adds to the feedback counter without touching the customer's per-item counts; one with new
    items writes those. After `SCRIPT FLUSH` (what a Redis restart does) both still record."""

    def shown(who: str, customer: str, items: tuple[str, ...], capped: tuple[str, ...]) -> Impressions:
        return Impressions(f"{who}-{customer}", items, "personal", "recommend", who, capped)

    answers = [("at-cap", ("a", "b"), ("a", "b")), ("fresh", ("a", "b"), ("b",)), ("later", ("c",), ())]
    client = redis.Redis.from_url(own_redis.url)
    client.set(contract.CURRENT_KEY, "v1")

    def counted(who: str) -> int:
        return int(client.hget(contract.FEEDBACK_COUNTS_KEY, f"impression|personal|recommend|{who}") or 0)

    async def eventually(check: Callable[[], bool]) -> bool:
        for _ in range(500):
            if check():
                return True
            await asyncio.sleep(0.01)
        return False

    async def scenario() -> None:
        store = RedisStore(own_redis.url)
        live = RedisLiveState(store.client, LivePolicy(cap_impressions=2), store.guard)
        batcher = RedisBatcher(store, live, lambda: NOW_MS)
        for n, (customer, items, capped) in enumerate(answers):
            flush = n == 2  # before each writer: both meet a Redis without the script
            if flush:
                client.script_flush()
            await live.record_impressions(shown("route", customer, items, capped), NOW_MS)
            if flush:
                client.script_flush()
            hot = shown("hot", customer, items, capped)
            batcher.shown(hot, encode_impressions(hot))
            assert await eventually(lambda: counted("hot") == counted("route")), n
        batcher.connection.close()
        await store.close()

    asyncio.run(scenario())
    for customer, _, _ in answers:
        route, hot = (client.hgetall(f"mo:live:{{{who}-{customer}}}:shown") for who in ("route", "hot"))
        assert route == hot, customer
    assert counted("route") == 5
    assert client.hlen("mo:live:{route-at-cap}:shown") == 0
    assert set(client.hkeys("mo:live:{route-fresh}:shown")) == {b"a"}
    assert set(client.hkeys("mo:live:{route-later}:shown")) == {b"c"}  # written after the flush
    client.close()
