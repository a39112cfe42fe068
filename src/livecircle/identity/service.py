"""Identity service: the only place that writes identity tables."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from livecircle.config import PasswordHashSettings
from livecircle.identity.errors import (
    EmailTaken,
    InvalidCredentials,
    NotAMember,
    TenantNotFound,
    WrongPassword,
)
from livecircle.identity.events import UserRegistered, UserSignedIn
from livecircle.identity.models import ApiToken, Membership, PageSession, Tenant, User
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.clock import utcnow
from livecircle.kit.events import emit
from livecircle.kit.ids import new_token
from livecircle.privacy import audit

_hasher = PasswordHasher()  # replaced by configure_hashing() when an app starts
# Verified against when the e-mail is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def configure_hashing(cost: PasswordHashSettings) -> None:
    """Hash new passwords at this cost (process-wide; existing hashes carry their own
    parameters and keep verifying)."""
    global _hasher
    _hasher = PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_cost_kib, parallelism=cost.parallelism
    )


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify_password(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant:
    """Raises TenantNotFound."""
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise TenantNotFound()
    return tenant


async def is_platform_admin(session: AsyncSession, principal: Principal, platform_slug: str) -> bool:
    """Whether ``principal`` is an admin of the platform's own tenant (``Settings.default_tenant``):
    the auditor who reads across tenants (the audit log, legal-hold records)."""
    if principal.role is not Role.ADMIN or principal.tenant_id is None:
        return False
    platform = await session.scalar(select(Tenant.id).where(Tenant.slug == platform_slug))
    return platform is not None and platform == principal.tenant_id


async def ensure_tenant(session: AsyncSession, *, slug: str, name: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        tenant = Tenant(slug=slug, name=name)
        session.add(tenant)
        await session.flush()
    return tenant


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def do_register(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    display_name: str,
    tenant: Tenant,
    role: Role = Role.MEMBER,
    invite_code: str | None = None,
    ip: str | None = None,
    device: str | None = None,
) -> User:
    """Create an account and its membership in ``tenant``, remembering who invited it (an
    unknown code is ignored: a typo must not block a sign-up). Raises EmailTaken. Emits
    UserRegistered (with the client's ``ip`` and ``device`` id, for the invite rules)."""
    email = email.strip().lower()
    if await get_user_by_email(session, email) is not None:
        raise EmailTaken()
    inviter = await _inviter(session, invite_code)
    user = User(
        email=email,
        display_name=display_name.strip(),
        password_hash=await hash_password(password),
        invited_by_id=inviter,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken() from exc
    session.add(Membership(user_id=user.id, tenant_id=tenant.id, role=role.value))
    await session.flush()
    emit(session, UserRegistered(tenant.id, user.id, inviter, ip, device))
    return user


async def _inviter(session: AsyncSession, code: str | None) -> int | None:
    if not code or not code.strip():
        return None
    return await session.scalar(select(User.id).where(User.invite_code == code.strip().upper()))


async def ensure_invite_code(session: AsyncSession, user: User) -> str:
    """The user's personal invite code, made on first use (8 characters, no look-alikes)."""
    while user.invite_code is None:
        code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))
        if await session.scalar(select(User.id).where(User.invite_code == code)) is None:
            user.invite_code = code
            await session.flush()
    return user.invite_code


async def count_invited(session: AsyncSession, *, inviter_id: int) -> int:
    return (
        await session.scalar(select(func.count()).select_from(User).where(User.invited_by_id == inviter_id))
        or 0
    )


async def invited_counts(
    session: AsyncSession, *, inviter_ids: list[int], since: datetime | None = None
) -> dict[int, int]:
    """Accounts each inviter brought (registered at or after ``since``)."""
    query = select(User.invited_by_id, func.count()).where(User.invited_by_id.in_(inviter_ids))
    if since is not None:
        query = query.where(User.created_at >= since)
    rows = await session.execute(query.group_by(User.invited_by_id))
    return {int(inviter): int(n) for inviter, n in rows.all() if inviter is not None}


async def members_among(session: AsyncSession, *, tenant_id: int, user_ids: list[int]) -> set[int]:
    rows = await session.scalars(
        select(Membership.user_id).where(Membership.tenant_id == tenant_id, Membership.user_id.in_(user_ids))
    )
    return set(rows)


async def do_set_role(
    session: AsyncSession,
    *,
    user: User,
    tenant: Tenant,
    role: Role,
    actor: Principal | None = None,
    purpose: str = "role assigned by an administrator",
) -> None:
    """Audited (``role.change``; ``actor`` None: from the command line)."""
    membership = await session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == tenant.id)
    )
    before = membership.role if membership is not None else None
    if membership is None:
        session.add(Membership(user_id=user.id, tenant_id=tenant.id, role=role.value))
    else:
        membership.role = role.value
    await session.flush()
    audit.defer(
        session,
        action="role.change",
        target=f"user:{user.id}",
        purpose=purpose,
        actor_id=actor.user_id if actor else None,
        tenant_id=tenant.id,
        actor_role="cli" if actor is None else (actor.role.value if actor.role else None),
        detail={"from": before, "to": role.value},
    )


async def check_sign_in(
    session: AsyncSession, *, email: str, password: str, ip: str | None = None, device: str | None = None
) -> User:
    """Raises InvalidCredentials (same answer for an unknown e-mail and a wrong password).
    Emits UserSignedIn."""
    user = await get_user_by_email(session, email)
    if user is None:
        await _verify_password(_DUMMY_HASH, password)
        raise InvalidCredentials()
    if not await _verify_password(user.password_hash, password):
        raise InvalidCredentials()
    user.last_login_at = utcnow()
    emit(session, UserSignedIn(user.id, ip, device))
    return user


async def get_membership(session: AsyncSession, *, user_id: int, tenant_id: int | None = None) -> Membership:
    """The user's membership in ``tenant_id`` (or their first one). Raises NotAMember."""
    query = select(Membership).where(Membership.user_id == user_id).order_by(Membership.id)
    if tenant_id is not None:
        query = query.where(Membership.tenant_id == tenant_id)
    membership = await session.scalar(query.limit(1))
    if membership is None:
        raise NotAMember()
    return membership


async def do_open_session(session: AsyncSession, *, user: User, tenant_id: int, max_age_days: int) -> str:
    """Store a server-side session; returns the raw token for the signed cookie."""
    token = new_token()
    session.add(
        PageSession(
            token_hash=token_digest(token),
            user_id=user.id,
            tenant_id=tenant_id,
            expires_at=utcnow() + timedelta(days=max_age_days),
        )
    )
    await session.flush()
    return token


async def do_close_session(session: AsyncSession, token: str) -> None:
    digest = token_digest(token)
    page_session = await session.scalar(select(PageSession).where(PageSession.token_hash == digest))
    if page_session is not None:
        await session.delete(page_session)
        await session.flush()


async def do_issue_api_token(session: AsyncSession, *, user: User, tenant_id: int, name: str = "api") -> str:
    token = "lct_" + new_token()
    session.add(ApiToken(token_hash=token_digest(token), user_id=user.id, tenant_id=tenant_id, name=name))
    await session.flush()
    return token


def _principal_of(owner: Any, where: Any) -> Any:
    """Who owns a token or page session, with their role in its tenant, in one query."""
    return (
        select(owner.user_id, owner.tenant_id, User.display_name, Membership.role)
        .join(User, User.id == owner.user_id)
        .join(Membership, (Membership.user_id == owner.user_id) & (Membership.tenant_id == owner.tenant_id))
        .where(where)
    )


# Built once: every API call and page view runs one of these, and building the joined select
# cost more than running it (profiled).
BY_API_TOKEN = _principal_of(
    ApiToken, (ApiToken.token_hash == bindparam("digest")) & ApiToken.revoked_at.is_(None)
)
BY_PAGE_SESSION = _principal_of(
    PageSession, (PageSession.token_hash == bindparam("digest")) & (PageSession.expires_at > bindparam("now"))
)


def _principal(row: Any) -> Principal | None:
    if row is None:
        return None
    return Principal(
        user_id=row.user_id, tenant_id=row.tenant_id, role=Role(row.role), display_name=row.display_name
    )


async def get_principal_by_session(session: AsyncSession, token: str) -> Principal | None:
    found = await session.execute(BY_PAGE_SESSION, {"digest": token_digest(token), "now": utcnow()})
    return _principal(found.first())


async def get_principal_by_api_token(db: AsyncSession | AsyncConnection, token: str) -> Principal | None:
    """In a session, or on a connection of its own (``Database.autocommit``: the cheapest read)."""
    return _principal((await db.execute(BY_API_TOKEN, {"digest": token_digest(token)})).first())


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def user_id_for_invite_code(session: AsyncSession, code: str | None) -> int | None:
    """The account whose personal invite code this is (None for no or an unknown code)."""
    return await _inviter(session, code)


async def get_principal_of_member(session: AsyncSession, *, user_id: int, tenant_id: int) -> Principal | None:
    """The principal of ``user_id`` acting in ``tenant_id`` (None when no longer a member)."""
    query = (
        select(Membership.user_id, Membership.tenant_id, User.display_name, Membership.role)
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id == user_id, Membership.tenant_id == tenant_id)
    )
    return _principal((await session.execute(query)).first())


async def do_change_password(
    session: AsyncSession,
    *,
    user_id: int,
    current_password: str,
    new_password: str,
    keep_session: str | None = None,
    keep_token: str | None = None,
) -> list[str]:
    """Check the current password, store the new one, and sign the account out everywhere else:
    every page session but ``keep_session`` is deleted and every API token but ``keep_token``
    revoked (raw values of the caller's own). Returns the revoked tokens' hashes, for the
    principal caches to forget. Raises WrongPassword. Audited (``account.password_change``)."""
    user = await session.get(User, user_id)
    if user is None or not await _verify_password(user.password_hash, current_password):
        raise WrongPassword()
    user.password_hash = await hash_password(new_password)
    kept_session = token_digest(keep_session) if keep_session else ""
    kept_token = token_digest(keep_token) if keep_token else ""
    sessions = await session.execute(
        delete(PageSession).where(PageSession.user_id == user_id, PageSession.token_hash != kept_session)
    )
    revoked = list(
        await session.scalars(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .where(ApiToken.token_hash != kept_token)
            .values(revoked_at=utcnow())
            .returning(ApiToken.token_hash)
        )
    )
    closed = int(getattr(sessions, "rowcount", 0) or 0)
    await audit.record(
        session,
        action="account.password_change",
        target=f"user:{user_id}",
        purpose="the account holder changed their password; their other sessions and tokens were revoked",
        actor_id=user_id,
        detail={"sessions_closed": closed, "tokens_revoked": len(revoked)},
    )
    return revoked


async def check_password(session: AsyncSession, *, user_id: int, password: str) -> User:
    """The account, when ``password`` is its password (re-authentication before a sensitive
    change: deleting the account, changing the e-mail). Raises WrongPassword."""
    user = await session.get(User, user_id)
    if user is None or not await _verify_password(user.password_hash, password):
        raise WrongPassword()
    return user


async def do_update_profile(
    session: AsyncSession, *, user: User, display_name: str | None = None, email: str | None = None
) -> User:
    """Correct the member's name or e-mail (PIPL art. 46). Raises EmailTaken."""
    if display_name is not None:
        user.display_name = display_name.strip()
    if email is not None and email.strip().lower() != user.email:
        email = email.strip().lower()
        if await get_user_by_email(session, email) is not None:
            raise EmailTaken()
        user.email = email
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration took the address
        raise EmailTaken() from exc
    return user


async def do_revoke_access(session: AsyncSession, *, user_id: int) -> list[str]:
    """Sign the account out everywhere: every page session deleted, every API token revoked.
    Returns the revoked tokens' hashes, for the principal caches to forget."""
    await session.execute(delete(PageSession).where(PageSession.user_id == user_id))
    return list(
        await session.scalars(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .returning(ApiToken.token_hash)
        )
    )
