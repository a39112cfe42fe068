"""One send or tag step for one member: the guards in order, the once-only send row, then
the action, all in the caller's transaction.

Order: hold-out (receives nothing) → consent (``marketing`` for sends, ``profiling`` for
tags) → notification opt-outs of the kind ``promotion`` → quiet hours (defer, no row) →
the frequency cap across all campaigns. The send row is inserted with ``ON CONFLICT DO
NOTHING`` before the action: only the transaction whose insert took the row acts, so a
rerun or a second node cannot send twice; a rollback removes both the row and the action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import coupons
from livecircle.growth.notify import service as notify_service
from livecircle.growth.notify.schemas import Channel, Kind
from livecircle.kit.db import dialect_insert
from livecircle.kit.errors import AppError
from livecircle.marketing import guards
from livecircle.marketing.errors import ClickLinkInvalid
from livecircle.marketing.models import Campaign, CampaignTag, Enrolment, Send
from livecircle.marketing.schemas import CouponStep, MessageStep, TagStep, WebhookStep

DEFER = "defer"
SendStep = CouponStep | MessageStep | WebhookStep | TagStep


class AlreadyDone(Exception):
    """Another transaction did this step for this member (its row exists): leave it."""


@dataclass(frozen=True, slots=True)
class Context:
    campaign: Campaign
    enrolment: Enrolment
    now: datetime
    secret: str


async def run_step(session: AsyncSession, ctx: Context, step: SendStep) -> str:
    """The step's outcome (a send status), or ``DEFER`` in quiet hours. Raises AlreadyDone."""
    status = await _guard(session, ctx, step)
    if status == DEFER:
        return DEFER
    send_id = await _claim(session, ctx, step, status)
    if status in ("sent", "tagged", "untagged"):
        try:
            async with session.begin_nested():
                await _act(session, ctx, step, send_id)
        except AppError as exc:  # a coupon run out, a template switched off: recorded, not retried
            await _mark(session, send_id, status="failed", detail=exc.code)
            return "failed"
    return status


async def _guard(session: AsyncSession, ctx: Context, step: SendStep) -> str:
    campaign, user_id = ctx.campaign, ctx.enrolment.user_id
    if ctx.enrolment.holdout:
        return "holdout"
    if isinstance(step, TagStep):
        if not await guards.may_profile(session, user_id):
            return "no_consent"
        return "untagged" if step.remove else "tagged"
    if not await guards.may_market(session, user_id):
        return "no_consent"
    on = await guards.channels_on(session, user_id)
    wanted = (
        {Channel.INBOX, Channel.EMAIL} if isinstance(step, MessageStep) and step.email else {Channel.INBOX}
    )
    if not on or (isinstance(step, MessageStep) and not on & wanted):
        return "opted_out"
    if guards.is_quiet(ctx.now, start=campaign.quiet_start, end=campaign.quiet_end, zone=campaign.timezone):
        return DEFER
    since = ctx.now - timedelta(days=campaign.cap_days)
    if await guards.sends_within(session, tenant_id=campaign.tenant_id, user_id=user_id, since=since) >= (
        campaign.cap_sends
    ):
        return "capped"
    return "sent"


async def _claim(session: AsyncSession, ctx: Context, step: SendStep, status: str) -> int:
    enrolment = ctx.enrolment
    row = {
        "tenant_id": ctx.campaign.tenant_id,
        "campaign_id": ctx.campaign.id,
        "enrolment_id": enrolment.id,
        "user_id": enrolment.user_id,
        "entry_key": enrolment.entry_key,
        "step": enrolment.position,
        "channel": "tag" if isinstance(step, TagStep) else step.type,
        "status": status,
        "promotional": not isinstance(step, TagStep),
        "deferred": enrolment.deferred_step == enrolment.position,
        "created_at": ctx.now,
    }
    return await claim_row(session, row)


async def claim_row(session: AsyncSession, row: dict[str, Any]) -> int:
    """Insert the once-only row; its id, or AlreadyDone when the row exists."""
    inserted = await session.scalar(
        dialect_insert(session, Send)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["campaign_id", "step", "user_id", "entry_key"])
        .returning(Send.id)
    )
    if inserted is None:
        raise AlreadyDone()
    return int(inserted)


async def _mark(session: AsyncSession, send_id: int, **values: Any) -> None:
    await session.execute(update(Send).where(Send.id == send_id).values(**values))


async def _act(session: AsyncSession, ctx: Context, step: SendStep, send_id: int) -> None:
    campaign, enrolment = ctx.campaign, ctx.enrolment
    user_id = enrolment.user_id
    key = f"campaign:{campaign.id}:{enrolment.position}:{user_id}:{enrolment.entry_key}"
    if isinstance(step, CouponStep):
        template = await coupons.get_template(session, campaign.tenant_id, step.template_id)
        coupon = await coupons.do_issue(session, template, user_id=user_id, source=f"campaign:{campaign.id}")
        await _mark(session, send_id, coupon_id=coupon.id)
    elif isinstance(step, MessageStep):
        link = click_path(ctx.secret, send_id) if step.link else ""
        await notify_service.do_notify(
            session,
            tenant_id=campaign.tenant_id,
            user_ids=[user_id],
            kind=Kind.PROMOTION,
            title=step.title,
            body=step.body,
            link=link,
            dedupe_key=key,
            email=step.email,
            to_webhooks=False,
        )
    elif isinstance(step, WebhookStep):
        data = {
            "event": step.event,
            "campaign_id": campaign.id,
            "campaign": campaign.name,
            "step": enrolment.position,
            "user_id": user_id,
            "entry": enrolment.entry_key,
        }
        await notify_service.do_webhook(
            session, tenant_id=campaign.tenant_id, kind=Kind.PROMOTION, dedupe_key=key, data=data
        )
    elif step.remove:
        await session.execute(
            delete(CampaignTag).where(
                CampaignTag.tenant_id == campaign.tenant_id,
                CampaignTag.user_id == user_id,
                CampaignTag.tag == step.tag,
            )
        )
    else:
        await session.execute(
            dialect_insert(session, CampaignTag)
            .values(
                tenant_id=campaign.tenant_id,
                user_id=user_id,
                tag=step.tag,
                campaign_id=campaign.id,
                created_at=ctx.now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "user_id", "tag"])
        )


# ---- click tracking: the link in a message is /go/<signed send id>, no session in it ----


def _signer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="livecircle.campaign-click")


def click_path(secret: str, send_id: int) -> str:
    return f"/go/{_signer(secret).dumps(send_id)}"


def read_click_token(secret: str, token: str) -> int:
    """The send a click link stands for. Raises ClickLinkInvalid."""
    try:
        return int(_signer(secret).loads(token))
    except (BadSignature, TypeError, ValueError):
        raise ClickLinkInvalid() from None
