"""`/rules`: business rules (pin, boost, bury, block, diversity) changed without retraining, and
their audit log. Keyed like every write; the audit's "who" is the key's id (`admin1`, ...)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from models.rules.business import RuleSpec
from service.core.business_rules import RuleConflictError
from service.http.auth import ADMIN_ACCESS, Caller, WriteAccessDep
from service.http.deps import RuleBookDep as BookDep
from service.http.rule_schemas import AuditLog, RuleList, RuleView
from service.http.schemas import ErrorBody
from service.routes.methods import refuse_other_methods

keyed = APIRouter(prefix="/rules", tags=["business rules"], dependencies=[WriteAccessDep])

CODES = (400, 401, 403, 404, 409, 422, 429, 503)
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in CODES}
RuleId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="from GET /rules")]
KeyCaller = Annotated[Caller, Depends(ADMIN_ACCESS)]  # the router's own check, cached per request


@keyed.get("", response_model=RuleList, responses=ERRORS)
async def list_rules(book: BookDep) -> RuleList:
    """Every rule with its state now (`active`, `scheduled`, `expired`), as this worker applies them."""
    await book.refresh()
    return RuleList.of(book.current, book.clock())


@keyed.post("", response_model=RuleView, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_rule(spec: RuleSpec, book: BookDep, caller: KeyCaller) -> RuleView:
    """Add a rule; it applies on every surface at once in this worker, within
    `MICROOFFERS_RULES_REFRESH_S` in the others."""
    return RuleView.of(await _changed(book.create(spec, caller.key_id)), book.clock())


@keyed.get("/audit", response_model=AuditLog, responses=ERRORS)
async def audit(book: BookDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditLog:
    """Every change, newest first: who, when, what (the rule before and after)."""
    return AuditLog.model_validate({"entries": await book.audit(limit)})


@keyed.get("/{rule_id}", response_model=RuleView, responses=ERRORS)
async def get_rule(rule_id: RuleId, book: BookDep) -> RuleView:
    await book.refresh()
    return RuleView.of(book.get(rule_id), book.clock())


@keyed.put("/{rule_id}", response_model=RuleView, responses=ERRORS)
async def replace_rule(rule_id: RuleId, spec: RuleSpec, book: BookDep, caller: KeyCaller) -> RuleView:
    return RuleView.of(await _changed(book.replace(rule_id, spec, caller.key_id)), book.clock())


@keyed.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete_rule(rule_id: RuleId, book: BookDep, caller: KeyCaller) -> None:
    await _changed(book.delete(rule_id, caller.key_id))


async def _changed(change: Any) -> Any:
    """The change's result; rules changing under it all the time answer 409."""
    try:
        return await change
    except RuleConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


# `/rules/audit` is GET only: any other method would reach `/rules/{rule_id}` (a rule named
# "audit") and its key check; the guard answers 405 first, outside the key check.
router = APIRouter()
refuse_other_methods(router, "/rules/audit", "GET")
router.include_router(keyed)
