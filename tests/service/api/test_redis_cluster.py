"""The whole product on a real Redis Cluster (3 primaries, 3 replicas, `tests.support.redis_cluster`):
publish writes every shard and switches, rollback, the hot path and the routes answer, events
change the next answer and reach the log, forgetting reaches every shard and version, business
rules apply, and a primary killed under load costs at most degraded answers until its replica
takes over, and no accepted event."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from models import contract
from models.contract.artifact import Artifact, load_artifact
from models.contract.documents import personal_documents
from tests.support.apps import RECOMMEND, add_version, answered, client_for
from tests.support.keys import AUTH
from tests.support.redis_cluster import RedisClusterProcesses
from tests.support.redis_reads import entries, fields
from tests.support.waiting import wait_until
from training import redis_client
from training.publish import publish, rollback

pytestmark = pytest.mark.redis


@pytest.fixture
def cluster(redis_cluster: RedisClusterProcesses) -> Iterator[RedisClusterProcesses]:
    redis_cluster.flush()
    yield redis_cluster
    redis_cluster.flush()


@pytest.fixture
def writer(cluster: RedisClusterProcesses) -> Iterator[redis.Redis]:
    client = redis_client.connect(cluster.url)
    yield client
    client.close()


def _keys_per_primary(cluster: RedisClusterProcesses) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for port in cluster.live_ports():
        node = cluster.client(port)
        if node.info("replication")["role"] == "master":
            found[port] = [k.decode() for k in node.scan_iter(count=1000)]
    return found


def test_publish_writes_every_shard_then_switches_and_rolls_back(
    cluster: RedisClusterProcesses, writer: redis.Redis, artifacts: Path, artifact: Artifact
) -> None:
    first = publish(artifact, writer)
    per_primary = _keys_per_primary(cluster)
    assert len(per_primary) == 3 and all(len(keys) > 100 for keys in per_primary.values())
    customer = str(artifact.customers.ids[7])
    owner = cluster.primary_of(contract.customer_key(first.version, customer))
    own = [k for k in per_primary[owner] if f"{{{customer}}}" in k]
    assert sorted(own) == sorted(contract.document_key(first.version, n) for n in personal_documents(customer))
    second = publish(load_artifact(add_version(artifacts, "b")), writer, workers=2)
    assert second.previous == first.version and writer.get(contract.CURRENT_KEY) == second.version.encode()
    with client_for(artifacts, cluster.url) as client:
        hot = client.get(f"/recommend/{customer}")
        assert hot.status_code == 200 and hot.json()["source"] == "personal" and not hot.json()["degraded"]
        assert hot.json()["model_version"] == second.version
        assert answered(client, RECOMMEND, "hot_path") >= 1
        assert rollback(writer) == first.version
        again = client.get(f"/recommend/{customer}").json()
        assert again["model_version"] == first.version and again["items"] == hot.json()["items"]


def test_old_versions_expire_and_half_written_ones_go_on_every_shard(
    cluster: RedisClusterProcesses, writer: redis.Redis, artifacts: Path, artifact: Artifact
) -> None:
    first = publish(artifact, writer).version
    writer.sadd(contract.PENDING_KEY, "half")  # what a publish killed half-way leaves
    writer.set(contract.customer_key("half", "someone"), b"[]")
    writer.set(contract.document_key("half", "popular"), b"[]")
    publish(load_artifact(add_version(artifacts, "b")), writer)
    publish(load_artifact(add_version(artifacts, "c")), writer)
    keys = _keys_per_primary(cluster)
    old = {port: [k for k in found if k.startswith(f"mo:v:{first}:")] for port, found in keys.items()}
    assert all(old.values())  # the oldest version's keys were on every primary
    for port, found in old.items():
        node = cluster.client(port)
        assert all(0 < int(node.ttl(k)) <= 24 * 3600 for k in found), port
    assert not any(k.startswith("mo:v:half:") for found in keys.values() for k in found)
    assert writer.sismember(contract.EXPIRING_KEY, first) and not writer.sismember(contract.PENDING_KEY, "half")


def test_events_change_the_next_answer_and_reach_the_log(
    cluster: RedisClusterProcesses, writer: redis.Redis, artifacts: Path, artifact: Artifact
) -> None:
    publish(artifact, writer)
    customers = [str(c) for c in artifact.customers.ids[:6]]
    with client_for(artifacts, cluster.url) as client:
        before = {c: client.get(f"/recommend/{c}?k=3").json()["items"][0]["item_id"] for c in customers}
        events = [{"customer_id": c, "item_id": before[c], "type": "dismiss"} for c in customers]
        accepted = client.post("/events", json={"events": events}, headers=AUTH)
        assert accepted.status_code == 202 and accepted.json()["accepted"] == len(customers)
        for c in customers:
            after = [i["item_id"] for i in client.get(f"/recommend/{c}?k=3").json()["items"]]
            assert before[c] not in after, c
        assert client.get(f"/customers/{customers[0]}/export", headers=AUTH).json()["live"]["suppressed"] == [
            before[customers[0]]
        ]
        live = client.app.state.serving.live.state  # type: ignore[attr-defined]
        hidden = client.portal.call(live.hidden_items, int(time.time() * 1000))  # type: ignore[union-attr]  # every shard
        assert {c: set(items) for c, items in hidden.items()} == {c: {before[c]} for c in customers}
    logged = entries(writer, contract.EVENTS_STREAM)
    assert sorted(f[b"customer_id"].decode() for _, f in logged) == sorted(customers)
    dismissals = {k: v for k, v in fields(writer, contract.FEEDBACK_COUNTS_KEY).items() if k.startswith(b"dismiss|")}
    assert sum(int(v) for v in dismissals.values()) == len(customers)


def test_forgetting_reaches_every_shard_and_version(
    cluster: RedisClusterProcesses, writer: redis.Redis, artifacts: Path, artifact: Artifact
) -> None:
    publish(artifact, writer)
    publish(load_artifact(add_version(artifacts, "b")), writer)
    customer = str(artifact.customers.ids[3])
    with client_for(artifacts, cluster.url) as client:
        client.get(f"/recommend/{customer}")
        click = {"customer_id": customer, "item_id": "x", "type": "click"}
        assert client.post("/events", json=click, headers=AUTH).status_code == 202
        assert client.delete(f"/customers/{customer}", headers=AUTH).status_code == 204
        assert client.get(f"/recommend/{customer}").json()["source"] == "popular"
        refused = client.post("/events", json=click, headers=AUTH)
        assert refused.status_code == 409 and refused.json()["error"] == "forgotten"
    marker = contract.forgotten_marker_key(customer)
    naming = [k for keys in _keys_per_primary(cluster).values() for k in keys if f"{{{customer}}}" in k and k != marker]
    assert naming == []
    assert writer.sismember(contract.FORGOTTEN_KEY, customer) and writer.exists(marker)
    assert all(f[b"customer_id"].decode() != customer for _, f in entries(writer, contract.EVENTS_STREAM))


def test_business_rules_apply_on_a_cluster(
    cluster: RedisClusterProcesses, writer: redis.Redis, artifacts: Path, artifact: Artifact
) -> None:
    publish(artifact, writer)
    customer = str(artifact.customers.ids[1])
    with client_for(artifacts, cluster.url) as client:
        top = client.get(f"/recommend/{customer}?k=3").json()["items"][0]["item_id"]
        assert client.post("/rules", json={"kind": "block", "item_id": top}, headers=AUTH).status_code == 201
        assert top not in [i["item_id"] for i in client.get(f"/recommend/{customer}?k=3").json()["items"]]
    assert writer.exists(contract.RULES_KEY)


def test_an_experiment_runs_and_counts_on_a_cluster(
    cluster: RedisClusterProcesses, writer: redis.Redis, artifacts: Path, artifact: Artifact
) -> None:
    publish(artifact, writer)
    customers = [str(c) for c in artifact.customers.ids[:40]]
    with client_for(artifacts, cluster.url) as client:
        body = {"id": "exp-c", "variants": [{"name": "A"}, {"name": "B"}]}
        assert client.post("/experiments", json=body, headers=AUTH).status_code == 201
        variants = {c: client.get(f"/recommend/{c}").json()["variant"] for c in customers}
        assert set(variants.values()) == {"A", "B"}

        def exposed() -> int:
            results = client.get("/experiments/exp-c", headers=AUTH).json()
            return sum(int(v["customers"]) for v in results["variants"])

        assert wait_until(lambda: exposed() == len(customers), timeout=10), exposed()
        assert client.post("/experiments/exp-c/stop", headers=AUTH).status_code == 200
        assert client.get(f"/recommend/{customers[0]}").json()["variant"] is None


class Load(threading.Thread):
    """Reads and events in a loop until stopped; keeps every answer's status and degraded flag
    with its time, and every event that was accepted."""

    def __init__(self, client: TestClient, customers: list[str], item: str) -> None:
        super().__init__(daemon=True)
        self.client, self.customers, self.item = client, customers, item
        self.answers: list[tuple[float, int, bool]] = []
        self.accepted: list[str] = []  # "customer|ts"
        self.halt = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            customer = self.customers[n % len(self.customers)]
            resp = self.client.get(f"/recommend/{customer}")
            body: dict[str, Any] = resp.json() if resp.status_code == 200 else {}
            self.answers.append((time.monotonic(), resp.status_code, bool(body.get("degraded"))))
            ts = 1_700_000_000 + n
            event = {"customer_id": customer, "item_id": self.item, "type": "click", "timestamp": ts}
            if self.client.post("/events", json=event, headers=AUTH).status_code // 100 == 2:
                self.accepted.append(f"{customer}|{ts * 1000}")
            n += 1


def test_a_primary_killed_under_load_costs_no_answer_and_no_accepted_event(
    cluster: RedisClusterProcesses, writer: redis.Redis, artifacts: Path, artifact: Artifact
) -> None:
    version = publish(artifact, writer).version
    customers = [str(c) for c in artifact.customers.ids[:30]]
    victim = customers[0]
    item = str(artifact.items.ids[0])
    with client_for(artifacts, cluster.url) as client:
        load = Load(client, customers, item)
        load.start()
        time.sleep(1.0)
        key = contract.customer_key(version, victim)
        killed = cluster.kill_primary_of(key)
        killed_at = time.monotonic()
        cluster.wait_for_failover(key, killed)
        ok_at = time.monotonic()
        time.sleep(4.0)  # past the breaker's longest pause (2 s): answers come from Redis again
        load.halt.set()
        load.join(30)
    cluster.restart(killed)
    statuses = {status for _, status, _ in load.answers}
    assert statuses == {200}
    degraded = [t for t, _, flag in load.answers if flag]
    assert all(killed_at <= t <= ok_at + 3.0 for t in degraded), (killed_at, ok_at, degraded[-5:])
    last = [flag for t, _, flag in load.answers if t > ok_at + 3.0]
    assert last and not any(last)
    after = entries(writer, contract.EVENTS_STREAM)
    logged = {f"{f[b'customer_id'].decode()}|{f[b'ts'].decode()}" for _, f in after}
    assert load.accepted and set(load.accepted) <= logged
