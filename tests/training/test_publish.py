"""Publishing into a real Redis: versioned, atomic, rollback-able, crash-safe."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis

from models import contract
from models.contract.artifact import load_artifact
from tests.support.redis_reads import value
from training.publish import PENDING_KEY, cleanup_half_written, publish, rollback

pytestmark = pytest.mark.redis


def _renamed(path: Path, version: str):  # type: ignore[no-untyped-def]
    a = load_artifact(path)
    a.manifest = {**a.manifest, "version": version}
    return a


def test_publish_writes_every_customer_and_switches(trained_artifacts: Path, redis_client: redis.Redis) -> None:
    a = load_artifact(trained_artifacts)
    report = publish(a, redis_client)
    assert value(redis_client, contract.CURRENT_KEY).decode() == a.version
    assert report.customers == len(a.customers)
    some = str(a.customers.ids[7])
    offers = contract.decode_offers(value(redis_client, contract.customer_key(a.version, some)))
    assert offers and any(not o.bought for o in offers)
    assert redis_client.get(contract.popular_key(a.version))


def test_second_publish_keeps_previous_for_rollback(trained_artifacts: Path, redis_client: redis.Redis) -> None:
    publish(_renamed(trained_artifacts, "v1"), redis_client)
    report = publish(_renamed(trained_artifacts, "v2"), redis_client)
    assert report.previous == "v1"
    assert rollback(redis_client) == "v1"
    assert redis_client.get(contract.CURRENT_KEY) == b"v1"
    assert redis_client.get(contract.PREVIOUS_KEY) == b"v2"


def test_rollback_without_previous_is_a_clear_error(redis_client: redis.Redis) -> None:
    with pytest.raises(redis.ResponseError, match="no previous version"):
        rollback(redis_client)


def test_reader_during_publish_sees_one_whole_version(trained_artifacts: Path, redis_client: redis.Redis) -> None:
    """Each read resolves the current version once and finds that version's customer list
    complete; it never sees a version switched to before its lists were all written."""
    publish(_renamed(trained_artifacts, "v1"), redis_client)
    a2 = _renamed(trained_artifacts, "v2")
    last_customer = str(a2.customers.ids[-1])
    seen: list[str] = []
    broken: list[str] = []
    stop = threading.Event()
    reader = redis.Redis(connection_pool=redis_client.connection_pool)

    def read() -> None:
        while not stop.is_set():
            version = value(reader, contract.CURRENT_KEY).decode()
            seen.append(version)
            if reader.get(contract.customer_key(version, last_customer)) is None:
                broken.append(version)
            if reader.get(contract.complete_key(version)) is None:
                broken.append(version)

    t = threading.Thread(target=read)
    t.start()
    publish(a2, redis_client, chunk_size=50)
    stop.set()
    t.join()
    assert broken == []
    assert set(seen) <= {"v1", "v2"} and "v1" in seen


def test_half_written_version_is_cleaned_up(trained_artifacts: Path, redis_client: redis.Redis) -> None:
    publish(_renamed(trained_artifacts, "v1"), redis_client)
    redis_client.sadd(PENDING_KEY, "dead")
    redis_client.set(contract.customer_key("dead", "x"), b"[]")
    assert cleanup_half_written(redis_client) == ["dead"]
    assert redis_client.get(contract.customer_key("dead", "x")) is None
    assert redis_client.get(contract.CURRENT_KEY) == b"v1"


def test_publish_in_worker_processes_writes_the_same_documents(
    trained_artifacts: Path, redis_client: redis.Redis
) -> None:
    from models.contract.documents import customer_documents

    a = load_artifact(trained_artifacts)
    seen: list[int] = []
    report = publish(a, redis_client, chunk_size=50, workers=2, progress=lambda done, _n: seen.append(done))
    assert report.customers == len(a.customers) and seen[-1] == len(a.customers)
    expected = dict(customer_documents(a))
    keys = [contract.document_key(a.version, name) for name in expected]
    assert redis_client.mget(keys) == list(expected.values())
    assert value(redis_client, contract.CURRENT_KEY).decode() == a.version
