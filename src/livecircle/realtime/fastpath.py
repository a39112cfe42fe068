"""Write a room's frame to every socket without per-connection encoding.

The hub encodes one tick's events once as JSON and once as a WebSocket text
frame (server frames are unmasked, so the bytes are the same for every
client), then hands those bytes to each connection's transport. Going
through ASGI instead would re-frame and re-encode the text for each
connection and cost a task switch per socket.

This needs the server's transport: ``RawSendMiddleware`` (outermost ASGI
layer) records uvicorn's own ``send`` in the scope, and ``transport_of``
finds the transport behind it. When it cannot (another server, a test
double), connections fall back to the ordinary ASGI path.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send

RAW_SEND = "livecircle.raw_send"


class RawSendMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


class RawSocket:
    """The transport of one accepted WebSocket, and whether it may still be written to."""

    def __init__(self, transport: asyncio.Transport, protocol: Any) -> None:
        self.transport = transport
        self.protocol = protocol

    @property
    def writable(self) -> bool:
        return not self.transport.is_closing() and not getattr(self.protocol, "close_sent", False)

    def buffered(self) -> int:
        return self.transport.get_write_buffer_size()

    def write(self, frame: bytes) -> None:
        self.transport.write(frame)


def transport_of(scope: Scope) -> RawSocket | None:
    """uvicorn's sans-I/O WebSocket protocol behind the scope's raw ``send``, if that is what serves it."""
    send = scope.get(RAW_SEND)
    protocol = getattr(send, "__self__", None)
    transport = getattr(protocol, "transport", None)
    if type(protocol).__name__ != "WebSocketsSansIOProtocol":
        return None
    # Duck-typed: uvloop's transports (what `livecircle serve` runs on) do not subclass asyncio's.
    if not all(hasattr(transport, name) for name in ("write", "is_closing", "get_write_buffer_size")):
        return None
    return RawSocket(cast(asyncio.Transport, transport), protocol)


def text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload
