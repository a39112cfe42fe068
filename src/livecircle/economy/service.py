"""Wallets, gifts and top-ups on top of the ledger; the tipping rules (caps, reminder, minors)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from livecircle.config import EconomySettings
from livecircle.economy import ledger
from livecircle.economy.batcher import batcher_for
from livecircle.economy.errors import (
    GiftNotFound,
    IdempotencyKeyReused,
    MinorsCannotPay,
    TopUpNotFound,
)
from livecircle.economy.events import CoinsToppedUp
from livecircle.economy.gift_send import GiftSend
from livecircle.economy.ledger import AccountRef, Posted
from livecircle.economy.models import Account, DailySpend, Entry, Gift, TopUp, Transfer
from livecircle.economy.payments import PaymentNotice, PaymentProvider
from livecircle.identity import service as identity_service
from livecircle.identity.models import User
from livecircle.kit.clock import utcnow
from livecircle.kit.errors import BadRequest, NotFound
from livecircle.kit.events import emit
from livecircle.privacy import consent

# name, price, currency, effect, icon
DEFAULT_GIFTS: tuple[tuple[str, int, str, str, str], ...] = (
    ("小心心", 1, "coin", "float", "💗"),
    ("棒棒糖", 10, "coin", "float", "🍭"),
    ("鲜花", 52, "coin", "float", "💐"),
    ("跑车", 1200, "coin", "banner", "🏎️"),
    ("火箭", 5000, "coin", "fullscreen", "🚀"),
    ("掌声", 10, "point", "float", "👏"),
)


# ---- gift catalogue ----

TOPUP_PAY_PATH = "/api/v1/payments/sandbox/{ref}/complete"


async def ensure_gift_catalogue(session: AsyncSession, tenant_id: int) -> None:
    """A tenant without gifts gets the default catalogue."""
    if await session.scalar(select(func.count()).select_from(Gift).where(Gift.tenant_id == tenant_id)):
        return
    for sort, (name, price, currency, effect, icon) in enumerate(DEFAULT_GIFTS):
        session.add(
            Gift(
                tenant_id=tenant_id,
                name=name,
                price=price,
                currency=currency,
                effect=effect,
                icon=icon,
                sort=sort,
            )
        )
    await session.flush()


async def list_gifts(session: AsyncSession, tenant_id: int, *, enabled_only: bool = True) -> list[Gift]:
    query = select(Gift).where(Gift.tenant_id == tenant_id).order_by(Gift.sort, Gift.id)
    if enabled_only:
        query = query.where(Gift.enabled.is_(True))
    return list((await session.scalars(query)).all())


async def get_gift(session: AsyncSession, tenant_id: int, gift_id: int) -> Gift:
    """Raises GiftNotFound (also for another tenant's or a disabled gift)."""
    gift = await session.get(Gift, gift_id)
    if gift is None or gift.tenant_id != tenant_id or not gift.enabled:
        raise GiftNotFound()
    return gift


async def do_create_gift(
    session: AsyncSession, *, tenant_id: int, name: str, price: int, currency: str, effect: str, icon: str
) -> Gift:
    """A gift of the tenant's own, beside the default catalogue (created first if this is the
    tenant's first gift: a custom gift added before anyone listed them does not replace it)."""
    await ensure_gift_catalogue(session, tenant_id)
    gift = Gift(tenant_id=tenant_id, name=name, price=price, currency=currency, effect=effect, icon=icon)
    session.add(gift)
    await session.flush()
    return gift


async def do_update_gift(session: AsyncSession, *, tenant_id: int, gift_id: int, **changes: Any) -> Gift:
    """Change a gift's price, order or availability (a disabled gift cannot be sent; sent gifts
    keep the price they were paid at in the ledger). Raises GiftNotFound."""
    gift = await session.get(Gift, gift_id)
    if gift is None or gift.tenant_id != tenant_id:
        raise GiftNotFound()
    for field, value in changes.items():
        if value is not None:
            setattr(gift, field, value)
    await session.flush()
    return gift


# ---- paying ----


async def check_may_pay(session: AsyncSession, user_id: int) -> User:
    """Raises MinorsCannotPay for an account flagged as a minor, NotFound for none."""
    user = await identity_service.get_user(session, user_id)
    if user is None:
        raise NotFound("No such user")
    if user.is_minor:
        raise MinorsCannotPay()
    return user


async def do_send_gift(session: AsyncSession, rules: EconomySettings, send: GiftSend) -> Posted:
    """Debit the sender, credit the host's share and the platform's rest, in one transfer.

    The transfer is written and committed by the database's gift batcher (with
    the other sends in flight), not in ``session``: it stands once this returns.
    Raises MinorsCannotPay, GiftNotFound, GiftTooLarge, SpendCapReached,
    InsufficientBalance, NotFound (no such sender), BadRequest (a gift to
    oneself) and the idempotency errors.
    """
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    return await batcher_for(engine).send(rules, send)


# ---- wallet ----


async def get_wallet(session: AsyncSession, *, tenant_id: int, user_id: int) -> dict[str, int]:
    day = utcnow().date()
    spent = await session.scalar(
        select(DailySpend.spent).where(
            DailySpend.tenant_id == tenant_id,
            DailySpend.user_id == user_id,
            DailySpend.day == day,
            DailySpend.currency == "coin",
        )
    )
    return {
        "coins": await ledger.balance(session, tenant_id, AccountRef.wallet(user_id, "coin")),
        "points": await ledger.balance(session, tenant_id, AccountRef.wallet(user_id, "point")),
        "earned_coins": await ledger.balance(session, tenant_id, AccountRef.earnings(user_id, "coin")),
        "spent_today": int(spent or 0),
    }


async def list_history(
    session: AsyncSession, *, tenant_id: int, user_id: int, limit: int = 50
) -> list[dict[str, Any]]:
    """The user's wallet and earnings movements, newest first."""
    rows = await session.execute(
        select(
            Transfer.id,
            Transfer.kind,
            Transfer.subject,
            Transfer.room_id,
            Transfer.created_at,
            Account.currency,
            Account.kind.label("account"),
            Entry.amount,
        )
        .join(Entry, Entry.transfer_id == Transfer.id)
        .join(Account, Account.id == Entry.account_id)
        .where(Account.tenant_id == tenant_id, Account.owner == f"user:{user_id}")
        .order_by(desc(Transfer.id))
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]


async def list_contributors(
    session: AsyncSession,
    *,
    tenant_id: int,
    room_id: int | None = None,
    show_id: int | None = None,
    currency: str = "coin",
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Who gave the most in a show (or a room, over all its shows)."""
    total = func.sum(Transfer.amount).label("total")
    query = (
        select(Transfer.actor_id, User.display_name, total)
        .join(User, User.id == Transfer.actor_id)
        .where(Transfer.tenant_id == tenant_id, Transfer.kind == "gift", Transfer.currency == currency)
        .group_by(Transfer.actor_id, User.display_name)
        .order_by(desc(total), Transfer.actor_id)
        .limit(limit)
    )
    if show_id is not None:
        query = query.where(Transfer.show_id == show_id)
    if room_id is not None:
        query = query.where(Transfer.room_id == room_id)
    rows = (await session.execute(query)).all()
    return [
        {"rank": n, "user_id": row.actor_id, "display_name": row.display_name, "total": int(row.total)}
        for n, row in enumerate(rows, start=1)
    ]


# ---- top-ups ----


async def do_start_topup(
    session: AsyncSession,
    rules: EconomySettings,
    provider: PaymentProvider,
    *,
    tenant_id: int,
    user_id: int,
    coins: int,
    client_key: str,
) -> tuple[TopUp, str]:
    """A pending top-up and where to pay it; the same key returns the same top-up.

    Raises MinorsCannotPay, ConsentRequired (no separate ``payment`` consent yet: PIPL art. 29),
    IdempotencyKeyReused, BadRequest.
    """
    await check_may_pay(session, user_id)
    await consent.require(session, user_id, consent.Purpose.PAYMENT)
    if not 0 < coins <= rules.max_topup_coins:
        raise BadRequest(f"A top-up is 1 to {rules.max_topup_coins} coins", max_coins=rules.max_topup_coins)
    existing = await session.scalar(
        select(TopUp).where(TopUp.user_id == user_id, TopUp.client_key == client_key)
    )
    if existing is not None:
        if existing.coins != coins or existing.tenant_id != tenant_id:
            raise IdempotencyKeyReused()
        return existing, provider_url(provider, existing)
    topup = TopUp(
        tenant_id=tenant_id,
        user_id=user_id,
        client_key=client_key,
        coins=coins,
        amount_cents=coins * rules.cents_per_coin,
        provider=provider.name,
    )
    session.add(topup)
    await session.flush()
    checkout = provider.start(
        purpose="topup",
        ref_id=topup.id,
        amount_cents=topup.amount_cents,
        description=f"{coins} coins",
        pay_path=TOPUP_PAY_PATH,
    )
    topup.provider_ref = checkout.ref
    await session.flush()
    return topup, checkout.pay_url


def provider_url(provider: PaymentProvider, topup: TopUp) -> str:
    base = getattr(provider, "base_url", "")
    return base + TOPUP_PAY_PATH.format(ref=topup.provider_ref)


async def get_topup(session: AsyncSession, *, user_id: int, topup_id: int) -> TopUp:
    topup = await session.get(TopUp, topup_id)
    if topup is None or topup.user_id != user_id:
        raise TopUpNotFound()
    return topup


async def get_topup_by_ref(session: AsyncSession, ref: str) -> TopUp:
    topup = await session.scalar(select(TopUp).where(TopUp.provider_ref == ref))
    if topup is None:
        raise TopUpNotFound()
    return topup


async def do_settle_topup(session: AsyncSession, notice: PaymentNotice) -> TopUp:
    """Apply a verified provider notice; repeats (and a failure after success) change nothing.

    Raises TopUpNotFound, BadRequest (amount differs from the top-up's).
    """
    topup = await get_topup_by_ref(session, notice.ref)
    if notice.amount_cents != topup.amount_cents:
        raise BadRequest("The paid amount differs from the top-up's", expected=topup.amount_cents)
    if topup.status == "paid" or notice.status == "failed":
        if topup.status == "pending":
            topup.status, topup.settled_at = "failed", utcnow()
        return topup
    posted = await ledger.post(
        session,
        tenant_id=topup.tenant_id,
        key=f"topup:{topup.id}",
        kind="topup",
        legs=[
            (AccountRef.issuance("coin"), -topup.coins),
            (AccountRef.wallet(topup.user_id, "coin"), topup.coins),
        ],
        request={"op": "topup", "topup": topup.id, "coins": topup.coins},
        result_of=lambda transfer_id, balances: {"transfer_id": transfer_id, "coins": topup.coins},
        actor_id=topup.user_id,
        subject=f"topup:{topup.id}",
    )
    topup.status, topup.settled_at, topup.transfer_id = "paid", utcnow(), posted.transfer_id
    if not posted.replayed:
        emit(
            session,
            CoinsToppedUp(
                tenant_id=topup.tenant_id,
                user_id=topup.user_id,
                topup_id=topup.id,
                coins=topup.coins,
                amount_cents=topup.amount_cents,
            ),
        )
    return topup


async def do_grant(
    session: AsyncSession, *, tenant_id: int, user_id: int, currency: str, amount: int, key: str, reason: str
) -> Posted:
    """Issue coins or points to a user (an operator's grant, a reward)."""
    return await ledger.post(
        session,
        tenant_id=tenant_id,
        key=key,
        kind="grant",
        legs=[(AccountRef.issuance(currency), -amount), (AccountRef.wallet(user_id, currency), amount)],
        request={"op": "grant", "user": user_id, "currency": currency, "amount": amount, "reason": reason},
        result_of=lambda transfer_id, balances: {
            "transfer_id": transfer_id,
            "balance": balances[AccountRef.wallet(user_id, currency)],
        },
        subject=reason[:64],
    )
