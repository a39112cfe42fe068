#!/usr/bin/env python3
"""Re-derive a livecircle lottery's winners from its published audit (Python 3.8+, no
dependencies).

    python lottery_verify.py https://example.com/api/v1/lotteries/42/audit
    python lottery_verify.py audit.json

Checks that the revealed seed matches the hash shown when the lottery opened, that the
frozen list matches its published hash, and that the winners follow from seed + list hash:
for counter = 0, 1, 2, ... take sha256("<seed>:<list_hash>:<counter>"), read its first
8 bytes as a big-endian number, keep its top bit_length(n - 1) bits, reject values >= n
(no modulo bias) and positions already drawn. Exit status 0 when everything matches.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request
from typing import Any


def derive(seed: str, list_hash: str, entrants: int, wanted: int) -> list[int]:
    bits = (entrants - 1).bit_length() if entrants else 0
    picked: list[int] = []
    counter = 0
    while len(picked) < min(wanted, entrants):
        digest = hashlib.sha256(f"{seed}:{list_hash}:{counter}".encode()).digest()
        counter += 1
        value = int.from_bytes(digest[:8], "big") >> (64 - bits)
        if value < entrants and value not in picked:
            picked.append(value)
    return picked


def verify(audit: dict[str, Any]) -> list[str]:
    seed, tickets, winners = audit["seed"], audit["tickets"], audit["winners"]
    problems = []
    if seed is None:
        return ["not drawn yet: the seed is revealed at the draw"]
    if hashlib.sha256(bytes.fromhex(seed)).hexdigest() != audit["seed_hash"]:
        problems.append("the seed does not match the hash published at the opening")
    if hashlib.sha256("\n".join(tickets).encode()).hexdigest() != audit["list_hash"]:
        problems.append("the list does not match its published hash")
    expected = derive(seed, audit["list_hash"], len(tickets), len(winners))
    published = [w["ticket"] for w in sorted(winners, key=lambda w: w["rank"])]
    if expected != published:
        problems.append(f"winners differ: derived positions {expected}, published {published}")
    for w in winners:
        if tickets[w["ticket"]] != w["code"]:
            problems.append(f"winner {w['rank']} is {w['code']}, but position {w['ticket']} holds {tickets[w['ticket']]}")
    return problems


def main(source: str) -> int:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source) as reply:  # noqa: S310 - the user's own URL
            audit: dict[str, Any] = json.load(reply)
    else:
        with open(source, encoding="utf-8") as handle:
            audit = json.load(handle)
    problems = verify(audit)
    for problem in problems:
        print("MISMATCH:", problem)
    if not problems:
        print(f"OK: {len(audit['winners'])} winners of {len(audit['tickets'])} follow from the seed and the list")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
