"""Which similar-items source helps "because you bought X" more: co-purchase cosine or ALS?

Time split on the bundled year: fit on everything before the last `--holdout-days`, then for
each customer who bought something new afterwards take the item they bought last before the
split as the anchor (as the personal store does) and ask whether the anchor's top-10 similar
items, minus what the customer already had, contain one of the new purchases.

    python -m benchmarks.bench_similar_items [--purchases FILE] [--holdout-days 30]

Prints a markdown table (numbers recorded in docs/similar_items.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from models.algorithms.als import ALSRecommender
from training.data.clean import clean_purchases
from training.data.features import WeightParams, build_interactions
from training.data.load import load_purchases
from training.storefront.similar import cosine_neighbours, model_neighbours

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "online_retail_ii_2009_2010.parquet"
K = 10


def cases(purchases: pd.DataFrame, holdout_days: float):  # type: ignore[no-untyped-def]
    split = purchases["timestamp"].max() - pd.Timedelta(days=holdout_days)
    before, after = purchases[purchases["timestamp"] <= split], purchases[purchases["timestamp"] > split]
    interactions, history = build_interactions(before, WeightParams())
    items = interactions.items
    last = before.sort_values("timestamp").groupby("customer_id").tail(1)
    had = before.groupby("customer_id")["item_id"].agg(set)
    later = after.groupby("customer_id")["item_id"].agg(set)
    out = []
    for customer, anchor in zip(last["customer_id"], last["item_id"]):
        new = {items.row(i) for i in later.get(customer, set()) - had[customer] if i in items}
        if new:
            out.append((items.row(anchor), new, {items.row(i) for i in had[customer]}))
    return interactions, history, out


def score(neighbours: np.ndarray, evaluation: list) -> tuple[float, float]:  # type: ignore[type-arg]
    hits = recall = 0.0
    for anchor, new, had in evaluation:
        top = [i for i in neighbours[anchor] if i >= 0 and i not in had][:K]
        found = len(set(top) & new)
        hits += found > 0
        recall += found / len(new)
    return hits / len(evaluation), recall / len(evaluation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=Path, default=BUNDLED)
    parser.add_argument("--holdout-days", type=float, default=30.0)
    args = parser.parse_args()
    purchases = clean_purchases(load_purchases(args.purchases, "online-retail"), fmt="online-retail").purchases
    interactions, history, evaluation = cases(purchases, args.holdout_days)
    n_items = history.matrix.shape[1]
    buyers = np.asarray((history.matrix > 0).sum(axis=0)).ravel()
    sources = {
        "cosine (co-purchase)": lambda: cosine_neighbours(history.matrix, 60)[0],
        "als (item factors)": lambda: model_neighbours(ALSRecommender().fit(interactions), n_items, 60)[0],
        "popularity (baseline)": lambda: np.tile(np.argsort(-buyers)[:60], (n_items, 1)),
    }
    print(f"{len(evaluation)} customers with a new purchase in the last {args.holdout_days:.0f} days\n")
    print(f"| source | hit@{K} | recall@{K} | seconds |\n|---|---|---|---|")
    for name, build in sources.items():
        start = time.perf_counter()
        neighbours = build()
        seconds = time.perf_counter() - start
        hit, recall = score(neighbours, evaluation)
        print(f"| {name} | {hit:.3f} | {recall:.3f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
