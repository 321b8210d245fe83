"""Quality benchmark: the selected models against the baselines, on two real data sets.

    python benchmarks/quality.py [--dataset retail|movielens|all] [--budget 150] [--out DIR]

- Online Retail II (the bundled year): temporal split, the last 28 days are the test window;
  tasks *all* and *discovery*. Targets: NDCG@10 at least +10% (all) and +20% (discovery) over
  the best baseline of the same run.
- MovieLens-100K (read from ../shared/data/ml-100k, never copied): ratings >= 4 are positives,
  each user's latest 10% of them in time is their test set; task *discovery*. Target: +5%.

Models are tuned on a validation window carved from the training part only (the same split
applied again), then refitted on the whole training part and scored on the test part once.
Writes `<out>/<dataset>/metrics.json` and `report.html`, prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.data.clean import clean_purchases  # noqa: E402
from training.data.load import load_purchases  # noqa: E402
from training.evaluation.protocol import run_protocol  # noqa: E402
from training.evaluation.report import render_html, render_markdown  # noqa: E402
from training.evaluation.split import Splitter, TemporalSplit, UserTailSplit  # noqa: E402

RETAIL = ROOT / "data" / "online_retail_ii_2009_2010.parquet"
MOVIELENS = ROOT.parent / "shared" / "data" / "ml-100k" / "u.data"
TARGETS = {("retail", "all"): 0.10, ("retail", "discovery"): 0.20, ("movielens", "discovery"): 0.05}


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


def run(name: str, budget: float, out: Path, movielens_path: Path = MOVIELENS) -> list[dict[str, object]]:
    splitter, tasks = DATASETS[name]
    purchases = movielens(movielens_path) if name == "movielens" else retail()
    start = time.perf_counter()
    result = run_protocol(purchases, splitter, [10, 20], tasks=tasks, budget_s=budget)
    result["benchmark"] = {"dataset": name, "budget_s": budget, "seconds_total": round(time.perf_counter() - start, 1)}
    target_dir = out / name
    target_dir.mkdir(parents=True, exist_ok=True)
    (target_dir / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
    (target_dir / "report.html").write_text(render_html(result, f"Quality benchmark: {name}"))
    print(f"\n## {name}\n\n{render_markdown(result)}")
    rows = []
    for task, s in result["summary"].items():
        target = TARGETS[(name, task)]
        rows.append(
            {
                "dataset": name,
                "task": task,
                **s,
                "target": target,
                "met": s["lift"] >= target,
                "seconds": result["benchmark"]["seconds_total"],
            }
        )
    return rows


def summary_table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| dataset | task | selected | NDCG@10 | best baseline | NDCG@10 | lift | target | met | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['task']} | {r['selected']} | {r['selected_ndcg@10']:.4f} | "
            f"{r['best_baseline']} | {r['baseline_ndcg@10']:.4f} | {r['lift']:+.1%} | "
            f"+{r['target']:.0%} | {'yes' if r['met'] else 'NO'} | {r['seconds']} |"
        )
    return "\n".join(lines)


def dataset_arguments(description: str | None) -> argparse.ArgumentParser:
    """The options every quality benchmark takes: which data set, the budget, where to write."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["retail", "movielens", "all"], default="all")
    parser.add_argument("--budget", type=float, default=150.0, help="tuning seconds per dataset")
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
        rows += run(name, args.budget, args.out, args.movielens)
    print(f"\n## Summary ({datetime.now(UTC):%Y-%m-%d})\n\n{summary_table(rows)}")
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
