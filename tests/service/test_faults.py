"""Redis down, slow or restarted mid-traffic: the service keeps answering from its fallback,
flags it, and returns to Redis by itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from service.app import create_app
from service.settings import Settings
from tests.conftest import RedisServer, wait_until
from training.publish import publish

pytestmark = pytest.mark.redis


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, so stopping it disturbs no other test."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(own_redis: RedisServer, trained_artifacts: Path) -> Iterator[TestClient]:
    publish(load_artifact(trained_artifacts), redis.Redis.from_url(own_redis.url))
    settings = Settings(artifacts=trained_artifacts, redis_url=own_redis.url, redis_timeout_s=0.2)
    with TestClient(create_app(settings)) as c:
        yield c


def _customer(trained_artifacts: Path) -> str:
    return str(load_artifact(trained_artifacts).customers.ids[3])


def test_redis_down_answers_degraded_personal_list(
    client: TestClient, own_redis: RedisServer, trained_artifacts: Path
) -> None:
    cid = _customer(trained_artifacts)
    healthy = client.get(f"/recommend/{cid}?k=5").json()
    own_redis.stop()
    resp = client.get(f"/recommend/{cid}?k=5")
    assert resp.status_code == 200
    body = resp.json()
    assert body["degraded"] is True and body["source"] == "personal"
    assert [i["item_id"] for i in body["items"]] == [i["item_id"] for i in healthy["items"]]
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["degraded"] is True


def test_service_returns_to_redis_after_restart(
    client: TestClient, own_redis: RedisServer, trained_artifacts: Path
) -> None:
    cid = _customer(trained_artifacts)
    own_redis.stop()
    assert client.get(f"/recommend/{cid}").json()["degraded"] is True
    own_redis.start()  # same port, empty: publish again, as a recovering deployment would
    publish(load_artifact(trained_artifacts), redis.Redis.from_url(own_redis.url))
    assert wait_until(lambda: client.get(f"/recommend/{cid}").json()["degraded"] is False, timeout=10)
    ready = client.get("/ready").json()
    assert ready["degraded"] is False and ready["ready"] is True and ready["store_reachable"] is True


def test_slow_redis_counts_as_down(client: TestClient, own_redis: RedisServer, trained_artifacts: Path) -> None:
    cid = _customer(trained_artifacts)
    sleeper = redis.Redis.from_url(own_redis.url)
    blocker = threading.Thread(target=lambda: sleeper.execute_command("DEBUG", "SLEEP", 1.5))
    blocker.start()
    time.sleep(0.1)
    start = time.monotonic()
    body = client.get(f"/recommend/{cid}").json()
    elapsed = time.monotonic() - start
    blocker.join()
    assert body["degraded"] is True
    assert elapsed < 1.2  # answered from the fallback, not after Redis woke up


def test_no_errors_while_redis_restarts_under_traffic(
    client: TestClient, own_redis: RedisServer, trained_artifacts: Path
) -> None:
    cid = _customer(trained_artifacts)
    statuses: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            statuses.append(client.get(f"/recommend/{cid}?k=3").status_code)

    t = threading.Thread(target=traffic)
    t.start()
    time.sleep(0.3)
    own_redis.stop()
    time.sleep(0.5)
    own_redis.start()
    time.sleep(0.3)
    stop.set()
    t.join()
    assert len(statuses) > 10 and set(statuses) == {200}


def test_redis_down_without_fallback_is_503_with_retry_hint(own_redis: RedisServer, tmp_path: Path) -> None:
    settings = Settings(artifacts=tmp_path / "none", redis_url=own_redis.url, redis_timeout_s=0.2)
    with TestClient(create_app(settings)) as c:
        own_redis.stop()
        resp = c.get("/recommend/123")
        assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
        assert resp.json()["error"] == "unavailable"
        assert c.get("/ready").status_code == 503


def test_store_segments_and_similar_answer_degraded_while_redis_down(
    client: TestClient, own_redis: RedisServer, trained_artifacts: Path
) -> None:
    cid = _customer(trained_artifacts)
    item = client.get(f"/recommend/{cid}?k=1").json()["items"][0]["item_id"]
    own_redis.stop()
    for url in (f"/personal-store/{cid}", "/segments", "/segments/0", "/segments/0/offers", f"/items/{item}/similar"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert resp.json()["degraded"] is True, url
