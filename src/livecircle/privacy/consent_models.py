"""Consent tables: the append-only consent records, and the minors' age and guardian request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, not_personal, personal

_PROOF = "proof of what the member agreed to, when, on which notice (PIPL art. 14-15)"


class ConsentRecord(Base):
    """One decision about one purpose. Never updated: the latest row of a (user, purpose) is its
    state, the older ones are its history."""

    __tablename__ = "privacy_consent"
    __table_args__ = (Index("ix_privacy_consent_user_purpose", "user_id", "purpose", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(Category.PREFERENCES, _PROOF, subject=True),
    )
    purpose: Mapped[str] = mapped_column(String(16), info=personal(Category.PREFERENCES, _PROOF))
    granted: Mapped[bool] = mapped_column(Boolean, info=personal(Category.PREFERENCES, _PROOF))
    policy_version: Mapped[str] = mapped_column(
        String(16), info=not_personal("the version of our privacy policy, the same for everyone")
    )
    text_hash: Mapped[str] = mapped_column(
        String(64), info=not_personal("the hash of a notice text we wrote, the same for everyone")
    )
    locale: Mapped[str] = mapped_column(String(8), default="", info=personal(Category.PREFERENCES, _PROOF))
    # web | api | email (a guardian's link) | signup | migration
    channel: Mapped[str] = mapped_column(String(12), info=personal(Category.PREFERENCES, _PROOF))
    guardian_email: Mapped[str | None] = mapped_column(
        String(320),
        default=None,
        info=personal(
            Category.IDENTITY, "the parent or guardian who agreed for a member under 14 (PIPL art. 31)"
        ),
    )
    guardian_confirmed_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, default=None, info=personal(Category.PREFERENCES, _PROOF)
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MinorRecord(Base):
    """A member who said they are under 18: their birth year (to lift the minor rules when they
    come of age) and, under 14, whom we asked for the guardian's consent. Adults' birth years
    are not kept."""

    __tablename__ = "privacy_minor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(
            Category.SENSITIVE,
            "minors' protection rules (PIPL art. 28, 31; live tipping rules)",
            subject=True,
        ),
    )
    birth_year: Mapped[int] = mapped_column(
        Integer, info=personal(Category.SENSITIVE, "whether the minors' rules still apply")
    )
    needs_guardian: Mapped[bool] = mapped_column(
        Boolean, default=False, info=personal(Category.SENSITIVE, "under 14: a guardian must agree")
    )
    guardian_email: Mapped[str | None] = mapped_column(
        String(320),
        default=None,
        info=personal(Category.IDENTITY, "where the guardian's confirmation link was sent"),
    )
    requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
