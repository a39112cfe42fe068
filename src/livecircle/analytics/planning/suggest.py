"""Topic suggestions from what the tenant's audience asked and bought in its recent shows.

Recent = the tenant's shows that went live in the last ``RECENT_DAYS`` days (at most
``MAX_SHOWS``, latest first). Three kinds, ``LIMIT`` each, every one with its evidence:
- keyword: the top keywords of the shows' visible chat lines (``keywords.py``): lines
  mentioning it, the shows, up to 3 example lines;
- question: the most upvoted Q&A questions (hidden ones and ones with contact details left
  out): votes, the show, answered or not;
- product: the products most bought (paid orders) and clicked in the period, from the
  analytics replica: clicks, clickers, paid orders and amount, the shows.
Recomputed by the hourly durable job per tenant, after each show ends, and on demand.
Suggestions are aggregates about the audience as a whole, no member's profile: no consent
purpose applies, and no member is named in them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.planning.keywords import CONTACT, top_keywords
from livecircle.analytics.planning.models import Suggestion, Topic
from livecircle.analytics.planning.schemas import SuggestionOut, SuggestionsOut
from livecircle.analytics.planning.service import SCENARIO_OF_KIND
from livecircle.analytics.store import EventStore
from livecircle.commerce.models import Product
from livecircle.interaction.models import ChatMessage
from livecircle.interaction.qa.models import HIDDEN, Question
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.live import service as live_service

RUN_JOB = "analytics.planning_suggest"
RUN_EVERY = timedelta(hours=1)
RECENT_DAYS = 30
MAX_SHOWS = 50
MAX_LINES = 20_000
LIMIT = 10

_PRODUCTS = """
WITH clicks AS (
    SELECT TRY_CAST(json_extract_string(props, '$.product_id') AS BIGINT) AS product_id,
           count(*) AS clicks, count(DISTINCT viewer) AS clickers, list(DISTINCT show_id) AS shows
    FROM person_events WHERE tenant_id = ? AND type = 'product_click' AND ts >= ? GROUP BY 1
), placed AS (
    SELECT json_extract_string(props, '$.order_id') AS order_id,
           TRY_CAST(json_extract_string(props, '$.product_id') AS BIGINT) AS product_id
    FROM events WHERE tenant_id = ? AND type = 'order_placed'
), paid AS (
    SELECT p.product_id, count(*) AS orders, sum(e.amount) AS cents, list(DISTINCT e.show_id) AS shows
    FROM events e JOIN placed p ON p.order_id = json_extract_string(e.props, '$.order_id')
    WHERE e.tenant_id = ? AND e.type = 'order_paid' AND e.ts >= ? GROUP BY 1
)
SELECT product_id, coalesce(c.clicks, 0), coalesce(c.clickers, 0), coalesce(p.orders, 0),
       coalesce(p.cents, 0), list_distinct(list_concat(coalesce(c.shows, []), coalesce(p.shows, [])))
FROM clicks c FULL JOIN paid p USING (product_id)
WHERE product_id IS NOT NULL
ORDER BY 4 DESC, 2 DESC, 1 LIMIT ?
"""


async def recent_shows(session: AsyncSession, *, tenant_id: int, now: datetime) -> dict[int, str]:
    """Show id -> title of the tenant's recent shows."""
    since = now - timedelta(days=RECENT_DAYS)
    shows = await live_service.list_tenant_shows(session, tenant_id, limit=MAX_SHOWS)
    return {s.id: s.title for s in shows if s.started_at is not None and s.started_at >= since}


async def keyword_suggestions(session: AsyncSession, show_ids: list[int]) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ChatMessage.text, ChatMessage.show_id)
        .where(ChatMessage.show_id.in_(show_ids), ChatMessage.status == "visible", ChatMessage.kind == "chat")
        .order_by(ChatMessage.id.desc())
        .limit(MAX_LINES)
    )
    lines = [(text, show_id) for text, show_id in rows.all() if show_id is not None]
    return [
        {
            "key": f"keyword:{k.word}",
            "kind": "keyword",
            "title": k.word,
            "score": k.lines,
            "evidence": {
                "lines": k.lines,
                "of_lines": len(lines),
                "shows": sorted(k.shows),
                "examples": k.examples,
            },
        }
        for k in top_keywords(lines, limit=LIMIT)
    ]


async def question_suggestions(session: AsyncSession, show_ids: list[int]) -> list[dict[str, Any]]:
    questions = await session.scalars(
        select(Question)
        .where(Question.show_id.in_(show_ids), Question.status != HIDDEN)
        .order_by(Question.votes.desc(), Question.id.desc())
        .limit(LIMIT * 3)
    )
    found: list[dict[str, Any]] = []
    for q in questions:
        if CONTACT.search(q.text) or any(f["title"] == q.text for f in found):
            continue
        evidence = {"votes": q.votes, "shows": [q.show_id], "answered": q.answered_at is not None}
        found.append(
            {
                "key": f"question:{q.id}",
                "kind": "question",
                "title": q.text,
                "score": q.votes,
                "evidence": evidence,
            }
        )
    return found[:LIMIT]


async def product_suggestions(
    session: AsyncSession, store: EventStore, *, tenant_id: int, since: datetime
) -> list[dict[str, Any]]:
    naive = since.replace(tzinfo=None)
    params = [tenant_id, naive, tenant_id, tenant_id, naive, LIMIT]
    rows = await store.run(lambda con: con.execute(_PRODUCTS, params).fetchall())
    ids = [int(r[0]) for r in rows]
    names = dict(
        (
            await session.execute(
                select(Product.id, Product.name).where(Product.id.in_(ids), Product.tenant_id == tenant_id)
            )
        ).all()
    )
    return [
        {
            "key": f"product:{product_id}",
            "kind": "product",
            "title": names[int(product_id)],
            "score": int(orders) * 10 + int(clicks),
            "evidence": {
                "product_id": int(product_id),
                "clicks": int(clicks),
                "clickers": int(clickers),
                "paid_orders": int(orders),
                "paid_cents": int(cents),
                "shows": sorted(int(s) for s in shows if s is not None),
            },
        }
        for product_id, clicks, clickers, orders, cents, shows in rows
        if int(product_id) in names  # the tenant's own catalogue only
    ]


async def do_refresh(session: AsyncSession, store: EventStore, *, tenant_id: int) -> list[Suggestion]:
    """Compute the tenant's suggestions now and replace the stored ones (ids kept by key)."""
    now = utcnow()
    await store.sync()
    shows = await recent_shows(session, tenant_id=tenant_id, now=now)
    ids = list(shows)
    found = [
        *await keyword_suggestions(session, ids),
        *await question_suggestions(session, ids),
        *await product_suggestions(
            session, store, tenant_id=tenant_id, since=now - timedelta(days=RECENT_DAYS)
        ),
    ]
    for item in found:
        item["evidence"]["show_titles"] = {str(s): shows[s] for s in item["evidence"]["shows"] if s in shows}
    await one_sqlite_writer(session)
    await session.execute(
        delete(Suggestion).where(
            Suggestion.tenant_id == tenant_id, Suggestion.key.not_in([f["key"] for f in found])
        )
    )
    for item in found:
        insert = dialect_insert(session, Suggestion).values(tenant_id=tenant_id, computed_at=now, **item)
        changed = {k: insert.excluded[k] for k in ("kind", "title", "score", "evidence", "computed_at")}
        await session.execute(insert.on_conflict_do_update(index_elements=["tenant_id", "key"], set_=changed))
    return await stored(session, tenant_id=tenant_id)


async def stored(session: AsyncSession, *, tenant_id: int) -> list[Suggestion]:
    rows = await session.scalars(
        select(Suggestion)
        .where(Suggestion.tenant_id == tenant_id)
        .order_by(Suggestion.kind, Suggestion.score.desc(), Suggestion.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def adopted(session: AsyncSession, *, tenant_id: int) -> dict[str, int]:
    """Suggestion key -> the topic adopted from it."""
    rows = await session.execute(
        select(Topic.suggestion_key, Topic.id).where(
            Topic.tenant_id == tenant_id, Topic.suggestion_key.is_not(None)
        )
    )
    return {str(key): int(topic_id) for key, topic_id in rows.all()}


async def schedule_next(session: AsyncSession, *, tenant_id: int, after: datetime) -> None:
    """The hourly run at the top of the next hour (one job per tenant and hour)."""
    run_at = after.replace(minute=0, second=0, microsecond=0) + RUN_EVERY
    key = f"{RUN_JOB}:{tenant_id}:{run_at:%Y%m%d%H}"
    await jobs.schedule(
        session, RUN_JOB, key=key, run_at=run_at, payload={"tenant_id": tenant_id, "chain": True}
    )


async def schedule_after_show(session: AsyncSession, *, tenant_id: int, show_id: int, at: datetime) -> None:
    """A run soon after a show ends (its chat, questions and orders are in)."""
    key = f"{RUN_JOB}:{tenant_id}:show:{show_id}"
    await jobs.schedule(
        session, RUN_JOB, key=key, run_at=at, payload={"tenant_id": tenant_id, "chain": False}
    )


async def view(session: AsyncSession, rows: list[Suggestion], *, tenant_id: int) -> SuggestionsOut:
    topics = await adopted(session, tenant_id=tenant_id)
    out = [
        SuggestionOut(
            id=s.id,
            key=s.key,
            kind=s.kind,
            title=s.title,
            scenario=SCENARIO_OF_KIND.get(s.kind, "brand"),
            score=s.score,
            evidence=s.evidence,
            computed_at=s.computed_at,
            topic_id=topics.get(s.key),
        )
        for s in rows
    ]
    return SuggestionsOut(computed_at=max((s.computed_at for s in rows), default=None), suggestions=out)
