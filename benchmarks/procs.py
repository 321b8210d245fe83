"""Measured child runs for the benchmarks (servers and ports: `benchmarks.harness`)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness
from benchmarks.harness import free_port, wait_for_port

__all__ = ["ROOT", "Measured", "cli", "free_port", "redis_server", "run_measured", "wait_for_port"]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Measured:
    """One finished child process: wall time, CPU time (user + system, all its threads), peak
    resident memory, its output. CPU time shows the work done even when other processes
    compete for the cores and stretch the wall time."""

    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    stdout: str
    stderr: str


def run_measured(cmd: Sequence[str], env: dict[str, str] | None = None) -> Measured:
    """Run `cmd` to completion; peak RSS from the kernel's accounting of that one child
    (`wait4`), so earlier children do not count."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return Measured(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, stderr)


def cli(*args: str) -> list[str]:
    """The project's command line, run by this interpreter from the project root."""
    return [sys.executable, "-m", "cli.main", *args]


@contextmanager
def redis_server(maxmemory: str = "16gb") -> Iterator[str]:
    """A private redis-server on a free loopback port, no persistence; yields its URL."""
    with harness.redis_server(maxmemory) as server:
        yield server.url
