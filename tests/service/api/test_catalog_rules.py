"""Never promise what cannot be delivered: with the best-sellers unavailable or not available
until 2100, they appear nowhere (recommend, store, similar items, segment offers, exports),
lists still fill up to k, and an item becomes visible on its `available_from` day without
retraining."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from tests.support.paths import ROOT
from tests.support.spreadsheet import csv_rows


@pytest.fixture(scope="module")
def client(open_client, catalog_rules) -> TestClient:  # type: ignore[no-untyped-def]
    return open_client(catalog_rules["artifacts"])


@pytest.fixture(scope="module")
def artifact(catalog_rules):  # type: ignore[no-untyped-def]
    return load_artifact(catalog_rules["artifacts"])


def _ids(body: dict) -> set[str]:  # type: ignore[type-arg]
    return {i["item_id"] for i in body["items"]}


def test_recommend_never_shows_blocked_items_and_fills_k(client: TestClient, artifact, catalog_rules) -> None:  # type: ignore[no-untyped-def]
    blocked = catalog_rules["blocked"]
    for cid in [*artifact.customers.ids[:25].tolist(), "a-stranger"]:
        for include in ("false", "true"):
            body = client.get(f"/recommend/{cid}", params={"k": 20, "include_purchased": include}).json()
            assert len(body["items"]) == 20 and not _ids(body) & blocked


def test_store_never_shows_blocked_items(client: TestClient, artifact, catalog_rules) -> None:  # type: ignore[no-untyped-def]
    for cid in [*artifact.customers.ids[:25].tolist(), "a-stranger"]:
        body = client.get(f"/personal-store/{cid}", params={"k": 10}).json()
        shown = {i["item_id"] for s in body["sections"] for i in s["items"]}
        assert shown and not shown & catalog_rules["blocked"]
        popular = next((s for s in body["sections"] if s["id"] == "popular"), None)
        assert popular is None or len(popular["items"]) == 10


def test_similar_items_never_show_blocked_items(client: TestClient, artifact, catalog_rules) -> None:  # type: ignore[no-untyped-def]
    hits = 0
    for item in artifact.items.ids[:200].tolist():
        body = client.get(f"/items/{item}/similar", params={"k": 10}).json()
        assert not _ids(body) & catalog_rules["blocked"]
        hits += len(body["items"]) == 10
    assert hits > 100
    blocked_item = sorted(catalog_rules["unavailable"])[0]
    assert client.get(f"/items/{blocked_item}/similar").status_code == 200  # still known, just not offered


def test_segment_offers_never_show_blocked_items(client: TestClient, catalog_rules) -> None:  # type: ignore[no-untyped-def]
    for segment in client.get("/segments").json()["segments"]:
        body = client.get(f"/segments/{segment['id']}/offers", params={"k": 40}).json()
        assert not {o["item_id"] for o in body["offers"]} & catalog_rules["blocked"]


def test_category_filter_keeps_k_from_that_category(client: TestClient, artifact, catalog_rules) -> None:  # type: ignore[no-untyped-def]
    for cid in artifact.customers.ids[:10].tolist():
        body = client.get(f"/recommend/{cid}", params={"k": 8, "category": "TOYS"}).json()
        assert len(body["items"]) == 8 and _ids(body) <= catalog_rules["toys"] - catalog_rules["blocked"]


def test_items_available_since_yesterday_are_offered(client: TestClient, catalog_rules) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/recommend/a-stranger", params={"k": 20}).json()
    assert catalog_rules["since_yesterday"] <= _ids(body)


def test_future_items_appear_on_their_day_without_retraining(
    client: TestClient,
    catalog_rules,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr("service.core.filters.today", lambda: date(2100, 1, 2))
    body = client.get("/recommend/a-stranger", params={"k": 20}).json()
    assert catalog_rules["future"] <= _ids(body)
    assert not _ids(body) & catalog_rules["unavailable"]


def _export(artifacts: Path, *args: str) -> list[dict[str, str]]:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "export", "--artifacts", str(artifacts), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return csv_rows(result.stdout)


def test_exports_never_contain_blocked_items(catalog_rules, artifact) -> None:  # type: ignore[no-untyped-def]
    rows = _export(catalog_rules["artifacts"], "--all", "--format", "csv", "--k", "5")
    assert len({r["customer_id"] for r in rows}) > len(artifact.customers) * 0.9
    assert not {r["item_id"] for r in rows} & catalog_rules["blocked"]
    rows = _export(catalog_rules["artifacts"], "--segment", "0", "--format", "csv", "--k", "40")
    assert rows and not {r["item_id"] for r in rows} & catalog_rules["blocked"]
