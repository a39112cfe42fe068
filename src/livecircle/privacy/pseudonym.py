"""Keyed pseudonyms: the same subject always gets the same pseudonym, nobody can go back.

A subject (``"user:42"``) is hashed with a key derived from the server's secret (HMAC-SHA256);
the digest gets a row here, and the pseudonym is minus that row's id: a negative integer that
fits every integer user-id column, never collides with a real id (those are positive) and
never with another subject's (the digest is unique). Without the key, the table names
nobody; with it, only someone who already holds an id can find its pseudonym (which is what
erasure needs to find a user's pseudonymised rows).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime, dialect_insert
from livecircle.privacy.datamap import not_personal

CHUNK = 500


class Pseudonym(Base):
    __tablename__ = "privacy_pseudonym"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        info=not_personal("a keyed hash of an account id: names nobody without the server's key"),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def pseudonym_key(secret: str) -> bytes:
    return hashlib.sha256(f"livecircle.pseudonym:{secret}".encode()).digest()


def digest(key: bytes, subject: str) -> str:
    return hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()


def opaque(key: bytes, subject: str) -> str:
    """A text pseudonym (for text columns such as anonymous ids): ``p:`` + 32 hex digits."""
    return "p:" + digest(key, subject)[:32]


async def pseudonyms(session: AsyncSession, key: bytes, user_ids: Iterable[int]) -> dict[int, int]:
    """Each account id's integer pseudonym (made on first use)."""
    wanted = {int(u): digest(key, f"user:{int(u)}") for u in user_ids}
    digests = sorted(set(wanted.values()))
    now = utcnow()
    found: dict[str, int] = {}
    for start in range(0, len(digests), CHUNK):
        chunk = digests[start : start + CHUNK]
        await session.execute(
            dialect_insert(session, Pseudonym)
            .values([{"digest": d, "created_at": now} for d in chunk])
            .on_conflict_do_nothing(index_elements=["digest"])
        )
        rows = await session.execute(
            select(Pseudonym.digest, Pseudonym.id).where(Pseudonym.digest.in_(chunk))
        )
        found.update({d: int(i) for d, i in rows.all()})
    return {user_id: -found[d] for user_id, d in wanted.items()}
