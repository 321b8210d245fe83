"""Business rules as pure functions: validation names the field, a rule is active in [start, end),
and `apply` keeps its promises for any ranked list and any rule set: nothing refused comes back,
blocked never shows, pins lead, the diversity cap holds, boost/bury order the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from models.rules.business import (
    NO_RULES,
    Rule,
    RuleSet,
    RuleSpec,
    apply,
    audit_entry,
    list_rules,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ITEMS = [f"i{n}" for n in range(12)]
CATEGORY = {item: ("toys", "home", None)[n % 3] for n, item in enumerate(ITEMS)}


def _spec(**fields: object) -> RuleSpec:
    return RuleSpec.model_validate(fields)


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(map(str, e["loc"])) for e in exc.value.errors()}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "pin"}, "category"),  # no target
        ({"kind": "pin", "item_id": "a", "category": "toys"}, "category"),  # two targets
        ({"kind": "diversity"}, "max_per_category"),
        ({"kind": "diversity", "max_per_category": 2, "item_id": "a"}, "category"),
        ({"kind": "block", "item_id": "a", "max_per_category": 2}, "max_per_category"),
        ({"kind": "boost", "item_id": "a", "start": "2026-12-10T00:00:00Z", "end": "2026-12-09T00:00:00Z"}, "end"),
        ({"kind": "lift", "item_id": "a"}, "kind"),
        ({"kind": "pin", "item_id": "no spaces"}, "item_id"),
        ({"kind": "pin", "item_id": "a", "segment": -1}, "segment"),
        ({"kind": "pin", "item_id": "a", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_rule_names_its_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        _spec(**fields)
    assert field in _fields(exc)


def test_times_are_utc_and_a_rule_is_active_from_start_until_just_before_end() -> None:
    rule = _spec(kind="pin", item_id="a", start="2026-12-10T01:00:00+01:00", end="2026-12-11T00:00:00")
    assert rule.start == datetime(2026, 12, 10, 0, 0, tzinfo=UTC)
    assert rule.end == datetime(2026, 12, 11, 0, 0, tzinfo=UTC)  # naive = UTC
    assert rule.state_at(rule.start - timedelta(microseconds=1)) == "scheduled"
    assert rule.state_at(rule.start) == "active"
    assert rule.state_at(rule.end - timedelta(microseconds=1)) == "active"
    assert rule.state_at(rule.end) == "expired"
    assert _spec(kind="pin", item_id="a").state_at(NOW) == "active"  # open on both sides


def test_segment_rules_reach_only_their_segment_and_global_ones_everyone() -> None:
    rules = [_spec(kind="block", item_id="a", segment=3), _spec(kind="block", item_id="b")]
    assert list_rules(rules, 3, NOW).blocked_items == {"a", "b"}
    assert list_rules(rules, 4, NOW).blocked_items == {"b"}
    assert list_rules(rules, None, NOW).blocked_items == {"b"}  # a customer without a segment


def test_inactive_rules_change_nothing() -> None:
    later = _spec(kind="block", item_id="a", start=NOW + timedelta(days=7))
    done = _spec(kind="block", item_id="a", end=NOW)
    assert list_rules([later, done], None, NOW) is NO_RULES


def _apply(rules: list[RuleSpec], ranked: list[str], k: int = 12, inject: bool = False, allowed=None) -> list[str]:  # type: ignore[no-untyped-def]
    return apply(ranked, k, allowed or (lambda i: True), CATEGORY.get, list_rules(rules, None, NOW), inject)


def test_each_kind_by_hand() -> None:
    ranked = ["i0", "i1", "i2", "i3", "i4", "i5"]  # toys, home, none, toys, home, none
    assert _apply([_spec(kind="block", item_id="i1")], ranked) == ["i0", "i2", "i3", "i4", "i5"]
    assert _apply([_spec(kind="block", category="TOYS")], ranked) == ["i1", "i2", "i4", "i5"]  # any case
    assert _apply([_spec(kind="pin", item_id="i4")], ranked) == ["i4", "i0", "i1", "i2", "i3", "i5"]
    assert _apply([_spec(kind="pin", item_id="i9")], ranked) == ranked  # not among them: only moves
    assert _apply([_spec(kind="pin", item_id="i9")], ranked, inject=True)[0] == "i9"
    assert _apply([_spec(kind="pin", category="home")], ranked) == ["i1", "i4", "i0", "i2", "i3", "i5"]
    assert _apply([_spec(kind="boost", item_id="i5")], ranked) == ["i5", "i0", "i1", "i2", "i3", "i4"]
    assert _apply([_spec(kind="bury", category="toys")], ranked) == ["i1", "i2", "i4", "i5", "i0", "i3"]
    assert _apply([_spec(kind="diversity", max_per_category=1)], ranked) == ["i0", "i1", "i2", "i5"]  # none: uncapped
    assert _apply([_spec(kind="boost", item_id="i0"), _spec(kind="bury", item_id="i0")], ranked)[-1] == "i0"


def test_block_wins_over_pin_and_a_pin_never_brings_back_a_refused_item() -> None:
    ranked = ["i0", "i1"]
    assert _apply([_spec(kind="pin", item_id="i1"), _spec(kind="block", item_id="i1")], ranked, inject=True) == ["i0"]
    refused = lambda i: i != "i7"  # noqa: E731 -- e.g. unavailable
    assert _apply([_spec(kind="pin", item_id="i7")], ranked, inject=True, allowed=refused) == ranked


def test_without_rules_it_is_the_first_k_allowed() -> None:
    assert apply(ITEMS, 3, lambda i: i != "i1", CATEGORY.get, NO_RULES) == ["i0", "i2", "i3"]


rule_specs = st.builds(
    lambda kind, item, category, use_item, cap: (
        _spec(kind="diversity", max_per_category=cap)
        if kind == "diversity"
        else _spec(kind=kind, item_id=item)
        if use_item
        else _spec(kind=kind, category=category)
    ),
    st.sampled_from(["pin", "boost", "bury", "block", "diversity"]),
    st.sampled_from(ITEMS),
    st.sampled_from(["toys", "home"]),
    st.booleans(),
    st.integers(1, 3),
)


@given(
    rules=st.lists(rule_specs, max_size=6),
    ranked=st.lists(st.sampled_from(ITEMS), max_size=12),
    refused=st.sets(st.sampled_from(ITEMS)),
    k=st.integers(1, 12),
    inject=st.booleans(),
)
def test_apply_keeps_every_promise(
    rules: list[RuleSpec], ranked: list[str], refused: set[str], k: int, inject: bool
) -> None:
    active = list_rules(rules, None, NOW)
    out = apply(ranked, k, lambda i: i not in refused, CATEGORY.get, active, inject)
    assert len(out) <= k and len(set(out)) == len(out)
    assert not set(out) & refused  # nothing refused comes back
    assert not any(active.blocks(i, CATEGORY[i]) for i in out)
    assert set(out) <= set(ranked) | (set(active.pinned) if inject else set())
    pins = [
        p for p in active.pinned if p not in refused and not active.blocks(p, CATEGORY[p]) and (inject or p in ranked)
    ][:k]
    assert out[: len(pins)] == pins  # pinned first, in rule order
    rest = out[len(pins) :]
    tiers = [active.tier(i, CATEGORY[i]) for i in rest]
    assert tiers == sorted(tiers)  # pinned categories, boosted, the others, buried
    if active.cap is not None:
        for category in ("toys", "home"):
            shown = sum(CATEGORY[i] == category for i in out)
            assert shown <= max(active.cap, sum(CATEGORY[p] == category for p in pins))
    else:  # nothing dropped but what the rules drop: k holds while candidates last
        eligible = {i for i in ranked if i not in refused and not active.blocks(i, CATEGORY[i])}
        assert len(out) == min(k, len(eligible | set(pins)))


def test_rule_sets_round_trip_and_audit_entries_say_who_what_when() -> None:
    rule = Rule.made(_spec(kind="pin", item_id="a", segment=2, end=NOW + timedelta(days=1)), "key1", NOW)
    rules = RuleSet.of([rule], 4)
    assert RuleSet.from_json(rules.to_json()) == rules
    assert rules.needs_segment() and rules.in_force(NOW) and not rules.in_force(NOW + timedelta(days=1))
    changed = rule.changed(_spec(kind="bury", item_id="a"), "marketer", NOW + timedelta(hours=1))
    entry = audit_entry("update", "marketer", NOW, 5, rule, changed)
    assert entry["who"] == "marketer" and entry["rule_id"] == rule.id and entry["revision"] == 5
    assert entry["before"]["kind"] == "pin" and entry["after"]["kind"] == "bury"
    assert changed.created_by == "key1" and changed.updated_by == "marketer"
