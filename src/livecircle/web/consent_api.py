"""The member's consents as JSON: GET /api/v1/me/consents[/{purpose}], PUT one purpose.

Granting and withdrawing are the same call (``{"granted": true|false}``), so withdrawing never
takes more steps than granting. A grant may name the notice it was shown (``text_hash``, from
the GET); a hash of an older notice is refused (409 ``notice_outdated``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.tags import service as tags_service
from livecircle.identity.deps import CurrentUser
from livecircle.kit.deps import DbSession
from livecircle.kit.schemas import Schema
from livecircle.privacy import consent, notices
from livecircle.privacy.consent_models import ConsentRecord

router = APIRouter(prefix="/api/v1", tags=["privacy"])
PurposeName = Annotated[str, PathParam(min_length=1, max_length=16)]


class NoticeOut(Schema):
    title: str
    text: str
    text_hash: str
    locale: str


class ConsentStateOut(Schema):
    purpose: str
    granted: bool
    recorded: bool | None = Field(description="The latest record's decision; null: none, the default holds")
    stale: bool = Field(description="Granted on a notice that changed since: ask again")
    sensitive: bool = Field(description="Sensitive data: asked separately, never bundled")
    self_service: bool = Field(description="The member may grant and withdraw it here")
    at: datetime | None
    notice: NoticeOut


class ConsentRecordOut(Schema):
    id: int
    purpose: str
    granted: bool
    policy_version: str
    text_hash: str
    locale: str
    channel: str
    guardian_confirmed_at: datetime | None
    created_at: datetime


class ConsentsOut(Schema):
    policy_version: str
    awaiting_guardian: bool
    purposes: list[ConsentStateOut]
    history: list[ConsentRecordOut]


class ConsentIn(Schema):
    granted: bool
    text_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


def locale_of(request: Request) -> str:
    locale: str = getattr(request.state, "locale", "zh-CN")
    return locale


def channel_of(request: Request) -> consent.Channel:
    """``api`` for bearer-token clients, ``web`` for the pages' own calls (session cookie)."""
    return consent.Channel.API if request.headers.get("authorization") else consent.Channel.WEB


def state_out(state: consent.State, locale: str) -> ConsentStateOut:
    shown = notices.notice(state.purpose.value, locale)
    return ConsentStateOut(
        purpose=state.purpose.value,
        granted=state.granted,
        recorded=state.recorded,
        stale=state.stale,
        sensitive=state.sensitive,
        self_service=state.purpose not in (consent.Purpose.TERMS, consent.Purpose.GUARDIAN),
        at=state.at,
        notice=NoticeOut(
            title=shown.title,
            text=shown.text,
            text_hash=notices.text_hash(state.purpose.value, locale),
            locale=locale,
        ),
    )


async def consents_out(
    session: AsyncSession, user_id: int, locale: str, purpose: consent.Purpose | None = None
) -> ConsentsOut:
    states = await consent.states(session, user_id)
    shown = [s for s in states if purpose is None or s.purpose == purpose]
    records: list[ConsentRecord] = await consent.history(session, user_id, purpose=purpose)
    return ConsentsOut(
        policy_version=notices.POLICY_VERSION,
        awaiting_guardian=await consent.awaiting_guardian(session, user_id),
        purposes=[state_out(s, locale) for s in shown],
        history=[ConsentRecordOut.model_validate(r) for r in records],
    )


@router.get("/me/consents")
async def my_consents(request: Request, session: DbSession, principal: CurrentUser) -> ConsentsOut:
    """Every purpose: its state, the notice to show (in the request's language), the history."""
    assert principal.user_id is not None
    return await consents_out(session, principal.user_id, locale_of(request))


@router.get("/me/consents/{purpose}")
async def my_consent(
    purpose: PurposeName, request: Request, session: DbSession, principal: CurrentUser
) -> ConsentsOut:
    """One purpose: its state, its notice and its history."""
    assert principal.user_id is not None
    wanted = consent.parse_purpose(purpose)
    return await consents_out(session, principal.user_id, locale_of(request), wanted)


@router.put("/me/consents/{purpose}")
async def set_consent(
    purpose: PurposeName, data: ConsentIn, request: Request, session: DbSession, principal: CurrentUser
) -> ConsentsOut:
    """Grant or withdraw one purpose (one call either way). Audited."""
    assert principal.user_id is not None
    await change(session, principal, consent.parse_purpose(purpose), data, request)
    return await consents_out(session, principal.user_id, locale_of(request), consent.parse_purpose(purpose))


async def change(
    session: AsyncSession, principal: Any, purpose: consent.Purpose, data: ConsentIn, request: Request
) -> None:
    """The one place a member's own consent changes (API and pages). Profiling refused: their
    tags go in the same transaction."""
    user_id, locale, channel = int(principal.user_id), locale_of(request), channel_of(request)
    if data.granted:
        await consent.grant(
            session,
            user_id=user_id,
            purpose=purpose,
            channel=channel,
            locale=locale,
            text_hash=data.text_hash,
            tenant_id=principal.tenant_id,
        )
    else:
        await consent.withdraw(
            session,
            user_id=user_id,
            purpose=purpose,
            channel=channel,
            locale=locale,
            tenant_id=principal.tenant_id,
        )
    if purpose == consent.Purpose.PROFILING and not data.granted:
        await tags_service.do_forget_tags(session, user_id=user_id)
