"""The preview's campaign pages over HTTP: the form needs its token, a bad campaign re-renders
the form naming the field, a good one leads to its page, which shows exactly the plan the API's
CSV holds; the downloads and deleting work behind the preview's sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from models.contract.artifact import Artifact, load_artifact
from service.app import create_app
from service.preview.csrf import FIELD
from tests.support.apps import settings_for
from tests.support.html import attr, one, text
from tests.support.keys import AUTH, MARKETER
from tests.support.spreadsheet import csv_table


@pytest.fixture
def client(trained_artifacts: Path, tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(trained_artifacts, campaigns_file=tmp_path / "campaigns.json")
    with TestClient(create_app(settings)) as c:
        yield c


def _token(client: TestClient) -> str:
    page = BeautifulSoup(client.get("/preview/campaigns", auth=MARKETER).text, "html.parser")
    return attr(one(page, f"form.campaign-form input[name={FIELD}]"), "value")


def _form(**fields: str) -> dict[str, str]:
    return {
        "name": "Spring",
        "segment_id": "1",
        "channel": "push",
        "start": "2031-05-01",
        "send_time": "10:00",
        **fields,
    }


def test_without_the_form_token_nothing_is_planned(client: TestClient) -> None:
    assert client.post("/preview/campaigns", data=_form(), auth=MARKETER).status_code == 403
    assert client.get("/campaigns", headers=AUTH).json()["campaigns"] == []


def test_a_bad_campaign_re_renders_the_form_naming_the_field(client: TestClient) -> None:
    sent = {**_form(end="2031-04-01"), FIELD: _token(client)}
    resp = client.post("/preview/campaigns", data=sent, auth=MARKETER)
    assert resp.status_code == 422
    page = BeautifulSoup(resp.text, "html.parser")
    assert "end: ends (2031-04-01) before it starts (2031-05-01)" in text(one(page, "[role=alert]"))
    assert attr(one(page, "#end"), "aria-invalid") == "true"
    assert attr(one(page, "#name"), "value") == "Spring"
    resp = client.post("/preview/campaigns", data={**_form(item_id="NOPE1"), FIELD: _token(client)}, auth=MARKETER)
    assert resp.status_code == 422 and "item_id: item NOPE1 is not in the catalog" in resp.text


def test_a_planned_campaign_shows_who_gets_what_as_the_csv_does(client: TestClient, trained_artifacts: Path) -> None:
    artifact: Artifact = load_artifact(trained_artifacts)
    customers = [str(c) for c in artifact.customers.ids[:3]]
    sent = {**_form(segment_id="", customer_ids="\n".join(customers)), FIELD: _token(client)}
    resp = client.post("/preview/campaigns", data=sent, auth=MARKETER, follow_redirects=False)
    assert resp.status_code == 303
    url = resp.headers["location"]
    campaign_id = url.rsplit("/", 1)[1]
    made = client.get(f"/campaigns/{campaign_id}", headers=AUTH).json()
    assert made["created_by"] == "marketer" and made["customer_ids"] == customers and made["channel"] == "push"
    page = BeautifulSoup(client.get(url, auth=MARKETER).text, "html.parser")
    rows = csv_table(client.get(f"/campaigns/{campaign_id}/offers.csv", headers=AUTH).content)[1]
    shown = [(attr(tr, "data-customer"), text(one(tr, ".item-id"))) for tr in page.select("table.sends tbody tr")]
    assert shown == [(r["customer_id"], r["item_id"]) for r in rows] and len(shown) == 3
    download = client.get(f"{url}/offers.csv", auth=MARKETER)
    assert download.content == client.get(f"/campaigns/{campaign_id}/offers.csv", headers=AUTH).content
    audience = csv_table(client.get(f"{url}/audience.csv", auth=MARKETER).content)[1]
    assert [r["customer_id"] for r in audience] == customers


def test_deleting_needs_the_token_too(client: TestClient) -> None:
    made = client.post("/preview/campaigns", data={**_form(), FIELD: _token(client)}, auth=MARKETER)
    assert made.status_code == 200 and made.url.path.startswith("/preview/campaigns/c")
    campaign_page = BeautifulSoup(made.text, "html.parser")
    token = attr(one(campaign_page, f"form[action$='/delete'] input[name={FIELD}]"), "value")
    delete = f"{made.url.path}/delete"
    assert client.post(delete, data={}, auth=MARKETER).status_code == 403
    assert client.post(delete, data={FIELD: token}, auth=MARKETER).status_code == 200
    assert client.get("/campaigns", headers=AUTH).json()["campaigns"] == []
    assert client.get(made.url.path, auth=MARKETER).status_code == 404
