"""Minors: the age a sign-up gives, and the guardian's consent for members under 14.

Sign-up asks for the birth year (optional: data minimisation; needed from anyone under 18).
Only the year is asked, so an age is known to one year: we read it the protective way (a
member who may be under 14 is treated as under 14, one who may be under 18 as a minor).
Under 18: the account is flagged a minor (no top-ups or tips). Under 14: the account is
created pending; the guardian's address receives a signed confirmation link
(``GUARDIAN_MAIL_JOB``, sent by the web layer), and confirming it records the ``guardian``
consent. Until then the account may watch but not chat, pay or be profiled
(``consent.allows`` answers no to everything but the terms).
"""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.privacy import consent
from livecircle.privacy.consent_errors import BirthYearInvalid, GuardianEmailRequired, GuardianLinkInvalid
from livecircle.privacy.consent_models import ConsentRecord, MinorRecord

GUARDIAN_AGE = 14
ADULT_AGE = 18
OLDEST = 120
LINK_MAX_AGE_SECONDS = 14 * 86400
GUARDIAN_MAIL_JOB = "privacy.guardian_mail"


def age_rules(birth_year: int, *, now: datetime | None = None) -> tuple[bool, bool]:
    """(minor, needs a guardian) for a birth year, the protective way. Raises BirthYearInvalid."""
    years = (now or utcnow()).year - birth_year
    if not 0 < years <= OLDEST:
        raise BirthYearInvalid(birth_year=birth_year)
    youngest_possible = years - 1  # the birthday may not have come yet this year
    return youngest_possible < ADULT_AGE, youngest_possible < GUARDIAN_AGE


async def do_note_age(
    session: AsyncSession,
    *,
    user_id: int,
    birth_year: int | None,
    guardian_email: str | None,
    locale: str = "zh-CN",
) -> bool:
    """Keep a minor's age band (an adult's birth year is not kept) and, under 14, schedule the
    guardian's confirmation mail. Returns whether the account is a minor. Raises
    BirthYearInvalid, GuardianEmailRequired (under 14 without the guardian's address)."""
    if birth_year is None:
        return False
    minor, needs_guardian = age_rules(birth_year)
    if not minor:
        return False
    email = (guardian_email or "").strip().lower() or None
    if needs_guardian and (email is None or "@" not in email):
        raise GuardianEmailRequired()
    record = MinorRecord(
        user_id=user_id,
        birth_year=birth_year,
        needs_guardian=needs_guardian,
        guardian_email=email if needs_guardian else None,
        requested_at=utcnow() if needs_guardian else None,
    )
    session.add(record)
    await session.flush()
    if needs_guardian and email is not None:
        await schedule_guardian_mail(session, record, locale=locale)
    return True


async def schedule_guardian_mail(session: AsyncSession, record: MinorRecord, *, locale: str) -> None:
    """The confirmation mail to the guardian, as a durable job (sent by the web layer)."""
    now = utcnow()
    record.requested_at = now
    await jobs.schedule(
        session,
        GUARDIAN_MAIL_JOB,
        key=f"{GUARDIAN_MAIL_JOB}:{record.user_id}:{now:%Y%m%d%H%M%S%f}",
        run_at=now,
        payload={"user_id": record.user_id, "locale": locale},
    )


async def get_minor(session: AsyncSession, user_id: int) -> MinorRecord | None:
    return await session.get(MinorRecord, user_id)


def _signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="livecircle.guardian")


def guardian_token(secret: str, record: MinorRecord) -> str:
    """The link's credential: the account and the address it was sent to, signed."""
    return str(_signer(secret).dumps({"u": record.user_id, "e": record.guardian_email}))


async def check_guardian_token(session: AsyncSession, *, secret: str, token: str) -> MinorRecord:
    """The pending minor a link stands for. Raises GuardianLinkInvalid (forged, expired, or
    sent to an address that is no longer the guardian's)."""
    try:
        claims = _signer(secret).loads(token, max_age=LINK_MAX_AGE_SECONDS)
        user_id, email = int(claims["u"]), str(claims["e"])
    except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
        raise GuardianLinkInvalid() from None
    record = await get_minor(session, user_id)
    if record is None or not record.needs_guardian or record.guardian_email != email:
        raise GuardianLinkInvalid()
    return record


async def do_confirm_guardian(session: AsyncSession, *, secret: str, token: str) -> ConsentRecord:
    """The guardian agrees: records ``guardian`` consent with their address. Idempotent.
    Raises GuardianLinkInvalid."""
    record = await check_guardian_token(session, secret=secret, token=token)
    return await consent.grant(
        session,
        user_id=record.user_id,
        purpose=consent.Purpose.GUARDIAN,
        channel=consent.Channel.EMAIL,
        guardian_email=record.guardian_email,
    )
