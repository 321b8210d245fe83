"""`microoffers train --two-stage always`: the published lists come from the learned ranker, the
manifest and the report say what it learnt from, and the service answers from those lists."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app
from models.contract.artifact import Artifact, load_artifact
from tests.support.apps import client_for
from tests.support.synthetic_shop import taste_shop, write_csv


def test_train_with_the_ranker_selected_writes_an_artifact_that_serves(tmp_path: Path) -> None:
    purchases = write_csv(taste_shop(), tmp_path / "purchases.csv")
    out = tmp_path / "art"
    args = ["train", "--purchases", str(purchases), "--out", str(out), "--tune-budget", "5", "--two-stage", "always"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    version = Path(result.stdout.strip().splitlines()[-1])
    manifest = json.loads((version / "manifest.json").read_text())
    assert {t: m["family"] for t, m in manifest["selection"]["models"].items()} == {
        "all": "two_stage",
        "discovery": "two_stage",
    }
    assert manifest["model"] == "two_stage"
    assert set(manifest["ranker"]["feature_importance"]) == {"all", "discovery"}
    assert manifest["selection"]["ranker"]["selected"] is True
    assert "feature importances" in (version / "report.html").read_text()
    assert "feature importances" in result.output  # the Markdown summary on stderr

    artifact = load_artifact(out)
    with client_for(out) as client:
        answers(client, artifact)


def answers(client: TestClient, artifact: Artifact) -> None:
    """The first customers' answers are their precomputed lists' heads."""
    for row in range(5):
        customer = str(artifact.customers.ids[row])
        discovery = [str(artifact.items.ids[i]) for i in artifact.discovery_items[row][:5] if i >= 0]
        body = client.get(f"/recommend/{customer}", params={"k": 5}).json()
        assert [i["item_id"] for i in body["items"]] == discovery
        everything = client.get(f"/recommend/{customer}", params={"k": 5, "include_purchased": "true"}).json()
        assert len(everything["items"]) == 5


def test_an_unknown_two_stage_mode_is_a_usage_error(tmp_path: Path) -> None:
    purchases = write_csv(taste_shop(n_customers=12, days=60), tmp_path / "p.csv")
    result = CliRunner().invoke(
        app, ["train", "--purchases", str(purchases), "--out", str(tmp_path / "a"), "--two-stage", "maybe"]
    )
    assert result.exit_code == 2
    assert "--two-stage must be auto, always or never, not 'maybe'" in result.output
    assert not (tmp_path / "a").exists()
