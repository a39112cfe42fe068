"""Keep secrets out of the server's own log lines (ASVS v5.0.0-14.2.1; V16 logging).

Our URLs carry no session id, API token or stream key (the room socket takes a ticket in a
header, the RTMP hook gets its key in the POST body). Two things can still put a secret in a
logged URL, and uvicorn logs every request's path and query:

- a client that appends one anyway (an old client's ``?token=``);
- capability links that must be URLs: a signed unsubscribe, export download or guardian link.

This filter rewrites such values to ``[redacted]`` in uvicorn's access and WebSocket lines before
any handler sees them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

SECRET_PARAMS = (
    "token",
    "access_token",
    "ticket",
    "key",
    "stream_key",
    "password",
    "secret",
    "sig",
    "signature",
)
REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")


class RedactSecrets(logging.Filter):
    def __init__(self, capability_prefixes: Iterable[str] = ()) -> None:
        super().__init__()
        names = "|".join(re.escape(n) for n in SECRET_PARAMS)
        self.query = re.compile(rf"([?&](?:{names})=)[^&#\s\"]*", re.IGNORECASE)
        prefixes = "|".join(re.escape(p.rstrip("/")) for p in capability_prefixes)
        self.path = re.compile(rf"((?:{prefixes})/)[^/?#\s\"]+") if prefixes else None

    def redact(self, text: str) -> str:
        text = self.query.sub(rf"\g<1>{REDACTED}", text)
        return self.path.sub(rf"\g<1>{REDACTED}", text) if self.path else text

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        return True


def install(capability_prefixes: Iterable[str] = ()) -> None:
    """Attach the filter to uvicorn's loggers (once: a second call replaces the first)."""
    redactor = RedactSecrets(capability_prefixes)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, RedactSecrets)]:
            logger.removeFilter(old)
        logger.addFilter(redactor)
