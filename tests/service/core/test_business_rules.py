"""The rule book: a change is seen at once by the worker that made it and, after one refresh,
by every other worker on the same storage; a change is audited with who made it; an unknown id
is a 404-style error naming where to look; a change made meanwhile by another worker is not lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from models.rules.business import RuleSpec
from service.core.business_rules import RuleBook
from service.http.errors import NotFoundError
from service.storage.rules_storage import FileRules
from tests.support.clocks import FixedClock


def test_a_change_reaches_other_workers_after_one_refresh(tmp_path: Path) -> None:
    async def run() -> None:
        clock = FixedClock()
        here, there = RuleBook(FileRules(tmp_path), clock), RuleBook(FileRules(tmp_path), clock)
        rule = await here.create(RuleSpec(kind="pin", item_id="a"), "key1")
        assert here.current.get(rule.id) == rule  # at once where it was made
        assert there.current.get(rule.id) is None
        assert await there.refresh() and there.current.get(rule.id) == rule
        assert not await there.refresh()  # nothing new: nothing reloaded
        await there.replace(rule.id, RuleSpec(kind="bury", item_id="a"), "marketer")
        await there.create(RuleSpec(kind="block", item_id="b"), "key2")
        moved = await here.create(RuleSpec(kind="boost", item_id="c"), "key1")  # reads the others' first
        assert [r.kind for r in here.current.rules] == ["bury", "block", "boost"]
        await here.delete(moved.id, "key1")
        log = await here.audit(10)
        assert [(e["action"], e["who"]) for e in log] == [
            ("delete", "key1"),
            ("create", "key1"),
            ("create", "key2"),
            ("update", "marketer"),
            ("create", "key1"),
        ]
        assert log[3]["before"]["kind"] == "pin" and log[3]["after"]["kind"] == "bury"
        assert log[3]["at"] == clock.now.isoformat()

    asyncio.run(run())


def test_an_unknown_rule_is_not_found(tmp_path: Path) -> None:
    book = RuleBook(FileRules(tmp_path))
    with pytest.raises(NotFoundError, match="GET /rules"):
        asyncio.run(book.delete("r000", "key1"))
    assert asyncio.run(book.audit(10)) == []  # nothing happened, nothing audited
