"""What a model's parameters are: one pydantic class per model, declared by the model itself.

The class is the one place a parameter is defined: its default, its bounds, and where tuning
starts and which values it tries. Specs, tuning, blends, `model.npz` and the manifest all read
parameters through it, so a misspelt or removed parameter is refused wherever it comes from,
with an error naming the model and the parameter (`validate`), instead of being ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError


@dataclass(frozen=True)
class Search:
    """Tuning's range for one model: the start is the defaults with `start` applied; `values`
    are tried one parameter at a time, in this order (see `training.selection.tune`)."""

    start: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[str, Sequence[Any]] = field(default_factory=dict)


class ModelParams(BaseModel):
    """Base of every model's parameters: frozen (specs are hashed and cached by them) and
    refusing unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    search: ClassVar[Search] = Search()  # empty: the model is not tuned

    @classmethod
    def search_start(cls) -> dict[str, Any]:
        """Every parameter's value at the start of the search (validated)."""
        return cls(**cls.search.start).model_dump()


class NoParams(ModelParams):
    """For models without parameters (popularity, purchase frequency, blend)."""


class ParamsError(ValueError):
    """Parameters a model does not accept; the message names the model and the parameter."""


def validate(model: str, cls: type[ModelParams], params: ModelParams | Mapping[str, Any] | str | None) -> ModelParams:
    """`params` (an object, a dict or its JSON; None for the defaults) as `cls`, or `ParamsError`."""
    if params is None:
        return cls()
    if isinstance(params, ModelParams):
        if type(params) is not cls:
            raise ParamsError(f"model {model!r} takes {cls.__name__}, not {type(params).__name__}")
        return params
    try:
        return cls.model_validate_json(params) if isinstance(params, str) else cls.model_validate(params)
    except ValidationError as exc:
        raise ParamsError(_describe(model, cls, exc)) from None


def _describe(model: str, cls: type[ModelParams], exc: ValidationError) -> str:
    known = ", ".join(cls.model_fields) or "none"
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "parameters"
        if error["type"] == "extra_forbidden":
            problems.append(f"model {model!r} has no parameter {where!r} (its parameters: {known})")
        else:
            problems.append(f"model {model!r}, parameter {where!r}: {error['msg']}")
    return "; ".join(problems)
