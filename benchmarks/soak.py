"""Bounded soak test: the real service over a real Redis on loopback, at a fixed request rate for
N minutes, while Redis is restarted once in the middle. Reports errors, latency percentiles,
degraded answers and the server's memory growth, then stops everything it started.

    python -m benchmarks.soak --minutes 10 --rate 200
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.harness import RedisProcess, publish, redis_server, rss_mb, service, train_demo
from models.contract.artifact import load_artifact


async def _load(base: str, customers: list[str], rate: float, seconds: float, pid: int) -> dict[str, object]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    degraded = errors = 0
    memory: list[tuple[float, float]] = []
    interval = 1.0 / rate
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=5, limits=httpx.Limits(max_connections=64)) as client:

        async def one(path: str) -> None:
            nonlocal degraded, errors
            t0 = time.perf_counter()
            try:
                resp = await client.get(path)
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                if resp.status_code == 200 and resp.json().get("degraded"):
                    degraded += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - t0) * 1000)

        tasks: set[asyncio.Task[None]] = set()
        n = 0
        while (elapsed := time.perf_counter() - start) < seconds:
            path = f"/recommend/{random.choice(customers)}?k=10"
            task = asyncio.create_task(one(path))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
            if n % int(rate) == 0:
                memory.append((round(elapsed, 1), round(rss_mb(pid), 1)))
            await asyncio.sleep(max(0.0, start + n * interval - time.perf_counter()))
        await asyncio.gather(*tasks)
    lat = np.array(latencies)
    return {
        "requests": len(latencies),
        "statuses": statuses,
        "transport_errors": errors,
        "degraded_answers": degraded,
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "max_ms": round(float(lat.max()), 2),
        "rss_start_mb": memory[0][1] if memory else None,
        "rss_end_mb": memory[-1][1] if memory else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--restart-redis", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp, redis_server() as server:
        artifacts = train_demo(Path(tmp) / "artifacts", ["--no-tune"] if _has_no_tune() else [])
        publish(artifacts, server.url)
        customers = [str(c) for c in load_artifact(artifacts).customers.ids] + [f"new-{i}" for i in range(200)]
        with service(artifacts, server.url) as (base, pid):
            restarter = None
            if args.restart_redis:
                restarter = threading.Timer(seconds / 2, _restart, args=(server, artifacts))
                restarter.start()
            result = asyncio.run(_load(base, customers, args.rate, seconds, pid))
            if restarter is not None:
                restarter.join()
    print(f"soak: {args.minutes} min at {args.rate:.0f} req/s")
    for key, value in result.items():
        print(f"  {key}: {value}")


def _restart(server: RedisProcess, artifacts: Path) -> None:
    """Redis goes away for two seconds and comes back empty; the deployment republishes."""
    print("soak: stopping redis", flush=True)
    server.stop()
    time.sleep(2)
    server.start()
    publish(artifacts, server.url)
    print("soak: redis back and republished", flush=True)


def _has_no_tune() -> bool:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "cli.main", "train", "--help"], capture_output=True, text=True)
    return "--no-tune" in out.stdout


if __name__ == "__main__":
    main()
