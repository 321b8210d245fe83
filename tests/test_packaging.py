"""The distribution puts four import names at the top of site-packages (`models`, `training`,
`service`, `cli`). They are generic, so the project is an application installed into an
environment of its own (the Makefile's `.venv`, the Docker image), never beside other
distributions; this test fails when anything else in that environment claims one of the names."""

from __future__ import annotations

from importlib.metadata import packages_distributions

import models
import service
import training

TOP_LEVEL = ("models", "training", "service", "cli")


def test_only_microoffers_provides_its_top_level_names() -> None:
    owners = packages_distributions()
    for name in TOP_LEVEL:
        assert set(owners.get(name) or ()) == {"microoffers"}, f"{name!r} is provided by {owners.get(name)}"


def test_the_names_resolve_to_this_checkout() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for package in (models, service, training):
        assert package.__file__ is not None, package  # None only for namespace packages
        assert Path(package.__file__).resolve().parent.parent == root
