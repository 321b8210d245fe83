"""Quality benchmark of the two-stage ranker: NDCG@10 with 95% intervals over customers.

    python benchmarks/two_stage_quality.py [--dataset retail|movielens|all] [--budget 150] [--out DIR]

The protocol of `benchmarks/quality.py` (the same data sets, splits and tuning on a validation
window carved from the training part), with the two-stage model (`models.algorithms.two_stage`)
tried by tuning (`--two-stage auto`, the default of `train`) and always scored on the test
window beside the selected models and every baseline of the same run. Per model and task: the
mean NDCG@10 with a 95% interval over customers (normal approximation, 1.96 standard errors),
and the two-stage model's paired difference against the best baseline (the same customers, the
interval of the per-customer differences). Also the seconds of tuning (the two-stage fit
included) and of the two-stage model's final fit. Writes `<out>/<dataset>/two_stage.json` and
prints Markdown.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.quality import DATASETS, MOVIELENS, dataset_arguments, movielens, retail  # noqa: E402
from models.evaluation.metrics import per_customer_metrics  # noqa: E402
from training.evaluation.evaluate import EvalData, applies, model_scores, recommendations  # noqa: E402
from training.selection.ranker import NAME, two_stage_spec  # noqa: E402
from training.selection.tune import _Tuner, tune  # noqa: E402

TARGETS = {("retail", "all"): 0.15, ("retail", "discovery"): 0.30, ("movielens", "discovery"): 0.10}
Z95 = 1.96


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and its 95% interval (normal approximation over customers)."""
    mean = float(np.mean(values))
    half = Z95 * float(np.std(values, ddof=1)) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return mean, mean - half, mean + half


def run(name: str, budget: float, movielens_path: Path = MOVIELENS) -> dict[str, Any]:
    splitter, tasks = DATASETS[name]
    purchases = movielens(movielens_path) if name == "movielens" else retail()
    split = splitter(purchases)
    start = time.perf_counter()
    validation = EvalData.from_split(splitter(split.train), tasks)
    tuning = tune(validation, budget, [10], two_stage="auto")
    tune_seconds = time.perf_counter() - start
    test = EvalData.from_split(split, tasks)
    specs = tuning.report_specs()
    if NAME not in {s.name for s in specs}:  # the budget ran out before it: scored all the same
        specs.append(two_stage_spec(_Tuner(validation, [10])))
    per_customer: dict[str, dict[str, np.ndarray]] = {t: {} for t in tasks}
    fit_seconds: dict[str, float] = {}
    for spec in specs:
        began = time.perf_counter()
        model = test.data.fit(spec)
        fit_seconds[spec.name] = round(time.perf_counter() - began, 1)
        scores = model_scores(model, test, spec)
        for task in tasks:
            if applies(spec, task):
                recos = recommendations(scores, test, task, 10)
                per_customer[task][spec.name] = per_customer_metrics(recos, test.truth[task], [10], test.item_rank)[
                    "ndcg@10"
                ]
    baselines = [b.name for b in tuning.baselines]
    result: dict[str, Any] = {
        "dataset": name,
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "split": split.description,
        "budget_s": budget,
        "tune_seconds": round(tune_seconds, 1),
        "two_stage_fit_seconds": fit_seconds.get(NAME),
        "selected": {t: s.name for t, s in tuning.selected.items()},
        "ranker": tuning.ranker,
        "tasks": {},
    }
    for task in tasks:
        values = per_customer[task]
        best = max((b for b in baselines if b in values), key=lambda b: float(np.mean(values[b])))
        table = {model: dict(zip(("ndcg@10", "low", "high"), interval(v), strict=True)) for model, v in values.items()}
        diff = interval(values[NAME] - values[best])
        result["tasks"][task] = {
            "customers": int(len(values[best])),
            "best_baseline": best,
            "models": table,
            "kinds": {m: "baseline" if m in baselines else "model" for m in values},
            "two_stage_vs_best_baseline": {
                "difference": diff[0],
                "low": diff[1],
                "high": diff[2],
                "lift": table[NAME]["ndcg@10"] / table[best]["ndcg@10"] - 1.0,
                "target": TARGETS[(name, task)],
            },
        }
    return result


def markdown(result: dict[str, Any]) -> str:
    out = [f"## {result['dataset']} ({result['split']})", ""]
    out.append(
        f"tuning {result['tune_seconds']} s (budget {result['budget_s']} s, the two-stage fit included), "
        f"two-stage final fit {result['two_stage_fit_seconds']} s; selected: {result['selected']}"
    )
    for task, t in result["tasks"].items():
        out += ["", f"### {task} ({t['customers']} customers)", "", "| model | kind | NDCG@10 | 95% interval |"]
        out.append("|---|---|---|---|")
        ranked = sorted(t["models"].items(), key=lambda kv: -kv[1]["ndcg@10"])
        for model, v in ranked:
            kind = "selected" if result["selected"].get(task) == model else t["kinds"][model]
            out.append(f"| {model} | {kind} | {v['ndcg@10']:.4f} | {v['low']:.4f} – {v['high']:.4f} |")
        d = t["two_stage_vs_best_baseline"]
        out.append(
            f"\ntwo_stage vs {t['best_baseline']}: {d['difference']:+.4f} (95% {d['low']:+.4f} … {d['high']:+.4f}), "
            f"lift {d['lift']:+.1%}, target +{d['target']:.0%}: {'met' if d['lift'] >= d['target'] else 'NOT met'}"
        )
    return "\n".join(out)


def main() -> int:
    args = dataset_arguments(__doc__).parse_args()
    names = ["retail", "movielens"] if args.dataset == "all" else [args.dataset]
    for name in names:
        if name == "movielens" and not args.movielens.exists():
            print(f"skipping movielens: {args.movielens} not found")
            continue
        result = run(name, args.budget, args.movielens)
        target = args.out / name
        target.mkdir(parents=True, exist_ok=True)
        (target / "two_stage.json").write_text(json.dumps(result, indent=2, default=str))
        print(markdown(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
