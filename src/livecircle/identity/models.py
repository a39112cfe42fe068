"""Identity tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class Tenant(Base):
    __tablename__ = "identity_tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), info=not_personal("the brand's (tenant's) name"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class User(Base):
    __tablename__ = "identity_user"

    id: Mapped[int] = mapped_column(
        primary_key=True, info=personal(Category.IDENTITY, "the member's account", subject=True)
    )
    email: Mapped[str] = mapped_column(
        String(320), unique=True, info=personal(Category.IDENTITY, "signing in and notices to the member")
    )
    display_name: Mapped[str] = mapped_column(
        String(64), info=personal(Category.PROFILE, "how the member is shown to others")
    )
    password_hash: Mapped[str] = mapped_column(
        String(255),
        info=personal(Category.CREDENTIALS, "checking the member's password (argon2 hash)", secret=True),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime,
        default=None,
        info=personal(Category.ACTIVITY, "account security: when the member last signed in"),
    )
    # Set by age verification or a guardian: minors may not top up or tip (economy).
    is_minor: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default=false(),
        info=personal(Category.SENSITIVE, "minors' protection: no tipping or top-up (PIPL art. 31)"),
    )
    # Who brought this user (their personal invite code at sign-up); growth builds rewards on it.
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        default=None,
        index=True,
        info=personal(
            Category.IDENTITY, "who invited the member (invite rewards)", subject=True, erase=Erase.ANONYMISE
        ),
    )
    invite_code: Mapped[str | None] = mapped_column(
        String(16),
        unique=True,
        default=None,
        info=personal(Category.IDENTITY, "the member's personal invite code"),
    )


class Membership(Base):
    __tablename__ = "identity_membership"
    __table_args__ = (UniqueConstraint("user_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(Category.IDENTITY, "the member's role in a brand", subject=True),
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(
        String(16), info=personal(Category.IDENTITY, "what the member may do in a brand")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PageSession(Base):
    """Server-side session; the browser holds only its signed id."""

    __tablename__ = "identity_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        info=personal(
            Category.CREDENTIALS,
            "the signed-in page session (hash of its token)",
            retention="session",
            secret=True,
        ),
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(Category.CREDENTIALS, "whose page session it is", retention="session", subject=True),
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiToken(Base):
    __tablename__ = "identity_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        info=personal(Category.CREDENTIALS, "an API token (hash)", retention="session", secret=True),
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(Category.CREDENTIALS, "whose API token it is", retention="session", subject=True),
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(
        String(64),
        default="api",
        info=personal(Category.CREDENTIALS, "the label of the member's API token", retention="session"),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
