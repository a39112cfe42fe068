"""The guardian's side (PIPL art. 31): the confirmation mail (a durable job) and the page its
link opens, where one button records the ``guardian`` consent with the guardian's address.

The link carries a signed, expiring token naming the account and the address it was sent to
(``privacy.guardian``): a link sent to an address that is no longer the guardian's stops
working. Opening the page changes nothing; only its button (a CSRF-checked POST) does."""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import Settings
from livecircle.growth.notify import mail
from livecircle.identity import service as identity_service
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.i18n import Translator
from livecircle.kit.jobs import JobRunner
from livecircle.kit.templating import get_pages
from livecircle.privacy import consent, guardian, notices

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Token = Annotated[str, PathParam(min_length=10, max_length=400)]
MAIL_LEASE_SECONDS = 120.0
GUARDIAN_MAIL_BODY = (
    "%(name)s signed up to livecircle and said they are under 14. They can watch, but may chat, "
    "pay or be personalised only once you agree. If you do not know about this, ignore this e-mail."
)


def register_jobs(runner: JobRunner, settings: Settings, translator: Translator) -> None:
    """The guardian's mail, leased: the SMTP conversation holds no write transaction."""

    async def run(session: AsyncSession, payload: dict[str, Any]) -> None:
        await send_guardian_mail(session, settings, translator, payload)

    runner.register(guardian.GUARDIAN_MAIL_JOB, run, lease_seconds=MAIL_LEASE_SECONDS)


async def send_guardian_mail(
    session: AsyncSession, settings: Settings, translator: Translator, payload: dict[str, Any]
) -> None:
    user_id, locale = int(payload["user_id"]), str(payload.get("locale") or settings.default_locale)
    record = await guardian.get_minor(session, user_id)
    user = await identity_service.get_user(session, user_id)
    if record is None or user is None or not record.guardian_email:
        return  # the account is gone, or no longer waits
    if not await consent.awaiting_guardian(session, user_id):
        return
    if not settings.growth.smtp.host:
        log.warning("e-mail is off: the guardian of account %s cannot be asked", user_id)
        return

    def _(text: str) -> str:
        return translator.gettext(locale, text)

    token = guardian.guardian_token(settings.secret_key, record)
    body = _(GUARDIAN_MAIL_BODY) % {"name": user.display_name}
    message = mail.compose_transactional(
        title=_("Your consent is needed for %(name)s") % {"name": user.display_name},
        body=body,
        url=f"{settings.http.base_url}/guardian/{token}",
        link_label=_("Read and decide"),
        sender=settings.growth.smtp.sender,
        to=record.guardian_email,
        message_id=f"<{hashlib.sha256(token.encode()).hexdigest()[:32]}@livecircle>",
    )
    await mail.send(message, settings.growth.smtp)


async def _page(
    request: Request, session: AsyncSession, settings: Settings, token: str, **context: Any
) -> Response:
    record = await guardian.check_guardian_token(session, secret=settings.secret_key, token=token)
    user = await identity_service.get_user(session, record.user_id)
    locale: str = getattr(request.state, "locale", "zh-CN")
    shown = notices.notice(consent.Purpose.GUARDIAN.value, locale)
    context = {
        "notice": shown,
        "child": user.display_name if user is not None else "",
        "token": token,
        "agreed": not await consent.awaiting_guardian(session, record.user_id),
        **context,
    }
    return get_pages(request).render(request, "guardian_consent.html", context)


@router.get("/guardian/{token}")
async def guardian_page(
    token: Token, request: Request, session: DbSession, settings: AppSettings, principal: CurrentPrincipal
) -> Response:
    """What the guardian is asked, and one button. Raises GuardianLinkInvalid (404)."""
    return await _page(request, session, settings, token, principal=principal, done=False)


@router.post("/guardian/{token}", dependencies=[CsrfChecked])
async def guardian_agree(
    token: Token, request: Request, session: DbSession, settings: AppSettings, principal: CurrentPrincipal
) -> Response:
    """The guardian agrees: a ``guardian`` consent record with their address. Audited."""
    await guardian.do_confirm_guardian(session, secret=settings.secret_key, token=token)
    return await _page(request, session, settings, token, principal=principal, done=True)
