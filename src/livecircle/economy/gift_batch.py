"""One batch of gift sends, decided and written in one transaction with bulk statements.

A batch does in bulk what ``ledger.post`` does for one transfer:

1. on PostgreSQL, a transaction-scoped advisory lock per key (the same lock
   ``ledger.post`` takes): a key in flight on another node gets 409;
2. the senders' minor flags and the gifts, read fresh in the batch;
3. the keys already used: a replay returns the stored result (or 422);
4. the wallets and today's spending rows are created if missing, then locked
   (``FOR UPDATE``, in id order; on SQLite the process's one writer holds
   the database) and every send is decided in arrival order against the
   locked balances and caps: a send the wallet cannot pay is refused alone;
5. transfers (each written once, with its result), entries, balances and
   spending are written in bulk and commit together. The database's CHECK
   on wallets stays the backstop.

Every send is still one balanced transfer under its idempotency key: the
ledger's audit cannot tell a batched transfer from any other. The queueing
(which sends make a batch) is ``economy.batcher``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from livecircle.economy import ledger
from livecircle.economy.errors import (
    GiftNotFound,
    GiftTooLarge,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    InsufficientBalance,
    MinorsCannotPay,
    SpendCapReached,
)
from livecircle.economy.gift_send import Job, Known, Seen, SpendKey, gift_legs
from livecircle.economy.ledger import AccountRef, Posted
from livecircle.economy.models import Account, DailySpend, Entry, Gift, Transfer
from livecircle.identity.models import User
from livecircle.kit import bulk
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert_for
from livecircle.kit.errors import BadRequest, NotFound
from livecircle.kit.tracking import AnalyticsEvent, event_row

ACCOUNTS = cast(Table, Account.__table__)
TRANSFERS = cast(Table, Transfer.__table__)
EVENTS = cast(Table, AnalyticsEvent.__table__)
ENTRIES = cast(Table, Entry.__table__)
SPENDING = cast(Table, DailySpend.__table__)


async def write_batch(conn: AsyncConnection, batch: list[Job], known: Known, *, sqlite: bool) -> Seen:
    """Decide every job of ``batch`` (its ``outcome``) and write the transfers of those that
    pass, in ``conn``'s transaction. On SQLite the caller holds the process's writer lock;
    the caller passes what it returns to ``known.keep`` once the transaction has committed."""
    open_jobs = list(batch)
    if not sqlite:
        open_jobs = await _lock_keys(conn, open_jobs)
    open_jobs = await _validate(conn, open_jobs)
    open_jobs = await _replay(conn, open_jobs)
    seen = Seen()
    if not open_jobs:
        return seen
    day = utcnow().date()
    ids, balances = await _lock_accounts(conn, open_jobs, known, seen)
    spent = await _lock_spending(conn, open_jobs, day, known, seen)
    done = _decide(open_jobs, ids, balances, spent)
    if done:
        await _write_transfers(conn, done, ids, day, balances, spent)
    return seen


_TRY_LOCKS = text(
    "SELECT k, pg_try_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(CAST(:keys AS text[])) AS k"
)
_DRAW_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('economy_transfer', 'id')) FROM generate_series(1, :n)"
)


async def _lock_keys(conn: AsyncConnection, jobs: list[Job]) -> list[Job]:
    """PostgreSQL: the advisory lock ``ledger.post`` takes, for every key at once."""
    names = [ledger.lock_name(*job.claim) for job in jobs]
    rows = await conn.execute(_TRY_LOCKS, {"keys": names})
    locked = {row[0]: row[1] for row in rows}
    open_jobs = []
    for job, name in zip(jobs, names, strict=True):
        if locked.get(name):
            open_jobs.append(job)
        else:
            job.outcome = IdempotencyInFlight()
    return open_jobs


async def _validate(conn: AsyncConnection, jobs: list[Job]) -> list[Job]:
    """The checks of a single send, against fresh rows: minors, the gift, self-gifts, the size."""
    users = {
        row.id: row.is_minor
        for row in await conn.execute(
            select(User.id, User.is_minor).where(User.id.in_({job.send.user_id for job in jobs}))
        )
    }
    gifts = {
        row.id: row
        for row in await conn.execute(
            select(Gift.id, Gift.tenant_id, Gift.name, Gift.icon, Gift.effect, Gift.price, Gift.currency)
            .where(Gift.id.in_({job.send.gift_id for job in jobs}))
            .where(Gift.enabled.is_(True))
        )
    }
    open_jobs = []
    for job in jobs:
        send = job.send
        gift = gifts.get(send.gift_id)
        if send.user_id not in users:
            job.outcome = NotFound("No such user")
        elif users[send.user_id]:
            job.outcome = MinorsCannotPay()
        elif gift is None or gift.tenant_id != send.tenant_id:
            job.outcome = GiftNotFound()
        elif send.user_id == send.host_id:
            job.outcome = BadRequest("Hosts cannot send gifts to themselves")
        elif gift.price * send.count > job.rules.max_gift_send:
            limit = job.rules.max_gift_send
            job.outcome = GiftTooLarge(f"One gift send is limited to {limit}", limit=limit)
        else:
            job.gift, job.total = gift, gift.price * send.count
            job.legs = gift_legs(job.rules, send, gift.currency, job.total)
            open_jobs.append(job)
    return open_jobs


_STORED = tuple(TRANSFERS.c[name] for name in ("id", "tenant_id", "key", "request_hash", "result"))
# PostgreSQL: each claim looked up in the (tenant, key) index, one statement for any batch size
# (``key IN (…)`` alone cannot use that index: it scanned every transfer, ~10 ms a batch at 10k).
_USED_KEYS = text(
    "SELECT t.id, t.tenant_id, t.key, t.request_hash, t.result "
    "FROM unnest(CAST(:tenants AS integer[]), CAST(:keys AS varchar[])) AS k(tenant_id, key) "
    "JOIN economy_transfer AS t ON t.tenant_id = k.tenant_id AND t.key = k.key"
).columns(*_STORED)


async def _replay(conn: AsyncConnection, jobs: list[Job]) -> list[Job]:
    """Keys already used answer with their stored result (or 422 for another request)."""
    claims = sorted({job.claim for job in jobs})
    if conn.dialect.name == "postgresql":
        rows = await conn.execute(
            _USED_KEYS, {"tenants": [t for t, _ in claims], "keys": [k for _, k in claims]}
        )
    else:
        rows = await conn.execute(
            select(*_STORED).where(tuple_(TRANSFERS.c.tenant_id, TRANSFERS.c.key).in_(claims))
        )
    used = {(row.tenant_id, row.key): row for row in rows}
    open_jobs = []
    for job in jobs:
        row = used.get(job.claim)
        if row is None:
            open_jobs.append(job)
        elif row.request_hash != job.digest:
            job.outcome = IdempotencyKeyReused()
        else:
            job.outcome = Posted(transfer_id=row.id, result=row.result or {}, replayed=True)
    return open_jobs


async def _lock_accounts(
    conn: AsyncConnection, jobs: list[Job], known: Known, seen: Seen
) -> tuple[dict[tuple[int, AccountRef], int], dict[int, int]]:
    """Every account the batch touches, created if missing; wallets locked in id order.

    Returns the ids by (tenant, account) and the wallets' balances by id."""
    refs = {(job.send.tenant_id, ref) for job in jobs for ref, _ in job.legs}
    ids = {ref: known.accounts[ref] for ref in refs if ref in known.accounts}
    unknown = refs - ids.keys()
    if unknown:
        where = tuple_(ACCOUNTS.c.tenant_id, ACCOUNTS.c.owner, ACCOUNTS.c.currency, ACCOUNTS.c.kind).in_(
            [(tenant, ref.owner, ref.currency, ref.kind) for tenant, ref in unknown]
        )
        found = await _account_rows(conn, where)
        missing = [
            {
                "tenant_id": tenant,
                "owner": ref.owner,
                "user_id": ref.user_id,
                "currency": ref.currency,
                "kind": ref.kind,
                "balance": 0,
            }
            for tenant, ref in sorted(unknown, key=_account_order)
            if (tenant, ref.owner, ref.currency, ref.kind) not in found
        ]  # in one order: two batches creating the same accounts never deadlock
        if missing:
            await conn.execute(
                dialect_insert_for(conn.dialect.name, Account).on_conflict_do_nothing(
                    index_elements=["tenant_id", "owner", "currency", "kind"]
                ),
                missing,
            )
            found = await _account_rows(conn, where)
        for tenant, ref in unknown:
            ids[(tenant, ref)] = found[(tenant, ref.owner, ref.currency, ref.kind)]
        seen.accounts.update({ref: ids[ref] for ref in unknown})
    wallets = sorted(account for (_, ref), account in ids.items() if ref.keeps_balance)
    rows = await conn.execute(
        select(ACCOUNTS.c.id, ACCOUNTS.c.balance)
        .where(ACCOUNTS.c.id.in_(wallets))
        .order_by(ACCOUNTS.c.id)
        .with_for_update()
    )
    return ids, {row.id: int(row.balance) for row in rows}


def _account_order(account: tuple[int, AccountRef]) -> tuple[int, str, str, str]:
    tenant, ref = account
    return tenant, ref.owner, ref.currency, ref.kind


async def _account_rows(conn: AsyncConnection, where: Any) -> dict[tuple[int, str, str, str], int]:
    rows = await conn.execute(
        select(
            ACCOUNTS.c.id, ACCOUNTS.c.tenant_id, ACCOUNTS.c.owner, ACCOUNTS.c.currency, ACCOUNTS.c.kind
        ).where(where)
    )
    return {(row.tenant_id, row.owner, row.currency, row.kind): row.id for row in rows}


async def _lock_spending(
    conn: AsyncConnection, jobs: list[Job], day: date, known: Known, seen: Seen
) -> dict[SpendKey, int]:
    """Today's spending row of every sender, created at 0 if missing, then locked."""
    keys = {(job.send.tenant_id, job.send.user_id, job.gift.currency) for job in jobs}
    new = keys - known.spending_on(day)
    if new:
        await conn.execute(
            dialect_insert_for(conn.dialect.name, DailySpend).on_conflict_do_nothing(
                index_elements=["tenant_id", "user_id", "day", "currency"]
            ),
            [{"tenant_id": t, "user_id": u, "day": day, "currency": c, "spent": 0} for t, u, c in new],
        )
        seen.spending.update(new)
    rows = await conn.execute(
        select(SPENDING.c.tenant_id, SPENDING.c.user_id, SPENDING.c.currency, SPENDING.c.spent)
        .where(SPENDING.c.day == day)
        .where(tuple_(SPENDING.c.tenant_id, SPENDING.c.user_id, SPENDING.c.currency).in_(list(keys)))
        .order_by(SPENDING.c.tenant_id, SPENDING.c.user_id, SPENDING.c.currency)
        .with_for_update()
    )
    return {(row.tenant_id, row.user_id, row.currency): int(row.spent) for row in rows}


def _decide(
    jobs: list[Job],
    ids: dict[tuple[int, AccountRef], int],
    balances: dict[int, int],
    spent: dict[SpendKey, int],
) -> list[Job]:
    """In arrival order, against the locked rows: the daily cap first, then the wallet."""
    done = []
    for job in jobs:
        send = job.send
        where = (send.tenant_id, send.user_id, job.gift.currency)
        wallet = ids[(send.tenant_id, AccountRef.wallet(send.user_id, job.gift.currency))]
        today = spent[where] + job.total
        if today > job.cap:
            job.outcome = SpendCapReached(cap=job.cap)
        elif balances[wallet] < job.total:
            job.outcome = InsufficientBalance()
        else:
            spent[where] = today
            balances[wallet] -= job.total
            job.outcome = Posted(transfer_id=0, result=_result(job, balances[wallet], today), replayed=False)
            done.append(job)
    return done


def _result(job: Job, balance: int, today: int) -> dict[str, Any]:
    """The body of a gift send (``transfer_id`` is filled in once the row exists)."""
    gift, rules = job.gift, job.rules
    result: dict[str, Any] = {
        "transfer_id": 0,
        "gift": {"id": gift.id, "name": gift.name, "icon": gift.icon, "effect": gift.effect},
        "count": job.send.count,
        "currency": gift.currency,
        "amount": job.total,
        "host_share": job.total * rules.host_share_percent // 100,
        "balance": balance,
        "spent_today": today,
        "reminder": None,
    }
    if gift.currency == "coin" and today >= rules.daily_reminder > today - job.total:
        result["reminder"] = {"spent_today": today, "threshold": rules.daily_reminder}
    return result


async def _write_transfers(
    conn: AsyncConnection,
    jobs: Sequence[Job],
    ids: dict[tuple[int, AccountRef], int],
    day: date,
    balances: dict[int, int],
    spent: dict[SpendKey, int],
) -> None:
    """Everything the decided sends change, in bulk: transfers, entries, wallets, spending."""
    transfer_ids = await _new_transfer_ids(conn, len(jobs))
    rows = []
    for job, transfer_id in zip(jobs, transfer_ids, strict=True):
        assert isinstance(job.outcome, Posted)
        result = {**job.outcome.result, "transfer_id": transfer_id}
        job.outcome = Posted(transfer_id=transfer_id, result=result, replayed=False)
        rows.append(
            {
                "id": transfer_id,
                "tenant_id": job.send.tenant_id,
                "key": job.send.key,
                "request_hash": job.digest,
                "kind": "gift",
                "currency": job.gift.currency,
                "amount": job.total,
                "actor_id": job.send.user_id,
                "room_id": job.send.room_id,
                "show_id": job.send.show_id,
                "subject": f"gift:{job.gift.id}",
                "result": result,
            }
        )
    await bulk.insert_rows(conn, TRANSFERS, rows)
    await bulk.insert_rows(
        conn,
        ENTRIES,
        [
            {"transfer_id": transfer_id, "account_id": ids[(job.send.tenant_id, ref)], "amount": amount}
            for job, transfer_id in zip(jobs, transfer_ids, strict=True)
            for ref, amount in job.legs
        ],
    )
    await bulk.insert_rows(
        conn, EVENTS, [_gift_event(job, t) for job, t in zip(jobs, transfer_ids, strict=True)]
    )
    wallets = sorted({ids[(job.send.tenant_id, job.legs[0][0])] for job in jobs})
    await bulk.update_rows(conn, ACCOUNTS, ["id"], [{"id": w, "balance": balances[w]} for w in wallets])
    senders = sorted({(job.send.tenant_id, job.send.user_id, job.gift.currency) for job in jobs})
    await bulk.update_rows(
        conn,
        SPENDING,
        ["tenant_id", "user_id", "day", "currency"],
        [
            {"tenant_id": t, "user_id": u, "day": day, "currency": c, "spent": spent[(t, u, c)]}
            for t, u, c in senders
        ],
    )


def _gift_event(job: Job, transfer_id: int) -> dict[str, Any]:
    """The analytics event of a committed send, written in the same transaction."""
    return event_row(
        "gift",
        event_id=f"gift:{transfer_id}",
        tenant_id=job.send.tenant_id,
        user_id=job.send.user_id,
        room_id=job.send.room_id,
        show_id=job.send.show_id,
        amount=job.total,
        props={"gift_id": job.gift.id, "count": job.send.count, "currency": job.gift.currency},
    )


async def _new_transfer_ids(conn: AsyncConnection, count: int) -> list[int]:
    """Ids for ``count`` new transfers, so each row is written once, with its result.

    PostgreSQL draws them from the column's sequence; on SQLite this
    transaction already holds the database's only write lock (the spending
    rows were written), so the ids after the largest are free."""
    if conn.dialect.name == "postgresql":
        drawn = await conn.scalars(_DRAW_IDS, {"n": count})
        return sorted(drawn.all())
    last = await conn.scalar(select(func.coalesce(func.max(TRANSFERS.c.id), 0)))
    return list(range(int(last or 0) + 1, int(last or 0) + 1 + count))
