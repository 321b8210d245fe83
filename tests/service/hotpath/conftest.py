"""A bridge for test_hot_path.py, which another change edits and this one only moved.

That file still imports `reliability_helpers` (a bare module beside it before the move) and four
names from `tests.conftest`, and carries no `redis` marker. Until it imports from
`tests.support` and says `pytestmark = pytest.mark.redis`, this conftest provides the old
module and marks its tests that request a Redis fixture. tests/test_tree_mirrors_code.py fails
once the file no longer needs the bridge, so that it is removed then, with the four names the
root conftest keeps for it."""

from __future__ import annotations

import sys
import types

import pytest

from tests.support import markers
from tests.support.apps import add_version, client_for
from tests.support.keys import AUTH

BRIDGED = "test_hot_path.py"

_legacy = types.ModuleType("reliability_helpers", "tests.support under its name before the move")
_legacy.AUTH, _legacy.add_version, _legacy.client_for = AUTH, add_version, client_for  # type: ignore[attr-defined]
sys.modules.setdefault("reliability_helpers", _legacy)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name == BRIDGED and item.path.parent.name == "hotpath" and "redis" in markers.missing(item):
            item.add_marker(pytest.mark.redis)
