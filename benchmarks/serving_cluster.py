"""Serving from a Redis Cluster against one Redis, both against the stack's floor, in one run.

Starts one redis-server and a 6-node Redis Cluster (3 primaries, 3 replicas, loopback), publishes
the same artifact into both, then loads, in turn, the floor app, the service over one Redis and
the service over the cluster (`REDIS_URL=redis+cluster://...`), with the same wrk settings as
`benchmarks.serving` (whose servers, wrk runs and parsing it reuses). `--rounds` repeats the
three alternately, so neighbours' noise on a shared machine hits each alike. Besides requests/s
and latencies it measures the Redis CPU per answered request, per primary: the per-shard cost
that docs/scaling.md's arithmetic uses.

    python -m benchmarks.serving_cluster --artifacts DIR [--duration 10] [--rounds 2] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.procs import ROOT, cli, free_port, redis_server, run_measured
from benchmarks.redis_cluster import RedisClusterProcesses
from benchmarks.serving import (
    customer_ids,
    lua_script,
    measured_load,
    run_wrk,
    server,
    uvicorn_cmd,
)

PATH = "/recommend/{customer}?k=10"


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_pid(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def hot_path_share(url: str) -> dict[str, float]:
    """Who answered (hot path or route), from /metrics; waits while the server drains what wrk
    left queued (on a busy machine that takes seconds)."""
    try:
        text = urllib.request.urlopen(url + "/metrics", timeout=60).read().decode()
    except TimeoutError:
        return {}  # seen once at load average 11: the run's figures stand, the split is unknown
    counts: dict[str, float] = {}
    for m in re.finditer(r'^microoffers_hot_path_answers_total\{answered_by="(\w+)",.*\} ([\d.e+]+)$', text, re.M):
        counts[m.group(1)] = counts.get(m.group(1), 0.0) + float(m.group(2))
    return counts


def load_service(redis_url: str, redis_pids: list[int], script: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The service over `redis_url`: wrk's figures, the service's CPU per request, and each
    Redis process' CPU per request."""
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "MICROOFFERS_ARTIFACTS": str(args.artifacts)}
    with server(uvicorn_cmd("service.app:create_app", port, args.workers, True), port, env) as srv:
        run_wrk(srv.url, script, args.warmup, args.connections, args.threads)
        before = [cpu_s(pid) for pid in redis_pids]
        result = measured_load(srv, script, args)
        after = [cpu_s(pid) for pid in redis_pids]
        result["answered_by"] = hot_path_share(srv.url)
    n = max(result["requests"], 1)
    result["redis_cpu_us_per_request"] = [round((a - b) * 1e6 / n, 1) for a, b in zip(after, before)]
    return result


def load_floor(body: bytes, script: Path, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    body_file = tmp / "floor-body.json"
    body_file.write_bytes(body)
    port = free_port()
    env = {**os.environ, "FLOOR_BODY_FILE": str(body_file)}
    with server(uvicorn_cmd("benchmarks.floor_app:app", port, args.workers, False), port, env) as srv:
        run_wrk(srv.url, script, args.warmup, args.connections, args.threads)
        return measured_load(srv, script, args)


def one_answer(redis_url: str, path: str, args: argparse.Namespace) -> bytes:
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "MICROOFFERS_ARTIFACTS": str(args.artifacts)}
    with server(uvicorn_cmd("service.app:create_app", port, 1, True), port, env) as srv:
        return bytes(urllib.request.urlopen(srv.url + path, timeout=10).read())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifacts", type=Path, required=True, help="the artifact to publish into both")
    ap.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of load before each measured run")
    ap.add_argument("--rounds", type=int, default=2, help="floor, one Redis, cluster: this many times each")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    ap.add_argument("--customers", type=int, default=2000, help="distinct customer ids rotated over")
    ap.add_argument("--workdir", type=Path, default=ROOT / ".bench")
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    args.workdir.mkdir(parents=True, exist_ok=True)
    with redis_server("2gb") as single, tempfile.TemporaryDirectory() as tmp:
        cluster = RedisClusterProcesses(Path(tmp) / "cluster", appendonly=False)  # as the one Redis
        (Path(tmp) / "cluster").mkdir()
        cluster.start()
        try:
            results = measure(single, cluster, Path(tmp), args)
        finally:
            cluster.stop()
    summary = summarise(results)
    print_summary(summary, args)
    out = args.workdir / "serving-cluster-results.json"
    out.write_text(
        json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "settings": vars(args), **summary}, default=str)
    )
    print(f"results in {out}")


def measure(single: str, cluster: RedisClusterProcesses, tmp: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    publishes = {}
    for name, url in (("one Redis", single), ("cluster", cluster.url)):
        published = run_measured(cli("publish", "--artifacts", str(args.artifacts), "--redis-url", url))
        publishes[name] = published.seconds
    version_dir = args.artifacts if (args.artifacts / "manifest.json").exists() else max(args.artifacts.iterdir())
    ids = customer_ids(version_dir, args.customers)
    script = lua_script(ids, PATH, tmp)
    body = one_answer(single, PATH.replace("{customer}", ids[0]), args)
    single_pids, cluster_pids = [redis_pid(single)], list(cluster.primary_pids().values())
    results: list[dict[str, Any]] = []
    for n in range(args.rounds):
        results.append({"app": "floor", "round": n, **load_floor(body, script, tmp, args)})
        results.append({"app": "one Redis", "round": n, **load_service(single, single_pids, script, args)})
        results.append({"app": "cluster", "round": n, **load_service(cluster.url, cluster_pids, script, args)})
    for r in results:
        r["publish_s"] = publishes.get(r["app"])
    return results


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per round, each service's requests/s and CPU per request as a ratio to that round's floor."""
    rows = []
    for r in results:
        floor = next(f for f in results if f["app"] == "floor" and f["round"] == r["round"])
        rows.append(
            {
                **r,
                "rps_vs_floor": round(r["requests_per_s"] / floor["requests_per_s"], 3),
                "cpu_vs_floor": round(floor["server_cpu_us_per_request"] / max(r["server_cpu_us_per_request"], 0.1), 3),
            }
        )
    return {"results": rows, "load_average": os.getloadavg()}


def print_summary(summary: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\n{args.connections} connections, {args.duration}s per run, {args.workers} worker(s), "
        f"load average {summary['load_average'][0]:.1f}"
    )
    print(
        "| round | app | req/s | p50 ms | p99 ms | errors | service CPU/req | Redis CPU/req per primary "
        "| req/s vs floor | publish s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in summary["results"]:
        print(
            f"| {r['round']} | {r['app']} | {r['requests_per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['errors']} | {r['server_cpu_us_per_request']} us | {r.get('redis_cpu_us_per_request', '')} | "
            f"{r['rps_vs_floor']} | {r.get('publish_s') or ''} |"
        )


if __name__ == "__main__":
    main()
