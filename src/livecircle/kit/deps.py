"""Request-scoped dependencies every domain shares: the unit of work and settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from livecircle.config import Settings
from livecircle.kit.db import Database


def get_database(conn: HTTPConnection) -> Database:
    return cast(Database, conn.app.state.db)


def get_app_settings(conn: HTTPConnection) -> Settings:
    return cast(Settings, conn.app.state.settings)


# Dependencies are coroutines: FastAPI runs a plain function dependency in its thread pool,
# a hop that cost more than the dependency itself on every request (profiled).
async def app_settings(conn: HTTPConnection) -> Settings:
    return get_app_settings(conn)


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit on success, roll back on error."""
    async with get_database(request).unit_of_work() as session:
        yield session


# scope="function": commit before the response is sent, so a client that got
# 2xx can rely on the write being durable.
DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
AppSettings = Annotated[Settings, Depends(app_settings)]
