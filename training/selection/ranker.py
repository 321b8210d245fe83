"""Whether the two-stage recommender (`models.algorithms.two_stage`) is what `train` publishes.

After the usual winners are chosen, the two-stage model is fitted once on the validation
window's training part (its own label window is carved from the end of that part, so the
validation window stays unseen) with the tuned EASE's λ and half-life for its generators, and
scored on the validation window for every task. Modes (`QualityParams.two_stage`):

- `auto`: tried when the tuning budget is not spent, selected for every task when it beats
  the winners on every task (one model publishes both lists, so it is chosen for both or
  neither);
- `always`: tried and selected whatever the budget and the figures (the quality gate still
  applies);
- `never`: not tried.

What it learnt (its label window and feature importances per task) goes into the tuning
summary, hence into metrics.json, the report and the manifest.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Literal

from models.algorithms.two_stage import TwoStageParams, TwoStageRecommender
from training.evaluation.evaluate import model_scores
from training.selection.candidates import ModelSpec

if TYPE_CHECKING:
    from training.selection.tune import _Tuner

log = logging.getLogger(__name__)

TwoStageMode = Literal["auto", "always", "never"]
NAME = "two_stage"
CF_SHARE = 0.6  # in `auto`, the share of the budget the collaborative search may use before it


def two_stage_spec(tuner: _Tuner) -> ModelSpec:
    """The two-stage model with the tuned EASE's λ and confidence half-life, when EASE was tuned."""
    ease = tuner.out.best.get("ease")
    params: dict[str, Any] = {}
    if ease is not None:
        params["ease_l2"] = float(ease.params.l2)  # type: ignore[attr-defined]
        if ease.weights.half_life_days is not None:
            params["half_life_days"] = float(ease.weights.half_life_days)
    return ModelSpec(name=NAME, family=NAME, params=TwoStageParams(**params))


def consider_two_stage(tuner: _Tuner, mode: TwoStageMode, deadline: float) -> None:
    """Fit, score and maybe select the two-stage model (see the module's docstring)."""
    out = tuner.out
    if mode == "never":
        return
    if mode == "auto" and time.perf_counter() > deadline:
        out.ranker = {"tried": False, "reason": "tuning budget spent"}
        log.info("two-stage ranker not tried: the tuning budget is spent")
        return
    spec = two_stage_spec(tuner)
    start = time.perf_counter()
    model = tuner.ev.data.fit(spec, cache=False)
    assert isinstance(model, TwoStageRecommender)
    scores = model_scores(model, tuner.ev, spec)
    tuner.trial(spec, scores, time.perf_counter() - start)
    tuner.record(spec, scores)
    out.best[NAME] = spec
    mine = {t: tuner.out.validation[t][NAME]["ndcg@10"] for t in tuner.ev.tasks}
    theirs = {t: tuner.out.validation[t][out.selected[t].name]["ndcg@10"] for t in tuner.ev.tasks}
    chosen = mode == "always" or all(mine[t] > theirs[t] for t in tuner.ev.tasks)
    if chosen:
        out.selected = {t: spec for t in out.selected}
    out.ranker = {
        "tried": True,
        "selected": chosen,
        "mode": mode,
        "validation_ndcg@10": mine,
        "incumbents_ndcg@10": theirs,
        **model.summary(),
    }
