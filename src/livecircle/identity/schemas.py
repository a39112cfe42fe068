"""Identity schemas and the ``Principal`` every other domain receives."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import EmailStr, Field

from livecircle.kit.schemas import Schema


class Role(StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    HOST = "host"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a signed-in user in a tenant, or an anonymous viewer."""

    user_id: int | None
    tenant_id: int | None
    role: Role | None
    display_name: str = ""

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def has_role(self, tenant_id: int, role: Role) -> bool:
        return self.tenant_id == tenant_id and self.role is not None and self.role.at_least(role)


ANONYMOUS = Principal(user_id=None, tenant_id=None, role=None)


class RegisterIn(Schema):
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)
    display_name: str = Field(min_length=1, max_length=32)
    tenant: str | None = Field(default=None, min_length=1, max_length=64)
    invite_code: str | None = Field(default=None, max_length=16, description="The inviter's personal code")
    # Consent (privacy.consent): the terms are agreed by signing up; marketing only when chosen.
    marketing: bool = Field(default=False, description="Opt in to offers and news (default: no)")
    birth_year: int | None = Field(
        default=None, ge=1900, le=2100, description="Needed under 18; under 14 a guardian must agree"
    )
    guardian_email: EmailStr | None = Field(default=None, description="A parent's address (under 14)")


class InviteOut(Schema):
    code: str
    url: str
    invited: int  # accounts registered with this code


class TokenIn(Schema):
    # Sign-in only looks the address up; format rules belong to registration.
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=128)
    tenant: str | None = Field(default=None, min_length=1, max_length=64)


class TokenOut(Schema):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    user: UserOut


class UserOut(Schema):
    id: int
    email: str
    display_name: str


class MeOut(Schema):
    id: int | None
    display_name: str
    tenant_id: int | None
    role: Role | None
    authenticated: bool


class PasswordChangeIn(Schema):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class WsTicketOut(Schema):
    ticket: str = Field(description="Offer the WebSocket subprotocols 'livecircle' and 'ticket.<ticket>'")
    expires_in: int = Field(description="Seconds the ticket stays valid; it opens one socket")
