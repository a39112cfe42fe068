"""The bytes on the wire: a minimal RFC 6455 client side and the two dialects spoken over it.

Only what the load client needs: the upgrade request, masked client frames, and the
server-frame header. A dialect adds the framing of one system: livecircle's protocol
(docs/realtime.md, also spoken by the Node ws peer) or socket.io 4 (Engine.IO v4 over
the WebSocket transport only).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def upgrade_request(host: str, port: int, path: str, token: str | None = None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""  # a header: no token in the URL
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"{auth}Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def client_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One final frame, masked as RFC 6455 requires of clients."""
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    key = os.urandom(4)
    repeated = (key * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")
    return header + key + masked


def frame_header(data: bytes | bytearray, pos: int) -> tuple[int, int, int] | None:
    """(opcode, payload start, payload end) of the unmasked server frame at ``pos``, or None if incomplete."""
    available = len(data) - pos
    if available < 2:
        return None
    length = data[pos + 1] & 0x7F
    start = pos + 2
    if length == 126:
        if available < 4:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        start = pos + 4
    elif length == 127:
        if available < 10:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 10], "big")
        start = pos + 10
    if start + length > len(data):
        return None
    return data[pos] & 0x0F, start, start + length


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one system frames the same job: where to connect, how a chat line is sent."""

    name: str
    socketio: bool

    def path(self, room_id: int) -> str:
        if self.socketio:
            return f"/socket.io/?EIO=4&transport=websocket&room={room_id}"
        return f"/ws/rooms/{room_id}"

    def chat(self, text: bytes) -> bytes:
        """``text`` must need no JSON escaping (the load client's lines are ASCII without quotes)."""
        if self.socketio:
            return b'42["chat",{"text":"' + text + b'"}]'
        return b'{"op":"chat","text":"' + text + b'"}'


LIVECIRCLE = Dialect("livecircle", socketio=False)
SOCKETIO = Dialect("socketio", socketio=True)

# Engine.IO v4 packets the client must answer: open ("0{...}") -> socket.io CONNECT ("40"),
# ping ("2") -> pong ("3").
EIO_OPEN = ord("0")
EIO_PING = b"2"
SIO_CONNECT = b"40"
EIO_PONG = b"3"
