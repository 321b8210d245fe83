"""`microoffers serve --workers 2` as deployed: a real supervisor process with two uvicorn workers
over one Redis. Both workers answer (each stamps its own random prefix on `X-Request-ID`, see
`service.http.middleware.request_id_of`), both answer on the hot path, they answer alike, and
SIGTERM stops the supervisor and its workers cleanly. And two separate `serve --reuse-port`
processes on one port: a burst of new connections is answered by both.

Every wait is for a state (both processes ready, both answered), never a fixed sleep: on a busy
machine a worker may take many seconds to import and open its Redis connections."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
import redis

from models.contract.artifact import Artifact
from tests.support.apps import RECOMMEND
from tests.support.paths import ROOT
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _children(pid: int) -> set[int]:
    """The live child processes of `pid` (Linux `/proc`)."""
    raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in raw.split()}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _worker_of(response: httpx.Response) -> str:
    """The per-process prefix of a generated request id (`<prefix>-<counter>`)."""
    return response.headers["x-request-id"].split("-", 1)[0]


def _workers_ready(base: str, expected: int) -> bool:
    """`expected` distinct processes have answered /ready with 200 (new connections spread over
    them; a process still starting does not accept, so this waits for the slowest one)."""
    seen: set[str] = set()
    for _ in range(8 * expected):
        try:
            response = httpx.get(f"{base}/ready", timeout=2)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        seen.add(_worker_of(response))
        if len(seen) >= expected:
            return True
    return False


def _serve(command: list[str], port: int, log: BinaryIO) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "MICROOFFERS_ACCESS_LOG": "false",
        "MICROOFFERS_CAP_IMPRESSIONS": "1000000",  # every answer to a request stays the same
    }
    return subprocess.Popen(  # `python -m cli.main` is the `microoffers` entry point (pyproject scripts)
        [sys.executable, "-m", "cli.main", *command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _hot_answers(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("microoffers_hot_path_answers_total{") and 'answered_by="hot_path"' in line:
            if f'route="{RECOMMEND}"' in line:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_two_workers_both_answer_alike_and_stop_on_sigterm(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = ["serve", "--artifacts", str(artifacts), "--redis-url", own_redis.url, "--workers", "2"]
    log = (tmp_path / "serve.log").open("wb")
    proc = _serve(command, port, log)
    try:
        assert wait_until(lambda: _workers_ready(base, 2), timeout=120), (tmp_path / "serve.log").read_text()
        workers = _children(proc.pid)
        assert len(workers) >= 2
        customers = [str(c) for c in artifact.customers.ids[:8]]
        answers: dict[str, dict[str, object]] = {}  # worker -> request path -> body

        def ask(path: str) -> httpx.Response:
            return httpx.get(f"{base}{path}", timeout=10)  # a new connection each: the kernel picks the worker

        def both_workers_answered() -> bool:
            paths = [f"/recommend/{c}?k=4" for c in customers] * 4
            with ThreadPoolExecutor(16) as pool:
                for path, response in zip(paths, pool.map(ask, paths), strict=True):
                    assert response.status_code == 200, response.text
                    answers.setdefault(_worker_of(response), {})[path] = response.json()
            return len(answers) >= 2

        assert wait_until(both_workers_answered, timeout=60), answers.keys()
        assert len(answers) == 2
        first, second = answers.values()
        for path in first.keys() & second.keys():
            assert first[path] == second[path], path
        hot: dict[str, float] = {}

        def both_report_hot_answers() -> bool:
            response = ask("/metrics")
            hot[_worker_of(response)] = _hot_answers(response.text)
            return hot.keys() == answers.keys()

        assert wait_until(both_report_hot_answers, timeout=30), hot
        assert all(n > 0 for n in hot.values()), hot  # each worker answered on its hot path
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0
        assert wait_until(lambda: not any(_alive(pid) for pid in workers), timeout=10)
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in output, output


def test_two_serve_processes_share_one_port_with_reuse_port(
    artifacts: Path, artifact: Artifact, own_redis: RedisServer, published: redis.Redis, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = ["serve", "--artifacts", str(artifacts), "--redis-url", own_redis.url, "--reuse-port"]
    logs = [(tmp_path / f"serve-{n}.log").open("wb") for n in range(2)]
    procs = [_serve(command, port, log) for log in logs]
    try:
        assert wait_until(lambda: _workers_ready(base, 2), timeout=120), [p.poll() for p in procs]
        customers = [str(c) for c in artifact.customers.ids[:8]]
        paths = [f"/recommend/{c}?k=4" for c in customers] * 8
        with ThreadPoolExecutor(16) as pool:  # a new connection per request: the kernel picks the process
            responses = list(pool.map(lambda path: httpx.get(f"{base}{path}", timeout=10), paths))
        assert {r.status_code for r in responses} == {200}
        by_process: dict[str, dict[str, object]] = {}
        for path, response in zip(paths, responses, strict=True):
            by_process.setdefault(_worker_of(response), {})[path] = response.json()
        assert len(by_process) == 2, by_process.keys()  # the burst spread over both processes
        first, second = by_process.values()
        assert all(first[path] == second[path] for path in first.keys() & second.keys())
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        # a single uvicorn process re-raises the SIGTERM it handled once it has shut down
        assert {proc.wait(timeout=40) for proc in procs} <= {0, -signal.SIGTERM}
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for log in logs:
            log.close()
    for n in range(2):
        output = (tmp_path / f"serve-{n}.log").read_text()
        assert "Traceback" not in output, output
