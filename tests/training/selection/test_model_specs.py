"""Specs hold their model's params object, and the manifest's chosen models are checked on loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.algorithms.als import ALSParams
from models.algorithms.registry import check_description
from models.contract.artifact import ArtifactCorruptError, load_artifact, resolve_version_dir
from training.selection.candidates import COUNTS, ModelSpec, baseline_specs, blend_spec
from training.selection.tune import default_specs


def test_a_spec_validates_its_params_through_its_family() -> None:
    spec = ModelSpec.model_validate({"name": "als_small", "family": "als", "params": {"factors": 8}})
    assert spec.params == ALSParams(factors=8)
    assert ModelSpec(name="als", family="als").params == ALSParams()  # omitted: the model's defaults
    with pytest.raises(ValidationError, match="model 'als' has no parameter 'factor'"):
        ModelSpec.model_validate({"name": "typo", "family": "als", "params": {"factor": 8}})
    with pytest.raises(ValidationError, match="unknown model 'alss'"):
        ModelSpec(name="typo", family="alss")
    with pytest.raises(ValidationError, match="only a blend, has parts"):
        ModelSpec(name="odd", family="als", parts=((spec, 1.0),))


def test_specs_round_trip_through_their_json() -> None:
    for spec in [*baseline_specs(), *default_specs().values()]:
        again = ModelSpec.model_validate_json(spec.model_dump_json())
        assert again == spec and again.key() == spec.key()
        check_description(json.loads(json.dumps(spec.summary())))


def test_a_blend_takes_the_weights_of_its_first_part_that_reads_the_matrix() -> None:
    recent = baseline_specs()[1]
    als = ModelSpec(name="als", family="als", weights=COUNTS.model_copy(update={"scheme": "binary"}))
    assert blend_spec("b", [(recent, 1.0), (als, 0.5)]).weights == als.weights
    assert blend_spec("b", [(recent, 1.0)]).weights == COUNTS


def test_an_artifact_whose_manifest_names_an_unknown_parameter_does_not_load(
    trained_artifacts: Path, tmp_path: Path
) -> None:
    version = resolve_version_dir(trained_artifacts)
    copy = tmp_path / version.name
    shutil.copytree(version, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    discovery = manifest["selection"]["models"]["discovery"]
    leaf = discovery["parts"][0] if discovery.get("parts") else discovery
    leaf["params"]["colour"] = "blue"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    named = f"manifest.json.*model '{leaf['family']}' has no parameter 'colour'"
    with pytest.raises(ArtifactCorruptError, match=named):
        load_artifact(copy)
