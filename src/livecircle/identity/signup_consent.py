"""What a sign-up agrees to, for the API and the page alike: the terms, marketing only when its
own unticked box was ticked, and the age rules (``privacy.guardian``): under 18 the account is
flagged a minor, under 14 it waits for its guardian's consent."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.identity.models import User
from livecircle.kit.clock import utcnow
from livecircle.privacy import consent, guardian
from livecircle.privacy.consent_errors import GuardianEmailRequired


def check_age_input(birth_year: int | None, guardian_email: str | None) -> None:
    """Validate before the account is made. Raises BirthYearInvalid, GuardianEmailRequired."""
    if birth_year is None:
        return
    _, needs_guardian = guardian.age_rules(birth_year, now=utcnow())
    if needs_guardian and "@" not in (guardian_email or ""):
        raise GuardianEmailRequired()


async def do_record_signup_consent(
    session: AsyncSession,
    user: User,
    *,
    tenant_id: int,
    marketing: bool,
    birth_year: int | None,
    guardian_email: str | None,
    channel: consent.Channel,
    locale: str,
) -> bool:
    """Record the sign-up's consents and age; returns whether it waits for a guardian."""
    await consent.do_record_signup(
        session, user_id=user.id, marketing=marketing, channel=channel, locale=locale, tenant_id=tenant_id
    )
    minor = await guardian.do_note_age(
        session, user_id=user.id, birth_year=birth_year, guardian_email=guardian_email, locale=locale
    )
    if minor:
        user.is_minor = True
        await session.flush()
    return await consent.awaiting_guardian(session, user.id)
