"""The answers of `/rules`: stored business rules with their state now, and the audit log.
(The request body is `models.rules.business.RuleSpec` itself, so the API validates exactly what
the rules are.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from models.rules.business import Rule, RuleSet, State


class RuleView(Rule):
    state: State  # active, scheduled or expired at the time of the answer

    @classmethod
    def of(cls, rule: Rule, now: datetime) -> RuleView:
        return cls(**rule.model_dump(), state=rule.state_at(now))


class RuleList(BaseModel):
    revision: int
    rules: list[RuleView]

    @classmethod
    def of(cls, rules: RuleSet, now: datetime) -> RuleList:
        return cls(revision=rules.revision, rules=[RuleView.of(r, now) for r in rules.rules])


class AuditEntry(BaseModel):
    at: datetime
    who: str
    action: str
    rule_id: str | None
    revision: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditLog(BaseModel):
    entries: list[AuditEntry]  # newest first
