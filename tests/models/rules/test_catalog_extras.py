"""A catalog item's presentation columns: kept only when given, so documents and answers of a
catalog without them are what they always were."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from models.rules.catalog import CatalogItem, catalog_from_frame, is_web_url


def test_an_item_without_extras_keeps_its_old_document() -> None:
    item = CatalogItem("A", "Mug", 2.5, "home", True, date(2024, 1, 1))
    assert list(item.to_json()) == ["item_id", "title", "price", "category", "available", "available_from"]
    assert item.extras() == {}
    assert CatalogItem.from_json(item.to_json()) == item


def test_extras_round_trip_through_documents_and_the_artifact_frame() -> None:
    item = CatalogItem("A", "Mug", 2.5, image_url="https://i.example/a.png", currency="EUR")
    assert item.extras() == {"image_url": "https://i.example/a.png", "currency": "EUR"}
    assert CatalogItem.from_json(item.to_json()) == item
    frame = pd.DataFrame(
        {"item_id": ["A", "B"], "title": ["Mug", "Cup"], "image_url": ["https://i.example/a.png", None]}
    )
    catalog = catalog_from_frame(frame)
    assert catalog["A"].image_url == "https://i.example/a.png" and catalog["B"].extras() == {}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("https://shop.example/p/1?x=2", True),
        ("HTTP://shop.example", True),
        ("ftp://shop.example/a", False),
        ("//shop.example/a", False),
        ("https://", False),
        ("https://shop example/a", False),
        ("javascript:alert(1)", False),
    ],
)
def test_web_urls(text: str, ok: bool) -> None:
    assert is_web_url(text) is ok
