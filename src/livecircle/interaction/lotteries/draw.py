"""The verifiable draw, as pure functions; ``web/static/lottery_verify.py`` is the same
algorithm for anyone to run, and docs/lotteries.md states it in words.

1. At the opening the server draws a secret 32-byte ``seed`` and publishes
   ``seed_hash = sha256(seed)`` (hex): the seed is fixed before anyone enters.
2. At the draw the eligible list is frozen: one code per entrant, ordered by user id, and
   ``list_hash = sha256("\\n".join(codes))`` (UTF-8, hex) is published with it.
3. Winner ``i`` (0-based) of ``n`` entrants: for counter = 0, 1, 2, …
   ``h = sha256(f"{seed_hex}:{list_hash}:{counter}")``; take the top ``bits`` bits of its first
   8 bytes, ``bits = (n - 1).bit_length()``; a value ≥ n is rejected (no modulo bias) and a
   position already drawn is skipped; otherwise it is the next winner's position.
"""

from __future__ import annotations

import hashlib
import secrets

SEED_BYTES = 32


def new_seed() -> str:
    return secrets.token_hex(SEED_BYTES)


def seed_hash(seed_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def list_hash(codes: list[str]) -> str:
    return hashlib.sha256("\n".join(codes).encode()).hexdigest()


def ticket_code(user_id: int) -> str:
    return f"u{user_id}"


def draw_positions(seed_hex: str, list_digest: str, entrants: int, winners: int) -> list[int]:
    """Positions in the frozen list of ``min(winners, entrants)`` distinct winners, in draw order."""
    wanted = min(winners, entrants)
    bits = (entrants - 1).bit_length() if entrants else 0
    chosen: list[int] = []
    seen: set[int] = set()
    counter = 0
    while len(chosen) < wanted:
        digest = hashlib.sha256(f"{seed_hex}:{list_digest}:{counter}".encode()).digest()
        counter += 1
        value = int.from_bytes(digest[:8], "big") >> (64 - bits)
        if value >= entrants or value in seen:
            continue
        seen.add(value)
        chosen.append(value)
    return chosen
