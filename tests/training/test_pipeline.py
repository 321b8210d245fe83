"""Training on a small real slice, and what happens to bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from models.algorithms.als import ALSParams
from models.contract.artifact import load_artifact, resolve_version_dir
from training.errors import InputError
from training.pipeline import TrainInputs, TrainParams, train


def test_artifact_has_manifest_counts_timings_and_fingerprint(trained_artifacts: Path) -> None:
    manifest = json.loads((resolve_version_dir(trained_artifacts) / "manifest.json").read_text())
    assert manifest["counts"]["customers"] > 300
    assert manifest["counts"]["dropped_no_customer"] == 0  # the slice only has known customers
    assert manifest["counts"]["returns"] > 0
    assert set(manifest["timings"]) >= {"load", "clean", "features", "fit", "lists", "total"}
    assert len(manifest["fingerprint"]) == 16


def test_personal_lists_differ_between_customers_and_exclude_purchases(trained_artifacts: Path) -> None:
    a = load_artifact(trained_artifacts)
    tops = {tuple(a.discovery_items[r, :10].tolist()) for r in range(len(a.customers))}
    assert len(tops) > len(a.customers) * 0.5
    for row in range(len(a.customers)):
        bought = set(a.history[row].indices.tolist())
        assert not bought & set(a.discovery_items[row].tolist())


def test_all_lists_may_contain_purchases(trained_artifacts: Path) -> None:
    a = load_artifact(trained_artifacts)
    overlap = sum(len(set(a.history[r].indices) & set(a.all_items[r])) for r in range(len(a.customers)))
    assert overlap > 0


def test_same_data_gives_same_fingerprint(retail_slice: Path, trained_artifacts: Path, tmp_path: Path) -> None:
    train(TrainInputs(retail_slice, "online-retail"), tmp_path)
    first = load_artifact(trained_artifacts).manifest["fingerprint"]
    assert json.loads((resolve_version_dir(tmp_path) / "manifest.json").read_text())["fingerprint"] == first


def test_train_returns_the_artifact_it_wrote(retail_slice: Path, tmp_path: Path) -> None:
    """Also: the artifact's ALS is fitted from its own spec (`TrainParams.als`), whatever was selected."""
    small = ALSParams(factors=8, iterations=5)
    artifact = train(TrainInputs(retail_slice, "online-retail"), tmp_path, TrainParams(als=small))
    assert artifact.path is not None and artifact.path == resolve_version_dir(tmp_path)
    assert artifact.path.name == artifact.version
    written = load_artifact(artifact.path)
    assert written.manifest == json.loads(json.dumps(artifact.manifest, default=str))
    assert written.metrics == json.loads(json.dumps(artifact.metrics, default=str))
    assert np.array_equal(written.all_items, artifact.all_items)
    assert np.array_equal(written.model.item_factors, artifact.model.item_factors)
    assert written.model.params == small and written.model.item_factors.shape[1] == 8
    assert written.manifest["params"]["als"] == small.model_dump()


def test_bad_file_writes_nothing_and_keeps_previous(trained_artifacts: Path, tmp_path: Path) -> None:
    out = tmp_path / "art"
    out.mkdir()
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,item_id,timestamp\nc1,i1,2024-01-01\nc2,i2,not-a-date\n")
    with pytest.raises(InputError, match="timestamp"):
        train(TrainInputs(bad), out)
    assert list(out.iterdir()) == []


def test_cli_bad_input_is_one_line_and_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,item_id,timestamp,quantity\nc1,i1,2024-01-01,2\nc2,i2,2024-01-02,lots\n")
    result = CliRunner().invoke(app, ["train", "--purchases", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "quantity" in lines[0] and "bad.csv" in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_train_canonical_csv(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    lines = ["customer_id,item_id,timestamp,quantity,price"]
    for n in range(600):
        c = int(rng.integers(0, 40))
        i = int(rng.integers(0, 15)) + (15 if c % 2 else 0)
        lines.append(f"cust{c},sku{i},{1700000000 + n * 3600},{int(rng.integers(1, 4))},2.5")
    csv = tmp_path / "p.csv"
    csv.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["train", "--no-tune", "--purchases", str(csv), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    a = load_artifact(tmp_path / "out")
    assert len(a.customers) == 40 and len(a.items) == 30


def test_replenishment_matches_history(trained_artifacts: Path) -> None:
    a = load_artifact(trained_artifacts)
    occ = a.replenishment.occasions
    assert occ.nnz == a.history.nnz
    assert np.allclose(occ.toarray(), a.history.toarray())
    assert (a.replenishment.last_day - a.replenishment.first_day).min() >= 0
