"""`train` publishes only what beats popularity on the validation window, unless --force."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from models.contract.artifact import load_artifact
from tests.support.synthetic_shop import herd_shop, write_csv


def test_model_that_cannot_beat_popularity_is_refused_and_nothing_written(tmp_path: Path) -> None:
    csv = write_csv(herd_shop(), tmp_path / "herd.csv")
    out = tmp_path / "artifacts"
    result = CliRunner().invoke(app, ["train", "--purchases", str(csv), "--out", str(out), "--no-tune"])
    assert result.exit_code == 3, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "quality gate" in errors[0] and "--force" in errors[0]
    assert "popularity" in errors[0] and "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_force_publishes_and_the_artifact_says_so(tmp_path: Path) -> None:
    csv = write_csv(herd_shop(), tmp_path / "herd.csv")
    out = tmp_path / "artifacts"
    result = CliRunner().invoke(app, ["train", "--purchases", str(csv), "--out", str(out), "--no-tune", "--force"])
    assert result.exit_code == 0, result.output
    artifact = load_artifact(out)
    assert artifact.manifest["forced"] is True
    assert artifact.metrics["forced"] is True and artifact.metrics["gate"]["passed"] is False
    assert "warning" in result.output


def test_passing_model_records_selection_validation_and_report(retail_slice: Path, tmp_path: Path) -> None:
    out = tmp_path / "artifacts"
    args = ["train", "--purchases", str(retail_slice), "--format", "online-retail", "--out", str(out), "--no-tune"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    artifact = load_artifact(out)
    selection = artifact.manifest["selection"]
    assert selection["gate"]["passed"] is True and artifact.manifest["forced"] is False
    assert selection["models"]["all"]["family"] == "blend"
    metrics = json.loads((artifact.path / "metrics.json").read_text())  # type: ignore[operator]
    assert set(metrics["metrics"]) == {"all", "discovery"}
    assert {"popularity", "recent_popularity", "cf+recent"} <= set(metrics["metrics"]["discovery"])
    assert metrics["gate"]["tasks"]["discovery"]["value"] > metrics["gate"]["tasks"]["discovery"]["baseline_value"]
    html = (artifact.path / "report.html").read_text()  # type: ignore[operator]
    assert "<img" in html and "recent_popularity" in html
    assert "NDCG@10" in result.output  # the Markdown summary on the console
