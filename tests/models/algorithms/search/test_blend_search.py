"""The candidate search for a blend gives the lists of dense scoring (every item scored)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.algorithms.als import ALSParams
from models.algorithms.blend import BlendRecommender
from models.algorithms.ease import EASERecommender
from models.algorithms.search.blend import supported
from training import lists as lists_module
from training.lists import _history_batches, _scored_lists, _searched_lists
from training.selection.candidates import COUNTS, ModelSpec, TrainingData, baseline_specs, blend_spec
from training.selection.tune import search_space, spec_for


def random_shop(seed: int = 1, customers: int = 400, items: int = 900, lines: int = 12_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pop = 1.0 / (1.0 + np.arange(items)) ** 0.8
    heavy = rng.integers(0, customers, lines)
    heavy[:400] = 0  # customer 0 bought hundreds of items: more than the search's spare
    return pd.DataFrame(
        {
            "customer_id": heavy.astype(str),
            "item_id": np.where(
                np.arange(lines) < 400, np.arange(lines) % items, rng.choice(items, lines, p=pop / pop.sum())
            ).astype(str),
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 300, lines), unit="D"),
            "quantity": 1,
            "price": 1.0,
            "invoice": None,
        }
    )


def published_blend(recent_weight: float, cf_weight: float):  # type: ignore[no-untyped-def]
    """repurchase + w · (ALS + w' · recent popularity): what training publishes."""
    als = ModelSpec(name="als", family="als", params=ALSParams(factors=16, iterations=5), weights=COUNTS)
    discovery = blend_spec("cf+recent", [(als, 1.0), (baseline_specs()[1], recent_weight)])
    repurchase = spec_for("repurchase", search_space("repurchase").start)
    return blend_spec("repurchase+cf", [(repurchase, 1.0), (discovery, cf_weight)])


@pytest.mark.parametrize(("recent_weight", "cf_weight", "k"), [(0.2, 0.3, 50), (0.0, 1.0, 20), (1.0, 0.05, 100)])
def test_searched_lists_equal_dense_lists(recent_weight: float, cf_weight: float, k: int) -> None:
    data = TrainingData.from_purchases(random_shop())
    spec = published_blend(recent_weight, cf_weight)
    model, matrix = data.fit(spec), data.matrix(spec.weights).matrix
    assert supported(model)
    offerable = np.random.default_rng(0).random(matrix.shape[1]) > 0.1
    searched = _searched_lists(model, matrix, offerable, k, batch_size=97)
    dense = _scored_lists(model, matrix, offerable, k, batch_size=2048)
    for task in ("discovery", "all"):
        items, scores = searched[f"{task}_items"], searched[f"{task}_scores"]
        want_items, want_scores = dense[f"{task}_items"], dense[f"{task}_scores"]
        assert np.array_equal(np.isfinite(scores), np.isfinite(want_scores))
        assert np.allclose(scores, want_scores, rtol=0, atol=1e-6)
        # the same items, except where two are tied to float rounding (then either order is right)
        rows, cols = np.nonzero(items != want_items)
        assert len(rows) < 0.01 * items.size
        full = model.score(rows, matrix[rows])
        assert np.allclose(full[np.arange(len(rows)), items[rows, cols]], want_scores[rows, cols], rtol=0, atol=1e-6)
    heavy = set(matrix[0].indices.tolist())
    assert not heavy & set(searched["discovery_items"][0].tolist())


def test_only_blends_of_linear_parts_are_searched() -> None:
    data = TrainingData.from_purchases(random_shop(customers=50, items=60, lines=600))
    assert supported(data.fit(published_blend(0.2, 0.3)))
    assert not supported(BlendRecommender([(EASERecommender(), 1.0)]))


def test_batches_of_customers_with_similar_histories_give_the_lists_of_one_batch() -> None:
    """`_searched_lists` batches customers by history length (own items are padded candidates);
    any batching gives every customer the same list, up to float rounding of exact ties."""
    data = TrainingData.from_purchases(random_shop(seed=3))
    spec = published_blend(0.2, 0.3)
    model, matrix = data.fit(spec), data.matrix(spec.weights).matrix
    offerable = np.ones(matrix.shape[1], dtype=bool)
    batched = _searched_lists(model, matrix, offerable, 30, batch_size=37)
    whole = _searched_lists(model, matrix, offerable, 30, batch_size=matrix.shape[0])
    for name in ("discovery_scores", "all_scores"):
        assert np.allclose(batched[name], whole[name], rtol=0, atol=1e-6)
    for name in ("discovery_items", "all_items"):
        assert (batched[name] == whole[name]).mean() > 0.99


def test_lists_on_several_threads_equal_the_lists_on_one() -> None:
    """Batches run on threads, each with its own search (a search holds its batch's state):
    the same batches give exactly the same lists on one thread or three."""
    data = TrainingData.from_purchases(random_shop(seed=5))
    spec = published_blend(0.2, 0.3)
    model, matrix = data.fit(spec), data.matrix(spec.weights).matrix
    offerable = np.random.default_rng(5).random(matrix.shape[1]) > 0.1
    one = _searched_lists(model, matrix, offerable, 30, batch_size=29, threads=1)
    three = _searched_lists(model, matrix, offerable, 30, batch_size=29, threads=3)
    assert matrix.shape[0] > 3 * 29  # every thread has batches
    for name in one:
        assert np.array_equal(one[name], three[name]), name


def test_heavy_buyers_come_in_smaller_batches_that_cover_everyone_once() -> None:
    """A batch's candidate cells are bounded: customers with long histories are batched fewer at
    a time (peak memory of a skewed shop's lists step), and every customer is in one batch."""
    history = np.array([1, 2, 3, 400, 5, 900, 2, 1000, 7, 1])
    order = np.argsort(history, kind="stable")
    batches = _history_batches(order, history, batch_size=4, spare=100, cells=2_000)
    assert np.array_equal(np.concatenate(batches), order)
    for rows in batches:
        assert len(rows) * (history[rows].max() + 100) <= 2_000 or len(rows) == 1
    assert [len(rows) for rows in batches] == [4, 4, 1, 1]


def test_lists_with_a_small_cell_budget_equal_the_default_batches() -> None:
    data = TrainingData.from_purchases(random_shop(seed=3))
    spec = published_blend(0.2, 0.3)
    model, matrix = data.fit(spec), data.matrix(spec.weights).matrix
    offerable = np.ones(matrix.shape[1], dtype=bool)
    default = lists_module._searched_lists(model, matrix, offerable, 30, batch_size=37)
    saved = lists_module.BATCH_CELLS
    try:
        lists_module.BATCH_CELLS = 37 * 40  # below every batch's width: many more, smaller batches
        small = lists_module._searched_lists(model, matrix, offerable, 30, batch_size=37)
    finally:
        lists_module.BATCH_CELLS = saved
    for name in ("discovery_scores", "all_scores"):
        assert np.allclose(default[name], small[name], rtol=0, atol=1e-6)
    for name in ("discovery_items", "all_items"):
        assert (default[name] == small[name]).mean() > 0.99
