"""Quality benchmark: the selected models against every baseline, rolling-origin backtests on
two real data sets, with 95% intervals.

    python benchmarks/quality.py [--dataset retail|movielens|all] [--windows 4] [--budget 30] [--out DIR]

- Online Retail II (the bundled year): the last `--windows` 28-day periods are the test windows,
  one after the other; tasks *all* and *discovery*. Targets: NDCG@10 at least +15% (all) and
  +30% (discovery) over the best baseline of the same run.
- MovieLens-100K (read from ../shared/data/ml-100k, never copied; skipped when absent): ratings
  >= 4 are positives; each window holds out each user's latest 10% of what is left in time;
  task *discovery*. Target: +10%.

In every window the models and the tuned baselines are tuned on a validation window carved
from that window's training part (`--budget` seconds), refitted on the whole training part and
scored on the window once (`training.evaluation.backtest`). The headline is the latest window
(bootstrap intervals over customers) and the mean over windows (t intervals over windows).
Writes `<out>/<dataset>/metrics.json` and `report.html`, prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.data.clean import clean_purchases  # noqa: E402
from training.data.load import load_purchases  # noqa: E402
from training.evaluation.backtest import SELECTED, run_backtest  # noqa: E402
from training.evaluation.report import render_html, render_markdown  # noqa: E402
from training.evaluation.split import Splitter, TemporalSplit, UserTailSplit  # noqa: E402

RETAIL = ROOT / "data" / "online_retail_ii_2009_2010.parquet"
MOVIELENS = ROOT.parent / "shared" / "data" / "ml-100k" / "u.data"
TARGETS = {("retail", "all"): 0.15, ("retail", "discovery"): 0.30, ("movielens", "discovery"): 0.10}


def retail() -> pd.DataFrame:
    return clean_purchases(load_purchases(RETAIL, "online-retail"), fmt="online-retail").purchases


def movielens(path: Path = MOVIELENS) -> pd.DataFrame:
    """Ratings >= 4 as purchases in the canonical columns (one occasion per rating)."""
    ratings = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "unix_time"])
    liked = ratings[ratings["rating"] >= 4]
    return pd.DataFrame(
        {
            "customer_id": liked["user"].astype(str).to_numpy(dtype=object),
            "item_id": liked["item"].astype(str).to_numpy(dtype=object),
            "timestamp": pd.to_datetime(liked["unix_time"], unit="s").to_numpy(),
            "quantity": 1.0,
            "price": float("nan"),
            "title": None,
            "invoice": None,
            "country": None,
        }
    )


DATASETS: dict[str, tuple[Splitter, tuple[str, ...]]] = {
    "retail": (TemporalSplit(28), ("all", "discovery")),
    "movielens": (UserTailSplit(0.1), ("discovery",)),
}


def run(name: str, budget: float, windows: int, out: Path, movielens_path: Path = MOVIELENS) -> list[dict[str, Any]]:
    splitter, tasks = DATASETS[name]
    purchases = movielens(movielens_path) if name == "movielens" else retail()
    start, cpu = time.perf_counter(), time.process_time()
    result = run_backtest(purchases, splitter, windows, [10, 20], tasks=tasks, budget_s=budget)
    result["benchmark"] = {
        "dataset": name,
        "budget_s": budget,
        "windows": windows,
        "seconds_total": round(time.perf_counter() - start, 1),  # wall clock: tuning, refits, scoring
        "cpu_seconds": round(time.process_time() - cpu, 1),  # this process, every thread: the shared machine's share
    }
    target_dir = out / name
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
    (target_dir / "report.html").write_text(render_html(result, f"Quality benchmark: {name}"))
    print(f"\n## {name}\n\n{render_markdown(result)}\n\nLatest window:\n\n{render_markdown(result['windows'][-1])}")
    return [row(name, task, result) for task in tasks]


def row(name: str, task: str, result: dict[str, Any]) -> dict[str, Any]:
    """One summary line: the latest window (bootstrap over customers) and the backtest mean (t)."""
    part, latest = result["backtest"][task], result["windows"][-1]
    paired = latest["paired"][task]
    intervals = latest["intervals"][task]
    lift = part["paired"]["lift"]
    return {
        "dataset": name,
        "task": task,
        "selected": paired["selected"],
        "baseline": paired["baseline"],
        "latest": intervals[paired["selected"]],
        "latest_baseline": intervals[paired["baseline"]],
        "latest_lift": paired,
        "mean": part["models"][SELECTED],
        "mean_baseline_name": part["best_baseline"],
        "mean_baseline": part["models"][part["best_baseline"]],
        "mean_lift": lift,
        "target": TARGETS[(name, task)],
        "met": paired["lift"] >= TARGETS[(name, task)] and lift["mean"] >= TARGETS[(name, task)],
        "seconds": f"{result['benchmark']['seconds_total']} ({result['benchmark']['cpu_seconds']} CPU)",
    }


def _ci(i: dict[str, Any]) -> str:
    return f"{i['mean']:.4f} [{i['low']:.4f}, {i['high']:.4f}]"


def _lift(mean: float, low: float, high: float) -> str:
    return f"{mean:+.1%} [{low:+.1%}, {high:+.1%}]"


def summary_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | task | window | selected | NDCG@10 [95% CI] | best baseline | NDCG@10 [95% CI] | lift [95% CI] "
        "| target | met | seconds (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        latest, lift = r["latest_lift"], r["mean_lift"]
        met = "yes" if r["met"] else "NO"
        lines.append(
            f"| {r['dataset']} | {r['task']} | latest | {r['selected']} | {_ci(r['latest'])} | {r['baseline']} | "
            f"{_ci(r['latest_baseline'])} | {_lift(latest['lift'], latest['lift_low'], latest['lift_high'])} | "
            f"+{r['target']:.0%} | {met} | {r['seconds']} |"
        )
        lines.append(
            f"| {r['dataset']} | {r['task']} | mean of {r['mean']['n']} | {SELECTED} | {_ci(r['mean'])} | "
            f"{r['mean_baseline_name']} | {_ci(r['mean_baseline'])} | {_lift(lift['mean'], lift['low'], lift['high'])} "
            f"| +{r['target']:.0%} | {met} | |"
        )
    return "\n".join(lines)


def dataset_arguments(description: str | None) -> argparse.ArgumentParser:
    """The options every quality benchmark takes: which data set, the budget, where to write."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["retail", "movielens", "all"], default="all")
    parser.add_argument("--budget", type=float, default=30.0, help="tuning seconds per window")
    parser.add_argument("--windows", type=int, default=4, help="consecutive test windows (rolling origin)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--movielens", type=Path, default=MOVIELENS, help="MovieLens-100K u.data")
    return parser


def main() -> int:
    args = dataset_arguments(__doc__).parse_args()
    names = ["retail", "movielens"] if args.dataset == "all" else [args.dataset]
    rows = []
    for name in names:
        if name == "movielens" and not args.movielens.exists():
            print(f"skipping movielens: {args.movielens} not found")
            continue
        rows += run(name, args.budget, args.windows, args.out, args.movielens)
    print(f"\n## Summary ({datetime.now(UTC):%Y-%m-%d})\n\n{summary_table(rows)}")
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
