"""The evaluation protocol: who is evaluated, what counts as truth, and the full run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.support.synthetic_shop import as_purchases, taste_shop
from training.evaluation.evaluate import EvalData, evaluate_specs, model_scores, recommendations
from training.evaluation.protocol import run_protocol
from training.evaluation.split import Split, TemporalSplit
from training.selection.candidates import baseline_specs


def tiny_split() -> Split:
    """a bought x, y before; in the window a buys y again and z (new). b only shops in the
    window (not evaluated). c buys w, which nobody bought before (left out of the truth)."""
    day = pd.Timestamp("2024-01-01")
    train = [("a", "x", 0), ("a", "y", 1), ("c", "y", 2), ("c", "z", 3)]
    test = [("a", "y", 10), ("a", "z", 11), ("b", "x", 10), ("c", "w", 12)]

    def frame(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
        f = pd.DataFrame(rows, columns=["customer_id", "item_id", "d"])
        f["timestamp"] = day + pd.to_timedelta(f.pop("d"), unit="D")
        return as_purchases(f.assign(quantity=1, price=1.0))

    return Split(frame(train), frame(test), "tiny")


def test_truth_per_task_and_who_is_evaluated() -> None:
    ev = EvalData.from_split(tiny_split())
    items = ev.data.history.items.ids
    customers = ev.data.history.customers.ids
    assert customers[ev.rows[ev.positions["all"]]].tolist() == ["a"]
    assert sorted(items[ev.truth["all"][0].indices]) == ["y", "z"]
    assert items[ev.truth["discovery"][0].indices].tolist() == ["z"]


def test_discovery_recommendations_never_contain_bought_items() -> None:
    purchases = as_purchases(taste_shop(n_customers=30, days=80))
    ev = EvalData.from_split(TemporalSplit(14)(purchases))
    spec = baseline_specs()[0]
    ids = recommendations(model_scores(ev.data.fit(spec), ev, spec), ev, "discovery", 10)
    history = ev.data.history.matrix
    for row, recos in zip(ev.rows[ev.positions["discovery"]], ids):
        assert not set(history[row].indices) & set(recos[recos >= 0])


def test_purchase_frequency_is_only_scored_on_the_all_task() -> None:
    ev = EvalData.from_split(TemporalSplit(14)(as_purchases(taste_shop(n_customers=30, days=80))))
    specs = [s for s in baseline_specs() if s.name in ("popularity", "purchase_frequency")]
    metrics, _ = evaluate_specs(specs, ev, [5])
    assert set(metrics["all"]) == {"popularity", "purchase_frequency"}
    assert set(metrics["discovery"]) == {"popularity"}
    assert metrics["all"]["purchase_frequency"]["ndcg@5"] > metrics["all"]["popularity"]["ndcg@5"]


def test_protocol_reports_selected_models_against_every_baseline() -> None:
    purchases = as_purchases(taste_shop())
    result = run_protocol(purchases, TemporalSplit(21), [5, 10], budget_s=1.0)
    baselines = {"popularity", "recent_popularity", "item_knn_cosine", "item_knn_bm25", "als_default"}
    for task in ("all", "discovery"):
        rows = result["metrics"][task]
        assert baselines <= set(rows)
        assert {"ndcg@10", "recall@5", "map@10", "hitrate@5", "coverage@10", "popularityrank@10"} <= set(
            rows[result["summary"][task]["selected"]]
        )
        selected = rows[result["summary"][task]["selected"]]["ndcg@10"]
        assert selected > 2 * max(rows["popularity"]["ndcg@10"], rows["recent_popularity"]["ndcg@10"])
    assert "purchase_frequency" in result["metrics"]["all"]
    assert np.isclose(
        result["summary"]["all"]["selected_ndcg@10"],
        result["metrics"]["all"][result["summary"]["all"]["selected"]]["ndcg@10"],
    )
    assert result["segments"]["all"][result["summary"]["all"]["selected"]]


def test_validation_sample_caps_evaluated_customers_deterministically(retail_slice) -> None:  # type: ignore[no-untyped-def]
    from training.data.clean import clean_purchases
    from training.data.load import load_purchases
    from training.evaluation.evaluate import EvalData
    from training.evaluation.split import TemporalSplit

    purchases = clean_purchases(load_purchases(retail_slice, "online-retail"), fmt="online-retail").purchases
    split = TemporalSplit(60)(purchases)
    full = EvalData.from_split(split)
    capped = EvalData.from_split(split, max_customers=10)
    again = EvalData.from_split(split, max_customers=10)
    assert full.customers("all") > 10
    assert capped.customers("all") == 10 and capped.customers("discovery") <= 10
    assert np.array_equal(capped.rows, again.rows)
    assert set(capped.rows) <= set(full.rows)
