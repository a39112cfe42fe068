"""Rate limits on the identity endpoints (ASVS v5.0.0-2.4.1), shared by the API and the pages.

- sign-in: at most ``login_per_account_ip`` *failed* attempts per account and client IP (a
  password guesser is stopped; the owner who types it right is never slowed down), and at
  most ``login_per_ip`` attempts of any kind per IP (one address trying many accounts);
- sign-up: ``register_per_ip`` attempts per IP;
- password change: ``password_change_per_user`` attempts per account (a stolen session cannot
  guess the current password).

Keys hold a hash of the e-mail, not the address itself (Redis keys are not a place for it).
"""

from __future__ import annotations

import hashlib

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import SecuritySettings
from livecircle.identity import service
from livecircle.identity.errors import InvalidCredentials
from livecircle.identity.models import User
from livecircle.kit.ratelimit import RateLimiter


def _account(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


async def check_sign_in(
    session: AsyncSession,
    limiter: RateLimiter,
    rules: SecuritySettings,
    *,
    email: str,
    password: str,
    ip: str | None,
    device: str | None = None,
) -> User:
    """``service.check_sign_in`` behind the sign-in limits. Raises RateLimited, InvalidCredentials."""
    account_key = f"login:account:{_account(email)}:{ip}"
    per_ip, per_account = rules.login_per_ip, rules.login_per_account_ip
    # A refused attempt costs nothing (no hash) and so counts toward no window.
    await limiter.check(account_key, limit=per_account.limit, window=per_account.window_seconds)
    await limiter.acquire(f"login:ip:{ip}", limit=per_ip.limit, window=per_ip.window_seconds)
    try:
        return await service.check_sign_in(session, email=email, password=password, ip=ip, device=device)
    except InvalidCredentials:
        await limiter.record(account_key, limit=per_account.limit, window=per_account.window_seconds)
        raise


async def check_register(limiter: RateLimiter, rules: SecuritySettings, *, ip: str | None) -> None:
    """Count one sign-up attempt from ``ip``. Raises RateLimited."""
    rule = rules.register_per_ip
    await limiter.acquire(f"register:ip:{ip}", limit=rule.limit, window=rule.window_seconds)


async def check_password_change(limiter: RateLimiter, rules: SecuritySettings, *, user_id: int) -> None:
    """Count one password-change attempt of ``user_id``. Raises RateLimited."""
    rule = rules.password_change_per_user
    await limiter.acquire(f"password:user:{user_id}", limit=rule.limit, window=rule.window_seconds)
