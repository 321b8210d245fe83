"""The synthetic shop generator: right shape, reproducible, popularity heavy-tailed, and its file
reads as canonical purchases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.synthetic import ShopSpec, generate, write
from training.data.load import load_catalog, load_purchases

SMALL = ShopSpec(customers=2_000, items=500, lines=30_000, tastes=20, seed=7)


def test_every_customer_buys_and_lines_add_up() -> None:
    p = generate(SMALL)
    assert len(p.customer) == len(p.item) == len(p.timestamp) == SMALL.lines
    assert set(np.unique(p.customer).tolist()) == set(range(SMALL.customers))
    assert p.item.min() >= 0 and p.item.max() < SMALL.items
    assert (p.quantity >= 1).all() and (p.price > 0).all()


def test_more_tastes_than_items_still_generates() -> None:
    p = generate(ShopSpec(customers=100, items=50, lines=1000, tastes=500, seed=1))
    assert len(p.item) == 1000 and p.item.max() < 50


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b = generate(SMALL), generate(SMALL)
    c = generate(ShopSpec(**{**SMALL.__dict__, "seed": 8}))
    assert np.array_equal(a.item, b.item) and np.array_equal(a.timestamp, b.timestamp)
    assert not np.array_equal(a.item, c.item)


def test_item_popularity_is_heavy_tailed() -> None:
    counts = np.bincount(generate(SMALL).item, minlength=SMALL.items)
    top_tenth = np.sort(counts)[::-1][: SMALL.items // 10].sum()
    assert top_tenth > 0.4 * SMALL.lines  # a tenth of the items sell far more than a tenth
    assert counts[:10].mean() > 20 * counts[-100:].mean()  # low ranks are the popular ones


def test_customers_stick_to_few_tastes() -> None:
    p = generate(SMALL)
    taste = p.item_taste[p.item]
    per_customer = pd.DataFrame({"c": p.customer, "t": taste}).groupby("c")["t"].nunique()
    busy = per_customer[np.bincount(p.customer) >= 20]
    assert busy.median() <= 8 < SMALL.tastes  # three tastes plus some exploring, not everything


def test_timestamps_span_one_year_and_baskets_share_them() -> None:
    p = generate(SMALL)
    span_days = (p.timestamp.max() - p.timestamp.min()).astype("timedelta64[D]").astype(int)
    assert 300 <= span_days <= 366
    trips = pd.DataFrame({"c": p.customer, "t": p.timestamp}).drop_duplicates()
    assert len(trips) < SMALL.lines * 0.6  # several lines per trip on average


def test_written_files_load_as_canonical_purchases_and_catalog(tmp_path: Path) -> None:
    out, cat = tmp_path / "p.parquet", tmp_path / "c.parquet"
    write(SMALL, out, cat)
    purchases = load_purchases(out)
    assert len(purchases) == SMALL.lines
    assert purchases["customer_id"].nunique() == SMALL.customers
    assert purchases["timestamp"].notna().all()
    catalog = load_catalog(cat)
    assert len(catalog) == SMALL.items and set(purchases["item_id"]) <= set(catalog["item_id"])


def test_cache_miss_scorers_agree() -> None:
    from benchmarks.cache_miss import DenseScorer, PrunedScorer, random_histories, random_model

    model = random_model(3000, 16, seed=1)
    offerable = np.arange(3000) % 7 != 0
    dense, pruned = DenseScorer(model, offerable), PrunedScorer(model, offerable)
    for history in random_histories(3000, 40, seed=1):
        expected = dense(history, 20)
        assert len(expected) == 20 and not set(expected) & set(history.indices)
        assert np.array_equal(pruned(history, 20), expected)
