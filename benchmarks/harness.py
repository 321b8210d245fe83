"""Shared pieces for benchmarks: a throwaway redis-server and a uvicorn server on loopback.

Everything started here is stopped here; nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "online_retail_ii_2009_2010.parquet"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """A loopback redis-server that can be stopped and started again on the same port, without
    persistence, in its own directory. The test suite's server is this one too
    (`tests.support.redis_server.RedisServer`)."""

    def __init__(
        self, maxmemory: str | None = "8gb", workdir: Path | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (make system-deps installs it)")
        self.binary, self.port = binary, free_port()
        self.workdir = str(workdir) if workdir is not None else tempfile.mkdtemp(prefix="bench-redis-")
        self.args = [
            *(["--maxmemory", maxmemory, "--maxmemory-policy", "noeviction"] if maxmemory else []),
            *extra_args,
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@contextmanager
def redis_server(maxmemory: str = "8gb") -> Iterator[RedisProcess]:
    server = RedisProcess(maxmemory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


@contextmanager
def service(
    artifacts: Path, redis_url: str | None, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """The real app under uvicorn in a subprocess; yields (base URL, pid)."""
    port = free_port()
    env = {
        **os.environ,
        "MICROOFFERS_ARTIFACTS": str(artifacts),
        "MICROOFFERS_ACCESS_LOG": "false",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "service.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(base + "/health")
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(20)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def wait_for_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def train_demo(out: Path, extra: list[str] | None = None) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "train",
            "--purchases",
            str(BUNDLED),
            "--format",
            "online-retail",
            "--out",
            str(out),
            *(extra or []),
        ],
        cwd=ROOT,
        check=True,
    )
    return out


def publish(artifacts: Path, redis_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "cli.main", "publish", "--artifacts", str(artifacts), "--redis-url", redis_url],
        cwd=ROOT,
        check=True,
    )
