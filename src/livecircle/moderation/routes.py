"""Moderation JSON API owned by this package: the tenant's word list (operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from livecircle.identity.deps import CurrentUser
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import Forbidden
from livecircle.moderation import service
from livecircle.moderation.schemas import WordIn, WordOut

router = APIRouter(prefix="/api/v1/moderation", tags=["moderation"])


def _operator_tenant(principal: Principal) -> tuple[int, int]:
    if principal.tenant_id is None or not principal.has_role(principal.tenant_id, Role.OPERATOR):
        raise Forbidden("Only operators manage the word list")
    assert principal.user_id is not None
    return principal.tenant_id, principal.user_id


@router.get("/words")
async def list_words(session: DbSession, principal: CurrentUser) -> list[WordOut]:
    """The tenant's own entries (the shipped default list applies as well)."""
    tenant_id, _ = _operator_tenant(principal)
    return [WordOut.model_validate(w) for w in await service.list_words(session, tenant_id=tenant_id)]


@router.post("/words", status_code=status.HTTP_201_CREATED)
async def add_words(entries: list[WordIn], session: DbSession, principal: CurrentUser) -> list[WordOut]:
    """Add or update entries; the filter reloads at once on this node, within seconds on the others."""
    tenant_id, actor_id = _operator_tenant(principal)
    saved = await service.do_add_words(session, tenant_id=tenant_id, actor_id=actor_id, entries=entries)
    return [WordOut.model_validate(w) for w in saved]


@router.delete("/words/{word_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_word(
    word_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: DbSession, principal: CurrentUser
) -> None:
    tenant_id, actor_id = _operator_tenant(principal)
    await service.do_remove_word(session, tenant_id=tenant_id, actor_id=actor_id, word_id=word_id)
