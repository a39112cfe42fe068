"""Signed outgoing webhooks: the signature scheme, its verification, and which URLs may
receive them. Pure functions with no domain knowledge (notifications and alerts use them).

A delivery carries ``X-Livecircle-Timestamp`` (unix seconds) and
``X-Livecircle-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``. Binding
the timestamp into the MAC lets a receiver refuse replays older than its tolerance window.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from urllib.parse import urlsplit

EVENT_HEADER = "X-Livecircle-Event"
DELIVERY_HEADER = "X-Livecircle-Delivery"
TIMESTAMP_HEADER = "X-Livecircle-Timestamp"
SIGNATURE_HEADER = "X-Livecircle-Signature"
SCHEME = "sha256="
TOLERANCE_SECONDS = 300
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    return SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    *,
    tolerance_seconds: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``signature`` is ``secret``'s over ``body`` at ``timestamp`` and the timestamp
    is within ``tolerance_seconds`` of ``now`` (either side: clocks drift)."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - stamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


def signed_headers(
    secret: str, body: bytes, *, event: str, delivery: str, timestamp: int | None = None
) -> dict[str, str]:
    """Every header of one delivery attempt (a retry signs again with a fresh timestamp)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery,
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign(secret, stamp, body),
    }


def is_allowed_url(url: str) -> bool:
    """``https://`` anywhere, plain ``http://`` only to this machine (local receivers, tests)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and _is_loopback(host)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
