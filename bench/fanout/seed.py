"""Accounts and a room for the livecircle run, written with livecircle's own models and services.

Run as ``python -m bench.fanout.seed DB_URL SENDERS`` (prints JSON) in a subprocess, with
the livecircle source under test first on PYTHONPATH, so the load client never imports it.

Accounts are inserted directly with ONE shared argon2 hash instead of going through
``do_register`` / POST /api/v1/auth/register: a hash takes ~0.5 s on this machine, so
400 sender accounts would cost minutes per run and measure nothing about fan-out. API
tokens are issued by the real ``do_issue_api_token``, so sockets authenticate as usual.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Seeded:
    room_id: int
    tokens: list[str]  # one API token per sender account


async def seed(db_url: str, *, senders: int) -> Seeded:
    from livecircle.identity import service as identity_service
    from livecircle.identity.models import Membership, User
    from livecircle.identity.schemas import Principal, Role
    from livecircle.kit.db import Database
    from livecircle.live import service as live_service
    from livecircle.live.schemas import RoomCreate

    db = Database(db_url)
    try:
        async with db.unit_of_work() as session:
            tenant = await identity_service.ensure_tenant(session, slug="bench", name="fan-out bench")
            password_hash = await identity_service.hash_password("bench-password")
            people = [
                User(email="host@bench.invalid", display_name="bench host", password_hash=password_hash)
            ]
            people += [
                User(
                    email=f"sender{i}@bench.invalid", display_name=f"sender {i}", password_hash=password_hash
                )
                for i in range(senders)
            ]
            session.add_all(people)
            await session.flush()
            roles = [Role.HOST] + [Role.MEMBER] * senders
            session.add_all(
                Membership(user_id=user.id, tenant_id=tenant.id, role=role.value)
                for user, role in zip(people, roles, strict=True)
            )
            host = Principal(
                user_id=people[0].id, tenant_id=tenant.id, role=Role.HOST, display_name="bench host"
            )
            room = await live_service.do_create_room(session, host, RoomCreate(title="fan-out bench"))
            tokens = [
                await identity_service.do_issue_api_token(session, user=user, tenant_id=tenant.id)
                for user in people[1:]
            ]
        return Seeded(room_id=room.id, tokens=tokens)
    finally:
        await db.dispose()


def main() -> None:
    db_url, senders = sys.argv[1], int(sys.argv[2])
    print(json.dumps(asdict(asyncio.run(seed(db_url, senders=senders)))))


if __name__ == "__main__":
    main()
