"""Benchmark of real-time feedback: how soon an event changes the next answer, and events/s.

Starts its own redis-server (when installed) and a uvicorn server per store, over loopback:

* event-to-effect: POST a `dismiss` of the customer's top item, then GET /recommend at once and
  check the item is gone; and a brand-new customer's first `purchase`, then GET (fold-in, must
  answer `source: personal`). Times: the POST until its 202, the GET after the 202, and both.
* throughput: concurrent clients POSTing single events, then batches, for a fixed time.

Bounded: a few hundred round trips and a few seconds per phase. Writes docs/events.md.

    python benchmarks/events.py --artifacts artifacts [--out docs/events.md]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import wait_for_http  # noqa: E402
from models.contract.artifact import load_artifact  # noqa: E402
from training.publish import publish  # noqa: E402

KEY = "bench-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def start_service(artifacts: Path, redis_url: str | None, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "MICROOFFERS_ARTIFACTS": str(artifacts),
        "MICROOFFERS_API_KEY": KEY,
        "MICROOFFERS_CAP_IMPRESSIONS": "1000000",
        "MICROOFFERS_EVENTS_LOG": str(workdir / "events.jsonl"),
        "MICROOFFERS_EVENTS_MAX_BATCH": "1000",
        "PYTHONPATH": str(ROOT),
        # one key stands for the whole shop's event feed here: the per-key write limit would measure itself
        "MICROOFFERS_WRITE_RATE_PER_S": "1000000",
        "MICROOFFERS_WRITE_BURST": "1000000",
    }
    env.pop("REDIS_URL", None)
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
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base}/ready")
    return proc, base


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q)) if values else float("nan")


def effect_latency(base: str, customers: list[str], rounds: int) -> dict[str, float]:
    """Dismiss the top item, then read at once: is it gone? Then a new customer's first purchase."""
    post_s, after_s, total_s, new_after_s, misses, not_personal = [], [], [], [], 0, 0
    with httpx.Client(base_url=base, timeout=5) as http:
        for n in range(rounds):
            customer = customers[n % len(customers)]
            top = http.get(f"/recommend/{customer}", params={"k": 5}).json()["items"][0]["item_id"]
            t0 = time.perf_counter()
            r = http.post("/events", json={"customer_id": customer, "item_id": top, "type": "dismiss"}, headers=AUTH)
            t1 = time.perf_counter()
            items = [i["item_id"] for i in http.get(f"/recommend/{customer}", params={"k": 5}).json()["items"]]
            t2 = time.perf_counter()
            assert r.status_code == 202, r.text
            misses += top in items
            post_s.append(t1 - t0)
            after_s.append(t2 - t1)
            total_s.append(t2 - t0)
            newcomer = f"bench-new-{n}-{time.monotonic_ns()}"
            http.post("/events", json={"customer_id": newcomer, "item_id": top, "type": "purchase"}, headers=AUTH)
            t3 = time.perf_counter()
            body = http.get(f"/recommend/{newcomer}", params={"k": 5}).json()
            new_after_s.append(time.perf_counter() - t3)
            not_personal += body["source"] != "personal"
    return {
        "rounds": rounds,
        "missed_effects": misses,
        "new_not_personal": not_personal,
        "post_p50": pct(post_s, 50),
        "post_p99": pct(post_s, 99),
        "get_after_202_p50": pct(after_s, 50),
        "get_after_202_p99": pct(after_s, 99),
        "event_to_effect_p50": pct(total_s, 50),
        "event_to_effect_p99": pct(total_s, 99),
        "new_customer_get_p50": pct(new_after_s, 50),
        "new_customer_get_p99": pct(new_after_s, 99),
    }


async def throughput(
    base: str, customers: list[str], items: list[str], batch: int, clients: int, seconds: float
) -> dict[str, float]:
    """`clients` concurrent connections POSTing `batch` events per request for `seconds`."""
    sent, latencies = 0, []
    deadline = time.perf_counter() + seconds
    rng = np.random.default_rng(7)

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal sent
        while time.perf_counter() < deadline:
            events = [
                {
                    "customer_id": customers[int(rng.integers(len(customers)))],
                    "item_id": items[int(rng.integers(len(items)))],
                    "type": "view",
                }
                for _ in range(batch)
            ]
            body = events[0] if batch == 1 else {"events": events}
            t0 = time.perf_counter()
            r = await http.post("/events", json=body, headers=AUTH)
            latencies.append(time.perf_counter() - t0)
            assert r.status_code == 202, r.text
            sent += batch

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return {
        "batch": batch,
        "clients": clients,
        "events_per_s": sent / elapsed,
        "requests": len(latencies),
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
    }


def run_store(kind: str, artifacts: Path, rounds: int, seconds: float, workdir: Path) -> dict[str, object]:
    artifact = load_artifact(artifacts)
    redis_proc, url = (None, None)
    if kind == "redis":
        redis_proc, url = start_redis(workdir)
        publish(artifact, redis.Redis.from_url(url))
    service, base = start_service(artifacts, url, workdir)
    try:
        customers = [str(c) for c in artifact.customers.ids[:2000]]
        items = [str(i) for i in artifact.items.ids[:2000]]
        effect = effect_latency(base, customers, rounds)
        rates = [asyncio.run(throughput(base, customers, items, batch, 16, seconds)) for batch in (1, 100)]
        return {"store": kind, "effect": effect, "throughput": rates}
    finally:
        service.terminate()
        service.wait(10)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)


def report(results: list[dict[str, object]], command: str) -> str:
    load = os.getloadavg()[0]
    lines = [
        "# Real-time feedback: benchmark",
        "",
        f"Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} CPUs shared with the load generator, load average {load:.1f} at the end, "
        f"Python {platform.python_version()}), one uvicorn worker, loopback HTTP, with:",
        "",
        f"    {command}",
        "",
        "Event-to-effect: `POST /events` (a dismissal of the customer's top item) and then, as soon as the 202",
        "arrives, `GET /recommend`; the effect counts as seen when the item is gone. A new customer's first",
        "purchase is then read back the same way (their vector is re-solved: `source` must be `personal`).",
        "Times in milliseconds, client side, including HTTP.",
        "",
        "| store | rounds | missed effects | new not personal | POST p50 / p99 | GET after 202 p50 / p99 "
        "| event to effect p50 / p99 | new customer GET p50 / p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        e = r["effect"]
        assert isinstance(e, dict)
        spans = " | ".join(
            f"{e[f'{n}_p50']:.1f} / {e[f'{n}_p99']:.1f}"
            for n in ("post", "get_after_202", "event_to_effect", "new_customer_get")
        )
        lines.append(f"| {r['store']} | {e['rounds']} | {e['missed_effects']} | {e['new_not_personal']} | {spans} |")
    lines += [
        "",
        "Throughput: 16 concurrent clients POSTing `view` events for a fixed time.",
        "",
        "| store | events per request | requests | events/s | request p50 / p99 (ms) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for t in r["throughput"]:  # type: ignore[attr-defined]
            lines.append(
                f"| {r['store']} | {t['batch']} | {t['requests']} | {t['events_per_s']:.0f} "
                f"| {t['p50_ms']:.1f} / {t['p99_ms']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", type=Path, default=ROOT / "artifacts")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "events.md")
    args = parser.parse_args()
    stores = ["embedded"] + (["redis"] if shutil.which("redis-server") else [])
    results = []
    for kind in stores:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run_store(kind, args.artifacts, args.rounds, args.seconds, Path(tmp)))
            print(results[-1], file=sys.stderr)
    command = "python benchmarks/events.py " + " ".join(sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    existing = args.out.read_text() if args.out.exists() else ""
    notes = existing[existing.index("## Notes") :] if "## Notes" in existing else ""
    args.out.write_text(report(results, command.strip()) + ("\n" + notes if notes else ""))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
