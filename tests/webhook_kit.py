"""A real HTTP webhook receiver (Starlette on uvicorn, loopback, in the test's event loop)
that checks every delivery's signature with ``kit.webhooks.verify``, as a brand's receiver
would, and answers 401 when it does not hold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from livecircle.kit import webhooks
from tests import services


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def event(self) -> dict[str, object]:
        data: dict[str, object] = orjson.loads(self.body)
        return data


@dataclass
class Receiver:
    url: str = ""
    secret: str = ""
    fail_first: int = 0  # answer 500 to this many (verified) deliveries first
    deliveries: list[Delivery] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = webhooks.verify(
            self.secret,
            headers.get(webhooks.TIMESTAMP_HEADER.lower(), ""),
            body,
            headers.get(webhooks.SIGNATURE_HEADER.lower(), ""),
        )
        status = 401 if not verified else 500 if self.fail_first > 0 else 204
        if verified and self.fail_first > 0:
            self.fail_first -= 1
        self.deliveries.append(Delivery(headers, body, verified, status))
        return Response(status_code=status)

    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.answered == 204]

    async def wait_for(self, match: Callable[[Receiver], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not match(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"no such delivery within {timeout}s; got {self.deliveries}")
            await asyncio.sleep(0.02)


@asynccontextmanager
async def webhook_receiver(path: str = "/hook") -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route(path, receiver.receive, methods=["POST"])])
    port = services.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    receiver.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
