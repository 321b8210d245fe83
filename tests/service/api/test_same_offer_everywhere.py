"""One segment offer, one text and one count on every surface: the API, the preview's page and
its CSV download, and `microoffers export`.

Before, the API made the reason from the published (rounded) shares and the export from the
raw ones, so one offer read "5.0%" in the API and "4.9%" in the CSV; and the segment page said
"Offer (12 products)" while its download link gave the route's default of 10."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app
from models.rules.wording import offer_figures, segment_offer_reason
from service.app import create_app
from tests.support.apps import settings_for
from tests.support.html import attr, one
from tests.support.keys import MARKETER
from tests.support.spreadsheet import csv_rows
from tests.support.stores import STORES, publish_fresh

ALL = 40  # the most offers any surface gives


@pytest.fixture(scope="module", params=STORES)
def client(request: pytest.FixtureRequest, trained_artifacts: Path) -> Iterator[TestClient]:
    settings = settings_for(trained_artifacts)
    if request.param == "redis":
        url = request.getfixturevalue("redis_server").url
        publish_fresh(url, trained_artifacts)
        settings = settings_for(trained_artifacts, redis_url=url)
    with TestClient(create_app(settings)) as c:
        yield c


def _csv(body: bytes) -> list[dict[str, str]]:
    return csv_rows(body)


def _page(client: TestClient, segment: int) -> BeautifulSoup:
    resp = client.get(f"/preview/segments/{segment}", auth=MARKETER)
    assert resp.status_code == 200
    return BeautifulSoup(resp.text, "html.parser")


def _segments(client: TestClient) -> list[int]:
    ids = [s["id"] for s in client.get("/segments").json()["segments"]]
    assert ids
    return ids


def test_every_offer_reads_the_same_in_the_api_the_csv_the_export_and_the_page(
    client: TestClient, trained_artifacts: Path, tmp_path: Path
) -> None:
    compared = 0
    for segment in _segments(client):
        api = client.get(f"/segments/{segment}/offers?k={ALL}").json()["offers"]
        download = _csv(client.get(f"/preview/segments/{segment}/offers.csv?k={ALL}", auth=MARKETER).content)
        out = tmp_path / f"segment-{segment}.csv"
        result = CliRunner().invoke(
            app,
            [
                "export",
                "--artifacts",
                str(trained_artifacts),
                "--segment",
                str(segment),
                "--k",
                str(ALL),
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        exported = _csv(out.read_bytes())
        expected = [(o["item_id"], o["reason"], o["lift"], o["segment_share"], o["overall_share"]) for o in api]
        for rows in (download, exported):
            assert [
                (r["item_id"], r["reason"], float(r["lift"]), float(r["segment_share"]), float(r["overall_share"]))
                for r in rows
            ] == expected
        cards = _page(client, segment).select("ol.cards li.card")
        assert [" ".join(one(c, ".reason").get_text().split()) for c in cards] == [o["reason"] for o in api][
            : len(cards)
        ]
        compared += len(api)
    assert compared > 0


def test_the_segment_pages_download_has_as_many_offers_as_the_page_says(client: TestClient) -> None:
    for segment in _segments(client):
        page = _page(client, segment)
        shown = int(one(page, "#offer-title .count").get_text().strip("( products)"))
        assert shown == len(page.select("ol.cards li.card"))
        link = attr(one(page, 'a[href*="offers.csv"]'), "href")
        resp = client.get(link, auth=MARKETER)
        assert resp.status_code == 200
        assert len(_csv(resp.text)) == shown, (segment, link)


@pytest.mark.parametrize("share", [0.049451, 0.12496, 0.0049951, 0.33335])
def test_a_reason_from_raw_figures_equals_the_reason_from_published_ones(share: float) -> None:
    """The export holds float32 training output, the API the published (rounded) figures."""
    # float32 at run time, as the export's (untyped) dataframe rows pass them to these `float` parameters.
    raw = cast(tuple[float, float, float], (np.float32(3.14159), np.float32(share), np.float32(share / 3.14159)))
    published = offer_figures(*raw)
    assert segment_offer_reason(*raw) == segment_offer_reason(*published)
    assert offer_figures(*published) == published
