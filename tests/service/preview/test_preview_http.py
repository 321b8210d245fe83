"""The preview over HTTP: who may see it, what each page shows (checked against the JSON API
and the artifact, which are computed independently of the templates), and the CSV downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from models.contract.export import CUSTOMER_COLUMNS, SEGMENT_COLUMNS
from models.contract.purchase_history import purchase_history
from service.app import create_app
from service.preview.figures import SegmentFeedback
from service.preview.routes import get_feedback
from tests.support.apps import settings_for
from tests.support.html import around, one, text
from tests.support.keys import API_KEY, AUTH, MARKETER
from tests.support.redis_server import RedisServer, free_port
from tests.support.replenishment import plans_of
from tests.support.spreadsheet import csv_table
from training.publish import publish

PAGES = [
    "/preview",
    "/preview/segments/0",
    "/preview/customers?customer_id=12346",
    "/preview/offers.csv",
    "/preview/segments/0/offers.csv",
]


def soup(client: TestClient, url: str, status: int = 200) -> BeautifulSoup:
    resp = client.get(url, auth=MARKETER)
    assert resp.status_code == status, resp.text[:500]
    assert resp.headers["content-type"].startswith("text/html")
    return BeautifulSoup(resp.text, "html.parser")


def csv_rows(body: bytes) -> tuple[list[str], list[dict[str, str]]]:
    return csv_table(body)


@pytest.mark.parametrize("url", PAGES)
def test_without_credentials_is_401_with_a_basic_challenge(client: TestClient, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Basic realm=")
    assert resp.json()["error"] == "unauthorized"


@pytest.mark.parametrize("auth", [("marketer", "wrong"), ("admin", API_KEY), ("marketer", ""), ("", "")])
def test_wrong_user_or_password_is_401(client: TestClient, auth: tuple[str, str]) -> None:
    resp = client.get("/preview", auth=auth)
    assert resp.status_code == 401
    assert API_KEY not in resp.text


def test_every_key_of_a_rotation_signs_in(trained_artifacts: Path) -> None:
    with TestClient(create_app(settings_for(trained_artifacts, api_key="old-key, new-key"))) as c:
        assert c.get("/preview", auth=("marketer", "old-key")).status_code == 200
        assert c.get("/preview", auth=("marketer", "new-key")).status_code == 200
        assert c.get("/preview", auth=("marketer", "old-key, new-key")).status_code == 401


def test_without_a_configured_key_the_preview_is_off(trained_artifacts: Path) -> None:
    settings = settings_for(trained_artifacts).model_copy(update={"api_key": None})
    with TestClient(create_app(settings)) as c:
        for url in PAGES:
            resp = c.get(url, auth=MARKETER)
            assert resp.status_code == 403
            assert "MICROOFFERS_API_KEY" in resp.json()["message"]


def test_overview_shows_the_model_and_every_segment(client: TestClient, trained_artifacts: Path) -> None:
    page = soup(client, "/preview")
    artifact = load_artifact(trained_artifacts)
    model = text(around(page, "#model-title"))
    assert artifact.version in model
    assert f"{artifact.manifest['counts']['customers']:,}" in model
    assert artifact.manifest["data_end"][:10] in model
    assert "stale" in model  # the bundled data ends in 2010
    evaluation = text(around(page, "#evaluation-title"))
    # Training's validation figures (metrics.json) against the baselines are on the page.
    selected = artifact.metrics["summary"]
    assert "Not evaluated" not in evaluation
    assert all(str(row["selected"]) in evaluation for row in selected.values())
    api = client.get("/segments").json()["segments"]
    links = page.select("table.segments td.segment-cell a")
    assert [a.get_text() for a in links] == [s["name"] for s in sorted(api, key=lambda s: -s["size"])]
    assert {a["href"] for a in links} == {f"/preview/segments/{s['id']}" for s in api}
    assert page.select_one('a[href="/preview/offers.csv"]') is not None


@pytest.mark.parametrize(("sort", "order", "column"), [("size", "asc", 2), ("id", "desc", 0), ("name", "asc", 1)])
def test_segment_table_sorts_on_the_server(client: TestClient, sort: str, order: str, column: int) -> None:
    page = soup(client, f"/preview?sort={sort}&order={order}")
    cells = [row.find_all("td")[column] for row in page.select("table.segments tbody tr")]
    values: list[object] = [
        one(c, "a").get_text().casefold() if column == 1 else int(c.get_text().replace(",", "")) for c in cells
    ]
    assert len(values) > 2
    assert values == sorted(values, reverse=order == "desc")  # type: ignore[type-var]
    active = one(page, "th[aria-sort]:not([aria-sort='none'])")
    assert active["aria-sort"] == ("ascending" if order == "asc" else "descending")


def test_unknown_sort_column_is_a_422_naming_the_field(client: TestClient) -> None:
    resp = client.get("/preview?sort=password", auth=MARKETER)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "sort"


def test_evaluation_figures_come_from_the_artifact_metrics(trained_artifacts: Path, tmp_path: Path) -> None:
    import json
    import shutil

    version = load_artifact(trained_artifacts).path
    assert version is not None
    copy = tmp_path / version.name
    shutil.copytree(version, copy)
    metrics = {
        "kinds": {"popular": "baseline"},
        "metrics": {
            "discovery": {
                "als": {"ndcg@10": 0.1234, "recall@10": 0.2},
                "popular": {"ndcg@10": 0.0571, "recall@10": 0.11},
            }
        },
    }
    (copy / "metrics.json").write_text(json.dumps(metrics))
    with TestClient(create_app(settings_for(copy))) as c:
        section = around(soup(c, "/preview"), "#evaluation-title")
    rows = {text(one(r, "th")): [text(td) for td in r.find_all("td")] for r in section.select("tbody tr")}
    assert rows == {"als": ["0.123", "0.2"], "popular baseline": ["0.0571", "0.11"]}
    assert "discovery" in text(one(section, "caption"))
    assert "Not evaluated" not in text(section)


def test_segment_page_shows_the_offer_the_api_gives(client: TestClient) -> None:
    segment = client.get("/segments").json()["segments"][0]
    offers = client.get(f"/segments/{segment['id']}/offers?k=12").json()["offers"]
    page = soup(client, f"/preview/segments/{segment['id']}")
    assert text(one(page, "h1")) == segment["name"]
    cards = page.select("ol.cards li.card")
    assert len(cards) == len(offers) > 0
    for card, offer in zip(cards, offers):
        assert text(one(card, ".card-title")).casefold() == " ".join(offer["title"].split()).casefold()
        assert text(one(card, ".reason")) == offer["reason"]
        assert f"{offer['lift']:.1f}× lift" in text(card)
        assert f"item {offer['item_id']}" in text(card)
    detail = client.get(f"/segments/{segment['id']}").json()
    samples = [a.get_text() for a in page.select("ul.chips a")]
    assert samples == detail["sample_customers"]
    assert "No feedback yet" in text(around(page, "#feedback-title"))


def test_segment_page_shows_feedback_figures_when_events_exist(trained_artifacts: Path) -> None:
    app = create_app(settings_for(trained_artifacts))

    async def figures() -> dict[int, SegmentFeedback]:
        return {0: SegmentFeedback(impressions=400, clicks=30, purchases=8, returns=2)}

    app.dependency_overrides[get_feedback] = figures
    with TestClient(app) as c:
        feedback = text(around(soup(c, "/preview/segments/0"), "#feedback-title"))
        other = text(around(soup(c, "/preview/segments/1"), "#feedback-title"))
    assert "Click-through 7.5%" in feedback
    assert "Conversion 2.0%" in feedback
    assert "Returns 25.0% of purchases" in feedback
    assert "No feedback yet" in other


def test_unknown_segment_is_a_404_page(client: TestClient) -> None:
    page = soup(client, "/preview/segments/9999", status=404)
    assert "Segment 9999 not found" in text(one(page, "h1"))
    assert "does not exist" in text(one(page, "[role=alert]"))


def test_customer_page_puts_history_next_to_their_store(client: TestClient, trained_artifacts: Path) -> None:
    artifact = load_artifact(trained_artifacts)
    customer = "12346" if "12346" in artifact.customers else str(artifact.customers.ids[0])
    store = client.get(f"/personal-store/{customer}?k=6").json()
    page = soup(client, f"/preview/customers?customer_id={customer}")
    assert text(one(page, "h1")) == f"Customer {customer}"
    assert store["loyalty"]["why"] in text(page)
    sections = page.select("section.store-section")
    assert [text(one(s, "h3")) for s in sections] == [s["title"] for s in store["sections"]]
    for section, expected in zip(sections, store["sections"]):
        assert [text(r) for r in section.select(".reason")] == [i["reason"] for i in expected["items"]]
    history = purchase_history(artifact, customer)
    assert history
    rows = page.select("table.history-table tbody tr")
    assert len(rows) == min(len(history), 40)
    assert [text(r.find_all("td")[2]) for r in rows] == [p.last.isoformat() for p in history[:40]]
    assert [int(text(r.find_all("td")[1])) for r in rows] == [p.occasions for p in history[:40]]
    segment = page.select_one('a[href^="/preview/segments/"]')
    assert segment is not None and segment.get_text() in {s["name"] for s in client.get("/segments").json()["segments"]}


def test_unknown_customer_sees_the_new_visitor_store(client: TestClient) -> None:
    page = soup(client, "/preview/customers?customer_id=nobody-here")
    assert "does not know customer nobody-here" in text(one(page, "[role=status]"))
    assert page.select("section.store-section")  # best-sellers, trending, new arrivals
    assert "No purchases" in text(around(page, "#history-title"))


@pytest.mark.parametrize("given", ["", "   ", "<b>bold</b>", "x" * 65, "has space"])
def test_bad_customer_id_names_the_problem_escaped(client: TestClient, given: str) -> None:
    resp = client.get("/preview/customers", params={"customer_id": given}, auth=MARKETER)
    assert resp.status_code == 422
    alert = text(one(BeautifulSoup(resp.text, "html.parser"), "[role=alert]"))
    assert "customer id" in alert
    assert "<b>" not in resp.text


def test_segment_csv_has_the_offer_the_api_gives(client: TestClient) -> None:
    segment = client.get("/segments").json()["segments"][0]["id"]
    resp = client.get(f"/preview/segments/{segment}/offers.csv?k=5", auth=MARKETER)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert f'filename="segment-{segment}-offers-' in resp.headers["content-disposition"]
    columns, rows = csv_rows(resp.content)
    assert columns == SEGMENT_COLUMNS
    api = client.get(f"/segments/{segment}/offers?k=5").json()["offers"]
    assert [r["item_id"] for r in rows] == [o["item_id"] for o in api]
    assert [r["rank"] for r in rows] == [str(n) for n in range(1, len(api) + 1)]
    assert {r["segment_id"] for r in rows} == {str(segment)}


def test_everyone_csv_offers_nothing_a_customer_already_bought(client: TestClient, trained_artifacts: Path) -> None:
    artifact = load_artifact(trained_artifacts)
    resp = client.get("/preview/offers.csv?k=3", auth=MARKETER)
    columns, rows = csv_rows(resp.content)
    assert columns == CUSTOMER_COLUMNS
    by_customer: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_customer.setdefault(row["customer_id"], []).append(row)
    assert len(by_customer) > len(artifact.customers) / 2
    for customer, offers in list(by_customer.items())[:50]:
        bought = {p.item_id for p in purchase_history(artifact, customer) or []}
        assert 1 <= len(offers) <= 3
        assert not bought & {o["item_id"] for o in offers}
        assert [o["rank"] for o in offers] == [str(n) for n in range(1, len(offers) + 1)]


@pytest.mark.parametrize("url", ["/preview/segments/9999/offers.csv", "/preview/segments/0/offers.csv?k=0"])
def test_csv_of_an_unknown_segment_or_bad_k_is_refused(client: TestClient, url: str) -> None:
    assert client.get(url, auth=MARKETER).status_code in {404, 422}


def test_preview_pages_have_a_strict_content_security_policy(client: TestClient) -> None:
    csp = client.get("/preview", auth=MARKETER).headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "cdn" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" in client.get("/docs").headers["content-security-policy"]  # Swagger UI still works
    assert client.get("/preview/static/preview.css").status_code == 200


@pytest.mark.redis
def test_pages_render_from_redis_and_from_the_fallback_when_it_is_down(
    trained_artifacts: Path, redis_server: RedisServer
) -> None:
    r = redis.Redis.from_url(redis_server.url)
    r.flushdb()
    publish(load_artifact(trained_artifacts), r)
    with TestClient(create_app(settings_for(trained_artifacts, redis_url=redis_server.url))) as c:
        from_redis = soup(c, "/preview")
        assert "redis store" in text(one(from_redis, "footer"))
        assert from_redis.select_one(".banner") is None
        customer = soup(c, f"/preview/customers?customer_id={load_artifact(trained_artifacts).customers.ids[0]}")
        assert customer.select("table.history-table tbody tr")
    down = settings_for(trained_artifacts, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(down)) as c:
        degraded = soup(c, "/preview")
        assert "Redis is unavailable" in text(one(degraded, ".banner"))
        assert [a.get_text() for a in degraded.select("td.segment-cell a")] == [
            a.get_text() for a in from_redis.select("td.segment-cell a")
        ]
    r.flushdb()
    r.close()


def test_segment_page_shows_feedback_once_events_exist(trained_artifacts: Path, tmp_path: Path) -> None:
    """Clicks and purchases posted as events show up as the segment's click-through figures."""
    artifact = load_artifact(trained_artifacts)
    customer = str(artifact.customers.ids[5])
    assert artifact.storefront is not None
    segment = int(artifact.storefront.segment_of[5])
    settings = settings_for(trained_artifacts, events_log=tmp_path / "events.jsonl")
    with TestClient(create_app(settings)) as c:
        assert "No feedback yet" in text(one(soup(c, f"/preview/segments/{segment}"), "main"))
        shown = [i["item_id"] for i in c.get(f"/recommend/{customer}?k=4").json()["items"]]
        resp = c.post(
            "/events",
            headers=AUTH,
            json={"events": [{"customer_id": customer, "item_id": shown[0], "type": "click"}]},
        )
        assert resp.status_code == 202
        page = text(one(soup(c, f"/preview/segments/{segment}"), "main"))
    assert "No feedback yet" not in page and "25" in page  # 1 click of 4 impressions


def test_customer_history_shows_a_rhythm_only_where_the_store_may_claim_one(
    client: TestClient, trained_artifacts: Path
) -> None:
    """The history's "every ~N" follows the buy-again rule and reads as the store's reason."""
    artifact = load_artifact(trained_artifacts)
    shown = hidden = 0
    for customer in artifact.customers.ids[:25].tolist():
        history = purchase_history(artifact, customer) or []
        page = soup(client, f"/preview/customers?customer_id={customer}")
        rows = page.select("table.history-table tbody tr")
        store = {
            i["item_id"]: i["reason"]
            for s in client.get(f"/personal-store/{customer}?k=50").json()["sections"]
            if s["id"] == "buy_again"
            for i in s["items"]
        }
        for row, p in zip(rows, history, strict=False):
            rhythm = row.select_one(".rhythm")
            interval = p.interval_days or 0.0
            if p.occasions >= 3 and interval >= 1 and p.days_since <= 3 * interval:
                assert rhythm is not None
                if p.item_id in store:
                    assert store[p.item_id].startswith(f"you usually reorder this {text(rhythm)};")
                shown += 1
            else:
                assert rhythm is None, (customer, p)
                hidden += p.occasions > 1
    assert shown and hidden


def test_customer_page_shows_the_replenishment_plans_of_their_store(
    client: TestClient, trained_artifacts: Path
) -> None:
    """Each plan on the page reads as the store's, status included; items without one show none."""
    checked = 0
    for p in plans_of(load_artifact(trained_artifacts))[:10]:
        store = client.get(f"/personal-store/{p.customer_id}?k=6").json()
        plans = {i["item_id"]: i["plan"] for s in store["sections"] for i in s["items"]}
        page = soup(client, f"/preview/customers?customer_id={p.customer_id}")
        for card in page.select("section.store li.card"):
            shown, plan = card.select_one(".plan"), plans[str(card["data-item"])]
            assert (shown is None) == (plan is None)
            if plan is not None and shown is not None:
                assert text(shown) == f"Plan: {plan['text']}" and shown["data-status"] == plan["status"]
                checked += 1
    assert checked, "no plan reached a customer's page"
