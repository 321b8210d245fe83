"""Training and publishing at scale: time and peak memory of `train` and `publish`.

Runs, each `train` then `publish` into a private redis-server (loopback, no persistence): the
seeded synthetic shop in every `--shapes` (default 1M customers, 50k items, 10M lines; the
project's shape and a differently shaped one, see `benchmarks.synthetic`) and the bundled
Online Retail II year. `--series` adds `train` runs at smaller customer counts (ten lines per
customer, same items) to show how peak memory grows with the customers. Each command runs as
its own process through the real CLI, with the options a user would give it; its peak memory is
the kernel's count for that process, its per-step times are the manifest's `timings`.

    python -m benchmarks.scale [--customers N --items N --lines N] [--shapes default narrow]
                               [--series 100000 300000] [--workdir .bench] [--skip-demo]
    python -m benchmarks.scale --publish-only 1 2 1 2 [--workdir .bench]

`--publish-only` publishes the newest synthetic artifact already in the workdir once per listed
worker count, alternating in one run (the machine is shared: compare ratios, not runs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import redis

from benchmarks.procs import ROOT, cli, redis_server, run_measured
from benchmarks.synthetic import SHAPES, ShopSpec, add_spec_arguments, default_path, shop_spec, write

DEMO = ROOT / "data" / "online_retail_ii_2009_2010.parquet"
_PUBLISHED = re.compile(r"published \S+ \((\d+) customers, (\d+)/s\)")


def synthetic_file(workdir: Path, spec: ShopSpec) -> Path:
    """Generated once per spec and reused (the generator is seeded)."""
    path = default_path(workdir, spec)
    if not path.exists():
        start = time.perf_counter()
        write(spec, path)
        print(f"generated {path.name} in {time.perf_counter() - start:.1f}s", flush=True)
    return path


TRAIN_OPTIONS = ("--no-tune",)  # what `make bench-scale` promises; see docs/benchmarks.md


def train_measured(label: str, purchases: Path, fmt: str, out: Path) -> tuple[dict[str, Any], Path]:
    """`microoffers train` as a user runs it (the quality gate on: the synthetic shops pass
    it); the row of figures and the version directory it wrote."""
    shutil.rmtree(out, ignore_errors=True)
    print(f"[{label}] train ...", flush=True)
    load_before = os.getloadavg()[0]
    command = cli("train", "--purchases", str(purchases), "--format", fmt, "--out", str(out), *TRAIN_OPTIONS)
    trained = run_measured(command)
    version_dir = Path(trained.stdout.strip().splitlines()[-1])
    manifest = json.loads((version_dir / "manifest.json").read_text())
    row = {
        "run": label,
        "customers": manifest["counts"]["matrix_customers"],
        "items": manifest["counts"]["matrix_items"],
        "lines": manifest["counts"]["rows_in"],
        "nonzeros": manifest["counts"]["matrix_nonzeros"],
        "train_s": round(trained.seconds, 1),
        "train_cpu_s": round(trained.cpu_seconds, 1),
        "train_peak_mib": round(trained.peak_rss_mib),
        "train_steps_s": manifest["timings"],
        "artifact_mib": round(sum(f.stat().st_size for f in version_dir.iterdir()) / 2**20),
        "load_avg_1min_before": round(load_before, 2),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
    }
    print(f"[{label}] {row}", flush=True)
    return row, version_dir


def train_and_publish(
    label: str, purchases: Path, fmt: str, out: Path, redis_url: str, publish_workers: int = 1
) -> dict[str, Any]:
    row, version_dir = train_measured(label, purchases, fmt, out)
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    print(f"[{label}] publish ...", flush=True)
    published = run_measured(
        cli("publish", "--artifacts", str(version_dir), "--redis-url", redis_url, "--workers", str(publish_workers))
    )
    match = _PUBLISHED.search(published.stdout)
    if match is None:
        raise RuntimeError(f"unexpected publish output: {published.stdout!r}")
    return {
        **row,
        "publish_s": round(published.seconds, 1),
        "publish_cpu_s": round(published.cpu_seconds, 1),
        "publish_peak_mib": round(published.peak_rss_mib),
        "publish_customers_per_s": int(match.group(2)),
        "publish_workers": publish_workers,
        "redis_used_mib": round(client.info("memory")["used_memory"] / 2**20),
        "load_avg_1min_after": round(os.getloadavg()[0], 2),
    }


def publish_only(artifacts: Path, redis_url: str, workers: list[int]) -> None:
    version_dir = max(p for p in artifacts.iterdir() if p.is_dir())
    client = redis.Redis.from_url(redis_url)
    print("| workers | customers | publish wall | publish CPU | peak | rate | load avg |")
    print("|---|---|---|---|---|---|---|")
    for n in workers:
        client.flushall()
        published = run_measured(
            cli("publish", "--artifacts", str(version_dir), "--redis-url", redis_url, "--workers", str(n))
        )
        match = _PUBLISHED.search(published.stdout)
        if match is None:
            raise RuntimeError(f"unexpected publish output: {published.stdout!r}")
        print(
            f"| {n} | {match.group(1)} | {published.seconds:.1f} s | {published.cpu_seconds:.1f} s | "
            f"{published.peak_rss_mib / 1024:.2f} GiB | {int(match.group(2)):,}/s | {os.getloadavg()[0]:.2f} |",
            flush=True,
        )


def print_table(results: list[dict[str, Any]]) -> None:
    """Markdown, ready for docs/benchmarks.md; the load average shows how busy the machine was."""
    cols = [
        "run",
        "customers",
        "items",
        "lines",
        "train_s",
        "train_cpu_s",
        "train_peak_mib",
        "publish_s",
        "publish_cpu_s",
        "publish_peak_mib",
        "publish_customers_per_s",
        "artifact_mib",
        "redis_used_mib",
        "load_avg_1min_before",
        "load_avg_1min_after",
    ]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in results:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    for r in results:
        print(f"{r['run']} train steps (s): {r['train_steps_s']}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_spec_arguments(ap, shape=False)
    ap.add_argument("--workdir", type=Path, default=ROOT / ".bench")
    ap.add_argument("--publish-workers", type=int, default=1, help="publish --workers")
    ap.add_argument("--skip-demo", action="store_true", help="only the synthetic run")
    ap.add_argument("--skip-synthetic", action="store_true", help="only the demo-data run")
    ap.add_argument("--publish-only", type=int, nargs="+", metavar="WORKERS", help="publish the existing artifact")
    ap.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=["default", "narrow"])
    ap.add_argument("--series", type=int, nargs="*", default=[], metavar="CUSTOMERS", help="train-only runs")
    args = ap.parse_args(argv)
    if args.publish_only:
        with redis_server() as url:
            publish_only(args.workdir / "artifacts-synthetic", url, args.publish_only)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    with redis_server() as url:
        for shape in [] if args.skip_synthetic else args.shapes:
            for customers in args.series:  # memory against customers: train only
                spec = shop_spec(shape, customers=customers, items=args.items, lines=10 * customers, seed=args.seed)
                out = args.workdir / f"artifacts-series-{shape}"
                label = f"{shape}, {customers:,} customers"
                results.append(train_measured(label, synthetic_file(args.workdir, spec), "canonical", out)[0])
            sizes = {"customers": args.customers, "items": args.items, "lines": args.lines, "seed": args.seed}
            data = synthetic_file(args.workdir, shop_spec(shape, **sizes))
            out = args.workdir / ("artifacts-synthetic" if shape == "default" else f"artifacts-synthetic-{shape}")
            results.append(train_and_publish(f"synthetic {shape}", data, "canonical", out, url, args.publish_workers))
        if not args.skip_demo:
            out = args.workdir / "artifacts-demo"
            results.append(train_and_publish("demo", DEMO, "online-retail", out, url, args.publish_workers))
    print_table(results)
    out = args.workdir / "scale-results.json"
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "results": results}, indent=2))
    print(f"results in {out}")


if __name__ == "__main__":
    main()
