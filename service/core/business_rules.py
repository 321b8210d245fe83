"""The service's business rules: the current `RuleSet` every request reads (in memory), kept in
step with the storage (Redis or the files beside the artifacts), and every change made there
with its audit entry.

A change made by this worker is seen by it at once; other workers poll the stored revision
(`MICROOFFERS_RULES_REFRESH_S`, default 1 s) and reload the rules when it moved, like the deny
list's refresh. While the storage is unreadable, the last rules read keep applying.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from models.rules.business import EMPTY_RULES, Rule, RuleSet, RuleSpec, audit_entry
from service.http.errors import NotFoundError
from service.storage.guard import StoreUnavailableError
from service.storage.rules_storage import RuleStorage

log = logging.getLogger(__name__)
COMMIT_ATTEMPTS = 5


class RuleConflictError(RuntimeError):
    """The rules kept changing under this change: retry it."""


class RuleBook:
    def __init__(self, storage: RuleStorage, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.storage, self.clock = storage, clock
        self.current: RuleSet = EMPTY_RULES

    async def refresh(self) -> bool:
        """Reload the rules if the stored revision moved; True if they changed here."""
        try:
            revision = await self.storage.revision()
            if revision == self.current.revision:
                return False
            self.current = await self.storage.load()
        except StoreUnavailableError as exc:
            log.warning("business rules unreadable, the last ones read still apply: %s", exc)
            return False
        return True

    async def watch(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.refresh()

    async def create(self, spec: RuleSpec, who: str) -> Rule:
        return await self._change("create", None, spec, who)

    async def replace(self, rule_id: str, spec: RuleSpec, who: str) -> Rule:
        return await self._change("update", rule_id, spec, who)

    async def delete(self, rule_id: str, who: str) -> Rule:
        return await self._change("delete", rule_id, None, who)

    async def audit(self, limit: int) -> list[dict[str, Any]]:
        return await self.storage.audit(limit)

    def get(self, rule_id: str) -> Rule:
        rule = self.current.get(rule_id)
        if rule is None:
            raise NotFoundError(f"no business rule {rule_id!r}: GET /rules lists them")
        return rule

    async def _change(
        self, action: Literal["create", "update", "delete"], rule_id: str | None, spec: RuleSpec | None, who: str
    ) -> Rule:
        """Read, change, commit if nobody changed the rules meanwhile; else read again and retry."""
        for _ in range(COMMIT_ATTEMPTS):
            self.current = await self.storage.load()
            now = self.clock()
            before = self.get(rule_id) if rule_id is not None else None
            after = _after(action, before, spec, who, now)
            updated = RuleSet.of(_rules_after(self.current, rule_id, after), self.current.revision + 1)
            entry = audit_entry(action, who, now, updated.revision, before, after)
            if await self.storage.commit(self.current.revision, updated, entry):
                self.current = updated
                return after or before  # type: ignore[return-value]
        raise RuleConflictError("the business rules kept changing while this change was made: retry it")


def _after(action: str, before: Rule | None, spec: RuleSpec | None, who: str, now: datetime) -> Rule | None:
    if spec is None:
        return None
    return before.changed(spec, who, now) if before is not None else Rule.made(spec, who, now)


def _rules_after(current: RuleSet, rule_id: str | None, after: Rule | None) -> list[Rule]:
    """The rules with `after` added (a new rule), in place of `rule_id` (a change), or without it."""
    if rule_id is None:
        return [*current.rules, after] if after is not None else list(current.rules)
    if after is None:
        return [r for r in current.rules if r.id != rule_id]
    return [after if r.id == rule_id else r for r in current.rules]
