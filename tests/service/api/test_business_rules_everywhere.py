"""For any set of business rules (random kinds, targets, segments and time windows, made through
`POST /rules`), every surface keeps the same promises, on the embedded store and on real Redis:
a blocked item or category appears nowhere, nothing unavailable or not yet available comes back,
a pinned available item leads every customer's recommendations where its segment matches and its
window holds (and comes first wherever else it shows), the diversity cap holds, boosted items
come before the others and buried ones last; `/recommend` answers the same on the hot path and
the routes, the batch and `/outbound` agree with it, and so do the CSV exports.

Surfaces: `/recommend` (both modes; plain reads take the hot path on Redis), `/recommend/batch`,
`/outbound`, every `/personal-store` section, similar items, segment offers and both preview CSVs.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.contract.artifact import Artifact, load_artifact, resolve_version_dir
from models.rules.business import ListRules, RuleSpec, list_rules
from models.rules.catalog import catalog_from_frame
from models.rules.wording import FEATURED_REASON
from service.app import create_app
from tests.support.apps import settings_for
from tests.support.clocks import FixedClock
from tests.support.keys import AUTH, MARKETER
from tests.support.spreadsheet import csv_rows
from tests.support.stores import STORES, publish_fresh

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
STRANGER = "a-stranger"
WINDOWS = {
    "open": {},
    "active": {"start": NOW - timedelta(days=1), "end": NOW + timedelta(days=1)},
    "scheduled": {"start": NOW + timedelta(days=7), "end": NOW + timedelta(days=14)},
    "expired": {"start": NOW - timedelta(days=2), "end": NOW - timedelta(hours=1)},
}


class Shop:
    """The artifact with a catalog (categories, unavailable and future items), the customers the
    test looks at, their segments, and the items rules are made for."""

    def __init__(self, artifacts: Path, catalog_facts: dict[str, Any]) -> None:
        self.artifacts = artifacts
        self.artifact: Artifact = load_artifact(artifacts)
        self.catalog = catalog_from_frame(self.artifact.catalog)
        self.never_offered: set[str] = set(catalog_facts["blocked"])
        sf = self.artifact.storefront
        assert sf is not None
        ids = self.artifact.customers.ids.tolist()
        self.segment = {str(c): int(sf.segment_of[row]) for row, c in enumerate(ids)}
        by_segment: dict[int, list[str]] = defaultdict(list)
        for c, s in self.segment.items():
            by_segment[s].append(c)
        self.segments = sorted(by_segment, key=lambda s: -len(by_segment[s]))[:2]
        self.customers = [c for s in self.segments for c in by_segment[s][:3]]
        h, items = self.artifact.history, self.artifact.items.ids
        self.bought = {
            c: {str(items[i]) for i in h.indices[h.indptr[row] : h.indptr[row + 1]]}
            for row, c in enumerate(map(str, ids))
        }
        popular = [str(items[i]) for i in self.artifact.popular_items]
        self.head = popular[:20]
        # pins: well-sold items (some customers bought them: a discovery list must leave those out)
        # and the unavailable ones (a pin must not bring them back)
        self.pinnable = popular[12:22] + sorted(self.never_offered)[:4]

    def category(self, item_id: str) -> str | None:
        entry = self.catalog.get(item_id)
        return entry.category.casefold() if entry and entry.category else None


@pytest.fixture(scope="module")
def shop(catalog_rules: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """A private copy: the rules file the embedded store writes stays out of other tests' artifacts."""
    root = tmp_path_factory.mktemp("rules_everywhere")
    version = resolve_version_dir(catalog_rules["artifacts"])
    shutil.copytree(version, root / version.name)
    return Shop(root, catalog_rules)


@pytest.fixture(scope="module", params=STORES)
def client(request: pytest.FixtureRequest, shop: Shop) -> Iterator[TestClient]:
    url = None
    if request.param == "redis":
        url = request.getfixturevalue("redis_server").url
        publish_fresh(url, shop.artifacts)
    # no impression cap and no quiet hours: repeated reads keep their order, outbound always answers
    app_settings = settings_for(
        shop.artifacts, url, cap_impressions=1_000_000, quiet_hours_start="00:00", quiet_hours_end="00:00"
    )
    with TestClient(create_app(app_settings, clock=FixedClock(NOW))) as c:
        yield c


def rule_specs(shop: Shop) -> st.SearchStrategy[dict[str, Any]]:
    kinds = st.sampled_from(["pin", "pin", "boost", "bury", "block", "diversity"])

    def build(
        kind: str, on_item: bool, pick: int, category: str, segment: int | None, window: str, cap: int
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"kind": kind, "segment": segment, **WINDOWS[window]}
        if kind == "diversity":
            return {**spec, "max_per_category": cap}
        if on_item or kind == "pin":  # pins of categories are covered by the pure tests
            pool = shop.pinnable if kind == "pin" else shop.head + shop.pinnable
            return {**spec, "item_id": pool[pick % len(pool)]}
        return {**spec, "category": category}

    return st.builds(
        build,
        kinds,
        st.booleans(),
        st.integers(0, 100),
        st.sampled_from(["toys", "home"]),
        st.sampled_from([None, *shop.segments]),
        st.sampled_from(list(WINDOWS)),
        st.integers(1, 3),
    )


def _jsonable(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in spec.items() if v is not None}


def _replace_rules(client: TestClient, specs: list[dict[str, Any]]) -> None:
    for rule in client.get("/rules", headers=AUTH).json()["rules"]:
        assert client.delete(f"/rules/{rule['id']}", headers=AUTH).status_code == 204
    for spec in specs:
        made = client.post("/rules", json=_jsonable(spec), headers=AUTH)
        assert made.status_code == 201, made.text


class Check:
    def __init__(self, shop: Shop, specs: list[dict[str, Any]]) -> None:
        self.shop = shop
        self.rules = [RuleSpec.model_validate(s) for s in specs]

    def active(self, segment: int | None) -> ListRules:
        return list_rules(self.rules, segment, NOW)

    def offerable_pins(self, active: ListRules, never: set[str]) -> list[str]:
        cat = self.shop.category
        refused = self.shop.never_offered | never
        return [p for p in active.pinned if p not in refused and not active.blocks(p, cat(p))]

    def one_list(
        self, ids: list[str], segment: int | None, where: str, inject: bool = False, never: set[str] | None = None
    ) -> None:
        """One list's promises; `inject`: a customer's recommendations, which pins join unless
        in `never` (what a discovery list leaves out: what they bought)."""
        active, cat = self.active(segment), self.shop.category
        assert len(ids) == len(set(ids)), where
        assert not set(ids) & self.shop.never_offered, where
        assert not [i for i in ids if active.blocks(i, cat(i))], where
        shown_pins = [p for p in active.pinned if p in ids]
        assert ids[: len(shown_pins)] == shown_pins, where
        if inject and ids:
            assert shown_pins == self.offerable_pins(active, never or set())[: len(ids)], where
        tiers = [active.tier(i, cat(i)) for i in ids[len(shown_pins) :]]
        assert tiers == sorted(tiers), where
        if active.cap is not None:
            for category in {cat(i) for i in ids} - {None}:
                pins_here = sum(cat(p) == category for p in shown_pins)
                assert sum(cat(i) == category for i in ids) <= max(active.cap, pins_here), where

    def featured(self, items: list[dict[str, Any]], segment: int | None, where: str) -> None:
        featured = {i["item_id"] for i in items if i["reason"] == FEATURED_REASON}
        assert featured <= set(self.active(segment).pinned), where


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["item_id"] for i in items]


def _csv_lists(data: bytes | str, key: str) -> dict[str, tuple[int, list[str]]]:
    """The CSV's lists by `key`, read as a spreadsheet program reads it (BOM and all)."""
    lists: dict[str, tuple[int, list[str]]] = {}
    for row in csv_rows(data):
        segment, items = lists.setdefault(row[key], (int(row["segment_id"]), []))
        items.append(row["item_id"])
    return lists


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_surface_keeps_the_rules(client: TestClient, shop: Shop, data: st.DataObject) -> None:
    specs = data.draw(st.lists(rule_specs(shop), max_size=5), label="rules")
    _replace_rules(client, specs)
    check = Check(shop, specs)
    customers = [*shop.customers, STRANGER]
    segment_of = lambda c: shop.segment.get(c)  # noqa: E731 -- None for the stranger
    answers = {}
    for c in customers:
        for include in (False, True):
            params = {"k": 10, "include_purchased": str(include).lower()}
            plain = client.get(f"/recommend/{c}", params=params)  # the hot path on Redis
            routed = client.get(f"/recommend/{c}", params={**params, "exclude": "no-such-item"})  # always the routes
            assert plain.status_code == 200 and plain.content == routed.content, c
            items = plain.json()["items"]
            never = set() if include else shop.bought.get(c, set())
            check.one_list(_ids(items), segment_of(c), f"/recommend/{c} {include=}", True, never)
            check.featured(items, segment_of(c), c)
            answers[c, include] = items
        store = client.get(f"/personal-store/{c}", params={"k": 6}).json()
        shown = [i for s in store["sections"] for i in _ids(s["items"])]
        assert len(shown) == len(set(shown)), c  # no item twice in one store
        for section in store["sections"]:
            inject = section["id"] in ("for_you", "popular")
            where = f"store {c} {section['id']}"
            check.one_list(_ids(section["items"]), segment_of(c), where, inject, shop.bought.get(c, set()))
            check.featured(section["items"], segment_of(c), c)
        sent = client.get(f"/outbound/{c}", params={"dry_run": "true"}, headers=AUTH)
        if answers[c, False]:
            assert sent.status_code == 200 and sent.json()["item"] == answers[c, False][0], c
    batch = client.post("/recommend/batch", json={"customer_ids": customers, "k": 10}).json()
    assert [r["items"] for r in batch["results"]] == [answers[c, False] for c in customers]
    for item in shop.head[:3]:
        check.one_list(_ids(client.get(f"/items/{item}/similar").json()["items"]), None, f"similar {item}")
    for segment in shop.segments:
        offers = client.get(f"/segments/{segment}/offers", params={"k": 20}).json()["offers"]
        check.one_list(_ids(offers), segment, f"segment {segment} offers")
        exported = client.get(f"/preview/segments/{segment}/offers.csv", params={"k": 20}, auth=MARKETER).content
        assert _csv_lists(exported, "segment_id")[str(segment)][1] == _ids(offers)
    everyone = _csv_lists(client.get("/preview/offers.csv", auth=MARKETER).content, "customer_id")
    assert everyone, "every customer's offers CSV is empty"
    for customer_id, (segment, items) in everyone.items():
        check.one_list(items, segment, f"offers.csv {customer_id}")
