"""Over HTTP, on both stores: a buy-again or /recommend reason claims a rhythm only where the
customer's history supports it (three occasions or more, the latest within three intervals),
and /recommend words a repeat purchase as the store does. Before, every repeat item read
"you usually reorder this every ~N", from two purchases too, however long ago."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from models.contract.purchase_history import purchase_history
from models.rules.wording import times

CLAIM = "you usually reorder this every"


@pytest.fixture(scope="module")
def client(open_client, trained_artifacts: Path) -> TestClient:  # type: ignore[no-untyped-def]
    return open_client(trained_artifacts)


def test_rhythms_are_claimed_only_on_enough_recent_evidence(client: TestClient, trained_artifacts: Path) -> None:
    artifact = load_artifact(trained_artifacts)
    claimed = facts = same_on_recommend = 0
    for customer in artifact.customers.ids[:80].tolist():
        history = {p.item_id: p for p in purchase_history(artifact, customer) or []}
        sections = client.get(f"/personal-store/{customer}", params={"k": 50}).json()["sections"]
        buy_again = {i["item_id"]: i["reason"] for s in sections if s["id"] == "buy_again" for i in s["items"]}
        for item, reason in buy_again.items():
            p = history[item]
            assert p.interval_days is not None
            if p.occasions >= 3 and p.days_since <= 3 * p.interval_days:
                assert reason.startswith(CLAIM), (customer, p, reason)
                claimed += 1
            else:
                assert reason.startswith(f"you bought this {times(p.occasions)}, last time "), (customer, p, reason)
                facts += 1
        items = client.get(f"/recommend/{customer}", params={"k": 100, "include_purchased": "true"}).json()["items"]
        for i in items:
            if i["item_id"] in buy_again:
                assert i["reason"] == buy_again[i["item_id"]]
                same_on_recommend += 1
    assert claimed and facts and same_on_recommend  # the slice has both kinds, and /recommend shows some
