"""Catalog extras (`image_url`, `url`, `currency`) travel with an item wherever the API shows
its details, on both stores and the hot path alike, and only when the catalog has them: a
catalog without them answers with exactly the keys it always had. The preview shows the image
(with alt text) and the price with its currency; campaign exports carry them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from models.contract.artifact import Artifact, load_artifact
from service.app import create_app
from tests.support.apps import RECOMMEND, answered, client_for, settings_for
from tests.support.html import attr, one, text
from tests.support.keys import AUTH, MARKETER
from tests.support.redis_server import RedisServer
from tests.support.spreadsheet import csv_rows
from tests.support.stores import publish_fresh

ITEM_KEYS = ["item_id", "title", "price", "score", "reason"]


@pytest.fixture(scope="module")
def extras_artifacts(retail_slice: Path, trained_artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained with a catalog that gives every even item an image, a page and EUR prices;
    odd items have none of these (empty cells)."""
    from training.pipeline import TrainInputs, train

    ids = sorted(str(i) for i in load_artifact(trained_artifacts).items.ids)
    frame = pd.DataFrame({"item_id": ids})
    even = frame.index % 2 == 0
    frame["image_url"] = [f"https://img.shop.example/{i}.jpg" if e else "" for i, e in zip(ids, even, strict=True)]
    frame["url"] = [f"https://shop.example/p/{i}?ref=mo" if e else "" for i, e in zip(ids, even, strict=True)]
    frame["currency"] = ["eur" if e else "" for e in even]
    root = tmp_path_factory.mktemp("extras")
    frame.to_csv(root / "catalog.csv", index=False)
    train(TrainInputs(retail_slice, "online-retail", root / "catalog.csv"), root / "artifacts")
    return root / "artifacts"


def _expected(item_id: str, ids: list[str]) -> dict[str, str]:
    if ids.index(item_id) % 2:
        return {}
    return {
        "image_url": f"https://img.shop.example/{item_id}.jpg",
        "url": f"https://shop.example/p/{item_id}?ref=mo",
        "currency": "EUR",
    }


@pytest.fixture
def client(extras_artifacts: Path, redis_url: str | None) -> Iterator[TestClient]:
    if redis_url is not None:
        publish_fresh(redis_url, extras_artifacts)
    with client_for(extras_artifacts, redis_url) as c:
        yield c


def test_every_surface_carries_the_catalogs_extras(client: TestClient, extras_artifacts: Path) -> None:
    artifact: Artifact = load_artifact(extras_artifacts)
    ids = sorted(str(i) for i in artifact.items.ids)
    customer = str(artifact.customers.ids[3])
    surfaces = [
        client.get(f"/recommend/{customer}?k=10").json()["items"],
        *(s["items"] for s in client.get(f"/personal-store/{customer}?k=6").json()["sections"]),
        client.get(f"/items/{ids[0]}/similar?k=10").json()["items"],
        client.get("/segments/0/offers?k=10").json()["offers"],
        [client.get(f"/outbound/{customer}?dry_run=true&now=2030-03-04T12:00:00Z", headers=AUTH).json()["item"]],
    ]
    shown = [item for items in surfaces for item in items]
    assert {item["item_id"] for item in shown} & set(ids[0::2]) and {item["item_id"] for item in shown} & set(ids[1::2])
    for item in shown:
        extras = {k: item[k] for k in ("image_url", "url", "currency") if k in item}
        assert extras == _expected(item["item_id"], ids), item


@pytest.mark.redis
def test_hot_path_answers_the_same_bytes_as_the_routes(extras_artifacts: Path, redis_server: RedisServer) -> None:
    publish_fresh(redis_server.url, extras_artifacts)
    customers = [str(c) for c in load_artifact(extras_artifacts).customers.ids[:8]]
    with (
        TestClient(create_app(settings_for(extras_artifacts, redis_server.url))) as hot,
        TestClient(create_app(settings_for(extras_artifacts, redis_server.url, hot_path=False))) as routes,
    ):
        for customer in customers:
            for path in (f"/recommend/{customer}", f"/personal-store/{customer}"):
                assert hot.get(path).content == routes.get(path).content
        assert answered(hot, RECOMMEND, "hot_path") == len(customers)
        assert b"image_url" in hot.get(f"/recommend/{customers[0]}?k=40").content


def test_without_the_columns_items_have_exactly_the_old_keys(client_factory_plain: TestClient) -> None:
    body = client_factory_plain.get("/recommend/12346?k=10").json()
    assert body["items"] and all(list(item) == ITEM_KEYS for item in body["items"])
    offers = client_factory_plain.get("/segments/0/offers").json()["offers"]
    assert all("currency" not in o and "image_url" not in o for o in offers)


@pytest.fixture
def client_factory_plain(trained_artifacts: Path) -> Iterator[TestClient]:
    with client_for(trained_artifacts) as c:
        yield c


def test_preview_shows_images_with_alt_text_and_prices_with_currency(extras_artifacts: Path, tmp_path: Path) -> None:
    artifact: Artifact = load_artifact(extras_artifacts)
    ids = sorted(str(i) for i in artifact.items.ids)
    with client_for(extras_artifacts, campaigns_file=tmp_path / "c.json") as client:
        offers = client.get("/segments/0/offers?k=12").json()["offers"]
        page = BeautifulSoup(client.get("/preview/segments/0", auth=MARKETER).text, "html.parser")
        cards = page.select("ol.cards li.card")
        assert len(cards) == len(offers) > 0
        for card, offer in zip(cards, offers, strict=True):
            if _expected(offer["item_id"], ids):
                image = one(card, "img.card-image")
                assert attr(image, "src") == offer["image_url"] and attr(image, "alt")
                assert attr(one(card, ".card-title a"), "href") == offer["url"]
                assert text(one(card, ".price")) == f"{offer['price']:,.2f} EUR"
            else:
                assert card.select_one("img") is None
                assert text(one(card, ".price")) == f"£{offer['price']:,.2f}"  # the shop's currency
        item = ids[0]
        body = {"name": "x", "channel": "email", "start": "2031-01-01", "customer_ids": ["12346"], "item_id": item}
        made = client.post("/campaigns", json=body, headers=AUTH).json()
        (row,) = csv_rows(client.get(f"/campaigns/{made['id']}/offers.csv", headers=AUTH).content)
        assert {k: row[k] for k in ("image_url", "url", "currency")} == _expected(item, ids)
