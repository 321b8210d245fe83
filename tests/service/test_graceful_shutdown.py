"""SIGTERM to a real uvicorn process: requests in flight finish with their answers, and every
event answered 202 is in the durable log when the service starts again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from models.contract.artifact import Artifact
from tests.support.apps import client_for
from tests.support.keys import API_KEY, AUTH
from tests.support.paths import ROOT
from tests.support.redis_server import free_port
from tests.support.slow_app import DELAYED
from tests.support.waiting import wait_until


def _start(artifacts: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MICROOFFERS_ARTIFACTS": str(artifacts),
        "MICROOFFERS_API_KEY": API_KEY,
        "MICROOFFERS_ACCESS_LOG": "false",
    }
    env.pop("REDIS_URL", None)
    env.pop("MICROOFFERS_REDIS_URL", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.support.slow_app:create_slow_app",
            "--factory",
            "--app-dir",
            str(ROOT),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--timeout-graceful-shutdown",
            "20",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _delayed(base: str) -> int:
    """How many requests are inside the server, waiting out their delay."""
    return int(httpx.get(f"{base}{DELAYED}", timeout=1).text)


def test_sigterm_lets_requests_in_flight_finish_and_loses_no_event(artifacts: Path, artifact: Artifact) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    customers = [str(c) for c in artifact.customers.ids[:4]]
    item = str(artifact.items.ids[0])
    server = _start(artifacts, port)
    try:
        assert wait_until(lambda: _ready(base), timeout=60), "service did not start"
        slow = {"X-Test-Delay-S": "3"}  # long enough for all eight to be inside at once

        def slow_read(customer: str) -> int:
            return httpx.get(f"{base}/recommend/{customer}", headers=slow, timeout=30).status_code

        def slow_event(customer: str) -> tuple[int, list[str]]:
            event = {"customer_id": customer, "item_id": item, "type": "purchase"}
            resp = httpx.post(f"{base}/events", json=event, headers={**slow, **AUTH}, timeout=30)
            return resp.status_code, resp.json().get("ids", [])

        with ThreadPoolExecutor(8) as pool:
            reads = [pool.submit(slow_read, c) for c in customers]
            writes = [pool.submit(slow_event, c) for c in customers]
            assert wait_until(lambda: _delayed(base) == 8, timeout=2.5), "the eight requests were not in flight at once"
            server.send_signal(signal.SIGTERM)
            read_codes = [f.result() for f in reads]
            written = [f.result() for f in writes]
        # uvicorn re-raises the signal once it has shut down cleanly, so the exit status says SIGTERM
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    errors = server.stderr.read().decode() if server.stderr else ""
    assert "Traceback" not in errors, errors
    assert read_codes == [200] * 4
    assert [code for code, _ in written] == [202] * 4
    accepted = {ids[0] for _, ids in written}
    with client_for(artifacts) as restarted:  # same artifacts and event log, new process state
        logged = set()
        for customer in customers:
            export = restarted.get(f"/customers/{customer}/export", headers=AUTH).json()
            logged |= {e["id"] for e in export["live"]["events"]}
            assert export["live"]["purchases"] == {item: 1}  # replayed into the live state
    assert logged == accepted
