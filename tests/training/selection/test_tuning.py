"""Tuning: the search moves only on improvement, and what it selects is consistent."""

from __future__ import annotations

import pytest

from models.algorithms.ease import EASEParams
from models.algorithms.repurchase import RepurchaseParams
from tests.support.synthetic_shop import as_purchases, taste_shop
from training.data.features import WeightParams
from training.evaluation.evaluate import EvalData
from training.evaluation.split import TemporalSplit
from training.selection.tune import CF_FAMILIES, SearchSpace, coordinate_search, search_space, spec_for, tune, untuned


def test_coordinate_search_keeps_a_value_only_when_it_scored_better() -> None:
    space = SearchSpace("x", {"a": 1, "b": 1}, {"a": [2, 3], "b": [2]})
    search = coordinate_search(space)
    tried = [next(search)]
    scores = {(1, 1): 0.5, (2, 1): 0.7, (3, 1): 0.6, (2, 2): 0.1}
    with pytest.raises(StopIteration):
        while True:
            point = tried[-1]
            tried.append(search.send(scores[(point["a"], point["b"])]))
    assert [(p["a"], p["b"]) for p in tried] == [(1, 1), (2, 1), (3, 1), (2, 2)]


def test_spec_for_separates_matrix_weights_from_model_parameters() -> None:
    spec = spec_for("ease", {"l2": 50.0, "weights.half_life_days": 30.0, "weights.scheme": "binary"})
    assert spec.params == EASEParams(l2=50.0)
    assert spec.weights.half_life_days == 30.0 and spec.weights.scheme == "binary"
    # repurchase's own half-life is a model parameter; the matrix keeps its default weighting
    rep = spec_for("repurchase", {"half_life_days": 30.0})
    assert rep.params == RepurchaseParams(half_life_days=30.0) and rep.weights == WeightParams()


def test_a_search_point_with_a_parameter_the_model_lacks_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="model 'ease' has no parameter 'half_life_days'"):
        spec_for("ease", {"l2": 50.0, "half_life_days": 30.0})


@pytest.mark.parametrize("family", [*CF_FAMILIES, "repurchase"])
def test_every_search_point_is_a_valid_spec(family: str) -> None:
    """The model's declared range and the matrix's, combined, only give specs the registry accepts."""
    space = search_space(family)
    points = [space.start] + [{**space.start, k: v} for k, values in space.values.items() for v in values]
    specs = [spec_for(family, point) for point in points]
    assert len({s.key() for s in specs}) == len(points)  # every value changes the spec


@pytest.fixture(scope="module")
def validation() -> EvalData:
    return EvalData.from_split(TemporalSplit(21)(as_purchases(taste_shop())))


def test_tuning_selects_a_winner_per_task_that_beats_popularity(validation: EvalData) -> None:
    tuning = tune(validation, budget_s=1.0)
    for task, spec in tuning.selected.items():
        rows = tuning.validation[task]
        assert rows[spec.name]["ndcg@10"] > rows["popularity"]["ndcg@10"]
        assert rows[spec.name]["ndcg@10"] > rows["recent_popularity"]["ndcg@10"]
    families = {t["family"] for t in tuning.trials}
    assert {"ease", "als", "item_knn", "repurchase", "blend"} <= families  # every family got its start point
    assert tuning.summary()["selected"] == {"discovery": tuning.selected["discovery"].name, "all": "repurchase+cf"}


def test_all_winner_blends_repurchase_with_the_discovery_winner(validation: EvalData) -> None:
    tuning = untuned(validation)
    everything = tuning.selected["all"]
    assert everything.family == "blend"
    (rep, _), (cf, weight) = everything.parts
    assert rep.family == "repurchase" and cf == tuning.selected["discovery"] and weight > 0
    assert not tuning.tuned
