"""A thousand HTTP requests at once, each on its own connection.

httpx keeps requests beyond its pool in a queue that it scans on every
change, so a thousand queued requests spend the event loop (shared with the
server under test) in the client. Here each request opens a connection, sends
``Connection: close`` and reads to the end: the server sees them all at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    headers: Mapping[str, str]
    json: Any = None


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


async def request(base_url: str, call: Call, *, timeout: float = 120) -> Reply:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    body = b"" if call.json is None else orjson.dumps(call.json)
    head = [f"{call.method} {call.path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in call.headers.items()]
    if call.json is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            raw = await reader.read()
        finally:
            writer.close()
    return _whole(_parse(raw))


def _parse(raw: bytes) -> Reply:
    top, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        content = _unchunk(content)
    return Reply(status_code=int(status_line.split()[1]), headers=headers, content=content)


def _whole(reply: Reply) -> Reply:
    """A reply cut short (the server died between its head and its body) acknowledges nothing."""
    length = reply.headers.get("content-length")
    if length is not None and len(reply.content) != int(length):
        raise ConnectionResetError(f"reply cut short: {len(reply.content)} of {length} bytes")
    return reply


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


async def burst(base_url: str, calls: Sequence[Call]) -> list[Reply]:
    """Send every call at once; replies in the order of ``calls``."""
    return list(await asyncio.gather(*(request(base_url, call) for call in calls)))


class KeepAlive:
    """One HTTP/1.1 connection reused for request after request, as a browser or a load tester
    does. httpx spends about 10 ms of CPU per request with 64 connections busy (measured
    beside a flash-sale rush): a client that slow measures itself, not the server."""

    def __init__(self, base_url: str, *, timeout: float = 60) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self, call: Call) -> Reply:
        body = b"" if call.json is None else orjson.dumps(call.json)
        head = [f"{call.method} {call.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in call.headers.items()]
        head += [f"Content-Length: {len(body)}"]
        if call.json is not None:
            head += ["Content-Type: application/json"]
        message = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        async with asyncio.timeout(self.timeout):
            reused = self._writer is not None and not self._writer.is_closing()
            try:
                reply = await self._exchange(message)
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closed an idle kept-alive connection just before we sent on it
                # (uvicorn does after 5 s): nothing was answered, so send again on a new one.
                await self.close()
                if not reused:
                    raise
                reply = await self._exchange(message)
        if reply.headers.get("connection", "").lower() == "close":
            await self.close()
        return reply

    async def _exchange(self, message: bytes) -> Reply:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(message)
        top = await self._reader.readuntil(b"\r\n\r\n")
        reply = _parse(top)
        length = int(reply.headers.get("content-length", "0"))
        content = await self._reader.readexactly(length) if length else b""
        return Reply(reply.status_code, reply.headers, content)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
