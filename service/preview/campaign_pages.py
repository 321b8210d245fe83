"""The preview's campaign pages: plan a campaign with a form (CSRF-protected), see who would get
what and when, download its audience and offers as CSV. The same core as `/campaigns`, so a
page never shows what the API would not send."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from models.contract.store_documents import SEGMENTS
from models.rules.contact import ContactPolicy
from service.core import campaigns
from service.core.recommend import active_version
from service.http.deps import ServingDep, SettingsDep
from service.http.errors import NotFoundError
from service.http.schemas import CAMPAIGN_ID_PATTERN, CampaignIn
from service.preview.auth import require_marketer
from service.preview.csrf import CsrfUser, csrf_token
from service.preview.routes import TEMPLATES
from service.routes import campaigns as api
from service.routes.campaigns import CampaignBookDep
from service.storage.json_documents import json_document

pages = APIRouter(prefix="/preview/campaigns", dependencies=[Depends(require_marketer)], include_in_schema=False)
Marketer = Annotated[str, Depends(require_marketer)]
CampaignId = Annotated[str, Path(pattern=CAMPAIGN_ID_PATTERN)]
PLAN_ROWS_SHOWN = 200  # the page shows the first sends; the CSV holds them all
FORM_FIELDS = ("name", "segment_id", "customer_ids", "item_id", "channel", "start", "end", "send_time")


@pages.get("", response_class=HTMLResponse)
async def campaigns_page(
    request: Request, book: CampaignBookDep, serving: ServingDep, settings: SettingsDep, user: Marketer
) -> HTMLResponse:
    return await _list_page(request, book, serving, settings, user, {}, [])


@pages.post("", response_class=HTMLResponse)
async def create_campaign(
    request: Request, book: CampaignBookDep, serving: ServingDep, settings: SettingsDep, user: CsrfUser
) -> Response:
    """The form's target: a campaign that cannot be planned re-renders the form, filled in as
    sent, with each problem named by its field (422)."""
    form = await request.form()
    sent = {k: str(form.get(k, "")).strip() for k in FORM_FIELDS}
    try:
        wanted = CampaignIn.model_validate(_from_form(sent))
        made = await campaigns.create(
            book, serving.stores.primary, serving.artifact, wanted, user, serving.live.clock()
        )
    except (ValidationError, RequestValidationError) as exc:  # the form's shape, or the model's rules
        return await _list_page(request, book, serving, settings, user, sent, _problems(exc.errors()), 422)
    return RedirectResponse(f"/preview/campaigns/{made.id}", status_code=303)


@pages.get("/{campaign_id}", response_class=HTMLResponse)
async def campaign_page(
    request: Request,
    campaign_id: CampaignId,
    book: CampaignBookDep,
    serving: ServingDep,
    settings: SettingsDep,
    user: Marketer,
) -> HTMLResponse:
    try:
        plan = await api.campaign_plan(campaign_id, book, serving, settings)
    except NotFoundError as exc:
        missing = {"title": f"Campaign {campaign_id} not found", "message": str(exc)}
        return TEMPLATES.TemplateResponse(request, "not_found.html", missing, status_code=404)
    context: dict[str, Any] = {
        "view": plan,
        "shown": plan.deliveries[:PLAN_ROWS_SHOWN],
        "policy": ContactPolicy.from_settings(settings),
        "csrf": csrf_token(settings, user),
    }
    return TEMPLATES.TemplateResponse(request, "campaign.html", context)


@pages.post("/{campaign_id}/delete")
async def delete_campaign(campaign_id: CampaignId, book: CampaignBookDep, user: CsrfUser) -> Response:
    await campaigns.find(book, campaign_id)
    await book.delete(campaign_id)
    return RedirectResponse("/preview/campaigns", status_code=303)


@pages.get("/{campaign_id}/audience.csv")
async def audience_csv(
    campaign_id: CampaignId, book: CampaignBookDep, serving: ServingDep, settings: SettingsDep
) -> StreamingResponse:
    """The API's download, behind the preview's sign-in (a browser cannot send the bearer key)."""
    return await api.audience_csv(campaign_id, book, serving, settings)


@pages.get("/{campaign_id}/offers.csv")
async def offers_csv(
    campaign_id: CampaignId, book: CampaignBookDep, serving: ServingDep, settings: SettingsDep
) -> StreamingResponse:
    return await api.offers_csv(campaign_id, book, serving, settings)


async def _list_page(
    request: Request,
    book: CampaignBookDep,
    serving: ServingDep,
    settings: SettingsDep,
    user: str,
    sent: Mapping[str, str],
    problems: list[tuple[str, str]],
    status_code: int = 200,
) -> HTMLResponse:
    store = serving.stores.primary
    listing = await json_document(store, await active_version(store), SEGMENTS) or {}
    context = {
        "campaigns": await book.all(),
        "segments": listing.get("segments", []),
        "sent": sent,
        "problems": problems,
        "csrf": csrf_token(settings, user),
    }
    return TEMPLATES.TemplateResponse(request, "campaigns.html", context, status_code=status_code)


def _from_form(sent: Mapping[str, str]) -> dict[str, Any]:
    """Form text into the API's body: empty fields are unset; the customer list is ids separated
    by commas, spaces or new lines."""
    body: dict[str, Any] = {k: v for k, v in sent.items() if v and k != "customer_ids"}
    if body.get("segment_id", "").isdigit():  # the API takes a JSON number; a form sends text
        body["segment_id"] = int(body["segment_id"])
    if sent.get("customer_ids"):
        body["customer_ids"] = [c for c in re.split(r"[\s,;]+", sent["customer_ids"]) if c]
    return body


def _problems(errors: Any) -> list[tuple[str, str]]:
    """(field, message) pairs, fields named as the form names them."""
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        out.append((loc[0] if loc else "form", f"{'.'.join(loc) or 'form'}: {e.get('msg', 'invalid')}"))
    return out


router = pages  # a wrong method is a 405 naming every method of the path (service.http.errors)
