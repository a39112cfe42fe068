"""Dependencies of the discussion routes: the word filter in use on this node."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Path, Query
from starlette.requests import HTTPConnection

from livecircle.community.discussion.screening import Screen
from livecircle.kit.deps import get_database
from livecircle.moderation.filters import FilterRegistry

ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Cursor = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=100)]


async def get_screen(conn: HTTPConnection) -> Screen:
    """The node's word-filter registry (``app.state.filters``, the chat engine's): one cache per
    node, and the word-list changes it listens to apply to posts at once."""
    filters = cast(FilterRegistry, conn.app.state.filters)
    return Screen(get_database(conn), filters)


TextScreen = Annotated[Screen, Depends(get_screen)]
