"""`microoffers serve --workers 2` as deployed: a real supervisor process with two uvicorn workers
over one Redis. Both workers answer (each stamps its own random prefix on `X-Request-ID`, see
`service.http.middleware.request_id_of`), both answer on the hot path, they answer alike, and
SIGTERM stops the supervisor and its workers cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _worker_of(response: httpx.Response) -> str:
    """The per-process prefix of a generated request id (`<prefix>-<counter>`)."""
    return response.headers["x-request-id"].split("-", 1)[0]


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
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "MICROOFFERS_ACCESS_LOG": "false",
        "MICROOFFERS_CAP_IMPRESSIONS": "1000000",  # every answer to a request stays the same
    }
    command = ["serve", "--artifacts", str(artifacts), "--redis-url", own_redis.url, "--workers", "2"]
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(  # `python -m cli.main` is the `microoffers` entry point (pyproject scripts)
        [sys.executable, "-m", "cli.main", *command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_until(lambda: _ready(base), timeout=90), (tmp_path / "serve.log").read_text()
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
