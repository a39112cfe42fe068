"""The schema (Alembic, as in production) and the cast: one tenant, hosts, funded viewers, gifts."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect
from sqlalchemy.engine import Connection

from livecircle.economy import service as economy
from livecircle.identity import service as identity
from livecircle.identity.models import Membership, User
from livecircle.identity.schemas import Role
from livecircle.kit.db import Database

ROOT = Path(__file__).resolve().parents[2]
ECONOMY_TABLES = (
    "economy_account",
    "economy_transfer",
    "economy_entry",
    "economy_daily_spend",
    "economy_gift",
)
# Not an argon2 hash: the bench never signs anyone in, and hashing hundreds of
# passwords would only slow the set-up.
DUMMY_PASSWORD_HASH = "bench:no-password"


@dataclass(frozen=True, slots=True)
class GiftKind:
    id: int
    name: str
    price: int
    currency: str


@dataclass(frozen=True, slots=True)
class Cast:
    tenant_id: int
    hosts: list[int]
    viewers: list[int]
    gifts: list[GiftKind]


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(url: str) -> None:
    # migrations/env.py runs its own event loop (asyncio.run): hence a thread.
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON
        command.upgrade(_alembic_config(url), "head")


def _missing_tables(connection: Connection) -> list[str]:
    present = set(inspect(connection).get_table_names())
    return [name for name in ECONOMY_TABLES if name not in present]


async def migrate(db: Database) -> str:
    """``alembic upgrade head``; returns the head revision. Raises if the economy tables are absent."""
    await asyncio.to_thread(_upgrade, db.url)
    async with db.engine.connect() as connection:
        missing = await connection.run_sync(_missing_tables)
    head = ScriptDirectory.from_config(_alembic_config(db.url)).get_current_head() or "?"
    if missing:
        raise RuntimeError(
            f"alembic upgrade head (at {head}) did not create {', '.join(missing)}: "
            "is the economy migration in migrations/versions/?"
        )
    return head


async def seed(db: Database, *, hosts: int, viewers: int, coins: int, points: int) -> Cast:
    """Users are inserted directly (no argon2); wallets are funded through the ledger (do_grant)."""
    async with db.unit_of_work() as session:
        tenant = await identity.ensure_tenant(session, slug="bench-ledger", name="Ledger bench")
        await economy.ensure_gift_catalogue(session, tenant.id)
        people = [
            {
                "email": f"{kind}{n}@bench.livecircle.local",
                "display_name": f"{kind} {n}",
                "password_hash": DUMMY_PASSWORD_HASH,
            }
            for kind, count in (("host", hosts), ("viewer", viewers))
            for n in range(count)
        ]
        ids = list(
            (
                await session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), people)
            ).all()
        )
        host_ids, viewer_ids = ids[:hosts], ids[hosts:]
        await session.execute(
            insert(Membership),
            [
                {"user_id": user_id, "tenant_id": tenant.id, "role": role.value}
                for ids_, role in ((host_ids, Role.HOST), (viewer_ids, Role.MEMBER))
                for user_id in ids_
            ],
        )
        gifts = [
            GiftKind(id=gift.id, name=gift.name, price=gift.price, currency=gift.currency)
            for gift in await economy.list_gifts(session, tenant.id)
        ]
        tenant_id = tenant.id
    for user_id in viewer_ids:  # one unit of work per viewer, as an operator's grant would be
        async with db.unit_of_work() as session:
            for currency, amount in (("coin", coins), ("point", points)):
                await economy.do_grant(
                    session,
                    tenant_id=tenant_id,
                    user_id=user_id,
                    currency=currency,
                    amount=amount,
                    key=f"bench-fund:{user_id}:{currency}",
                    reason="ledger bench funding",
                )
    return Cast(tenant_id=tenant_id, hosts=host_ids, viewers=viewer_ids, gifts=gifts)
