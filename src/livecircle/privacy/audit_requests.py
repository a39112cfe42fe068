"""Staff actions over HTTP, audited in one place.

When the caller of a state-changing request to the JSON API or the console is staff (admin,
operator, moderator, host), ``identity.deps.get_principal`` calls ``defer_request``: an entry
is queued on the request's own session and written just before it commits, so an action that
fails (rolls back) leaves no entry and one that commits always has its entry.

action = the route's name, target = its path ids (``product:12``), purpose = the route's
summary or the first paragraph of its docstring, detail = method, route and the other path
parameters (never the body or the query: they may carry personal data or secrets).
The entry is a fallback: it is written only when the request's transaction changed something
(a form shown again with its errors, answered 4xx without raising, leaves none; so does a
request that changed nothing), and an action that writes an entry of its own (a mute through
the moderation log, a role change) is audited once, by that entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.privacy.audit import defer

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUDITED_PREFIXES = ("/api/v1/", "/console/")

# State-changing staff routes that are not actions, with the reason (tests/test_audit.py reads
# this list; every other state-changing route must be audited or listed there).
NOT_AUDITED: dict[str, str] = {
    "/api/v1/events": "analytics ingestion: page views and clicks in bulk, stored append-only",
    "/api/v1/funnel": "a shopper's funnel beacon (viewed, clicked a card): tracking, not an action",
}


def is_audited(method: str, route_path: str) -> bool:
    """Whether a staff request to this route (its path template) is audited."""
    return (
        method in STATE_CHANGING
        and (route_path + "/").startswith(AUDITED_PREFIXES)
        and route_path not in NOT_AUDITED
    )


def defer_request(
    session: AsyncSession,
    scope: Mapping[str, Any],
    *,
    actor_id: int | None,
    tenant_id: int | None,
    actor_role: str | None,
) -> bool:
    """Queue the audit entry of this request, if its route is audited. Returns whether it was."""
    route = scope.get("route")
    route_path = str(getattr(route, "path_format", None) or getattr(route, "path", "") or "")
    method = str(scope.get("method", ""))
    if route is None or not is_audited(method, route_path):
        return False
    params: Mapping[str, Any] = scope.get("path_params") or {}
    defer(
        session,
        action=str(getattr(route, "name", "") or route_path),
        target=target_of(params) or str(scope.get("path", route_path)),
        purpose=purpose_of(route),
        actor_id=actor_id,
        tenant_id=tenant_id,
        actor_role=actor_role,
        detail={
            "method": method,
            "route": route_path,
            **{k: str(v) for k, v in params.items() if not k.endswith("_id")},
        },
        fallback=True,
    )
    return True


def target_of(params: Mapping[str, Any]) -> str:
    """``room_id=7, poll_id=3`` -> ``room:7,poll:3``."""
    return ",".join(f"{k.removesuffix('_id')}:{v}" for k, v in params.items() if k.endswith("_id"))


def purpose_of(route: Any) -> str:
    """The route's summary, else its docstring's first paragraph, else its name in words."""
    summary = getattr(route, "summary", None)
    if summary:
        return str(summary)
    description = str(getattr(route, "description", "") or "").strip()
    if description:  # the first paragraph, on one line
        return " ".join(line.strip() for line in description.split("\n\n")[0].splitlines())
    return str(getattr(route, "name", "") or "").replace("_", " ")
