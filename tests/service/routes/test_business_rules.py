"""`/rules` over both stores: keyed, validated field by field (4xx naming the field, never a 500),
every change audited with the key's id, and a change applied to the very next answer."""

from __future__ import annotations

from pathlib import Path

from models.contract.artifact import Artifact
from tests.support.apps import client_for
from tests.support.keys import AUTH

PIN = {"kind": "pin", "item_id": "85123A", "segment": 1, "start": "2026-12-10T00:00:00Z", "end": "2026-12-17T00:00:00Z"}


def test_rules_need_the_key(artifacts: Path) -> None:
    with client_for(artifacts) as client:
        assert client.get("/rules").status_code == 401
        assert client.post("/rules", json=PIN, headers={"Authorization": "Bearer wrong"}).status_code == 401
    with client_for(artifacts, api_key=None) as client:
        assert client.get("/rules", headers=AUTH).status_code == 403


def test_create_read_change_delete_and_the_audit(artifacts: Path, redis_url: str | None) -> None:
    with client_for(artifacts, redis_url) as client:
        made = client.post("/rules", json=PIN, headers=AUTH)
        assert made.status_code == 201, made.text
        rule = made.json()
        assert rule["state"] in ("scheduled", "active", "expired") and rule["created_by"] == "admin1"
        assert client.get("/rules", headers=AUTH).json()["rules"] == [rule]
        assert client.get(f"/rules/{rule['id']}", headers=AUTH).json() == rule
        changed = client.put(f"/rules/{rule['id']}", json={**PIN, "kind": "boost"}, headers=AUTH)
        assert changed.status_code == 200 and changed.json()["kind"] == "boost"
        assert client.delete(f"/rules/{rule['id']}", headers=AUTH).status_code == 204
        assert client.get(f"/rules/{rule['id']}", headers=AUTH).status_code == 404
        log = client.get("/rules/audit", headers=AUTH).json()["entries"]
        assert [(e["action"], e["who"]) for e in log] == [
            ("delete", "admin1"),
            ("update", "admin1"),
            ("create", "admin1"),
        ]
        assert log[1]["before"]["kind"] == "pin" and log[1]["after"]["kind"] == "boost"
        assert client.get("/rules", headers=AUTH).json()["revision"] == 3


def test_bad_rules_answer_422_naming_the_field(artifacts: Path) -> None:
    cases = {
        "category": {"kind": "pin"},
        "end": {**PIN, "end": "2026-12-01T00:00:00Z"},
        "max_per_category": {"kind": "diversity"},
        "kind": {"kind": "promote", "item_id": "a"},
        "colour": {**PIN, "colour": "red"},
        "segment": {**PIN, "segment": "first"},
        "start": {**PIN, "start": "next tuesday"},
    }
    with client_for(artifacts) as client:
        for field, body in cases.items():
            answer = client.post("/rules", json=body, headers=AUTH)
            assert answer.status_code == 422, (field, answer.text)
            assert field in {e["field"] for e in answer.json()["errors"]}, (field, answer.json())
        assert client.post("/rules", content=b"{not json", headers=AUTH).status_code == 422
        assert client.put("/rules/r-unknown", json=PIN, headers=AUTH).status_code == 404
        assert client.delete("/rules/r-unknown", headers=AUTH).json()["error"] == "not_found"
        assert client.get("/rules/bad%20id", headers=AUTH).status_code == 422
        assert client.get("/rules/audit?limit=0", headers=AUTH).status_code == 422
        assert client.get("/rules/audit", headers=AUTH).json() == {"entries": []}  # nothing bad was stored


def test_a_rule_changes_the_next_answer(artifacts: Path, artifact: Artifact, redis_url: str | None) -> None:
    customer = str(artifact.customers.ids[0])
    with client_for(artifacts, redis_url) as client:
        before = [i["item_id"] for i in client.get(f"/recommend/{customer}").json()["items"]]
        client.post("/rules", json={"kind": "block", "item_id": before[0]}, headers=AUTH)
        pinned = before[-1]
        client.post("/rules", json={"kind": "pin", "item_id": pinned}, headers=AUTH)
        after = [i["item_id"] for i in client.get(f"/recommend/{customer}").json()["items"]]
        assert after[0] == pinned and before[0] not in after and len(after) == len(before)
