"""`/campaigns`: plan a campaign, list and delete them, and download who would get what and when
(CSV for CRM and e-mail tools). Bearer key, like every endpoint that reads personal data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.responses import StreamingResponse

from models.contract.spreadsheet_csv import csv_chunks
from models.rules.contact import ContactPolicy
from service.core import campaigns
from service.http.auth import WriteAccessDep
from service.http.deps import ServingDep, SettingsDep
from service.http.downloads import CsvResponse, csv_download
from service.http.schemas import CAMPAIGN_ID_PATTERN, CampaignIn, CampaignList, CampaignOut, ErrorBody
from service.storage.campaign_book import CampaignBook

keyed = APIRouter(prefix="/campaigns", tags=["campaigns"], dependencies=[WriteAccessDep])

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 422, 429, 503)}
# a CSV route's errors are JSON (the route's own media type is text/csv)
CSV_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for code in (401, 403, 404, 422, 429, 503)
}
CampaignId = Annotated[
    str, Path(pattern=CAMPAIGN_ID_PATTERN, description="a campaign's id", examples=["c0123456789ab"])
]


async def get_campaign_book(request: Request) -> CampaignBook:
    return request.app.state.campaigns  # type: ignore[no-any-return]


CampaignBookDep = Annotated[CampaignBook, Depends(get_campaign_book)]


@keyed.get("", response_model=CampaignList, responses=ERRORS)
async def list_campaigns(book: CampaignBookDep) -> CampaignList:
    """Every campaign, newest first."""
    return CampaignList(campaigns=await book.all())


@keyed.post("", response_model=CampaignOut, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def create_campaign(wanted: CampaignIn, book: CampaignBookDep, serving: ServingDep) -> CampaignOut:
    """Plan a campaign; 422 naming the field if the segment or item is not in the served model,
    or the schedule ends before it starts."""
    store = serving.stores.primary
    return await campaigns.create(book, store, serving.artifact, wanted, "api", serving.live.clock())


@keyed.get("/{campaign_id}", response_model=CampaignOut, responses=ERRORS)
async def get_campaign(campaign_id: CampaignId, book: CampaignBookDep) -> CampaignOut:
    return await campaigns.find(book, campaign_id)


@keyed.delete("/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
async def delete_campaign(campaign_id: CampaignId, book: CampaignBookDep) -> Response:
    await campaigns.find(book, campaign_id)
    await book.delete(campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@keyed.get("/{campaign_id}/audience.csv", response_class=CsvResponse, responses=CSV_ERRORS)
async def audience_csv(
    campaign_id: CampaignId, book: CampaignBookDep, serving: ServingDep, settings: SettingsDep
) -> StreamingResponse:
    """The campaign's customer ids (segment membership or the saved list), forgotten ones left out."""
    plan = await campaign_plan(campaign_id, book, serving, settings)
    return csv_download(
        csv_chunks(campaigns.audience_rows(plan), campaigns.AUDIENCE_COLUMNS), f"{campaign_id}-audience.csv"
    )


@keyed.get("/{campaign_id}/offers.csv", response_class=CsvResponse, responses=CSV_ERRORS)
async def offers_csv(
    campaign_id: CampaignId, book: CampaignBookDep, serving: ServingDep, settings: SettingsDep
) -> StreamingResponse:
    """Per customer: the offer, the channel and when it would be sent (UTC and local time)."""
    plan = await campaign_plan(campaign_id, book, serving, settings)
    rows = campaigns.offer_rows(plan)
    return csv_download(csv_chunks(rows, campaigns.OFFER_COLUMNS), f"{campaign_id}-offers.csv")


async def campaign_plan(
    campaign_id: str, book: CampaignBook, serving: ServingDep, settings: SettingsDep
) -> campaigns.Plan:
    campaign = await campaigns.find(book, campaign_id)
    policy = ContactPolicy.from_settings(settings)
    return await campaigns.plan(campaign, serving.stores.primary, serving.artifact, serving.live, policy)


router = keyed  # a wrong method is a 405 naming every method of the path (service.http.errors)
