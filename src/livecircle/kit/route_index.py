"""Which route serves a path, remembered: FastAPI finds it by trying every route in order.

With ~190 routes, a call to ``POST /api/v1/orders`` ran ~190 path regexes and their scope
bookkeeping before its handler started: a fifth of the node's CPU in a flash-sale rush
(profiled). The first request for a (type, method, root path, path) still goes through that
search; which top-level route answered it FULL is then kept, and the next request for the same
key asks that route alone. Matching is a pure function of that key, and the first route to match
FULL wins, so the answer is the same. Anything that is not a FULL match (405, redirect, 404,
the low-priority routes) goes to the router as before.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.telemetry._api import _route_selected
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Receive, Scope, Send

# Paths with ids in them (``/api/v1/orders/17``) are distinct keys: the memory is emptied when
# it holds this many, so a crawler of ids cannot grow it without bound.
MOST_KEYS = 4096
Key = tuple[str, str | None, str, str]


class RouteIndex:
    """The router's innermost ASGI app (``install``), in place of its own route search."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.search = router.app
        self.found: dict[Key, tuple[int, BaseRoute]] = {}

    @classmethod
    def install(cls, router: APIRouter) -> RouteIndex:
        if router.middleware_stack != router.app:
            raise RuntimeError("the router has its own middleware: the route index would skip it")
        index = cls(router)
        router.middleware_stack = index
        return index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.search(scope, receive, send)
            return
        key: Key = (scope["type"], scope.get("method"), scope.get("root_path", ""), scope["path"])
        known = self.found.get(key)
        routes = self.router.routes
        if known is not None and (known[0] >= len(routes) or routes[known[0]] is not known[1]):
            known = None  # the routes changed since
        position = known[0] if known is not None else self._first_full(scope, routes)
        if position is None:
            await self.search(scope, receive, send)
            return
        route = routes[position]
        match, child_scope = route.matches(scope)
        if match != Match.FULL:  # cannot happen for a pure match; the router decides
            self.found.pop(key, None)
            await self.search(scope, receive, send)
            return
        if known is None:
            if len(self.found) >= MOST_KEYS:
                self.found.clear()
            self.found[key] = (position, route)
        scope.setdefault("router", self.router)
        scope.update(child_scope)
        _route_selected(scope=scope, path=getattr(route, "path_format", None), mount=isinstance(route, Mount))
        await route.handle(scope, receive, send)

    @staticmethod
    def _first_full(scope: Scope, routes: list[BaseRoute]) -> int | None:
        for position, route in enumerate(routes):
            if route.matches(scope)[0] == Match.FULL:
                return position
        return None
