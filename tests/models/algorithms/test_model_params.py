"""Every registered model's parameters: declared by the model, refused when unknown, the same
after a trip through the manifest's JSON; and the registry below the blend, not beside it."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from models.algorithms.params import ModelParams, ParamsError
from models.algorithms.registry import MODEL_TYPES, check_description, load_model, new_model, validate_params
from tests.support.paths import ROOT

NAMES = sorted(MODEL_TYPES)


@pytest.mark.parametrize("name", NAMES)
def test_each_model_declares_its_own_params_class(name: str) -> None:
    kind = MODEL_TYPES[name]
    assert kind.cls.name == name and kind.params is kind.cls.Params
    assert issubclass(kind.params, ModelParams) and kind.params.model_config.get("extra") == "forbid"
    assert type(new_model(name).params) is kind.params


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_is_refused_naming_the_model_and_the_parameter(name: str) -> None:
    with pytest.raises(ValidationError):
        MODEL_TYPES[name].params(no_such_knob=1)  # type: ignore[call-arg]
    with pytest.raises(ParamsError, match=f"model '{name}' has no parameter 'no_such_knob'"):
        validate_params(name, {"no_such_knob": 1})
    with pytest.raises(ParamsError, match=f"model '{name}' has no parameter 'no_such_knob'"):
        new_model(name, {"no_such_knob": 1})


@pytest.mark.parametrize("name", NAMES)
def test_params_round_trip_through_manifest_json(name: str) -> None:
    """The manifest writes `model_dump(mode="json")` with `json.dumps`; loading validates it back."""
    cls = MODEL_TYPES[name].params
    for params in (cls(), cls(**cls.search.start)):
        text = json.dumps({"family": name, "params": params.model_dump(mode="json")})
        described = json.loads(text)
        check_description(described)
        assert validate_params(name, described["params"]) == params
        assert validate_params(name, params.model_dump_json()) == params


@pytest.mark.parametrize("name", NAMES)
def test_search_ranges_name_real_parameters_within_bounds(name: str) -> None:
    cls = MODEL_TYPES[name].params
    start = cls.search_start()
    for field, values in cls.search.values.items():
        assert field in cls.model_fields
        for value in values:
            assert getattr(cls(**{**start, field: value}), field) == value


def test_out_of_bounds_and_wrong_class_params_are_refused() -> None:
    with pytest.raises(ParamsError, match="model 'als', parameter 'factors'"):
        validate_params("als", {"factors": 0})
    with pytest.raises(ParamsError, match="model 'ease' takes EASEParams, not ALSParams"):
        validate_params("ease", MODEL_TYPES["als"].params())
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        validate_params("nope", {})


def test_a_blend_description_is_checked_part_by_part() -> None:
    described: dict[str, Any] = {
        "family": "blend",
        "params": {},
        "parts": [{"weight": 1.0, "family": "repurchase", "params": {"half_life_days": 60.0}}],
    }
    check_description(described)
    described["parts"][0]["params"] = {"half_life": 60.0}
    with pytest.raises(ParamsError, match="model 'repurchase' has no parameter 'half_life'"):
        check_description(described)


def test_a_saved_model_with_an_unknown_parameter_does_not_load(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    np.savez(path, weights=np.zeros((2, 2), dtype=np.float32), params=np.asarray('{"l2": 3.0, "l3": 1.0}'))
    with pytest.raises(ParamsError, match="model 'ease' has no parameter 'l3'"):
        load_model("ease", path)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (a lazy import counts)."""
    tree = ast.parse(path.read_text())
    found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    return found | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}


def test_no_model_module_imports_the_registry_back() -> None:
    """The registry sits above the models (the blend gets its parts' constructor from it), so
    no module it imports may import it, even lazily: there is no cycle to break at run time."""
    below = {m for m in _imports(ROOT / "models/algorithms/registry.py") if m.startswith("models.algorithms.")}
    assert "models.algorithms.blend" in below
    for module in below:
        path = ROOT / (module.replace(".", "/") + ".py")
        assert "models.algorithms.registry" not in _imports(path), module
