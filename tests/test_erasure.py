"""Account deletion end to end, on SQLite and PostgreSQL (PIPL art. 47, GDPR art. 17).

A member with data in every category of the data map exports it (every category appears),
then deletes their account: sessions and tokens stop at once, the durable erasure job runs
when the cooling-off period ends, and afterwards a scan of every table and column, the
analytics replica, the chat memory, the broker's resume history and the token cache finds no
identifier of the member (their id naming them, e-mail, name, device id, their texts)
outside the legal-hold records, which only the audit role reads. Also: cancelling during the
cooling-off period, the page flow, and an erasure cut short that a second run finishes.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import orjson
import pytest
import websockets
from sqlalchemy import JSON, Integer, LargeBinary, String, Text, func, select, update

from livecircle.analytics.models import AnonIdentity
from livecircle.analytics.store import EventStore
from livecircle.identity.models import User
from livecircle.identity.schemas import Role
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base
from livecircle.kit.jobs import Job
from livecircle.kit.tracking import TrackBuffer, event_row
from livecircle.privacy.anonymise import Placeholders
from livecircle.privacy.audit import AuditEntry
from livecircle.privacy.datamap import HOLD_STORES, categories, looks_personal, tag_of
from livecircle.privacy.erasure import ErasureContext
from livecircle.privacy.models import DeletionRequest, LegalHold
from livecircle.privacy.subjects import walk_tables
from livecircle.realtime.broker import MemoryBroker
from livecircle.realtime.redis_broker import RedisBroker
from livecircle.web import privacy_wiring
from tests import services
from tests.conftest import RunningServer, make_account
from tests.privacy_kit import PASSWORD, Subject, eventually, read_archive, ready_export, seed_member
from tests.room_kit import wait_for

USER_KEYS = re.compile(r'"(\w*user_id|host_id|inviter_id|invitee_id|actor_id|\w+_by)":\s*(-?\d+)')


def _names_a_user(column: Any) -> bool:
    tag = tag_of(column)
    if any(fk.column.table.name == "identity_user" for fk in column.foreign_keys):
        return True
    return isinstance(column.type, Integer) and ((tag is not None and tag.subject) or looks_personal(column))


async def scan_database(server: RunningServer, subject: Subject) -> list[str]:
    """Where the member is still named: ``table.column: what`` for every hit."""
    found: list[str] = []
    async with server.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in HOLD_STORES:
                continue
            for row in (await conn.execute(select(table))).mappings():
                for column in table.columns:
                    found += [
                        f"{table.name}.{column.name}: {w}" for w in _hits(column, row[column.name], subject)
                    ]
    return found


def _hits(column: Any, value: Any, subject: Subject) -> list[str]:
    if value is None:
        return []
    if column.name == "id" and column.table.name == "identity_user":
        return ["the account row"] if value == subject.account.user_id else []
    if isinstance(column.type, Integer):
        return ["their id"] if value == subject.account.user_id and _names_a_user(column) else []
    if isinstance(column.type, (String, Text, JSON, LargeBinary)):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        hits = [what for what, mark in subject.identifiers.items() if mark in text]
        if isinstance(column.type, JSON):
            ids = {int(found) for _, found in USER_KEYS.findall(text)}
            hits += ["their id in JSON"] if subject.account.user_id in ids else []
        return hits
    return []


def scan_memory(server: RunningServer, subject: Subject) -> list[str]:
    """The node's chat memory, the broker's resume ring and the token-owner cache."""
    found = []
    state = server.app.state
    marks = list(subject.identifiers.values())
    for room_id, recent in state.chat.pipeline.recent.items():
        text = json.dumps(list(recent), ensure_ascii=False, default=str)
        found += [f"chat memory of room {room_id}" for mark in marks if mark in text]
    ring = getattr(state.hub.broker, "_ring", {})
    for channel, events in ring.items():
        for _, event in events:
            text = json.dumps(event, ensure_ascii=False, default=str)
            found += [f"broker history of {channel}: {text}" for mark in marks if mark in text]
    cache = state.principals
    for key in list(cache._values):
        cached = cache.peek(key)
        if cached is not None and cached.user_id == subject.account.user_id:
            found.append("token-owner cache")
    return found


async def scan_replica(store: EventStore, subject: Subject) -> list[str]:
    """A node's DuckDB replica, after its next sync."""
    await store.sync()
    user_id, device = subject.account.user_id, subject.device
    events = await store.run(
        lambda con: con.execute(
            # The one event id that embeds an account id is ``signup:<id>``; ``%:<id>`` would also
            # match ``show_started:<show id>`` or ``order_paid:<order id>`` of whatever object
            # shares the number (in a long run there is always one).
            "SELECT count(*) FROM events WHERE user_id = ? OR anon_id = ? OR event_id = ? OR props LIKE ?",
            [user_id, device, f"signup:{user_id}", f"%{device}%"],
        ).fetchall()[0][0]
    )
    merged = await store.run(
        lambda con: con.execute(
            "SELECT count(*) FROM identities WHERE user_id = ? OR anon_id = ?", [user_id, device]
        ).fetchall()[0][0]
    )
    return [f"replica: {events} events"] * bool(events) + [f"replica: {merged} identities"] * bool(merged)


async def shop_order_ids(client: httpx.AsyncClient, subject: Subject) -> set[int]:
    listed = await client.get("/api/v1/shop/orders", headers=subject.host.headers)
    assert listed.status_code == 200, listed.text
    return {int(order["id"]) for order in listed.json()}


async def erase_now(server: RunningServer, request_id: int) -> None:
    """The cooling-off period ends now: the durable job runs the erasure."""
    async with server.db.unit_of_work() as session:
        moved = await session.execute(
            update(Job).where(Job.key == f"privacy-erase:{request_id}").values(run_at=utcnow())
        )
        assert getattr(moved, "rowcount", 0) == 1

    async def done() -> bool | None:
        async with server.db.sessionmaker() as session:
            request = await session.get(DeletionRequest, request_id)
            job = await session.scalar(select(Job).where(Job.key == f"privacy-erase:{request_id}"))
        assert job is not None
        assert job.last_error is None, job.last_error
        return True if request is not None and request.status == "done" else None

    await eventually(done, timeout=60)


async def test_an_erased_member_leaves_no_identifier_outside_the_legal_holds(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    subject = await seed_member(server, client)
    me = subject.account

    # The export holds every category of the data map.
    ready = await ready_export(client, me)
    document, _ = read_archive((await client.get(ready["url"].removeprefix(server.base_url))).content)
    assert set(document["categories"]) == {c.value for c in categories(Base.metadata)}
    exported = set(document["tables"])
    for table in ("interaction_chat_message", "commerce_order", "commerce_payment", "economy_entry"):
        assert table in exported, table

    # Before: the scans do find the member (they can fail), the shop lists the order, and a
    # second node's analytics replica holds the member's events.
    assert await scan_database(server, subject)
    assert scan_memory(server, subject)
    assert subject.ids["order"] in await shop_order_ids(client, subject)
    other_node = EventStore(server.db)
    try:
        await other_node.sync()
        assert await scan_replica(other_node, subject)

        asked = await client.post("/api/v1/me/deletion", json={"password": PASSWORD}, headers=me.headers)
        assert asked.status_code == 202, asked.text
        deletion = asked.json()
        assert deletion["status"] == "scheduled"
        assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 401  # signed out at once
        await erase_now(server, deletion["id"])

        assert await scan_database(server, subject) == []
        assert scan_memory(server, subject) == []
        assert await scan_replica(server.app.state.analytics, subject) == []
        assert await scan_replica(other_node, subject) == []  # it converged on its own next sync
    finally:
        await other_node.close()
    assert subject.ids["order"] not in await shop_order_ids(client, subject)
    async with server.db.sessionmaker() as session:  # the invited friend keeps all of theirs
        friend = await session.get(User, subject.ids["friend"])
        merged = await session.scalar(
            select(AnonIdentity.user_id).where(AnonIdentity.anon_id == subject.friend_device)
        )
    assert friend is not None
    assert friend.invited_by_id is None
    assert merged == friend.id
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{subject.room_id}") as ws:
        hello = await wait_for(ws, lambda e: e["type"] == "hello")  # a new viewer's snapshot
    assert subject.chat_text not in json.dumps(hello, ensure_ascii=False, default=str)
    chat = (await client.get(f"/api/v1/rooms/{subject.room_id}/chat")).json()
    assert subject.chat_text not in json.dumps(chat, ensure_ascii=False, default=str)

    # What the law keeps stays, under the pseudonym, listed only for the audit role.
    async with server.db.sessionmaker() as session:
        request = await session.get(DeletionRequest, deletion["id"])
        assert request is not None
        assert (request.user_id, request.aliases) == (None, None)
        held = set(
            await session.scalars(
                select(LegalHold.table_name).where(LegalHold.pseudonym == request.pseudonym)
            )
        )
        tombstone = await session.get(User, request.pseudonym)
        actions = set(
            await session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"user:{me.user_id}"))
        )
    assert {"commerce_order", "commerce_payment", "economy_account", "economy_entry", "economy_topup"} <= held
    assert tombstone is not None
    assert tombstone.email.endswith("@invalid")
    assert {"privacy.deletion.request", "privacy.deletion.complete"} <= actions
    # Holds name no tenant once pseudonymised: the platform's admins (its own tenant) read them.
    admin = await make_account(server, role=Role.ADMIN, tenant=server.settings.default_tenant, name="审计")
    holds = await client.get(f"/api/v1/privacy/holds?user_id={me.user_id}", headers=admin.headers)
    assert holds.status_code == 200, holds.text
    assert {h["table_name"] for h in holds.json()} == held
    tenant_admin = await make_account(server, role=Role.ADMIN, tenant=me.tenant)
    for staff in (subject.host, await make_account(server, tenant=me.tenant), tenant_admin):
        refused = await client.get(f"/api/v1/privacy/holds?user_id={me.user_id}", headers=staff.headers)
        assert refused.status_code == 403
    orders = await client.get(f"/api/v1/orders/{subject.ids['order']}", headers=subject.host.headers)
    assert me.email not in orders.text
    assert subject.name not in orders.text


async def test_what_the_node_still_holds_in_memory_is_written_then_erased(
    server: RunningServer, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An anonymous like of the member still in the node's analytics buffer when the erasure
    runs (its timer would write it a moment later) is written first and erased with the rest."""
    subject = await seed_member(server, client, full=False)
    node = server.app.state.analytics_node
    held = TrackBuffer(server.db)  # never started: only a flush writes it
    monkeypatch.setattr(node, "buffer", held)
    like = {"tenant_id": subject.tenant_id, "room_id": subject.room_id, "show_id": subject.show_id}
    held.add(event_row("like", anon_id=subject.device, amount=1, **like))
    await node._loop.stop()  # the node's sync pass, which flushes the buffer, waits meanwhile
    try:
        me = subject.account
        asked = await client.post("/api/v1/me/deletion", json={"password": PASSWORD}, headers=me.headers)
        assert asked.status_code == 202, asked.text
        await erase_now(server, asked.json()["id"])
        await held.flush()  # what the timer would write after the erasure: nothing is left
    finally:
        node._loop.start()
    assert await scan_database(server, subject) == []


async def test_cancelling_during_the_cooling_off_period_keeps_everything(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    subject = await seed_member(server, client, full=False)
    me = subject.account
    wrong = await client.post("/api/v1/me/deletion", json={"password": "not-it"}, headers=me.headers)
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_password")
    asked = await client.post("/api/v1/me/deletion", json={"password": PASSWORD}, headers=me.headers)
    erase_at = asked.json()["erase_at"]
    assert (await client.get("/api/v1/me/deletion", headers=me.headers)).status_code == 401

    # The member signs in again within the cooling-off period and keeps the account.
    token = await client.post("/api/v1/auth/token", json={"email": me.email, "password": PASSWORD})
    again = {"Authorization": f"Bearer {token.json()['access_token']}"}
    shown = (await client.get("/api/v1/me/deletion", headers=again)).json()
    assert (shown["status"], shown["erase_at"]) == ("scheduled", erase_at)
    page = await client.get("/me/privacy", headers=again)
    assert 'id="deletion-cancel"' in page.text  # one click keeps the account
    kept = await client.delete("/api/v1/me/deletion", headers=again)
    assert kept.json()["status"] == "cancelled"
    assert (await client.delete("/api/v1/me/deletion", headers=again)).status_code == 404
    async with server.db.sessionmaker() as session:
        job = await session.scalar(select(Job).where(Job.key == f"privacy-erase:{asked.json()['id']}"))
        assert job is not None
        assert job.state == "done"  # cancelled: it will never run
        assert await session.get(User, me.user_id) is not None


async def test_the_page_deletes_in_two_clicks_and_an_erasure_cut_short_is_finished(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    subject = await seed_member(server, client, full=False)
    me = subject.account
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        await browser.get("/login")
        signed = await browser.post(
            "/login", data={"email": me.email, "password": PASSWORD, "csrf_token": browser.cookies["lc_csrf"]}
        )
        assert signed.status_code == 303
        page = await browser.get("/me/privacy")
        assert 'href="/me/privacy/delete"' in page.text  # click 1
        confirm = await browser.get("/me/privacy/delete")
        assert 'id="delete-password"' in confirm.text
        form = {"password": PASSWORD, "csrf_token": browser.cookies["lc_csrf"]}
        done = await browser.post("/me/privacy/delete", data=form)  # click 2
        assert done.status_code == 200, done.text
        assert 'id="delete-done"' in done.text
        assert (await browser.get("/me/privacy")).status_code == 303  # signed out
    async with server.db.sessionmaker() as session:
        request = await session.scalar(select(DeletionRequest).where(DeletionRequest.user_id == me.user_id))
        assert request is not None

    # A crash in the middle: some tables erased, the request left running. The job's next run
    # finishes it, touching nothing twice.
    eraser = server.app.state.erasure
    context = await eraser._start(request.id)
    assert context is not None
    tables = eraser.tables()
    assert len(tables) == len(walk_tables(Base.metadata)) - 1  # all but the request itself
    for table in tables[: len(tables) // 2]:
        async with server.db.unit_of_work() as session:
            await eraser.erase_table(session, table, context)
    await erase_now(server, request.id)
    assert await scan_database(server, subject) == []
    async with server.db.sessionmaker() as session:
        twice = await session.scalar(
            select(func.count())
            .select_from(LegalHold)
            .group_by(LegalHold.table_name, LegalHold.row_key)
            .having(func.count() > 1)
            .limit(1)
        )
    assert twice is None
    assert await eraser.run(request.id) is False  # done: nothing left to do


def _context(user_id: int) -> ErasureContext:
    placeholders = Placeholders(pseudonym=-7, text_pseudonym="p:" + "0" * 32, deleted_name="已注销用户")
    return ErasureContext(1, user_id, 1, -7, frozenset(), placeholders)


QUOTE = {"id": 11, "display_name": "甄某", "text": "我的秘密"}
HISTORY_EVENTS: list[dict[str, Any]] = [
    {"type": "chat", "id": 11, "user_id": 42, "display_name": "甄某", "text": "我的秘密"},
    {"type": "chat", "id": 12, "user_id": 7, "display_name": "乙", "text": "回复", "reply_to": QUOTE},
    {"type": "qa_question", "question": {"id": 3, "user_id": 42, "text": "问题"}},
    {"type": "chat", "id": 13, "user_id": 7, "display_name": "乙", "text": "大家好"},
]


async def test_the_resume_history_forgets_an_erased_members_events_in_memory_and_redis() -> None:
    memory = MemoryBroker()
    for event in HISTORY_EVENTS:
        await memory.publish("room:1", dict(event))
    assert await memory.scrub(privacy_wiring._scrubber(_context(42), set())) == 3
    kept = [event for _, event in await memory.history("room:1", "1") or []]
    assert [e.get("id") for e in kept] == [12, 13]
    assert kept[0]["reply_to"] == {"id": 11, "display_name": "已注销用户", "text": ""}
    assert "甄某" not in json.dumps(kept, ensure_ascii=False)

    services.require("redis", services.have_redis(), "redis-server not found")
    with services.redis_server() as url:
        redis = RedisBroker(url, prefix=f"t{uuid.uuid4().hex[:6]}")
        try:
            ids = [await redis.publish("room:1", dict(event)) for event in HISTORY_EVENTS]
            assert await redis.scrub(privacy_wiring._scrubber(_context(42), set())) == 3
            # A stream entry cannot be rewritten: the line quoting the member goes too.
            entries = await redis.redis.xrange(f"{redis.prefix}:stream:room:1")
            assert [eid.decode() for eid, _ in entries] == ids[3:]
            assert [orjson.loads(fields[b"e"])["id"] for _, fields in entries] == [13]
        finally:
            await redis.redis.aclose()
            await redis.reader.aclose()
