"""Serving load test: the real service reading from Redis against the stack's floor.

Starts a private redis-server, trains and publishes the demo data (or uses `--artifacts`),
then runs two uvicorn servers with identical settings: the real app (`REDIS_URL` set) and
`benchmarks.floor_app` answering a fixed body as large as a typical `/recommend` answer.
`wrk` loads each path for a bounded time at a fixed concurrency, rotating over many customer
ids (a Lua script), loopback only. Prints requests/s, p50, p99 and errors of each, and the
ratios to the floor. Everything it starts, it stops.

With `--cold`, each path is also loaded on a fresh server that keeps no answers
(`MICROOFFERS_HOT_PATH_CACHE_SIZE=0`: every answer computed), without warm-up, over all
`--customers` ids (>= 20,000 for issue 14; each requested a few times at most), reported beside the
warm run (the first `--warm-customers` ids, after the warm-up). `--live-share 0.1` first gives 10% of
the customers live state (`benchmarks.live_share`: a recent event and capped items). Every run
also reports Redis' CPU per request (INFO cpu, user + system, over the run).

    python -m benchmarks.serving [--duration 15] [--connections 32] [--path '/recommend/{customer}?k=10' ...]
    python -m benchmarks.serving --artifacts /work/bench-fast/artifacts --customers 40000 --cold [--live-share 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.live_share import API_KEY, give_live_state, redis_cpu_s
from benchmarks.procs import ROOT, cli, free_port, redis_server, run_measured, wait_for_port

DEMO = ROOT / "data" / "online_retail_ii_2009_2010.parquet"
DEFAULT_PATHS = ["/recommend/{customer}?k=10"]
LUA = """
local ids = {%s}
local prefix, suffix = "%s", "%s"
local i = 0
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("start", threads * 7919)
end
init = function(args)
  i = (start or 0) %% #ids
end
request = function()
  i = i %% #ids + 1
  return wrk.format("GET", prefix .. ids[i] .. suffix)
end
"""


def uvicorn_cmd(target: str, port: int, workers: int, factory: bool) -> list[str]:
    """The one set of server settings both apps run under."""
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return cmd + (["--factory"] if factory else [])


@dataclass
class Server:
    url: str
    pid: int

    def cpu_s(self) -> float:
        """User + system CPU seconds the server process has used (all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured_load(srv: Server, script: Path, args: argparse.Namespace, redis_url: str | None = None) -> dict[str, Any]:
    """wrk's figures plus the server's CPU time per answered request: on a shared machine the
    requests/s of both runs move with the neighbours, the CPU cost of a request much less. With
    `redis_url`, Redis' CPU time per request too."""
    before, redis_before = srv.cpu_s(), redis_cpu_s(redis_url) if redis_url else 0.0
    result = run_wrk(srv.url, script, args.duration, args.connections, args.threads)
    cpu = srv.cpu_s() - before
    n = max(result["requests"], 1)
    result["server_cpu_us_per_request"] = round(cpu * 1e6 / n, 1)
    if redis_url:
        result["redis_cpu_us_per_request"] = round((redis_cpu_s(redis_url) - redis_before) * 1e6 / n, 1)
    return result


@contextmanager
def server(cmd: list[str], port: int, env: dict[str, str]) -> Iterator[Server]:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, 60)
        yield Server(f"http://127.0.0.1:{port}", proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def customer_ids(version_dir: Path, n: int, seed: int = 0) -> list[str]:
    with np.load(version_dir / "ids.npz", allow_pickle=False) as ids:
        customers = ids["customers"]
    rng = np.random.default_rng(seed)
    return [str(c) for c in rng.choice(customers, min(n, len(customers)), replace=False)]


def lua_script(ids: list[str], path: str, directory: Path) -> Path:
    prefix, _, suffix = path.partition("{customer}")
    quoted = ",".join(json.dumps(i) for i in ids)
    script = directory / f"rotate-{abs(hash(path))}.lua"
    script.write_text(LUA % (quoted, prefix, suffix))
    return script


def run_wrk(url: str, script: Path, duration: int, connections: int, threads: int) -> dict[str, Any]:
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "2s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, Any]:
    """Requests/s, p50/p99 (ms) and errors (socket errors + non-2xx) from wrk's text report."""

    def latency(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            raise RuntimeError(f"no {label}% latency in wrk output:\n{out}")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = (sum(int(x) for x in socket.groups()) if socket else 0) + (int(non2xx.group(1)) if non2xx else 0)
    return {
        "requests_per_s": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": errors,
    }


def prepare(workdir: Path, redis_url: str, artifacts: Path | None) -> Path:
    """Train (unless given) and publish; returns the published version directory."""
    if artifacts is None:
        out = workdir / "artifacts-serving"
        shutil.rmtree(out, ignore_errors=True)
        trained = run_measured(cli("train", "--purchases", str(DEMO), "--format", "online-retail", "--out", str(out)))
        artifacts = Path(trained.stdout.strip().splitlines()[-1])
    run_measured(cli("publish", "--artifacts", str(artifacts), "--redis-url", redis_url))
    return artifacts if (artifacts / "manifest.json").exists() else max(p for p in artifacts.iterdir() if p.is_dir())


def start_experiment(redis_url: str) -> None:
    """What `microoffers experiment start bench --variant A --variant B` writes."""
    import redis

    from models.contract.experiments import EXPERIMENTS_KEY, RUNNING_KEY, Experiment, Variant

    experiment = Experiment("bench", "bench-salt", (Variant("A"), Variant("B")), int(time.time() * 1000))
    client = redis.Redis.from_url(redis_url)
    client.set(RUNNING_KEY, experiment.encode())
    client.hset(EXPERIMENTS_KEY, experiment.id, experiment.encode())
    client.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", action="append", help="path template with {customer}; repeatable")
    ap.add_argument("--duration", type=int, default=15, help="seconds of load per run")
    ap.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of load before each measured run (the service's caches and the customers' "
        "impression caps settle with it)",
    )
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers (same for both apps)")
    ap.add_argument("--customers", type=int, default=2000, help="distinct customer ids rotated over")
    ap.add_argument("--warm-customers", type=int, default=2000, help="with --cold: ids the warm run rotates over")
    ap.add_argument("--cold", action="store_true", help="also a fresh server keeping no answers, no warm-up")
    ap.add_argument("--live-share", type=float, default=0.0, help="share of customers given live state first")
    ap.add_argument("--artifacts", type=Path, help="publish this artifact instead of training the demo data")
    ap.add_argument("--workdir", type=Path, default=ROOT / ".bench")
    ap.add_argument(
        "--experiment",
        action="store_true",
        help="serve under a running experiment whose two variants serve the published version "
        "(every answer still on the hot path, now with ids, variants and exposures)",
    )
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    args.workdir.mkdir(parents=True, exist_ok=True)
    paths = args.path or DEFAULT_PATHS
    results = []
    with redis_server("2gb") as redis_url, tempfile.TemporaryDirectory() as tmp:
        version_dir = prepare(args.workdir, redis_url, args.artifacts)
        ids = customer_ids(version_dir, args.customers)
        if args.experiment:
            start_experiment(redis_url)
        if args.live_share > 0:
            live = ids[:: max(1, round(1 / args.live_share))]
            give_live_state(live, redis_url, lambda port, env: server(service_cmd(port, args), port, env))
        for path in paths:
            results += load_path(path, ids, redis_url, Path(tmp), args)
    print_table(results, args)
    out = args.workdir / "serving-results.json"
    out.write_text(
        json.dumps(
            {"date": time.strftime("%Y-%m-%d %H:%M"), "settings": vars(args) | {"paths": paths}, "results": results},
            indent=2,
            default=str,
        )
    )
    print(f"results in {out}")


def service_cmd(port: int, args: argparse.Namespace) -> list[str]:
    return uvicorn_cmd("service.app:create_app", port, args.workers, True)


def load_path(path: str, ids: list[str], redis_url: str, tmp: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Load the service on `path` (warm; with `--cold` also cold), then the floor with a body of
    the same size."""
    warm_ids = ids[: args.warm_customers] if args.cold else ids
    script = lua_script(warm_ids, path, tmp)
    env = {**os.environ, "REDIS_URL": redis_url, "MICROOFFERS_API_KEY": API_KEY}
    port = free_port()
    with server(service_cmd(port, args), port, env) as srv:
        first = path.replace("{customer}", ids[0])
        try:
            body = urllib.request.urlopen(srv.url + first, timeout=5).read()
        except OSError as exc:
            print(f"skipping {path}: {exc}")
            return []
        run_wrk(srv.url, script, args.warmup, args.connections, args.threads)
        service = measured_load(srv, script, args, redis_url)
        service["answered_by"] = answered_by(srv.url)
    runs = [{"app": "service", **service}]
    if args.cold:
        port = free_port()
        cold_env = {**env, "MICROOFFERS_HOT_PATH_CACHE_SIZE": "0"}
        with server(service_cmd(port, args), port, cold_env) as srv:
            cold = measured_load(srv, lua_script(ids, path, tmp), args, redis_url)
            cold["answered_by"] = answered_by(srv.url)
        runs.append({"app": "service cold", **cold})
    body_file = tmp / "floor-body.json"
    body_file.write_bytes(body)
    port = free_port()
    env = {**os.environ, "FLOOR_BODY_FILE": str(body_file)}
    with server(uvicorn_cmd("benchmarks.floor_app:app", port, args.workers, False), port, env) as srv:
        run_wrk(srv.url, script, args.warmup, args.connections, args.threads)
        floor = measured_load(srv, script, args)
    for run in runs:
        run["rps_ratio"] = round(run["requests_per_s"] / floor["requests_per_s"], 3)
        run["p99_ratio"] = round(run["p99_ms"] / floor["p99_ms"], 2)
        run["cpu_ratio"] = round(floor["server_cpu_us_per_request"] / max(run["server_cpu_us_per_request"], 0.1), 3)
    return [{"path": path, "body_bytes": len(body), **run} for run in [*runs, {"app": "floor", **floor}]]


def answered_by(url: str) -> dict[str, float]:
    """The service's own count of who answered (hot path or route), from /metrics."""
    text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    counts: dict[str, float] = {}
    for m in re.finditer(
        r'^microoffers_hot_path_answers_total\{answered_by="(\w+)",route="[^"]*"\} ([\d.e+]+)$', text, re.M
    ):
        counts[m.group(1)] = counts.get(m.group(1), 0.0) + float(m.group(2))
    return counts


def print_table(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\n{args.connections} connections, {args.threads} wrk threads, {args.duration}s, "
        f"{args.workers} uvicorn worker(s), {args.customers} customers rotated"
        f"{f' (warm: {args.warm_customers}, cold: all)' if args.cold else ''}, {args.warmup}s warm-up, "
        f"live share {args.live_share}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| app | path | body B | req/s | p50 ms | p99 ms | errors | server CPU/request | Redis CPU/request "
        "| req/s vs floor | p99 vs floor | floor CPU / service CPU |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['app']} | `{r['path']}` | {r['body_bytes']} | {r['requests_per_s']:.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['errors']} | {r['server_cpu_us_per_request']} us "
            f"| {r.get('redis_cpu_us_per_request', '')} us | {r.get('rps_ratio', '')} "
            f"| {r.get('p99_ratio', '')} | {r.get('cpu_ratio', '')} |"
        )
        if r.get("answered_by"):
            print(f"|  | answered by: {r['answered_by']} | | | | | | | | | | |")


if __name__ == "__main__":
    main()
