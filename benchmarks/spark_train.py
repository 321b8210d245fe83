"""Training on Spark local[2] against the single-machine engine, on one synthetic shop, in one
run: wall time, each step's time (from the manifests), and peak resident memory of the driver
(the CLI's Python process and Spark's JVM, which in local mode holds the executors) and of the
executors' Python workers (where the per-partition lists and the row checks run).

Memory is sampled every `--interval` seconds over the whole process tree (psutil): the
kernel's per-child peak would miss Spark's JVM and its Python workers, which are grandchildren.

    python -m benchmarks.spark_train --customers 100000 --items 10000 --lines 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchmarks import synthetic
from benchmarks.procs import ROOT, cli
from models.contract.artifact import resolve_version_dir


@dataclass
class Peaks:
    """Peak resident MiB per role, and of the whole tree at once."""

    roles: dict[str, float] = field(default_factory=dict)
    total: float = 0.0

    def sample(self, root: psutil.Process) -> None:
        now: dict[str, float] = {}
        for proc in [root, *root.children(recursive=True)]:
            try:
                role = _role(proc, root)
                now[role] = now.get(role, 0.0) + proc.memory_info().rss / 2**20
            except psutil.Error:
                continue
        for role, mib in now.items():
            self.roles[role] = max(self.roles.get(role, 0.0), mib)
        self.total = max(self.total, sum(now.values()))


def _role(proc: psutil.Process, root: psutil.Process) -> str:
    if proc.pid == root.pid:
        return "driver python"
    name = proc.name()
    if name == "java":
        return "driver JVM (executors inside, local mode)"
    if "python" in name:
        return "executor python workers"
    return "other"


def run(command: list[str], interval: float) -> tuple[float, Peaks]:
    peaks = Peaks()
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    root = psutil.Process(proc.pid)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peaks.sample(root)
            stop.wait(interval)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{err.decode()[-3000:]}")
    return time.perf_counter() - start, peaks


def train_command(data: Path, out: Path, engine: str) -> list[str]:
    args = ["train", "--purchases", str(data), "--out", str(out), "--engine", engine]
    return cli(*args, "--no-tune", "--two-stage", "never", "--force")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    synthetic.add_spec_arguments(ap)
    ap.add_argument("--workdir", type=Path, default=Path(".bench"))
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between memory samples")
    args = ap.parse_args(argv)
    spec = synthetic.spec_from_arguments(args)
    data = synthetic.default_path(args.workdir, spec)
    if not data.exists():
        synthetic.write(spec, data)
    results: dict[str, object] = {}
    for engine in ("single", "spark"):
        out = args.workdir / f"spark-bench-{engine}-{spec.customers}"
        seconds, peaks = run(train_command(data, out, engine), args.interval)
        manifest = json.loads((resolve_version_dir(out) / "manifest.json").read_text())
        gate = manifest["selection"].get("gate", {}).get("tasks", {})
        results[engine] = {
            "seconds": round(seconds, 1),
            "steps": manifest["timings"],
            "peak_mib": {k: round(v) for k, v in peaks.roles.items()},
            "peak_total_mib": round(peaks.total),
            "validation_ndcg@10": {t: round(v["value"], 4) for t, v in gate.items()},
            "counts": manifest["counts"],
        }
    results["load_average"] = os.getloadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
