"""Payment providers. A provider starts a payment and verifies its callbacks; the economy
credits coins once per paid top-up whatever the provider repeats.

The sandbox provider ships with livecircle: it signs callbacks with HMAC-SHA256
the way real providers do (``X-Sandbox-Signature: t=<unix>,v1=<hex>`` over
``"<t>.<body>"``), and simulates success, failure and a delayed answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx
import orjson

from livecircle.economy.errors import BadSignature

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "x-sandbox-signature"
SIGNATURE_TOLERANCE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Checkout:
    provider: str
    ref: str
    pay_url: str


@dataclass(frozen=True, slots=True)
class PaymentNotice:
    """What a verified callback says: the provider's reference, the outcome and the amount."""

    ref: str
    status: Literal["paid", "failed"]
    amount_cents: int


class PaymentProvider(Protocol):
    name: str

    def start(
        self, *, purpose: str, ref_id: int, amount_cents: int, description: str, pay_path: str
    ) -> Checkout:
        """Start paying ``amount_cents`` for ``purpose`` ("topup", "order") number ``ref_id``.
        ``pay_path`` is where the sandbox's own checkout lives ("{ref}" is filled in); a real
        provider returns its hosted checkout instead."""
        ...

    def verify(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        """Raises BadSignature when the callback is not the provider's."""
        ...


class SandboxProvider:
    name = "sandbox"

    def __init__(self, secret: str, base_url: str) -> None:
        self._secret = hashlib.sha256(f"sandbox-payments:{secret}".encode()).digest()
        self.base_url = base_url.rstrip("/")

    def start(
        self, *, purpose: str, ref_id: int, amount_cents: int, description: str, pay_path: str
    ) -> Checkout:
        ref = f"sbx_{purpose}_{ref_id}_{secrets.token_hex(8)}"
        return Checkout(self.name, ref, self.base_url + pay_path.format(ref=ref))

    def answer(
        self,
        background: set[asyncio.Task[None]],
        *,
        ref: str,
        paid: bool,
        amount_cents: int,
        path: str,
        delay: float,
    ) -> None:
        """Pay (or fail) ``ref`` as the sandbox's checkout would: its signed notice goes to
        ``path`` after ``delay`` seconds, in a task kept in ``background`` until it is done."""
        body, signature = self.notice(ref, "paid" if paid else "failed", amount_cents)
        task = asyncio.create_task(self.call_back(path, body, signature, delay))
        background.add(task)
        task.add_done_callback(background.discard)

    async def call_back(self, path: str, body: bytes, signature: str, delay: float) -> None:
        """Deliver a signed notice to ``path`` after ``delay`` seconds, retrying until it gets a
        2xx, the way a provider does."""
        await asyncio.sleep(delay)
        headers = {"content-type": "application/json", SIGNATURE_HEADER: signature}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            for attempt in range(5):
                try:
                    response = await client.post(path, content=body, headers=headers)
                except httpx.HTTPError:
                    response = None
                if response is not None and response.status_code < 300:
                    return
                await asyncio.sleep(0.2 * 2**attempt)
        log.warning("sandbox callback to %s was not accepted", path)

    def sign(self, body: bytes, timestamp: int | None = None) -> str:
        stamp = int(time.time()) if timestamp is None else timestamp
        digest = hmac.new(self._secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={stamp},v1={digest}"

    def notice(self, ref: str, status: Literal["paid", "failed"], amount_cents: int) -> tuple[bytes, str]:
        """The body and signature header the sandbox sends to the callback."""
        body = orjson.dumps({"ref": ref, "status": status, "amount_cents": amount_cents})
        return body, self.sign(body)

    def verify(self, headers: dict[str, str], body: bytes) -> PaymentNotice:
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        try:
            stamp = int(parts["t"])
        except (KeyError, ValueError):
            raise BadSignature() from None
        if abs(time.time() - stamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise BadSignature("The payment callback is too old")
        expected = self.sign(body, stamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise BadSignature()
        try:
            data: dict[str, Any] = orjson.loads(body)
            status = data["status"]
            if status not in ("paid", "failed"):
                raise ValueError(status)
            return PaymentNotice(ref=str(data["ref"]), status=status, amount_cents=int(data["amount_cents"]))
        except (ValueError, KeyError, TypeError):
            raise BadSignature("The payment callback's body is malformed") from None
