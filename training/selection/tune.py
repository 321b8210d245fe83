"""Automatic tuning on a validation window, within a time budget.

The validation window is carved from the end of the *training* data (the same splitter applied
again), so the test window of an evaluation is never seen while choosing. Steps:

1. Baselines on the validation window (recent popularity's window chosen per task); for an
   evaluation, the published ones with parameters (TIFU-KNN, RP3beta, EASE on the papers'
   weightings, `TUNED_BASELINES`) searched like the models below, within the first half of the
   budget, each on the task it was made for.
2. Collaborative families (EASE, ALS, item-kNN) searched one coordinate at a time from a sensible
   starting point, taking turns, until the budget is spent; every family's start is always tried.
   Each model declares its own range (`ModelParams.search`); the confidence matrix's is here.
   Objective: NDCG@10 on *discovery* (on *all* when that is the only task).
3. Discovery winner: the best collaborative model, blended with recent popularity when that helps.
4. Repurchase model searched on *all*, then the *all* winner: repurchase blended with the
   discovery winner (see `models.algorithms.blend` for why the two lists stay consistent).

Blends are tuned on cached score matrices, so a blend weight costs no refit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from models.algorithms.blend import BlendedScores, scaled_rows
from models.algorithms.registry import model_type, validate_params
from models.evaluation.metrics import calc_metrics
from training.data.features import WeightParams
from training.evaluation.evaluate import EvalData, Scores, applies, model_scores, task_metrics
from training.selection.blend_topk import BlendTopK
from training.selection.candidates import TUNED_BASELINES, ModelSpec, TunedBaseline, baseline_specs, blend_spec
from training.selection.ranker import CF_SHARE, TwoStageMode, consider_two_stage

log = logging.getLogger(__name__)

SELECT = "ndcg@10"
WEIGHTS = "weights."  # prefix of a search coordinate of the confidence matrix, not of the model


@dataclass(frozen=True)
class SearchSpace:
    family: str
    start: dict[str, Any]  # model parameters, and the matrix weighting's as WEIGHTS + name
    values: dict[str, list[Any]]  # tried one coordinate at a time, in this order


CF_FAMILIES = ("ease", "als", "item_knn")  # searched taking turns, in this order
# The confidence matrix each collaborative family is searched on: where it starts and what is
# tried after the model's own parameters (whose range the model declares: `ModelParams.search`).
MATRIX_SEARCH: dict[str, tuple[dict[str, Any], dict[str, list[Any]]]] = {
    "ease": ({"half_life_days": 30.0}, {"half_life_days": [90.0, None], "scheme": ["binary"]}),
    "als": ({"half_life_days": 30.0}, {"half_life_days": [90.0, None]}),
    "item_knn": ({"half_life_days": 30.0}, {"half_life_days": [90.0, None]}),
}
RECENT_WINDOWS = (7.0, 14.0, 28.0, 56.0)
RECENT_BLEND_WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
CF_BLEND_WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
UNTUNED_DISCOVERY_RECENT_WEIGHT = 0.2  # when there is nothing to validate on (`--force`)
UNTUNED_ALL_CF_WEIGHT = 0.2


def search_space(family: str) -> SearchSpace:
    """The family's own range (from the registry), then its confidence matrix's."""
    params = model_type(family).params
    matrix_start, matrix_values = MATRIX_SEARCH.get(family, ({}, {}))
    return SearchSpace(
        family,
        {**params.search_start(), **{WEIGHTS + k: v for k, v in matrix_start.items()}},
        {
            **{k: list(v) for k, v in params.search.values.items()},
            **{WEIGHTS + k: list(v) for k, v in matrix_values.items()},
        },
    )


def baseline_space(baseline: TunedBaseline) -> SearchSpace:
    """A tuned baseline's range: its family's own, then the weightings it names."""
    params = model_type(baseline.family).params
    return SearchSpace(
        baseline.family,
        {**params.search_start(), **{WEIGHTS + k: v for k, v in baseline.weights.items()}},
        {
            **{k: list(v) for k, v in params.search.values.items()},
            **{WEIGHTS + k: list(v) for k, v in baseline.weight_values.items()},
        },
    )


def spec_for(family: str, point: dict[str, Any], name: str | None = None) -> ModelSpec:
    """The spec of a search point: WEIGHTS coordinates weight the matrix, the rest are the
    model's parameters (validated by its params class)."""
    weights = WeightParams(**{k.removeprefix(WEIGHTS): v for k, v in point.items() if k.startswith(WEIGHTS)})
    params = validate_params(family, {k: v for k, v in point.items() if not k.startswith(WEIGHTS)})
    return ModelSpec(name=name or family, family=family, params=params, weights=weights)


def coordinate_search(space: SearchSpace) -> Generator[dict[str, Any], float, None]:
    """Yields points to try, is sent each one's score; moves to a value only if it scored better."""
    best = dict(space.start)
    best_score = yield best
    for name, values in space.values.items():
        for value in values:
            if value == best.get(name, object()):
                continue
            candidate = {**best, name: value}
            score = yield candidate
            if score > best_score:
                best, best_score = candidate, score


@dataclass
class Tuning:
    """The outcome: winners per task, best spec per row of the report, validation figures."""

    selected: dict[str, ModelSpec] = field(default_factory=dict)
    best: dict[str, ModelSpec] = field(default_factory=dict)
    baselines: list[ModelSpec] = field(default_factory=list)
    validation: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    tuned: bool = True
    ranker: dict[str, Any] = field(default_factory=dict)  # the two-stage model's step (`training.selection.ranker`)

    def report_specs(self) -> list[ModelSpec]:
        """Winners, then the best of each family, then baselines; each name once."""
        seen: dict[str, ModelSpec] = {}
        for spec in [*self.selected.values(), *self.best.values(), *self.baselines]:
            seen.setdefault(spec.name, spec)
        return list(seen.values())

    def summary(self) -> dict[str, Any]:
        return {
            "tuned": self.tuned,
            "seconds": round(self.seconds, 1),
            "selected": {task: spec.name for task, spec in self.selected.items()},
            "models": {spec.name: spec.summary() for spec in self.report_specs()},
            "validation": self.validation,
            "trials": self.trials,
            **({"ranker": self.ranker} if self.ranker else {}),
        }


class _Tuner:
    def __init__(self, ev: EvalData, ks: list[int]) -> None:
        self.ev, self.ks, self.out = ev, ks, Tuning(validation={t: {} for t in ev.tasks})
        self.objective = "discovery" if "discovery" in ev.tasks else "all"
        self.scores: dict[str, Scores] = {}
        self.blends = BlendTopK(ev)  # ranks blend tries and popularity from candidates
        self._recent: list[tuple[Scores, str, tuple[int, ...], dict[str, float]]] = []  # see `metrics`

    def metrics(self, scores: Scores, task: str, ks: list[int]) -> dict[str, float]:
        """`task_metrics`, remembered for the last few score matrices: a try's metrics are
        computed for its trial and asked for again when it is recorded as a report row (each
        costs a top-k over every item for thousands of customers)."""
        for seen, seen_task, seen_ks, values in self._recent:
            if seen is scores and seen_task == task and seen_ks == tuple(ks):
                return values
        ranked = self.blends.ranked(scores, task, max(ks))
        if ranked is not None:
            values = calc_metrics(ranked, self.ev.truth[task], ks, self.ev.item_rank)
        else:
            values = task_metrics(scores, self.ev, task, ks)
        self._recent = [*self._recent[-7:], (scores, task, tuple(ks), values)]
        return values

    def score(self, spec: ModelSpec, record: bool = True) -> Scores:
        """Fit on the validation window's training part, log a trial, return the scores (and
        keep the metrics as a report row when `record`)."""
        start = time.perf_counter()
        scores = model_scores(self.ev.data.fit(spec, cache=False), self.ev, spec)
        self.trial(spec, scores, time.perf_counter() - start)
        if record:
            self.record(spec, scores)
        return scores

    def trial(self, spec: ModelSpec, scores: Scores, seconds: float = 0.0) -> dict[str, float]:
        values = {t: self.metrics(scores, t, [10])[SELECT] for t in self.ev.tasks if applies(spec, t)}
        self.out.trials.append(
            {
                "name": spec.name,
                **spec.summary(),
                "seconds": round(seconds, 2),
                **{f"{t}_{SELECT}": round(v, 5) for t, v in values.items()},
            }
        )
        return values

    def record(self, spec: ModelSpec, scores: Scores) -> None:
        for task in self.ev.tasks:
            if applies(spec, task):
                self.out.validation[task][spec.name] = self.metrics(scores, task, self.ks)

    def value(self, task: str) -> float:
        return float(self.out.trials[-1].get(f"{task}_{SELECT}", 0.0))

    def baselines(self, fast: bool = False) -> None:
        """Recent popularity's window is chosen on the validation objective, like a model's."""
        by_window = {}
        for window in RECENT_WINDOWS:
            self.score(baseline_specs(window)[1], record=False)
            by_window[window] = self.value(self.objective)
        specs = baseline_specs(max(by_window, key=lambda w: by_window[w]))
        for spec in specs[:2] if fast else specs:
            self.out.baselines.append(spec)
            self.scores[spec.name] = self.score(spec)

    def tuned_baselines(self, deadline: float) -> None:
        """The published baselines with parameters, each searched on its own task (see
        `TunedBaseline`), recorded as baselines."""
        wanted = list(TUNED_BASELINES)
        spaces = {b.name: baseline_space(b) for b in wanted if self._fits(b.family)}
        objectives = {b.name: b.objective if b.objective in self.ev.tasks else self.objective for b in wanted}
        families = {b.name: b.family for b in wanted}
        for name, (spec, _, scores) in self.collaborative(deadline, spaces, objectives, families).items():
            self.out.baselines.append(spec)
            self.scores[name] = scores
            self.record(spec, scores)

    def _fits(self, family: str) -> bool:
        limit = model_type(family).cls.max_items  # EASE: a dense item x item matrix
        return limit is None or self.ev.data.history.shape[1] <= limit

    def collaborative(
        self,
        deadline: float,
        spaces: dict[str, SearchSpace] | None = None,
        objectives: dict[str, str] | None = None,
        families: dict[str, str] | None = None,
    ) -> dict[str, tuple[ModelSpec, float, Scores]]:
        """Coordinate searches taking turns until `deadline` (each one's start always tried):
        by default the collaborative families on the selection objective; or the named
        `spaces`, each with its own objective and family (the spec is named after the space)."""
        if spaces is None:
            spaces = {f: search_space(f) for f in CF_FAMILIES if self._fits(f)}
        searches = {name: coordinate_search(space) for name, space in spaces.items()}
        pending = {name: next(search) for name, search in searches.items()}
        best: dict[str, tuple[ModelSpec, float, Scores]] = {}
        while pending:
            for family in list(pending):
                if family in best and time.perf_counter() > deadline:
                    del pending[family]
                    continue
                spec = spec_for((families or {}).get(family, family), pending[family], name=family)
                scores = self.score(spec, record=False)
                value = self.value((objectives or {}).get(family, self.objective))
                if family not in best or value > best[family][1]:
                    best[family] = (spec, value, scores)
                try:
                    pending[family] = searches[family].send(value)
                except StopIteration:
                    del pending[family]
        return best

    def best_blend(
        self,
        name: str,
        base: tuple[ModelSpec, Scores],
        other: tuple[ModelSpec, Scores],
        weights: tuple[float, ...],
        task: str,
        keep_base: bool,
    ) -> tuple[ModelSpec, Scores]:
        """`base` + w · `other` over `weights` (cached scores); `base` alone too if `keep_base`."""
        options: list[tuple[ModelSpec, Scores, float]] = (
            [(base[0], base[1], self.trial(base[0], base[1])[task])] if keep_base else []
        )
        scaled_base, scaled_other = scaled_rows(base[1]), scaled_rows(other[1])  # once for every weight
        for w in weights:
            scores = BlendedScores([(scaled_base, 1.0), (scaled_other, w)], scaled=True)
            spec = blend_spec(name, [(base[0], 1.0), (other[0], w)])
            options.append((spec, scores, self.trial(spec, scores)[task]))
        best_spec, best_scores, _ = max(options, key=lambda o: o[2])
        return best_spec, best_scores

    def repurchase(self) -> tuple[ModelSpec, Scores]:
        search = coordinate_search(search_space("repurchase"))
        point, best = next(search), None
        while True:
            spec = spec_for("repurchase", point)
            scores = self.score(spec, record=False)
            if best is None or self.value("all") > best[2]:
                best = (spec, scores, self.value("all"))
            try:
                point = search.send(self.value("all"))
            except StopIteration:
                return best[0], best[1]


def tune(
    ev: EvalData,
    budget_s: float = 45.0,
    ks: list[int] | None = None,
    tuned_baselines: bool = True,
    two_stage: TwoStageMode = "auto",
) -> Tuning:
    """Search within `budget_s` seconds (each family's starting point is always tried): the tuned
    baselines first (a third of the budget; without `tuned_baselines`, as in training, which only
    needs a winner and the popularity gate, none), then the collaborative families, then the
    two-stage model (`training.selection.ranker`), in `auto` within what is left of the budget."""
    start = time.perf_counter()
    tuner = _Tuner(ev, ks or [10])
    tuner.baselines()
    if tuned_baselines:
        tuner.tuned_baselines(deadline=start + budget_s / 3)
    left = max(0.0, start + budget_s - time.perf_counter())
    families = tuner.collaborative(deadline=time.perf_counter() + left * (CF_SHARE if two_stage == "auto" else 1.0))
    for family, (spec, _, scores) in families.items():
        tuner.record(spec, scores)
        tuner.out.best[family] = spec
    best = max(families, key=lambda f: families[f][1])
    recent = tuner.out.baselines[1]
    cf, recent_pair = (families[best][0], families[best][2]), (recent, tuner.scores[recent.name])
    discovery = tuner.best_blend("cf+recent", cf, recent_pair, RECENT_BLEND_WEIGHTS, tuner.objective, keep_base=True)
    _select(tuner, discovery, lambda: tuner.repurchase(), CF_BLEND_WEIGHTS)
    consider_two_stage(tuner, two_stage, deadline=start + budget_s)
    tuner.out.seconds = time.perf_counter() - start
    return tuner.out


def untuned(ev: EvalData, ks: list[int] | None = None) -> Tuning:
    """The fast path: default models (ALS, which the artifact needs anyway, and repurchase),
    fitted once; only the blend weights are chosen, on cached scores, which costs no refit.
    Checked on the validation window against the two popularity baselines only."""
    start = time.perf_counter()
    tuner = _Tuner(ev, ks or [10])
    tuner.baselines(fast=True)
    cf = untuned_als()
    tuner.out.best["als"] = cf
    recent = tuner.out.baselines[1]
    pair = tuner.best_blend(
        "cf+recent",
        (cf, tuner.score(cf)),
        (recent, tuner.scores[recent.name]),
        RECENT_BLEND_WEIGHTS,
        tuner.objective,
        keep_base=False,
    )

    def repurchase() -> tuple[ModelSpec, Scores]:
        spec = spec_for("repurchase", search_space("repurchase").start)
        return spec, tuner.score(spec, record=False)

    _select(tuner, pair, repurchase, CF_BLEND_WEIGHTS)
    tuner.out.tuned, tuner.out.seconds = False, time.perf_counter() - start
    return tuner.out


def untuned_als() -> ModelSpec:
    """The training pipeline's own ALS (default `ALSParams` and weights, as in `TrainParams`), so
    the artifact's ALS is fitted once and serves both the service and the published lists."""
    return ModelSpec(name="als", family="als")


def default_specs() -> dict[str, ModelSpec]:
    """The untuned choice per task, for when there is nothing to validate on (`--force`)."""
    cf = untuned_als()
    discovery = blend_spec("cf+recent", [(cf, 1.0), (baseline_specs()[1], UNTUNED_DISCOVERY_RECENT_WEIGHT)])
    repurchase = spec_for("repurchase", search_space("repurchase").start)
    everything = blend_spec("repurchase+cf", [(repurchase, 1.0), (discovery, UNTUNED_ALL_CF_WEIGHT)])
    return {"discovery": discovery, "all": everything}


def _select(
    tuner: _Tuner,
    discovery: tuple[ModelSpec, Scores],
    repurchase: Callable[[], tuple[ModelSpec, Scores]],
    cf_weights: tuple[float, ...],
) -> None:
    """Record the discovery winner; then the *all* winner, repurchase blended with it."""
    out = tuner.out
    tuner.record(*discovery)
    out.selected["discovery"] = discovery[0]
    if discovery[0].family == "blend":
        out.best["cf+recent"] = discovery[0]
    if "all" not in tuner.ev.tasks:
        return
    rep = repurchase()
    everything = tuner.best_blend("repurchase+cf", rep, discovery, cf_weights, "all", keep_base=False)
    tuner.record(*rep)
    tuner.record(*everything)
    out.best["repurchase"], out.best["repurchase+cf"] = rep[0], everything[0]
    out.selected["all"] = everything[0]
