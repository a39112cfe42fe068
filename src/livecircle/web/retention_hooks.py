"""The retention purge's hooks for tables with rules of their own, wired here because they
belong to layers above ``privacy``:

- sessions and API tokens (identity): a session goes once expired, a token once revoked,
  plus the ``session`` window;
- export files (privacy): the file under ``var/exports`` and its request once the link expired;
- raw analytics events (analytics): past ``analytics_raw`` they are pseudonymised in place:
  ``user_id`` becomes the account's keyed pseudonym (a negative id, the same for every event
  of the account, so counts of distinct people still add up), an anonymous id that became an
  account takes that account's pseudonym, any other anonymous id a keyed text pseudonym, and
  device, IP and session props are dropped. This node's DuckDB replica is rewritten the same
  way at once, and every node's replica re-reads the rows on its next sync (the erasure's
  ``privacy_replica_rewrite`` notes);
- the audit log (privacy): pruned from the start of its chain (``audit_chain.purge_hook``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import duckdb
import orjson
from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.models import AnonIdentity
from livecircle.analytics.store import EventStore
from livecircle.config import Settings
from livecircle.identity.models import ApiToken, PageSession
from livecircle.kit.db import Database, one_sqlite_writer
from livecircle.kit.tracking import AnalyticsEvent
from livecircle.privacy import audit_chain
from livecircle.privacy.models import ExportRequest, ReplicaRewrite
from livecircle.privacy.pseudonym import opaque, pseudonym_key, pseudonyms
from livecircle.privacy.purge import Purger, Windows
from livecircle.privacy.retention import Retention

BATCH = 2000
DROPPED_PROPS = frozenset({"device", "device_id", "ip", "anon_id", "session", "user_agent", "ua"})
PERSON_PROPS = frozenset({"inviter_id", "user_id", "buyer_id"})  # other people's ids in props


def install(purger: Purger, settings: Settings, store: EventStore | None) -> None:
    """Register every hook on this app's purger."""
    purger.register_hook("identity.sessions", _sessions, tables=("identity_session", "identity_api_token"))
    purger.register_hook("privacy.exports", _exports(settings.var_dir), tables=("privacy_export",))
    purger.register_hook(
        "audit.prune", audit_chain.purge_hook, tables=("privacy_audit", "privacy_audit_head")
    )
    purger.register_hook(
        "analytics.pseudonymise",
        _analytics(settings.secret_key, store),
        tables=("analytics_event", "analytics_identity"),
    )


def _cutoff(now: datetime, days: Windows, cls: Retention) -> datetime | None:
    window = days.get(cls)
    return None if window is None else now - timedelta(days=window)


async def _sessions(db: Database, now: datetime, days: Windows) -> int:
    cutoff = _cutoff(now, days, Retention.SESSION)
    if cutoff is None:
        return 0
    async with db.unit_of_work() as session:
        await one_sqlite_writer(session)
        gone = await session.execute(delete(PageSession).where(PageSession.expires_at < cutoff))
        revoked = await session.execute(delete(ApiToken).where(ApiToken.revoked_at < cutoff))
    return int(getattr(gone, "rowcount", 0) or 0) + int(getattr(revoked, "rowcount", 0) or 0)


def _exports(var_dir: Path) -> Any:
    async def purge(db: Database, now: datetime, days: Windows) -> int:
        cutoff = _cutoff(now, days, Retention.SESSION)
        if cutoff is None:
            return 0
        async with db.unit_of_work() as session:
            await one_sqlite_writer(session)
            expired = list(
                await session.scalars(select(ExportRequest).where(ExportRequest.expires_at < cutoff))
            )
            for request in expired:
                if request.file_name:
                    (var_dir / "exports" / Path(request.file_name).name).unlink(missing_ok=True)
                await session.delete(request)
        return len(expired)

    return purge


def _analytics(secret: str, store: EventStore | None) -> Any:
    key = pseudonym_key(secret)

    async def purge(db: Database, now: datetime, days: Windows) -> int:
        cutoff = _cutoff(now, days, Retention.ANALYTICS_RAW)
        if cutoff is None:
            return 0
        changed = 0
        while True:  # one short transaction per batch: a crash loses nothing, the next run goes on
            async with db.unit_of_work() as session:
                await one_sqlite_writer(session)
                rows = await _pseudonymise_batch(session, key, cutoff)
            if rows and store is not None:
                await store.run(lambda con, batch=rows: _rewrite_replica(con, batch))  # type: ignore[misc]
            changed += len(rows)
            if len(rows) < BATCH:
                return changed

    return purge


def _raw(cutoff: datetime) -> Any:
    """Events past the window still naming someone: a real (positive) account id or an
    anonymous id not yet pseudonymised."""
    event = AnalyticsEvent
    return (event.ts < cutoff) & or_(
        event.user_id > 0, event.anon_id.is_not(None) & ~event.anon_id.startswith("p:")
    )


async def _pseudonymise_batch(session: AsyncSession, key: bytes, cutoff: datetime) -> list[dict[str, Any]]:
    event = AnalyticsEvent
    found = (
        await session.execute(
            select(event.seq, event.user_id, event.anon_id, event.props)
            .where(_raw(cutoff))
            .order_by(event.seq)
            .limit(BATCH)
        )
    ).all()
    if not found:
        return []
    anons = {anon for _, user, anon, _ in found if anon and not (user and user > 0)}
    links = select(AnonIdentity.anon_id, AnonIdentity.user_id).where(AnonIdentity.anon_id.in_(anons))
    linked: dict[str, int] = {a: int(u) for a, u in (await session.execute(links)).all()} if anons else {}
    people = {u for _, u, _, _ in found if u and u > 0} | set(linked.values())
    people |= {
        int(v) for *_, props in found for k, v in (props or {}).items() if k in PERSON_PROPS and _is_id(v)
    }
    names = await pseudonyms(session, key, people)
    rows = [_pseudonymised(seq, user, anon, props, names, linked, key) for seq, user, anon, props in found]
    table = cast(Table, AnalyticsEvent.__table__)  # Core: one UPDATE run for every row (executemany)
    await session.execute(
        update(table)
        .where(table.c.seq == bindparam("b_seq"))
        .values(user_id=bindparam("b_user"), anon_id=bindparam("b_anon"), props=bindparam("b_props")),
        [
            {"b_seq": r["seq"], "b_user": r["user_id"], "b_anon": r["anon_id"], "b_props": r["props"]}
            for r in rows
        ],
    )
    # Every node's replica re-reads these rows on its next sync (privacy_replica_rewrite).
    session.add(ReplicaRewrite(table_name="analytics_event", keys=[r["seq"] for r in rows]))
    return rows


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _pseudonymised(
    seq: int,
    user: int | None,
    anon: str | None,
    props: dict[str, Any] | None,
    names: dict[int, int],
    linked: dict[str, int],
    key: bytes,
) -> dict[str, Any]:
    person = user if user and user > 0 else linked.get(anon or "")
    kept = {
        k: (names[int(v)] if k in PERSON_PROPS and _is_id(v) else v)
        for k, v in (props or {}).items()
        if k not in DROPPED_PROPS
    }
    if person is not None:
        return {"seq": seq, "user_id": names[int(person)], "anon_id": None, "props": kept}
    return {
        "seq": seq,
        "user_id": user,
        "anon_id": opaque(key, f"anon:{anon}") if anon else None,
        "props": kept,
    }


def _rewrite_replica(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    con.executemany(
        "UPDATE events SET user_id = ?, anon_id = ?, props = ? WHERE seq = ?",
        [(r["user_id"], r["anon_id"], orjson.dumps(r["props"]).decode(), r["seq"]) for r in rows],
    )
