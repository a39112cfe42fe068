"""Campaigns for operators: create, edit, switch on and off, list with key figures; the
churn-recall template; recording a click on a message's link.

Every lookup is tenant-scoped: another tenant's campaign is ``CampaignNotFound``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import coupons
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.clock import utcnow
from livecircle.kit.errors import Forbidden
from livecircle.marketing import actions
from livecircle.marketing.errors import CampaignNotEditable, CampaignNotFound, ClickLinkInvalid
from livecircle.marketing.models import Campaign, Enrolment, Send
from livecircle.marketing.schemas import (
    BranchStep,
    CampaignIn,
    CampaignSummary,
    CampaignUpdate,
    ChurnRecallIn,
    CouponStep,
    MessageStep,
    SegmentTrigger,
    Step,
    WaitStep,
)

CHURN_RECALL = "churn_recall"


def operator_tenant(principal: Principal) -> int:
    """The tenant whose campaigns the principal runs. Raises Forbidden."""
    tenant_id = principal.tenant_id
    if tenant_id is None or not principal.has_role(tenant_id, Role.OPERATOR):
        raise Forbidden("Operators of the community run its campaigns")
    return tenant_id


async def access_campaign(session: AsyncSession, *, tenant_id: int, campaign_id: int) -> Campaign:
    """Raises CampaignNotFound (also for another tenant's campaign)."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or campaign.tenant_id != tenant_id:
        raise CampaignNotFound()
    return campaign


async def list_campaigns(session: AsyncSession, *, tenant_id: int) -> list[Campaign]:
    rows = await session.scalars(
        select(Campaign).where(Campaign.tenant_id == tenant_id).order_by(Campaign.id.desc())
    )
    return list(rows)


async def do_create_campaign(
    session: AsyncSession,
    *,
    tenant_id: int,
    user_id: int | None,
    data: CampaignIn,
    template: str | None = None,
) -> Campaign:
    """A draft (switch it on with ``do_set_status``). Raises CouponNotFound for a coupon step
    with another tenant's (or no) template."""
    await _check_coupons(session, tenant_id, data.steps)
    now = utcnow()
    campaign = Campaign(
        tenant_id=tenant_id,
        created_by=user_id,
        template=template,
        status="draft",
        created_at=now,
        updated_at=now,
        **_fields(data),
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def do_update_campaign(session: AsyncSession, campaign: Campaign, data: CampaignUpdate) -> Campaign:
    """Raises CampaignNotEditable (ended), CouponNotFound. Members in the flow keep their
    position: a changed flow applies from their next step on."""
    if campaign.status == "ended":
        raise CampaignNotEditable()
    if data.steps is not None:
        await _check_coupons(session, campaign.tenant_id, data.steps)
    for name, value in _fields(data, exclude_unset=True).items():
        setattr(campaign, name, value)
    campaign.updated_at = utcnow()
    await session.flush()
    return campaign


async def do_set_status(session: AsyncSession, campaign: Campaign, status: str) -> Campaign:
    """active | paused | ended. Raises CampaignNotEditable (an ended campaign stays ended)."""
    if campaign.status == "ended" and status != "ended":
        raise CampaignNotEditable()
    now = utcnow()
    if status == "active" and campaign.activated_at is None:
        campaign.activated_at = now
    campaign.status = status
    campaign.updated_at = now
    await session.flush()
    return campaign


def _fields(data: CampaignIn | CampaignUpdate, *, exclude_unset: bool = False) -> dict[str, Any]:
    values = data.model_dump(mode="json", exclude_unset=exclude_unset)
    if exclude_unset:
        values = {k: v for k, v in values.items() if v is not None}
    return values


async def _check_coupons(session: AsyncSession, tenant_id: int, steps: Sequence[Step]) -> None:
    for step in steps:
        if isinstance(step, CouponStep):
            await coupons.get_template(session, tenant_id, step.template_id)


# ---- the churn-recall template ----

RECALL_TEXT = {
    "zh-CN": (
        "好久不见，送你一张回归券",
        "我们想你了：新一季直播已经开始，回来看看吧，券已放进你的账户。",
        "回归券还在等你",
        "你的回归券还没用哦，来直播间逛逛吧。",
        "流失召回",
    ),
    "en": (
        "We miss you: a welcome-back coupon",
        "The new season of live shows has started. Your coupon is in your account.",
        "Your welcome-back coupon is waiting",
        "You have not used your coupon yet: drop by a live room.",
        "Churn recall",
    ),
}


def churn_recall_flow(data: ChurnRecallIn, *, locale: str) -> CampaignIn:
    """Trigger: entered the churn-risk stage. Flow: a recall coupon (when a template is
    given) and an inbox message (+ e-mail with consent), wait 3 days; came back (any
    activity) → stop, else a reminder. Measured against a 10 % hold-out."""
    title, body, reminder, reminder_body, name = RECALL_TEXT.get(locale, RECALL_TEXT["zh-CN"])
    steps: list[Step] = []
    if data.coupon_template_id is not None:
        steps.append(CouponStep(template_id=data.coupon_template_id))
    steps += [
        MessageStep(title=title, body=body, link="/", email=data.email),
        WaitStep(hours=72),
        BranchStep(events=["activity"], since="last_action", then="stop"),
        MessageStep(title=reminder, body=reminder_body, link="/", email=data.email),
    ]
    return CampaignIn(name=name, trigger=SegmentTrigger(segment="lifecycle", value="churn_risk"), steps=steps)


async def do_create_churn_recall(
    session: AsyncSession, *, tenant_id: int, user_id: int | None, data: ChurnRecallIn, locale: str
) -> Campaign:
    campaign = await do_create_campaign(
        session,
        tenant_id=tenant_id,
        user_id=user_id,
        data=churn_recall_flow(data, locale=locale),
        template=CHURN_RECALL,
    )
    if data.activate:
        await do_set_status(session, campaign, "active")
    return campaign


# ---- figures for the list ----


async def summaries(session: AsyncSession, campaigns: list[Campaign]) -> list[CampaignSummary]:
    ids = [c.id for c in campaigns]
    entrants = {
        cid: (int(total), int(held or 0))
        for cid, total, held in await session.execute(
            select(Enrolment.campaign_id, func.count(), func.sum(case((Enrolment.holdout, 1), else_=0)))
            .where(Enrolment.campaign_id.in_(ids))
            .group_by(Enrolment.campaign_id)
        )
    }
    sends = {
        cid: (int(sent or 0), int(clicked or 0))
        for cid, sent, clicked in await session.execute(
            select(
                Send.campaign_id,
                func.sum(case((Send.status == "sent", 1), else_=0)),
                func.sum(case((Send.clicks > 0, 1), else_=0)),
            )
            .where(Send.campaign_id.in_(ids))
            .group_by(Send.campaign_id)
        )
    }
    out = []
    for campaign in campaigns:
        total, held = entrants.get(campaign.id, (0, 0))
        sent, clicked = sends.get(campaign.id, (0, 0))
        base = CampaignSummary.model_validate(
            {**_out(campaign), "entrants": total, "holdout": held, "sent": sent, "clicked": clicked}
        )
        out.append(base)
    return out


def _out(campaign: Campaign) -> dict[str, Any]:
    names = (
        "id",
        "name",
        "status",
        "template",
        "trigger",
        "steps",
        "holdout_percent",
        "cap_sends",
        "cap_days",
        "quiet_start",
        "quiet_end",
        "timezone",
        "conversion_days",
        "created_at",
        "updated_at",
        "activated_at",
    )
    return {name: getattr(campaign, name) for name in names}


# ---- clicks ----


async def do_record_click(session: AsyncSession, *, secret: str, token: str) -> str:
    """Count a click on a message's link and return where it goes. Raises ClickLinkInvalid."""
    send_id = actions.read_click_token(secret, token)
    send = await session.get(Send, send_id)
    campaign = await session.get(Campaign, send.campaign_id) if send is not None else None
    if send is None or campaign is None or not 0 <= send.step < len(campaign.steps):
        raise ClickLinkInvalid()
    target = str(campaign.steps[send.step].get("link") or "/")
    now = utcnow()
    await session.execute(
        update(Send)
        .where(Send.id == send.id)
        .values(clicks=Send.clicks + 1, clicked_at=func.coalesce(Send.clicked_at, now))
    )
    return target if target.startswith("/") and not target.startswith("//") else "/"
