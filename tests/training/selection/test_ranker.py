"""Selection and the two-stage model: tried after the usual winners, on the validation window's
training part only (its label window ends before the validation window starts), selected for
both tasks or neither, skipped when the budget is spent, recorded with its feature importances."""

from __future__ import annotations

import pandas as pd

from tests.support.synthetic_shop import as_purchases, taste_shop
from training.data.features import day_number
from training.evaluation.evaluate import EvalData
from training.selection.select import validation_window
from training.selection.tune import tune


def validation() -> tuple[EvalData, float]:
    purchases = as_purchases(taste_shop())
    splitter = validation_window(purchases, 28)
    cut = float(day_number(pd.Series([splitter.cutoff(purchases)]))[0])
    return EvalData.from_split(splitter(purchases)), cut


def test_always_selects_it_for_both_tasks_and_its_labels_end_before_the_validation_cut() -> None:
    ev, cut = validation()
    tuning = tune(ev, budget_s=5.0, two_stage="always")
    assert {t: s.family for t, s in tuning.selected.items()} == {"all": "two_stage", "discovery": "two_stage"}
    windows = tuning.ranker["windows"]
    assert windows["features_end"] < windows["label_start"] <= windows["label_end"] < cut
    assert set(tuning.ranker["feature_importance"]) == {"all", "discovery"}
    assert abs(sum(tuning.ranker["feature_importance"]["all"].values()) - 1.0) < 0.01
    for task in ("all", "discovery"):
        assert "two_stage" in tuning.validation[task]
    assert tuning.summary()["ranker"]["selected"] is True


def test_auto_skips_it_when_the_budget_is_spent_and_never_does_not_try() -> None:
    ev, _ = validation()
    spent = tune(ev, budget_s=0.0, two_stage="auto")
    assert spent.ranker == {"tried": False, "reason": "tuning budget spent"}
    assert all(s.family != "two_stage" for s in spent.selected.values())
    never = tune(ev, budget_s=5.0, two_stage="never")
    assert never.ranker == {} and "two_stage" not in never.best


def test_auto_keeps_it_only_when_it_beats_the_winners_on_every_task() -> None:
    ev, _ = validation()
    tuning = tune(ev, budget_s=20.0, two_stage="auto")
    ranker = tuning.ranker
    assert ranker["tried"] is True
    wins = all(ranker["validation_ndcg@10"][t] > ranker["incumbents_ndcg@10"][t] for t in ev.tasks)
    assert ranker["selected"] is wins
    families = {s.family for s in tuning.selected.values()}
    assert (families == {"two_stage"}) is wins
