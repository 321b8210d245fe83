"""`/rules`: business rules (pin, boost, bury, block, diversity) changed without retraining, and
their audit log. Keyed like every write; the audit's "who" is the key's id (`key1`, ...)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from models.rules.business import RuleSpec
from service.core.business_rules import RuleConflictError
from service.http.auth import WriteAccessDep, require_api_key
from service.http.deps import RuleBookDep as BookDep
from service.http.rule_schemas import AuditLog, RuleList, RuleView
from service.http.schemas import ErrorBody
from service.routes.methods import refuse_other_methods

router = APIRouter(prefix="/rules", tags=["business rules"])  # every route keyed (not the 405 guard)

CODES = (400, 401, 403, 404, 409, 422, 429, 503)
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in CODES}
RuleId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="from GET /rules")]
KeyId = Annotated[str, Depends(require_api_key)]


@router.get("", dependencies=[WriteAccessDep], response_model=RuleList, responses=ERRORS)
async def list_rules(book: BookDep) -> RuleList:
    """Every rule with its state now (`active`, `scheduled`, `expired`), as this worker applies them."""
    await book.refresh()
    return RuleList.of(book.current, book.clock())


@router.post(
    "", dependencies=[WriteAccessDep], response_model=RuleView, status_code=status.HTTP_201_CREATED, responses=ERRORS
)
async def create_rule(spec: RuleSpec, book: BookDep, who: KeyId) -> RuleView:
    """Add a rule; it applies on every surface at once in this worker, within
    `MICROOFFERS_RULES_REFRESH_S` in the others."""
    return RuleView.of(await _changed(book.create(spec, who)), book.clock())


@router.get("/audit", dependencies=[WriteAccessDep], response_model=AuditLog, responses=ERRORS)
async def audit(book: BookDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditLog:
    """Every change, newest first: who, when, what (the rule before and after)."""
    return AuditLog.model_validate({"entries": await book.audit(limit)})


refuse_other_methods(router, "/audit", "GET")  # before /rules/{rule_id}: "audit" is no rule id


@router.get("/{rule_id}", dependencies=[WriteAccessDep], response_model=RuleView, responses=ERRORS)
async def get_rule(rule_id: RuleId, book: BookDep) -> RuleView:
    await book.refresh()
    return RuleView.of(book.get(rule_id), book.clock())


@router.put("/{rule_id}", dependencies=[WriteAccessDep], response_model=RuleView, responses=ERRORS)
async def replace_rule(rule_id: RuleId, spec: RuleSpec, book: BookDep, who: KeyId) -> RuleView:
    return RuleView.of(await _changed(book.replace(rule_id, spec, who)), book.clock())


@router.delete("/{rule_id}", dependencies=[WriteAccessDep], status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete_rule(rule_id: RuleId, book: BookDep, who: KeyId) -> None:
    await _changed(book.delete(rule_id, who))


async def _changed(change: Any) -> Any:
    """The change's result; rules changing under it all the time answer 409."""
    try:
        return await change
    except RuleConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
