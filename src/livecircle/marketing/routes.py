"""Campaigns JSON API (operators of the tenant) and the click redirect of message links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import RedirectResponse

from livecircle.analytics.store import EventStore
from livecircle.identity.deps import CurrentUser
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.marketing import report, service
from livecircle.marketing.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignReport,
    CampaignSummary,
    CampaignUpdate,
    ChurnRecallIn,
    StatusIn,
)

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])
clicks = APIRouter(include_in_schema=False)
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def store_of(request: Request) -> EventStore:
    store: EventStore = request.app.state.analytics
    return store


@router.get("")
async def list_campaigns(session: DbSession, principal: CurrentUser) -> list[CampaignSummary]:
    """The tenant's campaigns, newest first, with entrants, hold-out, sends and clicks."""
    tenant_id = service.operator_tenant(principal)
    return await service.summaries(session, await service.list_campaigns(session, tenant_id=tenant_id))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_campaign(data: CampaignIn, session: DbSession, principal: CurrentUser) -> CampaignOut:
    """A draft; ``POST /{id}/status`` with ``active`` starts it."""
    tenant_id = service.operator_tenant(principal)
    campaign = await service.do_create_campaign(
        session, tenant_id=tenant_id, user_id=principal.user_id, data=data
    )
    return CampaignOut.model_validate(campaign)


@router.post("/churn-recall", status_code=status.HTTP_201_CREATED)
async def create_churn_recall(
    data: ChurnRecallIn, request: Request, session: DbSession, principal: CurrentUser
) -> CampaignOut:
    """The ready-made churn-recall campaign (active at once unless ``activate`` is false)."""
    tenant_id = service.operator_tenant(principal)
    locale = getattr(request.state, "locale", "zh-CN")
    campaign = await service.do_create_churn_recall(
        session, tenant_id=tenant_id, user_id=principal.user_id, data=data, locale=locale
    )
    return CampaignOut.model_validate(campaign)


@router.get("/{campaign_id}")
async def get_campaign(campaign_id: ObjectId, session: DbSession, principal: CurrentUser) -> CampaignOut:
    tenant_id = service.operator_tenant(principal)
    return CampaignOut.model_validate(
        await service.access_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    )


@router.patch("/{campaign_id}")
async def update_campaign(
    campaign_id: ObjectId, data: CampaignUpdate, session: DbSession, principal: CurrentUser
) -> CampaignOut:
    tenant_id = service.operator_tenant(principal)
    campaign = await service.access_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    return CampaignOut.model_validate(await service.do_update_campaign(session, campaign, data))


@router.post("/{campaign_id}/status")
async def set_status(
    campaign_id: ObjectId, data: StatusIn, session: DbSession, principal: CurrentUser
) -> CampaignOut:
    tenant_id = service.operator_tenant(principal)
    campaign = await service.access_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    return CampaignOut.model_validate(await service.do_set_status(session, campaign, data.status))


@router.get("/{campaign_id}/report")
async def campaign_report(
    campaign_id: ObjectId, request: Request, session: DbSession, principal: CurrentUser
) -> CampaignReport:
    tenant_id = service.operator_tenant(principal)
    campaign = await service.access_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    store = store_of(request)
    await store.sync()
    return await report.campaign_report(session, store, campaign)


@clicks.get("/go/{token}")
async def follow_link(
    token: Annotated[str, Path(max_length=200)], session: DbSession, settings: AppSettings
) -> RedirectResponse:
    """A message's link: counts the click (signed send id, nothing of a session), then redirects."""
    target = await service.do_record_click(session, secret=settings.secret_key, token=token)
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
