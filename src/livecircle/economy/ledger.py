"""The double-entry ledger: every change is one balanced transfer under an idempotency key.

``post`` does a transfer in the caller's transaction, writing first so that
SQLite takes its write lock before anything is read:

1. claim the key: on PostgreSQL a transaction-scoped advisory lock, so a
   duplicate arriving while the first is in flight (on any node) gets 409;
   in-process the same for SQLite;
2. insert the transfer row, unique per (tenant, key). A conflict means the key
   was used: the same request gets the stored result back, another one 422;
3. debit and credit wallet balances in account-id order (no deadlocks); a debit
   is a conditional update (``balance + amount >= 0``) and the database's own
   CHECK refuses a negative wallet as a backstop;
4. insert the entries (they sum to zero) and store the result to replay.

Journal accounts (earnings, revenue, issuance) take entries only: their
balance is the sum of their entries, so a popular host is not one hot row.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, Engine, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.economy.errors import (
    IdempotencyInFlight,
    IdempotencyKeyReused,
    InsufficientBalance,
)
from livecircle.economy.models import Account, Entry, Transfer
from livecircle.kit.db import dialect_insert, one_sqlite_writer

CURRENCIES = ("coin", "point")
BALANCE_KINDS = ("wallet",)
PLATFORM = "platform"


@dataclass(frozen=True, slots=True)
class AccountRef:
    owner: str
    currency: str
    kind: str
    user_id: int | None = None

    @classmethod
    def wallet(cls, user_id: int, currency: str) -> AccountRef:
        return cls(f"user:{user_id}", currency, "wallet", user_id)

    @classmethod
    def earnings(cls, user_id: int, currency: str) -> AccountRef:
        return cls(f"user:{user_id}", currency, "earnings", user_id)

    @classmethod
    def revenue(cls, currency: str) -> AccountRef:
        return cls(PLATFORM, currency, "revenue")

    @classmethod
    def issuance(cls, currency: str) -> AccountRef:
        return cls(PLATFORM, currency, "issuance")

    @property
    def keeps_balance(self) -> bool:
        return self.kind in BALANCE_KINDS


@dataclass(frozen=True, slots=True)
class Posted:
    transfer_id: int
    result: dict[str, Any]
    replayed: bool


ResultOf = Callable[[int, dict[AccountRef, int]], dict[str, Any]]

# Account ids never change: cached per engine (tests run several databases in one process).
_account_ids: weakref.WeakKeyDictionary[Engine, dict[tuple[int, AccountRef], int]] = (
    weakref.WeakKeyDictionary()
)
# Keys being posted by this process (a duplicate arriving meanwhile gets 409).
in_flight: set[tuple[int, str]] = set()


def request_hash(request: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


@asynccontextmanager
async def claimed(session: AsyncSession, tenant_id: int, key: str) -> AsyncIterator[None]:
    """Hold the idempotency key ``key`` for the session's transaction, so that a duplicate
    arriving meanwhile gets IdempotencyInFlight (409) instead of racing: in this process by
    a set, across processes by PostgreSQL's advisory lock; on SQLite by its one writer."""
    claim = (tenant_id, key)
    if claim in in_flight:
        raise IdempotencyInFlight()
    in_flight.add(claim)
    try:
        await one_sqlite_writer(session)
        if session.get_bind().dialect.name == "postgresql":
            locked = await session.scalar(
                select(func.pg_try_advisory_xact_lock(func.hashtextextended(lock_name(tenant_id, key), 0)))
            )
            if not locked:
                raise IdempotencyInFlight()
        yield
    finally:
        in_flight.discard(claim)


async def post(
    session: AsyncSession,
    *,
    tenant_id: int,
    key: str,
    kind: str,
    legs: Sequence[tuple[AccountRef, int]],
    request: Mapping[str, Any],
    result_of: ResultOf,
    before_legs: Callable[[AsyncSession], Awaitable[None]] | None = None,
    actor_id: int | None = None,
    room_id: int | None = None,
    show_id: int | None = None,
    subject: str | None = None,
) -> Posted:
    """Post one balanced transfer, or replay the one posted under ``key``.

    Raises IdempotencyInFlight, IdempotencyKeyReused, InsufficientBalance.
    """
    _check_legs(legs)
    digest = request_hash(request)
    async with claimed(session, tenant_id, key):
        amount = sum(amount for _, amount in legs if amount > 0)
        currency = legs[0][0].currency
        values = {
            "tenant_id": tenant_id,
            "key": key,
            "request_hash": digest,
            "kind": kind,
            "currency": currency,
            "amount": amount,
            "actor_id": actor_id,
            "room_id": room_id,
            "show_id": show_id,
            "subject": subject,
        }
        transfer_id = await session.scalar(
            dialect_insert(session, Transfer)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
            .returning(Transfer.id)
        )
        if transfer_id is None:
            return await _replay(session, tenant_id, key, digest)
        if before_legs is not None:  # checks that must run once, for a new transfer only
            await before_legs(session)
        ids = {ref: await account_id(session, tenant_id, ref) for ref, _ in legs}
        balances: dict[AccountRef, int] = {}
        for ref, change in sorted(legs, key=lambda leg: ids[leg[0]]):
            if ref.keeps_balance:
                balances[ref] = await _apply(session, ids[ref], change)
        await session.execute(
            insert(Entry),
            [{"transfer_id": transfer_id, "account_id": ids[ref], "amount": change} for ref, change in legs],
        )
        result = result_of(transfer_id, balances)
        await session.execute(update(Transfer).where(Transfer.id == transfer_id).values(result=result))
        return Posted(transfer_id=transfer_id, result=result, replayed=False)


def lock_name(tenant_id: int, key: str) -> str:
    """What PostgreSQL's advisory lock for an idempotency key is taken on (hashed)."""
    return f"{tenant_id}:{key}"


def _check_legs(legs: Sequence[tuple[AccountRef, int]]) -> None:
    if len(legs) < 2:
        raise ValueError("a transfer has at least two legs")
    if sum(amount for _, amount in legs) != 0:
        raise ValueError("the legs of a transfer must sum to zero")
    if any(not isinstance(amount, int) or isinstance(amount, bool) or amount == 0 for _, amount in legs):
        raise ValueError("leg amounts are non-zero integers")
    if len({ref.currency for ref, _ in legs}) != 1 or legs[0][0].currency not in CURRENCIES:
        raise ValueError("one known currency per transfer")
    if len({ref for ref, _ in legs}) != len(legs):
        raise ValueError("one leg per account")


async def _replay(session: AsyncSession, tenant_id: int, key: str, digest: str) -> Posted:
    row = (
        await session.execute(
            select(Transfer.id, Transfer.request_hash, Transfer.result).where(
                Transfer.tenant_id == tenant_id, Transfer.key == key
            )
        )
    ).one()
    if row.request_hash != digest:
        raise IdempotencyKeyReused()
    return Posted(transfer_id=row.id, result=row.result or {}, replayed=True)


async def _apply(session: AsyncSession, account: int, change: int) -> int:
    """Change a wallet's balance; a debit happens only if the balance covers it."""
    statement = update(Account).where(Account.id == account).values(balance=Account.balance + change)
    if change < 0:
        statement = statement.where(Account.balance + change >= 0)
    balance = await session.scalar(statement.returning(Account.balance))
    if balance is None:
        raise InsufficientBalance()
    return int(balance)


async def account_id(session: AsyncSession, tenant_id: int, ref: AccountRef) -> int:
    """The account's id, created on first use."""
    cache = _account_ids.setdefault(session.get_bind().engine, {})
    found = cache.get((tenant_id, ref))
    if found is not None:
        return found
    created = await session.execute(
        dialect_insert(session, Account)
        .values(
            tenant_id=tenant_id, owner=ref.owner, user_id=ref.user_id, currency=ref.currency, kind=ref.kind
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "owner", "currency", "kind"])
    )
    found = await session.scalar(
        select(Account.id).where(
            Account.tenant_id == tenant_id,
            Account.owner == ref.owner,
            Account.currency == ref.currency,
            Account.kind == ref.kind,
        )
    )
    assert found is not None
    # Remember only an account that existed before this transaction (so is committed): one
    # created here vanishes if the transaction rolls back.
    if cast(CursorResult[Any], created).rowcount == 0:
        cache[(tenant_id, ref)] = found
    return found


async def key_used(session: AsyncSession, tenant_id: int, key: str) -> bool:
    """Whether a transfer was already posted under ``key``."""
    used = select(Transfer.id).where(Transfer.tenant_id == tenant_id, Transfer.key == key)
    return await session.scalar(used) is not None


async def balance(session: AsyncSession, tenant_id: int, ref: AccountRef) -> int:
    """A wallet's kept balance, or the sum of a journal account's entries (0 if none yet)."""
    condition = (
        (Account.tenant_id == tenant_id)
        & (Account.owner == ref.owner)
        & (Account.currency == ref.currency)
        & (Account.kind == ref.kind)
    )
    if ref.keeps_balance:
        return int(await session.scalar(select(Account.balance).where(condition)) or 0)
    total = await session.scalar(
        select(func.coalesce(func.sum(Entry.amount), 0))
        .join(Account, Entry.account_id == Account.id)
        .where(condition)
    )
    return int(total or 0)


@dataclass(frozen=True, slots=True)
class Audit:
    transfers: int
    entries: int
    unbalanced_transfers: list[int]
    total: int  # the sum of every entry: 0 in a balanced ledger
    drifted_accounts: list[int]  # wallets whose kept balance differs from their entries
    negative_wallets: list[int]

    @property
    def balanced(self) -> bool:
        return not (self.unbalanced_transfers or self.total or self.drifted_accounts or self.negative_wallets)


async def audit(session: AsyncSession) -> Audit:
    """Check the whole ledger: each transfer sums to zero, wallets agree with their entries."""
    transfers = int(await session.scalar(select(func.count()).select_from(Transfer)) or 0)
    entries = int(await session.scalar(select(func.count()).select_from(Entry)) or 0)
    unbalanced = (
        await session.scalars(
            select(Entry.transfer_id).group_by(Entry.transfer_id).having(func.sum(Entry.amount) != 0)
        )
    ).all()
    orphans = (
        await session.scalars(
            select(Transfer.id).where(~select(Entry.id).where(Entry.transfer_id == Transfer.id).exists())
        )
    ).all()
    total = int(await session.scalar(select(func.coalesce(func.sum(Entry.amount), 0))) or 0)
    sums = (
        select(Entry.account_id, func.sum(Entry.amount).label("total")).group_by(Entry.account_id).subquery()
    )
    drifted = (
        await session.scalars(
            select(Account.id)
            .outerjoin(sums, sums.c.account_id == Account.id)
            .where(Account.kind.in_(BALANCE_KINDS), Account.balance != func.coalesce(sums.c.total, 0))
        )
    ).all()
    negative = (
        await session.scalars(select(Account.id).where(Account.kind.in_(BALANCE_KINDS), Account.balance < 0))
    ).all()
    return Audit(
        transfers=transfers,
        entries=entries,
        unbalanced_transfers=sorted({*unbalanced, *orphans}),
        total=total,
        drifted_accounts=list(drifted),
        negative_wallets=list(negative),
    )


async def lock_timeout(session: AsyncSession, milliseconds: int) -> None:
    """Bound how long a ledger statement waits for a row lock (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SET LOCAL lock_timeout = {int(milliseconds)}"))
