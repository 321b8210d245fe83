"""A newly published model is picked up without a restart (POST /admin/reload or the file watch)
and without a failed request during the switch; `microoffers rollback` switches back the same way."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from models.contract.artifact import Artifact, load_artifact
from tests.support.apps import add_version, client_for
from tests.support.keys import AUTH
from tests.support.paths import ROOT
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from training.publish import publish


def _customer(artifact: Artifact) -> str:
    return str(artifact.customers.ids[5])


def _version(client: TestClient, customer: str) -> str:
    return str(client.get(f"/recommend/{customer}?k=3").json()["model_version"])


def test_reload_switches_version_with_no_failed_request(artifacts: Path, artifact: Artifact) -> None:
    customer = _customer(artifact)
    seen: list[tuple[int, str | None]] = []
    stop = threading.Event()
    with client_for(artifacts) as client:

        def traffic() -> None:
            while not stop.is_set():
                resp = client.get(f"/recommend/{customer}?k=5")
                seen.append((resp.status_code, resp.json().get("model_version")))

        worker = threading.Thread(target=traffic)
        worker.start()
        assert wait_until(lambda: len(seen) > 5)
        new = add_version(artifacts, "next")
        answer = client.post("/admin/reload", headers=AUTH)
        count_at_switch = len(seen)
        assert wait_until(lambda: len(seen) > count_at_switch + 5)
        stop.set()
        worker.join()
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"previous_version": artifact.version, "version": new.name, "changed": True}
        assert {status for status, _ in seen} == {200}
        versions = [v for _, v in seen]
        assert versions[0] == artifact.version and versions[-1] == new.name
        # once the new version answered, the old one never comes back
        assert artifact.version not in versions[versions.index(new.name) :]
        again = client.post("/admin/reload", headers=AUTH).json()
        assert again == {"previous_version": new.name, "version": new.name, "changed": False}


def test_reload_needs_the_key(artifacts: Path) -> None:
    with client_for(artifacts) as client:
        assert client.post("/admin/reload").status_code == 401
        assert client.post("/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
    with client_for(artifacts, api_key=None) as client:
        resp = client.post("/admin/reload", headers=AUTH)
        assert resp.status_code == 403 and resp.json()["error"] == "forbidden"


def test_watch_picks_up_a_new_version(artifacts: Path, artifact: Artifact) -> None:
    customer = _customer(artifact)
    with client_for(artifacts, reload_interval_s=0.1) as client:
        assert _version(client, customer) == artifact.version
        new = add_version(artifacts, "watched")
        assert wait_until(lambda: _version(client, customer) == new.name, timeout=10)


def test_unreadable_new_version_keeps_the_old_one_serving(artifacts: Path, artifact: Artifact) -> None:
    customer = _customer(artifact)
    with client_for(artifacts) as client:
        broken = add_version(artifacts, "broken")
        (broken / "lists.npz").write_bytes(b"not a zip file")
        resp = client.post("/admin/reload", headers=AUTH)
        assert resp.status_code == 409
        body = resp.json()
        assert body["error"] == "conflict" and "lists.npz" in body["message"] and artifact.version in body["message"]
        assert _version(client, customer) == artifact.version


@pytest.mark.redis
def test_rollback_switches_without_restart_and_reload_moves_the_fallback(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer
) -> None:
    customer = _customer(artifact)
    writer = redis.Redis.from_url(own_redis.url)
    publish(artifact, writer)
    new = load_artifact(add_version(artifacts, "published"))
    publish(new, writer)
    with client_for(artifacts, own_redis.url) as client:
        assert _version(client, customer) == new.version
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", "rollback", "--redis-url", own_redis.url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert _version(client, customer) == artifact.version  # Redis resolves mo:current per request
        reload = client.post("/admin/reload", headers=AUTH).json()
        assert reload == {"previous_version": new.version, "version": artifact.version, "changed": True}
        own_redis.stop()
        degraded = client.get(f"/recommend/{customer}?k=3").json()
        assert degraded["degraded"] is True and degraded["model_version"] == artifact.version
