"""The route index answers as FastAPI's own search would, and asks only the remembered route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from livecircle.kit import route_index
from livecircle.kit.route_index import RouteIndex


def make_app() -> tuple[FastAPI, RouteIndex]:
    app = FastAPI()
    first, second, third = APIRouter(prefix="/api"), APIRouter(prefix="/api"), APIRouter()

    @first.get("/items/me")
    async def me() -> dict[str, str]:
        return {"by": "me"}

    @second.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        return {"by": "item", "id": item_id}

    @second.post("/orders")
    async def order() -> dict[str, str]:
        return {"by": "order"}

    @third.get("/pages/")
    async def pages() -> dict[str, str]:
        return {"by": "pages"}

    for router in (first, second, third):
        app.include_router(router)
    return app, RouteIndex.install(app.router)


def count_matches(route: BaseRoute) -> list[int]:
    calls = [0]
    real = route.matches

    def counted(scope: Any) -> Any:
        calls[0] += 1
        return real(scope)

    route.matches = counted  # type: ignore[method-assign]
    return calls


@pytest.fixture
async def served() -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI, RouteIndex]]:
    app, index = make_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, app, index


async def test_the_second_request_asks_only_the_route_that_answered_the_first(
    served: tuple[httpx.AsyncClient, FastAPI, RouteIndex],
) -> None:
    client, app, _ = served
    before = count_matches(app.router.routes[0])
    assert (await client.post("/api/orders")).json() == {"by": "order"}
    assert before[0] == 1
    for _ in range(3):
        assert (await client.post("/api/orders")).json() == {"by": "order"}
    assert before[0] == 1


async def test_the_first_declared_route_still_wins(
    served: tuple[httpx.AsyncClient, FastAPI, RouteIndex],
) -> None:
    client, _, _ = served
    for _ in range(2):
        assert (await client.get("/api/items/me")).json() == {"by": "me"}
        assert (await client.get("/api/items/7")).json() == {"by": "item", "id": 7}


async def test_what_is_not_a_full_match_is_answered_by_the_router(
    served: tuple[httpx.AsyncClient, FastAPI, RouteIndex],
) -> None:
    client, _, index = served
    for _ in range(2):
        assert (await client.get("/api/orders")).status_code == 405
        assert (await client.get("/nowhere")).status_code == 404
        moved = await client.get("/pages", follow_redirects=False)
        assert moved.status_code == 307
        assert moved.headers["location"].endswith("/pages/")
        assert (await client.get("/api/items/x")).status_code == 422  # FastAPI validates, as before
    assert ("http", "GET", "", "/api/orders") not in index.found
    assert ("http", "GET", "", "/nowhere") not in index.found


async def test_the_memory_is_emptied_when_full(
    served: tuple[httpx.AsyncClient, FastAPI, RouteIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, index = served
    monkeypatch.setattr(route_index, "MOST_KEYS", 5)
    for item_id in range(12):
        assert (await client.get(f"/api/items/{item_id}")).json()["id"] == item_id
        assert len(index.found) <= 5


async def test_a_route_inserted_before_the_remembered_one_is_seen(
    served: tuple[httpx.AsyncClient, FastAPI, RouteIndex],
) -> None:
    client, app, _ = served
    assert (await client.get("/api/items/5")).json()["by"] == "item"
    late = APIRouter(prefix="/api")

    @late.get("/items/5")
    async def five() -> dict[str, str]:
        return {"by": "late"}

    app.include_router(late)
    app.router.routes.insert(0, app.router.routes.pop())
    assert (await client.get("/api/items/5")).json() == {"by": "late"}


def test_a_router_with_its_own_middleware_is_refused() -> None:
    router = APIRouter()
    router.middleware_stack = lambda *args: None  # type: ignore[assignment,misc]
    with pytest.raises(RuntimeError):
        RouteIndex.install(router)
