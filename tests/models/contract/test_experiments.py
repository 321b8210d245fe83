"""Bucketing and recommendation ids (`models.contract.experiments`)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from models.contract.experiments import (
    Experiment,
    RecommendationId,
    Variant,
    check_variants,
    decode_recommendation_id,
    recommendation_id,
)

IDS = [f"c{n}" for n in range(100_000)]


def experiment(salt: str, *weights: float) -> Experiment:
    variants = tuple(Variant(chr(ord("A") + n), weight=w) for n, w in enumerate(weights))
    return Experiment("e", salt, variants, started_ms=0)


def counts(e: Experiment, ids: list[str]) -> list[int]:
    names = [e.assign(c).name for c in ids]
    return [names.count(n) for n in e.variant_names]


@pytest.mark.parametrize("weights", [(1, 1), (1, 1, 1), (9, 1), (2, 1, 1)])
def test_buckets_match_the_weights_on_100k_customers(weights: tuple[float, ...]) -> None:
    e = experiment("salt-1", *weights)
    observed = counts(e, IDS)
    expected = [w / sum(weights) * len(IDS) for w in weights]
    assert stats.chisquare(observed, expected).pvalue > 0.001
    assert max(abs(o - x) / x for o, x in zip(observed, expected)) < 0.03


def test_the_same_customer_gets_the_same_variant_from_a_new_definition() -> None:
    """A worker or a restart reads the definition back from Redis: same salt, same split."""
    first = experiment("salt-1", 1, 1)
    again = Experiment.decode(first.encode())
    assert [first.assign(c).name for c in IDS[:5000]] == [again.assign(c).name for c in IDS[:5000]]


def test_another_salt_splits_independently() -> None:
    a, b = experiment("salt-1", 1, 1), experiment("salt-2", 1, 1)
    same = np.mean([a.assign(c).name == b.assign(c).name for c in IDS[:20_000]])
    assert 0.48 < same < 0.52


def test_recommendation_ids_round_trip_and_name_their_customer() -> None:
    token = recommendation_id("20240101T000000Z", "exp-1", "B", "buy_again", 19_700, "13085")
    rid = decode_recommendation_id(token)
    assert rid[:5] == ("20240101T000000Z", "exp-1", "B", "buy_again", 19_700)
    assert rid.is_for("13085") and not rid.is_for("13086")
    assert token.startswith("r1") and len(token) < 100
    outside = decode_recommendation_id(recommendation_id("v1", "", "", "recommend", 1, "x"))
    assert (outside.experiment, outside.variant) == ("", "")


@pytest.mark.parametrize("token", ["", "r1", "r1!!!!", "x1" + "A" * 20, "r1" + "QUJD" * 3, "r1" + "A" * 500])
def test_anything_else_is_not_a_recommendation_id(token: str) -> None:
    with pytest.raises(ValueError, match="not a recommendation id"):
        decode_recommendation_id(token)


def test_an_id_with_the_separator_cannot_be_forged_into_more_fields() -> None:
    token = RecommendationId("v|x", "e", "B", "s", 1, "abcdefgh").encode()
    with pytest.raises(ValueError):
        decode_recommendation_id(token)


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ((Variant("A"),), "at least two"),
        ((Variant("A"), Variant("A")), "must differ"),
        ((Variant("A"), Variant("B b")), "must match"),
        ((Variant("A"), Variant("B", weight=0)), "weight"),
    ],
)
def test_bad_variants_are_refused_with_the_reason(variants: tuple[Variant, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_variants(variants)
