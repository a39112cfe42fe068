"""Random identifiers and secrets."""

from __future__ import annotations

import secrets


def new_token(nbytes: int = 32) -> str:
    """A URL-safe secret (session ids, API tokens, stream keys)."""
    return secrets.token_urlsafe(nbytes)


def new_stream_key() -> str:
    return "lc_" + secrets.token_urlsafe(18)
