"""WebSocket gateway: admission, hello snapshot, inbound ops, error frames.

The gateway knows no domain. ``admit`` (supplied by ``main``) decides who may
join which channel and what the hello snapshot holds; op handlers registered
by domains answer inbound messages. Protocol: docs/realtime.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from livecircle.kit.errors import AppError
from livecircle.realtime.hub import Connection, Hub, encode_frame, merge_missed

log = logging.getLogger(__name__)

MAX_INBOUND_BYTES = 8 * 1024
# Clients that carry a one-time ticket in ``Sec-WebSocket-Protocol`` offer this protocol too; a
# browser drops the socket unless the server picks one of those offered.
SUBPROTOCOL = "livecircle"


@dataclass(slots=True)
class Admission:
    channel: str
    identity: dict[str, Any] | None
    context: Any
    hello: dict[str, Any] = field(default_factory=dict)


Admit = Callable[[WebSocket, str], Awaitable[Admission]]
OpHandler = Callable[[Connection, dict[str, Any]], Awaitable[None]]
ConnectionHook = Callable[[Connection], None]


class BadFrame(AppError):
    code = "bad_frame"
    status_code = 400
    message = "Frames must be JSON objects with an 'op' field"


class UnknownOp(AppError):
    code = "unknown_op"
    status_code = 400
    message = "Unknown op"


def error_event(exc: AppError, ref: Any = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.detail, **exc.extra}
    if ref is not None:
        event["ref"] = ref
    return event


class Gateway:
    def __init__(self, hub: Hub, admit: Admit) -> None:
        self.hub = hub
        self.admit = admit
        self.ops: dict[str, OpHandler] = {"ping": self._pong}
        # Told of every admitted connection when it opens and when it closes (must not block).
        self.on_open: list[ConnectionHook] = []
        self.on_close: list[ConnectionHook] = []

    def register(self, op: str, handler: OpHandler) -> None:
        self.ops[op] = handler

    async def serve(self, ws: WebSocket, target: str) -> None:
        try:
            admission = await self.admit(ws, target)
        except AppError as exc:
            await ws.accept(subprotocol=_subprotocol(ws))
            await ws.send_text(orjson.dumps({"events": [error_event(exc)]}).decode())
            await ws.close(code=4000 + exc.status_code)
            return
        await ws.accept(subprotocol=_subprotocol(ws))
        conn = Connection(
            ws,
            channel=admission.channel,
            identity=admission.identity,
            context=admission.context,
            queue_limit=self.hub.queue_limit,
            max_buffer_bytes=self.hub.max_buffer_bytes,
        )
        writer = asyncio.create_task(conn.write_loop())
        self._tell(self.on_open, conn)
        try:
            await self._welcome(conn, admission, ws.query_params.get("last_event_id", "")[:64])
            await self._read_loop(conn)
        finally:
            self._tell(self.on_close, conn)
            self.hub.leave(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    @staticmethod
    def _tell(hooks: list[ConnectionHook], conn: Connection) -> None:
        for hook in hooks:
            try:
                hook(conn)
            except Exception:
                log.exception("connection hook %r failed", hook)

    async def _welcome(self, conn: Connection, admission: Admission, last_event_id: str) -> None:
        """Hello first. A reconnect (``last_event_id``) then gets exactly the events it missed,
        in the same frame; when the gap is too old, ``resumed`` is false and the hello's
        snapshot stands on its own."""
        hello: dict[str, Any] = {"type": "hello", **admission.hello, "resumed": False}
        if not last_event_id:
            conn.backlog = []  # events of the ticks while the broker is primed follow the hello
            self.hub.join(conn)
            try:
                await self.hub.broker.prime(conn.channel)
            finally:
                backlog, conn.backlog = conn.backlog or [], None
            conn.offer(encode_frame([hello, *backlog]))
            return
        conn.backlog = []  # hold tick frames until the history is in place
        self.hub.join(conn)
        await self.hub.broker.prime(conn.channel)
        try:
            missed = await self.hub.broker.history(conn.channel, last_event_id)
        finally:
            backlog, conn.backlog = conn.backlog or [], None
        hello["resumed"] = missed is not None
        if missed is not None:  # the history keeps events whole; the held backlog is wire-form
            missed = [(eid, self.hub.on_the_wire(event)) for eid, event in missed]
        conn.offer(encode_frame([hello, *merge_missed(missed, backlog, last_event_id)]))

    async def _read_loop(self, conn: Connection) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while not conn.dropped:
                text = await conn.ws.receive_text()
                await self._handle(conn, text)

    async def _handle(self, conn: Connection, text: str) -> None:
        ref = None
        try:
            message = _parse(text)
            ref = message.get("ref")
            handler = self.ops.get(str(message.get("op")))
            if handler is None:
                raise UnknownOp(f"Unknown op {message.get('op')!r}")
            await handler(conn, message)
        except AppError as exc:
            conn.send_event(error_event(exc, ref))
        except Exception:
            log.exception("socket op failed")
            conn.send_event(
                {"type": "error", "code": "internal_error", "message": "Something went wrong", "ref": ref}
            )

    @staticmethod
    async def _pong(conn: Connection, message: dict[str, Any]) -> None:
        conn.send_event({"type": "pong", "ref": message.get("ref")})


def _subprotocol(ws: WebSocket) -> str | None:
    return SUBPROTOCOL if SUBPROTOCOL in (ws.scope.get("subprotocols") or ()) else None


def _parse(text: str) -> dict[str, Any]:
    if len(text) > MAX_INBOUND_BYTES:
        raise BadFrame("Frame too large")
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadFrame() from exc
    if not isinstance(message, dict) or "op" not in message:
        raise BadFrame()
    return message
