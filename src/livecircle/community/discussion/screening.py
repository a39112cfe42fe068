"""Running members' text through the tenant's word filter (the one chat and Q&A use):
*block* refuses it (logged), *mask* stores it starred, *review* stores it held for an admin
(logged, with the words that held it). A held text keeps its words for the admin who reviews
it, as a held chat line or question does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.community.discussion.errors import DiscussionTextInvalid
from livecircle.kit.db import Database
from livecircle.moderation import service as moderation_service
from livecircle.moderation.errors import MessageBlocked
from livecircle.moderation.filters import FilterRegistry
from livecircle.moderation.wordfilter import Action

FLAGGED_MAX = 200


@dataclass(frozen=True, slots=True)
class Screen:
    """The filters in use on this node, and the database to log a refusal in (the request's
    own transaction rolls back with the refusal)."""

    db: Database
    filters: FilterRegistry


@dataclass(frozen=True, slots=True)
class Screened:
    texts: tuple[str, ...]  # what to store, in the order given
    held: bool
    flagged: str  # the review words that held it, comma-separated


@dataclass(frozen=True, slots=True)
class Author:
    tenant_id: int
    community_id: int
    user_id: int


def clean(text: str, *, max_length: int, one_line: bool = False, required: bool = True) -> str:
    """Trimmed text (a title on one line); raises DiscussionTextInvalid when empty or too long."""
    text = " ".join(text.split()) if one_line else text.strip()
    if (required and not text) or len(text) > max_length:
        raise DiscussionTextInvalid(max_length=max_length)
    return text


async def check_texts(screen: Screen, author: Author, kind: str, texts: Sequence[str]) -> Screened:
    """Check ``texts`` (e.g. a title and a body) as one: the strongest verdict decides.

    Raises MessageBlocked (code ``blocked``)."""
    word_filter = await screen.filters.get(author.tenant_id)
    verdicts = [word_filter.check(text) for text in texts]
    if any(v.action is Action.BLOCK for v in verdicts):
        words = list(dict.fromkeys(w for v in verdicts for w in v.words))
        await _log_blocked(screen.db, author, kind, " / ".join(texts), words)
        raise MessageBlocked("The text breaks the community rules")
    review = [h.word for v in verdicts for h in v.hits if h.action is Action.REVIEW]
    held = bool(review)
    stored = tuple(text if held else v.text for text, v in zip(texts, verdicts, strict=True))
    return Screened(stored, held, ",".join(dict.fromkeys(review))[:FLAGGED_MAX])


def log_held(session: AsyncSession, author: Author, kind: str, target_id: int, flagged: str) -> None:
    moderation_service.log_action(
        session,
        tenant_id=author.tenant_id,
        room_id=None,
        actor_id=None,
        action="auto_hold",
        target_user_id=author.user_id,
        community_id=author.community_id,
        kind=kind,
        target_id=target_id,
        words=flagged.split(","),
    )


async def _log_blocked(db: Database, author: Author, kind: str, text: str, words: list[str]) -> None:
    async with db.unit_of_work() as session:
        moderation_service.log_action(
            session,
            tenant_id=author.tenant_id,
            room_id=None,
            actor_id=None,
            action="auto_block",
            target_user_id=author.user_id,
            community_id=author.community_id,
            kind=kind,
            words=words,
            text=text[:1000],
        )
