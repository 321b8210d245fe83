"""`/preview/rules`: the marketers' page for business rules (list with their state, a form to add
one, delete), every change through the CSRF guard and audited with the signed-in user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from models.rules.business import RuleSpec
from service.core.business_rules import RuleBook, RuleConflictError
from service.http.deps import RuleBookDep as BookDep
from service.http.deps import SettingsDep
from service.preview.auth import require_marketer
from service.preview.csrf import FIELD, CsrfUser, csrf_token
from service.preview.routes import TEMPLATES

router = APIRouter(prefix="/preview", dependencies=[Depends(require_marketer)], include_in_schema=False)
FORM_FIELDS = ("kind", "item_id", "category", "segment", "start", "end", "max_per_category", "note")
AUDIT_SHOWN = 20
RuleId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Marketer = Annotated[str, Depends(require_marketer)]


@router.get("/rules", response_class=HTMLResponse)
async def rules_page(request: Request, book: BookDep, settings: SettingsDep, user: Marketer) -> HTMLResponse:
    await book.refresh()
    return await _render(request, book, csrf_token(settings, user))


@router.post("/rules", response_class=HTMLResponse)
async def add_rule(request: Request, book: BookDep, settings: SettingsDep, user: CsrfUser) -> Response:
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in FORM_FIELDS}
    try:
        spec = RuleSpec.model_validate({k: v for k, v in values.items() if v})
        await book.create(spec, user)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'rule'}: {e['msg']}" for e in exc.errors()]
        return await _render(request, book, csrf_token(settings, user), problems, values, 422)
    except RuleConflictError as exc:
        return await _render(request, book, csrf_token(settings, user), [str(exc)], values, 409)
    return RedirectResponse("/preview/rules", status_code=303)


@router.post("/rules/{rule_id}/delete", response_class=HTMLResponse)
async def delete_rule(rule_id: RuleId, book: BookDep, user: CsrfUser) -> Response:
    await book.delete(rule_id, user)
    return RedirectResponse("/preview/rules", status_code=303)


async def _render(
    request: Request,
    book: RuleBook,
    token: str,
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = book.clock()
    context: dict[str, Any] = {
        "rules": [(rule, rule.state_at(now)) for rule in book.current.rules],
        "audit": await book.audit(AUDIT_SHOWN),
        "now": now,
        "csrf_field": FIELD,
        "csrf_token": token,
        "problems": problems or [],
        "values": values or {},
    }
    return TEMPLATES.TemplateResponse(request, "rules.html", context, status_code=status_code)
