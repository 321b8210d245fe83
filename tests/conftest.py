"""Shared fixtures: a real redis-server the suite starts and stops itself, a small real data slice,
and one trained artifact reused by the tests that only read it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "online_retail_ii_2009_2010.parquet"
SHARED_DATA = ROOT.parent / "shared" / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A real `redis-server` on a free loopback port, in its own temp dir; can be stopped and
    restarted on the same port (fault tests do)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run `make test`, which installs it")
        self.binary, self.workdir, self.port = binary, workdir, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--enable-debug-command", "local"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A clean database for each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def retail_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real purchases of ~400 customers from the bundled Online Retail II year, as a small file."""
    frame = pd.read_parquet(BUNDLED)
    customers = frame["Customer ID"].dropna().drop_duplicates().sort_values().iloc[:400]
    part = frame[frame["Customer ID"].isin(customers)]
    path = tmp_path_factory.mktemp("data") / "retail_slice.parquet"
    part.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def trained_artifacts(retail_slice: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.pipeline import TrainInputs, train

    out = tmp_path_factory.mktemp("artifacts")
    train(TrainInputs(retail_slice, "online-retail"), out)
    return out
