"""The preview's complaints page over both stores: the newest complaints and returns first,
grouped per product and per segment from the live state's log; purchases are not listed and a
forgotten customer's complaints leave the page with them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from models.contract.artifact import Artifact
from tests.support.apps import client_for
from tests.support.html import attr, one, text
from tests.support.keys import AUTH, MARKETER


@pytest.fixture
def client(artifacts: Path, redis_url: str | None) -> Iterator[TestClient]:
    with client_for(artifacts, redis_url) as c:
        yield c


def _page(client: TestClient) -> BeautifulSoup:
    resp = client.get("/preview/complaints", auth=MARKETER)
    assert resp.status_code == 200, resp.text
    return BeautifulSoup(resp.text, "html.parser")


def _post(client: TestClient, *events: dict[str, str]) -> None:
    assert client.post("/events", json={"events": list(events)}, headers=AUTH).status_code == 202


def test_newest_complaints_and_returns_per_item_and_segment(client: TestClient, artifact: Artifact) -> None:
    assert "No complaints or returns recorded yet." in text(_page(client))
    a, b, c = (str(artifact.customers.ids[n]) for n in (0, 1, 2))
    mug, lamp = (str(artifact.items.ids[n]) for n in (0, 1))
    _post(
        client,
        {"customer_id": a, "item_id": mug, "type": "complaint", "timestamp": "2024-01-01T10:00:00Z"},
        {"customer_id": b, "item_id": mug, "type": "return", "timestamp": "2024-01-02T10:00:00Z"},
        {"customer_id": c, "item_id": lamp, "type": "purchase", "timestamp": "2024-01-03T10:00:00Z"},
    )
    _post(client, {"customer_id": c, "item_id": lamp, "type": "complaint", "timestamp": "2024-01-04T10:00:00Z"})
    page = _page(client)
    newest = [(attr(tr, "data-customer"), attr(tr, "data-item")) for tr in page.select("table.complaints tbody tr")]
    assert newest == [(c, lamp), (b, mug), (a, mug)]  # in log order, newest first; no purchase
    items = {
        attr(tr, "data-key"): [text(td) for td in tr.select("td")] for tr in page.select("#items-title-table tbody tr")
    }
    assert list(items) == [mug, lamp]
    assert items[mug][:2] == ["1", "1"] and items[mug][3] == "1 / 1" and items[lamp][:2] == ["1", "0"]
    segments = {attr(tr, "data-key"): tr for tr in page.select("#segments-title-table tbody tr")}
    assert artifact.storefront is not None
    expected = {str(artifact.storefront.segment_of[artifact.customers.row(x)]) for x in (a, b, c)}  # type: ignore[index]
    assert set(segments) == expected
    assert sum(int(text(tr.select("td")[0])) + int(text(tr.select("td")[1])) for tr in segments.values()) == 3
    assert client.delete(f"/customers/{c}", headers=AUTH).status_code == 204
    after = [attr(tr, "data-customer") for tr in _page(client).select("table.complaints tbody tr")]
    assert after == [b, a]
    assert one(_page(client), "nav.topnav a[href='/preview/complaints']")
