"""A real SMTP server (aiosmtpd) on loopback inside the test's event loop; every message it
accepts is kept with its envelope and parsed with the standard library's e-mail parser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

from aiosmtpd.smtp import SMTP, Envelope, Session

LOOPBACK = "127.0.0.1"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Mailbox:
    host: str = LOOPBACK
    port: int = 0
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or cast(bytes, envelope.content)
        message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(raw))
        self.received.append(
            Received(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], message, raw)
        )
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]

    async def wait_for(self, match: Callable[[Mailbox], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not match(self):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no such mail within {timeout}s; got {[r.rcpt_tos for r in self.received]}"
                )
            await asyncio.sleep(0.02)


@asynccontextmanager
async def smtp_server() -> AsyncIterator[Mailbox]:
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(mailbox, hostname="localhost", enable_SMTPUTF8=True, loop=loop)

    server = await loop.create_server(protocol, LOOPBACK, 0)
    mailbox.port = server.sockets[0].getsockname()[1]
    try:
        yield mailbox
    finally:
        server.close()
        await server.wait_closed()
