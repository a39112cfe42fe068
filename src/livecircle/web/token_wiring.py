"""Revoked API tokens are refused on every node at once, not when the other nodes' principal
caches age out (identity.deps.TOKEN_SECONDS).

A revocation (password change, sign-out everywhere, account deletion) names the revoked tokens'
digests; after its commit this node forgets them and publishes them on the cluster channel
``node:tokens`` (in-process alone, Redis with several nodes), and every node's hub listener
forgets them too. A digest is a hash of the token, never the token itself. identity and
realtime do not know each other: the wiring is here.
"""

from __future__ import annotations

from starlette.datastructures import State

from livecircle.identity.schemas import Principal
from livecircle.kit.cache import LoadingCache
from livecircle.realtime.broker import Event
from livecircle.realtime.hub import Hub

CHANNEL = "node:tokens"
REVOKED = "tokens_revoked"


def install(state: State, hub: Hub, cache: LoadingCache[str, Principal | None]) -> None:
    def observe(channel: str, event: Event) -> None:
        if channel == CHANNEL and event.get("type") == REVOKED:
            for digest in event.get("digests", ()):
                cache.forget(str(digest))

    async def announce(digests: list[str]) -> None:
        await hub.publish(CHANNEL, {"type": REVOKED, "digests": digests})

    hub.broker.watch(CHANNEL)
    hub.event_listeners.append(observe)
    state.tokens_revoked = announce
