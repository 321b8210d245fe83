"""Blend tries ranked from their parts' best items give the same top k as ranking every item."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.synthetic import shop_spec, write
from models.algorithms.blend import BlendedScores, scaled_rows, score_rows
from training.data.load import load_purchases
from training.evaluation.evaluate import EvalData, model_scores, recommendations
from training.evaluation.split import TemporalSplit
from training.selection import blend_topk
from training.selection.blend_topk import BlendTopK, values_at
from training.selection.candidates import ModelSpec, baseline_specs
from training.selection.tune import search_space, spec_for, untuned, untuned_als


@pytest.fixture(scope="module", params=["default", "narrow"])
def validation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> EvalData:
    path = tmp_path_factory.mktemp("shop") / "shop.parquet"
    write(shop_spec(request.param, customers=1_500, items=400, lines=25_000, seed=3), path)
    purchases = load_purchases(path)
    return EvalData.from_split(TemporalSplit(28)(purchases))


def _parts(ev: EvalData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def scores(spec: ModelSpec) -> np.ndarray:
        return model_scores(ev.data.fit(spec), ev, spec)

    als = untuned_als()
    return scores(als), scores(baseline_specs()[1]), scores(spec_for("repurchase", search_space("repurchase").start))


def test_candidates_give_the_top_k_of_every_item(validation: EvalData) -> None:
    als, recent, repurchase = _parts(validation)
    discovery = BlendedScores([(scaled_rows(als), 1.0), (scaled_rows(recent), 0.3)], scaled=True)
    nested = BlendedScores([(scaled_rows(repurchase), 1.0), (scaled_rows(discovery), 0.2)], scaled=True)
    ranker = BlendTopK(validation, min_items=0)
    for blend in (discovery, nested):
        assert ranker.applies(blend, 10)
        for task in validation.tasks:
            assert np.array_equal(ranker.recommendations(blend, task, 10), recommendations(blend, validation, task, 10))
    assert ranker.from_candidates > 4 * ranker.from_every_item  # the bound settles most customers


def test_popularity_for_discovery_from_candidates_is_the_top_k_of_every_item(validation: EvalData) -> None:
    _, recent, _ = _parts(validation)
    ranker = BlendTopK(validation, min_items=0)
    expected = recommendations(recent, validation, "discovery", 10)
    assert np.array_equal(ranker.ranked(recent, "discovery", 10), expected)  # type: ignore[arg-type]
    assert ranker.from_candidates > 0


def test_values_at_are_the_dense_rows_numbers(validation: EvalData) -> None:
    als, recent, _ = _parts(validation)
    blend = BlendedScores([(scaled_rows(als), 1.0), (scaled_rows(recent), 0.05)], scaled=True)
    rows = np.arange(min(50, blend.shape[0]))
    items = np.random.default_rng(0).integers(0, blend.shape[1], (len(rows), 30))
    dense = score_rows(blend, rows)
    assert np.array_equal(values_at(blend, rows, items), np.take_along_axis(dense, items, axis=1))


def test_tuning_chooses_and_reports_the_same_with_the_candidate_ranking(
    validation: EvalData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shop is below `MIN_ITEMS`, so tuning ranks every item; forced onto the candidate
    path it must give the same trials, figures and winners."""
    every_item = untuned(validation)
    monkeypatch.setattr(blend_topk, "MIN_ITEMS", 0)
    candidates = untuned(validation)
    assert candidates.validation == every_item.validation
    assert _without_seconds(candidates.trials) == _without_seconds(every_item.trials)
    assert candidates.selected == every_item.selected


def _without_seconds(trials: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in t.items() if k != "seconds"} for t in trials]


def test_a_blend_with_a_negative_weight_is_left_to_the_dense_ranking(validation: EvalData) -> None:
    als, recent, _ = _parts(validation)
    blend = BlendedScores([(scaled_rows(als), 1.0), (scaled_rows(recent), -0.1)], scaled=True)
    assert not BlendTopK(validation, min_items=0).applies(blend, 10)
