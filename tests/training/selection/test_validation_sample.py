"""Validation fits on a seeded sample of customers: bounded at scale, untouched below the cap."""

from __future__ import annotations

from tests.support.synthetic_shop import as_purchases, taste_shop
from training.evaluation.split import TemporalSplit
from training.selection.select import QualityParams, sampled_customers, select_models


def test_a_split_above_the_cap_keeps_a_seeded_sample_of_customers_in_both_parts() -> None:
    split = TemporalSplit(21)(as_purchases(taste_shop()))
    sample = sampled_customers(split, 30)
    kept = set(sample.train["customer_id"])
    assert len(kept) == 30
    assert set(sample.test["customer_id"]) <= kept
    every_line = split.train[split.train["customer_id"].isin(kept)]
    assert len(sample.train) == len(every_line)  # a customer keeps all their lines
    assert set(sampled_customers(split, 30).train["customer_id"]) == kept  # seeded
    assert "30 of 90 customers" in sample.description


def test_a_split_within_the_cap_is_the_split_itself() -> None:
    split = TemporalSplit(21)(as_purchases(taste_shop()))
    assert sampled_customers(split, 90) is split


def test_selection_on_a_sample_still_selects_and_gates() -> None:
    purchases = as_purchases(taste_shop())
    whole = select_models(purchases, QualityParams())
    sampled = select_models(purchases, QualityParams(max_fit_customers=60))
    assert whole.gate["passed"] and sampled.gate["passed"]
    assert "60 of 90 customers" in sampled.validation and "customers" not in whole.validation
