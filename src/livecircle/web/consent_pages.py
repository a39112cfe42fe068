"""The member's consent page (/me/consent): every purpose with its state and ONE button that
grants or withdraws it (same place, same one click either way), and the history. A separate
step page (/me/consent/{purpose}) asks for one sensitive purpose on its own, e.g. ``payment``
before the first top-up or order payment, and goes back to where the member was.

Also the sign-up's part: the age check and recording what a sign-up agreed to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.identity import signup_consent
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.identity.models import User
from livecircle.kit.clock import utcnow
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import AppError
from livecircle.kit.templating import get_pages
from livecircle.privacy import consent, guardian, notices
from livecircle.privacy.consent_models import MinorRecord
from livecircle.web.consent_api import ConsentIn, change, locale_of, state_out

router = APIRouter(include_in_schema=False)
PurposeName = Annotated[str, PathParam(min_length=1, max_length=16)]
Next = Annotated[str, Query(max_length=200)]
RESEND_AFTER_SECONDS = 600


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/me/consent"


def _sign_in(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


# ---- sign-up ----


def age_problem(birth_year: str, guardian_email: str) -> str | None:
    """The sign-up form's age fields, checked before the account is made."""
    try:
        signup_consent.check_age_input(_year(birth_year), guardian_email.strip() or None)
    except ValueError:
        return "birth_year_invalid"
    except AppError as exc:
        return exc.code
    return None


def _year(text: str) -> int | None:
    return int(text.strip()) if text.strip() else None  # ValueError for "abc"


async def record_signup(
    session: AsyncSession,
    request: Request,
    user: User,
    tenant_id: int,
    marketing: bool,
    birth_year: str,
    guardian_email: str,
) -> bool:
    """Returns whether the new account waits for its guardian."""
    return await signup_consent.do_record_signup_consent(
        session,
        user,
        tenant_id=tenant_id,
        marketing=marketing,
        birth_year=_year(birth_year),
        guardian_email=guardian_email.strip() or None,
        channel=consent.Channel.SIGNUP,
        locale=locale_of(request),
    )


# ---- the consent page ----


@router.get("/me/consent")
async def my_consent(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if principal.user_id is None:
        return _sign_in("/me/consent")
    locale = locale_of(request)
    states = [state_out(s, locale) for s in await consent.states(session, principal.user_id)]
    context = {
        "principal": principal,
        "states": states,
        "history": await consent.history(session, principal.user_id, limit=50),
        "stale": [s.purpose for s in states if s.stale],
        "awaiting_guardian": await consent.awaiting_guardian(session, principal.user_id),
        "minor": await guardian.get_minor(session, principal.user_id),
        "saved": request.query_params.get("saved", ""),
        "policy_version": notices.POLICY_VERSION,
    }
    return get_pages(request).render(request, "me_consent.html", context)


@router.get("/me/consent/{purpose}")
async def consent_step(
    purpose: PurposeName, request: Request, session: DbSession, principal: CurrentPrincipal, next: Next = ""
) -> Response:
    """One purpose on its own page: its notice, "I agree", "Not now"."""
    if principal.user_id is None:
        return _sign_in(f"/me/consent/{purpose}")
    wanted = consent.parse_purpose(purpose)
    states = {s.purpose: s for s in await consent.states(session, principal.user_id)}
    context = {
        "principal": principal,
        "state": state_out(states[wanted], locale_of(request)),
        "next": _safe_next(next) if next else "/me/consent",
        "awaiting_guardian": await consent.awaiting_guardian(session, principal.user_id),
    }
    return get_pages(request).render(request, "me_consent_step.html", context)


@router.post("/me/consent/{purpose}", dependencies=[CsrfChecked])
async def set_consent(
    purpose: PurposeName,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    granted: Annotated[bool, Form()],
    text_hash: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The one button: grant or withdraw, then back (to ``next`` after a separate step)."""
    if principal.user_id is None:
        return _sign_in("/me/consent")
    wanted = consent.parse_purpose(purpose)
    await change(session, principal, wanted, ConsentIn(granted=granted, text_hash=text_hash or None), request)
    target = _safe_next(next) if next else f"/me/consent?saved={wanted.value}#consent-{wanted.value}"
    return RedirectResponse(target, status_code=303)


@router.post("/me/guardian/resend", dependencies=[CsrfChecked])
async def resend_guardian(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    """Send the guardian's confirmation mail again (at most every ten minutes)."""
    if principal.user_id is None:
        return _sign_in("/me/consent")
    record = await guardian.get_minor(session, principal.user_id)
    pending = await consent.awaiting_guardian(session, principal.user_id)
    if record is not None and pending and _may_resend(record):
        await guardian.schedule_guardian_mail(session, record, locale=locale_of(request))
    return RedirectResponse("/me/consent?saved=guardian", status_code=303)


def _may_resend(record: MinorRecord) -> bool:
    last = record.requested_at
    return last is None or (utcnow() - last).total_seconds() >= RESEND_AFTER_SECONDS
