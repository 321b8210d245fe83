"""Experiments end to end through the app, over both stores: who gets which variant, the ids
every answer carries, attribution by id and by where the item was last shown, the results, and
(with Redis) two published versions served side by side and kept while the experiment runs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from models import contract
from models.contract.artifact import Artifact, load_artifact
from models.contract.experiments import Experiment, decode_recommendation_id
from service.core.experiments import utc_day
from tests.support.apps import RECOMMEND, add_version, answered, client_for
from tests.support.keys import AUTH
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until
from training.publish import expire_old_versions, publish


def start(client: TestClient, **body: Any) -> dict[str, Any]:
    resp = client.post("/experiments", json={"id": "exp-1", **body}, headers=AUTH)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def results(client: TestClient, experiment: str = "exp-1") -> dict[str, Any]:
    resp = client.get(f"/experiments/{experiment}", headers=AUTH)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def by_variant(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in results["variants"]}


def definition(client: TestClient) -> Experiment:
    """The running definition, as every worker reads it (the salt says who is where)."""
    serving = client.app.state.serving  # type: ignore[attr-defined]
    store = serving.live.experiments
    found = client.portal.call(store.running)  # type: ignore[union-attr]
    assert found is not None
    return found  # type: ignore[no-any-return]


def customers(artifact: Artifact, n: int = 60) -> list[str]:
    return [str(c) for c in artifact.customers.ids[:n]]


def test_every_surface_names_its_variant_and_a_hold_out_gets_best_sellers(
    artifacts: Path, artifact: Artifact, redis_url: str | None
) -> None:
    with client_for(artifacts, redis_url) as client:
        start(client, variants=[{"name": "A"}, {"name": "B"}], holdout=0.3)
        e = definition(client)
        seen: Counter[str] = Counter()
        for customer in customers(artifact):
            expected = e.assign(customer).name
            reco = client.get(f"/recommend/{customer}").json()
            assert reco["variant"] == expected
            rid = decode_recommendation_id(reco["recommendation_id"])
            assert (rid.experiment, rid.variant, rid.surface, rid.day) == ("exp-1", expected, "recommend", utc_day())
            assert rid.is_for(customer)
            page = client.get(f"/personal-store/{customer}").json()
            assert page["variant"] == expected
            assert {decode_recommendation_id(s["recommendation_id"]).surface for s in page["sections"]} == {
                s["id"] for s in page["sections"]
            }
            if expected == "holdout":
                assert reco["source"] == "popular" and page["source"] == "popular"
                assert {i["reason"] for i in reco["items"]} == {"a best-seller"}
            seen[expected] += 1
        assert set(seen) == {"A", "B", "holdout"}
        batch = client.post("/recommend/batch", json={"customer_ids": customers(artifact, 5)}).json()
        for result in batch["results"]:
            assert result["variant"] == e.assign(result["customer_id"]).name
            assert decode_recommendation_id(result["recommendation_id"]).surface == "batch"
        first = customers(artifact)[0]
        params = {"now": "2024-03-01T12:00:00Z", "dry_run": "true"}
        offer = client.get(f"/outbound/{first}", params=params, headers=AUTH)
        assert offer.status_code == 200, offer.text
        assert offer.json()["variant"] == e.assign(first).name
        assert decode_recommendation_id(offer.json()["recommendation_id"]).surface == "outbound"
        item = client.get(f"/recommend/{first}").json()["items"][0]["item_id"]
        similar = client.get(f"/items/{item}/similar").json()
        assert decode_recommendation_id(similar["recommendation_id"]).surface == "similar"
        assert client.post("/experiments/exp-1/stop", headers=AUTH).status_code == 200
        after = client.get(f"/recommend/{customers(artifact)[0]}").json()
        assert after["variant"] is None and decode_recommendation_id(after["recommendation_id"]).experiment == ""


def test_events_count_for_the_variant_their_id_names_or_where_the_item_was_shown(
    artifacts: Path, artifact: Artifact, redis_url: str | None
) -> None:
    with client_for(artifacts, redis_url) as client:
        start(client, variants=[{"name": "A"}, {"name": "B"}])
        e = definition(client)
        a = next(c for c in customers(artifact) if e.assign(c).name == "A")
        b = next(c for c in customers(artifact) if e.assign(c).name == "B")
        reco_a = client.get(f"/recommend/{a}").json()
        reco_b = client.get(f"/recommend/{b}").json()
        item_a, item_b = reco_a["items"][0], reco_b["items"][0]
        events = [
            # by id: B's click and purchase, at a price the client gives
            {
                "customer_id": b,
                "item_id": item_b["item_id"],
                "type": "click",
                "recommendation_id": reco_b["recommendation_id"],
            },
            {
                "customer_id": b,
                "item_id": item_b["item_id"],
                "type": "purchase",
                "quantity": 2,
                "price": 3.5,
                "recommendation_id": reco_b["recommendation_id"],
            },
            # by fallback: A's purchase of an item shown to A, without an id (the catalog's price)
            {"customer_id": a, "item_id": item_a["item_id"], "type": "purchase"},
            # never shown, no id: not counted
            {"customer_id": a, "item_id": "NEVER-SHOWN", "type": "purchase"},
            # an id of another customer's answer: not B's (A's item was shown to A, so A's variant)
            {
                "customer_id": a,
                "item_id": item_a["item_id"],
                "type": "return",
                "recommendation_id": reco_b["recommendation_id"],
            },
        ]
        assert wait_until(lambda: by_variant(results(client))["A"]["impressions"] > 0)
        assert client.post("/events", json={"events": events}, headers=AUTH).status_code == 202
        got = by_variant(results(client))
        assert (got["B"]["clicks"], got["B"]["purchases"], got["B"]["converted_customers"]) == (1, 1, 1)
        assert got["B"]["revenue"] == pytest.approx(7.0)
        assert (got["A"]["purchases"], got["A"]["returns"], got["A"]["clicks"]) == (1, 1, 0)
        assert got["A"]["revenue"] == pytest.approx(item_a["price"] or 0.0)
        assert got["A"]["impressions"] == len(reco_a["items"])
        assert got["A"]["customers"] == 1 and got["B"]["customers"] == 1
        body = results(client)
        assert body["comparisons"][0]["variant"] == "B" and body["comparisons"][0]["against"] == "A"
        assert set(body["sample_ratio"]["observed"]) == {"A", "B"}


def test_a_bad_recommendation_id_is_refused_naming_the_field(artifacts: Path, artifact: Artifact) -> None:
    with client_for(artifacts) as client:
        event = {
            "customer_id": customers(artifact)[0],
            "item_id": "X",
            "type": "click",
            "recommendation_id": "r1AAAAAAAAAA!",
        }
        resp = client.post("/events", json=event, headers=AUTH)
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "recommendation_id"
        event["recommendation_id"] = "r1" + "A" * 12
        resp = client.post("/events", json=event, headers=AUTH)
        assert resp.status_code == 422 and "recommendation_id" in resp.json()["message"]


def test_admin_endpoints_refuse_what_they_cannot_do(artifacts: Path) -> None:
    with client_for(artifacts) as client:
        assert (
            client.post("/experiments", json={"id": "x", "variants": [{"name": "A"}, {"name": "B"}]}).status_code == 401
        )
        resp = client.post("/experiments", json={"id": "x", "variants": [{"name": "A"}, {"name": "A"}]}, headers=AUTH)
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "variants"
        resp = client.post(
            "/experiments",
            json={"id": "x", "variants": [{"name": "A"}, {"name": "B", "version": "other"}]},
            headers=AUTH,
        )
        assert resp.status_code == 422 and "embedded store serves only" in resp.json()["message"]
        start(client, variants=[{"name": "A"}, {"name": "B"}])
        again = client.post("/experiments", json={"id": "y", "variants": [{"name": "A"}, {"name": "B"}]}, headers=AUTH)
        assert again.status_code == 409 and "exp-1 is running" in again.json()["message"]
        assert client.get("/experiments/nope", headers=AUTH).status_code == 404
        assert [x["status"] for x in client.get("/experiments", headers=AUTH).json()["experiments"]] == ["running"]
        assert client.post("/experiments/exp-1/stop", headers=AUTH).status_code == 200
        assert client.post("/experiments/exp-1/stop", headers=AUTH).status_code == 409


@pytest.mark.redis
def test_two_published_versions_serve_their_buckets_and_stay_while_the_experiment_runs(
    artifacts: Path, own_redis: RedisServer
) -> None:
    """A beside B: version A published, then B; the experiment serves A to one half and B to
    the other (the hot path answers A's, the routes B's), and the publishes that follow do not
    expire either while it runs; after the stop they do."""
    r = redis.Redis.from_url(own_redis.url)
    version_a = load_artifact(artifacts)
    publish(version_a, r)
    version_b = load_artifact(add_version(artifacts, "b"))
    publish(version_b, r)
    with client_for(artifacts, own_redis.url) as client:
        variants = [{"name": "A", "version": version_a.version}, {"name": "B", "version": version_b.version}]
        start(client, variants=variants)
        e = definition(client)
        group = customers(version_a, 40)
        for customer in group:
            reco = client.get(f"/recommend/{customer}").json()
            expected = e.assign(customer)
            assert (reco["variant"], reco["model_version"]) == (expected.name, expected.version)
            assert client.get(f"/personal-store/{customer}").json()["model_version"] == expected.version
        in_a = sum(e.assign(c).name == "A" for c in group)
        assert answered(client, RECOMMEND, "route") == in_a  # A is no longer the served version: the routes answer
        assert answered(client, RECOMMEND, "hot_path") == len(group) - in_a
        for n in range(3):  # three more publishes: A and B are older than current and previous now
            publish(load_artifact(add_version(artifacts, f"c{n}")), r)
            expire_old_versions(r, ttl_s=60)
        for v in (version_a.version, version_b.version):
            assert r.ttl(contract.manifest_key(v)) == -1 and r.exists(contract.complete_key(v))
        customer = customers(version_a)[0]
        assert client.get(f"/recommend/{customer}").json()["model_version"] == e.assign(customer).version
        client.post("/experiments/exp-1/stop", headers=AUTH)
        expire_old_versions(r, ttl_s=60)
        assert 0 < r.ttl(contract.manifest_key(version_a.version)) <= 60
    r.close()


def test_forgetting_a_customer_takes_them_out_of_the_experiments_tallies(
    artifacts: Path, artifact: Artifact, redis_url: str | None
) -> None:
    with client_for(artifacts, redis_url) as client:
        start(client, variants=[{"name": "A"}, {"name": "B"}])
        customer, other = customers(artifact, 2)
        for c in (customer, other):
            reco = client.get(f"/recommend/{c}").json()
            event = {"customer_id": c, "item_id": reco["items"][0]["item_id"], "type": "purchase", "price": 1.0}
            client.post("/events", json={**event, "recommendation_id": reco["recommendation_id"]}, headers=AUTH)
        assert sum(v["converted_customers"] for v in results(client)["variants"]) == 2
        exported = client.get(f"/customers/{customer}/export", headers=AUTH).json()["experiments"]
        assert [(x["experiment"], x["variant"], x["revenue"]) for x in exported] == [
            ("exp-1", definition(client).assign(customer).name, 1.0)
        ]
        assert exported[0]["exposed_on"] == exported[0]["converted_on"] is not None
        assert client.delete(f"/customers/{customer}", headers=AUTH).status_code == 204
        after = results(client)["variants"]
        assert sum(v["customers"] for v in after) == 1 and sum(v["converted_customers"] for v in after) == 1
        assert sum(v["purchases"] for v in after) == 2  # totals hold no customer id: they stay
        assert client.get(f"/recommend/{customer}").json()["variant"] is None  # forgotten: outside it
        client.post(f"/customers/{customer}/restore", headers=AUTH)
        assert client.get(f"/customers/{customer}/export", headers=AUTH).json()["experiments"] == []
