"""The economy over the real API, on SQLite and PostgreSQL: gifts, idempotency, caps, minors,
sandbox top-ups, and a property test of the ledger under concurrent transfers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from livecircle.economy import ledger, service
from livecircle.economy.errors import InsufficientBalance
from livecircle.economy.ledger import AccountRef
from livecircle.identity.models import User
from livecircle.identity.schemas import Role
from livecircle.kit.db import Database
from tests.conftest import Account, RunningServer, make_account, make_room


async def fund(server: RunningServer, account: Account, coins: int) -> None:
    async with server.db.unit_of_work() as session:
        tenant_id = await _tenant_id(server, account)
        await service.do_grant(
            session,
            tenant_id=tenant_id,
            user_id=account.user_id,
            currency="coin",
            amount=coins,
            key=f"test-grant:{uuid.uuid4()}",
            reason="test",
        )


async def _tenant_id(server: RunningServer, account: Account) -> int:
    from livecircle.identity import service as identity_service

    async with server.db.unit_of_work() as session:
        return (await identity_service.get_tenant_by_slug(session, account.tenant)).id


async def gift_id(client: httpx.AsyncClient, account: Account, name: str) -> int:
    response = await client.get("/api/v1/gifts", headers=account.headers)
    assert response.status_code == 200, response.text
    return next(int(g["id"]) for g in response.json() if g["name"] == name)


async def send(
    client: httpx.AsyncClient,
    account: Account,
    room_id: int,
    gift: int,
    *,
    count: int = 1,
    key: str | None = None,
) -> httpx.Response:
    headers = {**account.headers, "Idempotency-Key": key or str(uuid.uuid4())}
    return await client.post(
        f"/api/v1/rooms/{room_id}/gifts", json={"gift_id": gift, "count": count}, headers=headers
    )


async def audit(db: Database) -> ledger.Audit:
    async with db.unit_of_work() as session:
        return await ledger.audit(session)


@contextmanager
def rules(server: RunningServer, **changes: Any) -> Iterator[None]:
    before = server.settings.economy
    server.settings.economy = before.model_copy(update=changes)
    try:
        yield
    finally:
        server.settings.economy = before


@pytest.fixture
async def room(client: httpx.AsyncClient, host: Account) -> dict[str, Any]:
    return await make_room(client, host, title="礼物直播间")


async def test_a_gift_debits_the_viewer_shares_with_the_host_and_ranks_the_giver(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, room: dict[str, Any]
) -> None:
    await fund(server, viewer, 1000)
    rocket = await gift_id(client, viewer, "鲜花")  # 52 coins
    response = await send(client, viewer, room["id"], rocket, count=3)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["amount"], body["host_share"], body["balance"]) == (156, 78, 844)
    wallet = (await client.get("/api/v1/wallet", headers=viewer.headers)).json()
    assert (wallet["coins"], wallet["spent_today"]) == (844, 156)
    earned = (await client.get("/api/v1/wallet", headers=host.headers)).json()["earned_coins"]
    assert earned == 78
    ranking = (await client.get(f"/api/v1/rooms/{room['id']}/contributors")).json()
    assert [(r["rank"], r["user_id"], r["total"]) for r in ranking] == [(1, viewer.user_id, 156)]
    history = (await client.get("/api/v1/wallet/history", headers=viewer.headers)).json()
    assert [(h["kind"], h["amount"]) for h in history[:2]] == [("gift", -156), ("grant", 1000)]
    assert (await audit(server.db)).balanced


async def test_operators_disable_and_reprice_gifts_and_members_cannot(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, room: dict[str, Any]
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    await fund(server, viewer, 100)
    name = f"测试花束{uuid.uuid4().hex[:6]}"
    created = await client.post("/api/v1/gifts", json={"name": name, "price": 7}, headers=operator.headers)
    assert created.status_code == 201, created.text
    bouquet = created.json()["id"]
    off = {"enabled": False}
    member_patch = await client.patch(f"/api/v1/gifts/{bouquet}", json=off, headers=viewer.headers)
    assert member_patch.status_code == 403
    assert (await client.get("/api/v1/gifts?all=true", headers=viewer.headers)).status_code == 403

    repriced = await client.patch(f"/api/v1/gifts/{bouquet}", json={"price": 9}, headers=operator.headers)
    assert repriced.json()["price"] == 9
    sent = await send(client, viewer, room["id"], bouquet)
    assert sent.status_code == 201
    assert sent.json()["amount"] == 9

    disabled = await client.patch(f"/api/v1/gifts/{bouquet}", json=off, headers=operator.headers)
    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    listed = {g["id"] for g in (await client.get("/api/v1/gifts", headers=viewer.headers)).json()}
    assert bouquet not in listed
    everything = (await client.get("/api/v1/gifts?all=true", headers=operator.headers)).json()
    assert {g["id"]: g["enabled"] for g in everything}[bouquet] is False
    refused = await send(client, viewer, room["id"], bouquet)
    assert refused.status_code == 404
    assert refused.json()["code"] == "gift_not_found"
    assert (await client.get("/api/v1/wallet", headers=viewer.headers)).json()["coins"] == 91
    missing = await client.patch("/api/v1/gifts/999999", json={"enabled": True}, headers=operator.headers)
    assert missing.status_code == 404


async def test_minors_cannot_top_up_or_tip(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, room: dict[str, Any]
) -> None:
    await fund(server, viewer, 100)
    heart = await gift_id(client, viewer, "小心心")
    async with server.db.unit_of_work() as session:
        await session.execute(update(User).where(User.id == viewer.user_id).values(is_minor=True))
    tip = await send(client, viewer, room["id"], heart)
    assert tip.status_code == 403
    assert tip.json()["code"] == "minor_cannot_pay"
    topup = await client.post(
        "/api/v1/wallet/topups", json={"coins": 60}, headers={**viewer.headers, "Idempotency-Key": "m1"}
    )
    assert topup.status_code == 403
    assert topup.json()["code"] == "minor_cannot_pay"
    assert (await client.get("/api/v1/wallet", headers=viewer.headers)).json()["coins"] == 100


async def test_the_daily_cap_holds_under_concurrency_and_the_reminder_fires_once(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, room: dict[str, Any]
) -> None:
    await fund(server, viewer, 10_000)
    lollipop = await gift_id(client, viewer, "棒棒糖")  # 10 coins
    with rules(server, daily_cap=100, daily_reminder=50):
        responses = await asyncio.gather(*(send(client, viewer, room["id"], lollipop) for _ in range(40)))
    ok = [r.json() for r in responses if r.status_code == 201]
    assert len(ok) == 10
    assert {r.json()["code"] for r in responses if r.status_code != 201} == {"spend_cap_reached"}
    assert sum(1 for body in ok if body["reminder"]) == 1
    assert (await client.get("/api/v1/wallet", headers=viewer.headers)).json()["coins"] == 9_900


async def test_sandbox_top_up_is_credited_once_by_its_signed_callback(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    key = {"Idempotency-Key": f"top-{uuid.uuid4()}"}
    started = await client.post(
        "/api/v1/wallet/topups", json={"coins": 60}, headers={**viewer.headers, **key}
    )
    assert started.status_code == 201, started.text
    topup = started.json()
    assert (topup["status"], topup["amount_cents"]) == ("pending", 600)
    same = await client.post("/api/v1/wallet/topups", json={"coins": 60}, headers={**viewer.headers, **key})
    assert same.json()["id"] == topup["id"]
    ref = topup["pay_url"].split("/sandbox/")[1].split("/")[0]
    forged = await client.post(
        "/api/v1/payments/sandbox/callback",
        content=b'{"ref": "%s", "status": "paid", "amount_cents": 600}' % ref.encode(),
        headers={"x-sandbox-signature": "t=1,v1=00"},
    )
    assert forged.status_code == 401
    paid = await client.post(
        f"/api/v1/payments/sandbox/{ref}/complete", json={"outcome": "success"}, headers=viewer.headers
    )
    assert paid.status_code == 202
    for _ in range(100):
        state = (await client.get(f"/api/v1/wallet/topups/{topup['id']}", headers=viewer.headers)).json()
        if state["status"] == "paid":
            break
        await asyncio.sleep(0.05)
    assert state["status"] == "paid"
    provider = server.app.state.payments
    body, signature = provider.notice(ref, "paid", 600)
    for _ in range(3):  # the provider repeats itself: nothing more is credited
        again = await client.post(
            "/api/v1/payments/sandbox/callback", content=body, headers={"x-sandbox-signature": signature}
        )
        assert again.status_code == 200
    assert (await client.get("/api/v1/wallet", headers=viewer.headers)).json()["coins"] == 60
    assert (await audit(server.db)).balanced


async def test_gift_effect_reaches_the_room_with_a_combo(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, room: dict[str, Any]
) -> None:
    import orjson
    import websockets

    await fund(server, viewer, 100)
    heart = await gift_id(client, viewer, "小心心")
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room['id']}") as ws:
        seen: list[dict[str, Any]] = []
        for _ in range(2):
            assert (await send(client, viewer, room["id"], heart, count=2)).status_code == 201
        while len(seen) < 2:
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            seen += [e for e in frame["events"] if e["type"] == "gift"]
    assert [(e["count"], e["combo"], e["gift"]["name"], e["pri"]) for e in seen] == [
        (2, 2, "小心心", 1),
        (2, 4, "小心心", 1),
    ]


@pytest.fixture(scope="module")
def ledger_accounts(db_url: str, server: RunningServer) -> list[int]:
    """Users whose wallets the property test moves coins between (created once)."""

    async def create() -> list[int]:
        from livecircle.identity import service as identity_service

        db = Database(db_url)
        try:
            async with db.unit_of_work() as session:
                tenant = await identity_service.ensure_tenant(session, slug="ledger-prop", name="ledger-prop")
                ids = []
                for n in range(4):
                    user = User(
                        email=f"p{n}-{uuid.uuid4().hex[:8]}@example.com",
                        display_name=f"p{n}",
                        password_hash="x",
                    )
                    session.add(user)
                    await session.flush()
                    ids.append(user.id)
                return [tenant.id, *ids]
        finally:
            await db.dispose()

    return asyncio.run(create())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    grants=st.lists(st.integers(min_value=0, max_value=50), min_size=4, max_size=4),
    moves=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 40)).filter(lambda m: m[0] != m[1]),
        min_size=1,
        max_size=40,
    ),
)
def test_concurrent_random_transfers_stay_balanced_and_never_negative(
    db_url: str, ledger_accounts: list[int], grants: list[int], moves: list[tuple[int, int, int]]
) -> None:
    tenant_id, *users = ledger_accounts

    async def run() -> None:
        db = Database(db_url)
        try:
            async with db.unit_of_work() as session:
                start = {
                    u: await ledger.balance(session, tenant_id, AccountRef.wallet(u, "point")) for u in users
                }
                for user, amount in zip(users, grants, strict=True):
                    if amount:
                        await service.do_grant(
                            session,
                            tenant_id=tenant_id,
                            user_id=user,
                            currency="point",
                            amount=amount,
                            key=str(uuid.uuid4()),
                            reason="property",
                        )

            async def move(source: int, target: int, amount: int) -> bool:
                try:
                    async with db.unit_of_work() as session:
                        await ledger.post(
                            session,
                            tenant_id=tenant_id,
                            key=str(uuid.uuid4()),
                            kind="move",
                            legs=[
                                (AccountRef.wallet(users[source], "point"), -amount),
                                (AccountRef.wallet(users[target], "point"), amount),
                            ],
                            request={"move": [source, target, amount]},
                            result_of=lambda transfer_id, balances: {"id": transfer_id},
                        )
                    return True
                except InsufficientBalance:
                    return False

            await asyncio.gather(*(move(*m) for m in moves))
            async with db.unit_of_work() as session:
                report = await ledger.audit(session)
                end = {
                    u: await ledger.balance(session, tenant_id, AccountRef.wallet(u, "point")) for u in users
                }
            assert report.balanced, report
            assert min(end.values()) >= 0
            assert sum(end.values()) == sum(start.values()) + sum(grants)
        finally:
            await db.dispose()

    asyncio.run(run())


async def write(db: Database, statement: Any) -> None:
    async with db.unit_of_work() as session:
        await session.execute(statement)


def test_the_database_itself_refuses_a_negative_wallet(db_url: str, ledger_accounts: list[int]) -> None:
    tenant_id, user, *_ = ledger_accounts

    async def run() -> None:
        from sqlalchemy.exc import IntegrityError

        from livecircle.economy.models import Account as LedgerAccount

        db = Database(db_url)
        try:
            async with db.unit_of_work() as session:
                account = await ledger.account_id(session, tenant_id, AccountRef.wallet(user, "coin"))
            negative = update(LedgerAccount).where(LedgerAccount.id == account).values(balance=-1)
            with pytest.raises(IntegrityError):
                await write(db, negative)
        finally:
            await db.dispose()

    asyncio.run(run())


__all__ = ["Role"]


async def test_an_account_created_by_a_failed_transfer_is_not_remembered(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, room: dict[str, Any], host: Account
) -> None:
    """A broke viewer's first gift fails after the host's and viewer's accounts were created in its
    (rolled back) transaction; the next gift and grant must still find real accounts."""
    heart = await gift_id(client, viewer, "小心心")
    broke = await send(client, viewer, room["id"], heart)
    assert broke.status_code == 409
    assert broke.json()["code"] == "insufficient_balance"
    await fund(server, viewer, 5)
    assert (await send(client, viewer, room["id"], heart)).status_code == 201
    assert (await client.get("/api/v1/wallet", headers=viewer.headers)).json()["coins"] == 4
