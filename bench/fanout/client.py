"""The load client: N WebSocket connections on bare asyncio Protocols, one clock for all.

Hand-rolled rather than the ``websockets`` client: at 5,000 viewers x 200 lines/s this
process must take in 1M lines/s (100k frames/s) on one core. ``websockets`` builds a
Frame object, decodes UTF-8 and passes through a queue and a task per message; here a
frame costs a header read and one ``bytes.count`` over the payload, nothing is decoded.
Every connection counts the chat lines it gets (for loss); every k-th connection also
reads each line's sequence number and send time (for latency and duplicates).

A chat line's text is ``~bm|<seq>|<time.time_ns() at send>|...``: both processes read
the same clock on this one machine.
"""

from __future__ import annotations

import asyncio
import re
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from bench.fanout.wire import (
    EIO_OPEN,
    EIO_PING,
    EIO_PONG,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    SIO_CONNECT,
    Dialect,
    client_frame,
    frame_header,
    upgrade_request,
)

MARKER = b"~bm|"
HELLO = b'"hello"'
ERROR = b'"error'  # livecircle's {"type":"error"...}; the socket.io peer's "error_event"
LINE = re.compile(rb"~bm\|(\d+)\|(\d+)\|")
MAX_BACKOFF = 10.0  # seconds between retries of a refused join, as the bundled room.js


@dataclass(slots=True)
class Tally:
    """Counters shared by every connection of one run (one event loop, so no locks)."""

    delivered: int = 0
    frames: int = 0
    ready: int = 0
    retries: int = 0
    closed_by_server: int = 0
    errors: int = 0
    dups: int = 0
    close_codes: dict[int, int] = field(default_factory=dict)
    latencies_ms: array[float] = field(default_factory=lambda: array("d"))


class Conn(asyncio.Protocol):
    """One viewer (and maybe sender). Counts MARKERs per text frame; parses lines only if sampled."""

    def __init__(
        self, tally: Tally, dialect: Dialect, request: bytes, *, index: int, sender: bool, sampled: bool
    ) -> None:
        self.tally = tally
        self.index = index
        self.dialect = dialect
        self.request = request
        self.sender = sender
        self.sampled = sampled
        self.attempt = 0
        self.transport: asyncio.Transport | None = None
        self.upgraded = False
        self.ready = False
        self.settled: Callable[[Conn], None] = _nothing
        self.closing = False
        self.received = 0
        self.rest = bytearray()
        self.seen = bytearray()  # by sequence number, sampled connections only

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.ready:
            self.settled(self)  # a failed join; the Load retries it
        elif not self.closing:
            self.tally.closed_by_server += 1

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:
            self._handshake(data)
            return
        rest = self.rest
        if rest:
            rest += data
            del rest[: self._frames(rest)]
            return
        used = self._frames(data)
        if used < len(data):
            rest += data[used:]

    def _handshake(self, data: bytes) -> None:
        self.rest += data
        end = self.rest.find(b"\r\n\r\n")
        if end < 0:
            return
        if not self.rest.startswith(b"HTTP/1.1 101"):
            self.abort()
            return
        self.upgraded = True
        del self.rest[: end + 4]
        if self.rest:
            data, self.rest = bytes(self.rest), bytearray()
            self.data_received(data)

    def _frames(self, data: bytes | bytearray) -> int:
        pos = 0
        while (head := frame_header(data, pos)) is not None:
            opcode, start, end = head
            if opcode <= OP_TEXT:
                self._text(data, start, end)
            else:
                self._control(opcode, bytes(data[start:end]))
            pos = end
        return pos

    def _text(self, data: bytes | bytearray, start: int, end: int) -> None:
        tally = self.tally
        tally.frames += 1
        lines = data.count(MARKER, start, end)
        if lines:
            self.received += lines
            tally.delivered += lines
            if self.sampled:
                self._sample(data, start, end)
        else:
            self._other(bytes(data[start:end]))

    def _sample(self, data: bytes | bytearray, start: int, end: int) -> None:
        now = time.time_ns()
        latencies, seen = self.tally.latencies_ms, self.seen
        for match in LINE.finditer(data, start, end):
            latencies.append((now - int(match[2])) / 1e6)
            seq = int(match[1])
            if seq < len(seen):
                if seen[seq]:
                    self.tally.dups += 1
                seen[seq] = 1

    def _other(self, payload: bytes) -> None:
        """Frames without chat lines: handshakes, hello, heartbeats, errors, presence."""
        socketio = self.dialect.socketio
        if socketio and payload == EIO_PING:
            self.write(EIO_PONG)
        elif not self.ready:
            if socketio and payload[:1] == bytes((EIO_OPEN,)) and payload[1:2] == b"{":
                self.write(SIO_CONNECT)
            elif HELLO in payload:
                self.ready = True
                self.tally.ready += 1
                self.settled(self)
        elif self.sender and ERROR in payload:
            self.tally.errors += 1

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            self.write(payload, OP_PONG)
        elif opcode == OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.tally.close_codes[code] = self.tally.close_codes.get(code, 0) + 1
            self.write(payload[:2], OP_CLOSE)
            if self.transport is not None:
                self.transport.close()

    def write(self, payload: bytes, opcode: int = OP_TEXT) -> bool:
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(client_frame(payload, opcode))
        return True

    def send_chat(self, seq: int) -> bool:
        text = b"~bm|%d|%d|fan-out bench line" % (seq, time.time_ns())
        return self.write(self.dialect.chat(text))

    def abort(self) -> None:
        """Close with a reset (SO_LINGER 0): no TIME_WAIT left to crowd the next system's ports."""
        self.closing = True
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            import socket
            import struct

            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


def _nothing(_conn: Conn) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Plan:
    host: str
    port: int
    room_id: int
    dialect: Dialect
    viewers: int
    tokens: Sequence[str | None]  # one per sender; the senders are the first viewers
    sample_every: int
    ramp_rate: float
    ramp_inflight: int
    ramp_timeout: float


@dataclass(frozen=True, slots=True)
class Window:
    """What happened between the first send and ``seconds`` later."""

    sent: int
    unsent: int
    seconds: float
    delivered: int
    frames: int


class RampFailed(RuntimeError):
    pass


class Load:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.tally = Tally()
        self.conns: list[Conn] = []

    @property
    def senders(self) -> list[Conn]:
        return self.conns[: len(self.plan.tokens)]

    async def connect(self) -> float:
        """Open every connection at ``ramp_rate``/s, at most ``ramp_inflight`` awaiting their
        hello; a refused join is retried with back-off, as a browser would. Returns the
        seconds until all have their hello. Raises RampFailed, also after ``ramp_timeout``."""
        try:
            return await asyncio.wait_for(self._connect(), timeout=self.plan.ramp_timeout)
        except TimeoutError:
            tally = self.tally
            raise RampFailed(
                f"ramp incomplete after {self.plan.ramp_timeout:g} s: {tally.ready} of {self.plan.viewers} "
                f"had their hello ({tally.retries} joins retried)"
            ) from None

    async def _connect(self) -> float:
        plan, loop = self.plan, asyncio.get_running_loop()
        slots = asyncio.Semaphore(plan.ramp_inflight)
        done: asyncio.Future[None] = loop.create_future()
        started = loop.time()

        def settled(conn: Conn) -> None:
            if not conn.ready:  # refused or failed: retry until the ramp times out
                self.tally.retries += 1
                loop.call_later(min(MAX_BACKOFF, 0.5 * 2**conn.attempt), self._retry, conn, settled)
                return  # keeps its slot while it waits
            slots.release()
            if self.tally.ready == plan.viewers and not done.done():
                done.set_result(None)

        for index in range(plan.viewers):
            await slots.acquire()
            if (delay := started + index / plan.ramp_rate - loop.time()) > 0:
                await asyncio.sleep(delay)
            conn = self._conn(index)
            conn.settled = settled
            self.conns.append(conn)
            loop.create_task(self._open(conn))
        await done
        return loop.time() - started

    def _retry(self, old: Conn, settled: Callable[[Conn], None]) -> None:
        conn = self._conn(old.index)
        conn.attempt, conn.settled = old.attempt + 1, settled
        self.conns[old.index] = conn
        asyncio.get_running_loop().create_task(self._open(conn))

    def _conn(self, index: int) -> Conn:
        plan = self.plan
        token = plan.tokens[index] if index < len(plan.tokens) else None
        request = upgrade_request(plan.host, plan.port, plan.dialect.path(plan.room_id), token)
        return Conn(
            self.tally,
            plan.dialect,
            request,
            index=index,
            sender=index < len(plan.tokens),
            sampled=index % plan.sample_every == 0,
        )

    async def _open(self, conn: Conn) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: conn, self.plan.host, self.plan.port)
        except OSError:
            conn.connection_lost(None)

    async def send(self, *, rate: float, seconds: float) -> Window:
        """Open loop: line ``seq`` leaves at ``seq / rate`` s, from sender ``seq % senders``."""
        loop, tally, senders = asyncio.get_running_loop(), self.tally, self.senders
        total = round(rate * seconds)
        for conn in self.conns:
            if conn.sampled:
                conn.seen = bytearray(total)
        delivered, frames = tally.delivered, tally.frames
        started, seq, sent = loop.time(), 0, 0
        while seq < total:
            due = min(total, int((loop.time() - started) * rate) + 1)
            while seq < due:
                sent += senders[seq % len(senders)].send_chat(seq)
                seq += 1
            await asyncio.sleep(0.002)
        if (left := started + seconds - loop.time()) > 0:
            await asyncio.sleep(left)
        return Window(
            sent=sent,
            unsent=total - sent,
            seconds=loop.time() - started,
            delivered=tally.delivered - delivered,
            frames=tally.frames - frames,
        )

    def lost(self, expected: int) -> int:
        """Lines some viewer never got, summed over viewers (``expected`` = lines sent)."""
        return sum(max(0, expected - conn.received) for conn in self.conns)

    def abort(self) -> None:
        for conn in self.conns:
            conn.abort()
