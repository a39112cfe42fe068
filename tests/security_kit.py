"""Helpers of the security tests: real page sessions as the sign-in form makes them, and the
crawl of every GET route with its path parameters filled from seeded objects (authz_kit)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import iter_route_contexts

from livecircle.identity import service as identity_service
from livecircle.identity.deps import sign_session
from tests.authz_kit import Seeded
from tests.conftest import Account, RunningServer

CSRF = "security-test-csrf-0123456789abcdef"


async def page_cookie(server: RunningServer, account: Account) -> dict[str, str]:
    """A fresh page session of ``account`` (signed cookie ``lc_session``), plus a CSRF cookie."""
    async with server.db.unit_of_work() as session:
        user = await identity_service.get_user(session, account.user_id)
        assert user is not None
        membership = await identity_service.get_membership(session, user_id=user.id)
        token = await identity_service.do_open_session(
            session, user=user, tenant_id=membership.tenant_id, max_age_days=1
        )
    return {"lc_session": sign_session(server.settings.secret_key, token), "lc_csrf": CSRF}


# What each path parameter names: a seeded object's key (authz_kit), or a literal.
KEYS = {
    "room_id": "room", "show_id": "show", "community_id": "community", "lottery_id": "lottery",
    "poll_id": "poll", "order_id": "order", "post_id": "post", "activity_id": "activity",
    "topup_id": "topup", "sale_id": "sale", "code": "invite_code", "token": "unsubscribe_token",
    "topic_id": "topic", "suggestion_id": "suggestion", "campaign_id": "campaign",
}  # fmt: skip
# Parameters naming no seeded object: a value that reaches the handler (unknown ids answer 404).
LITERALS = {"segment": "index0.ts", "part": "1", "locale": "en", "purpose": "marketing", "export_id": "1"}


def crawl_paths(app: Any, seeded: Seeded) -> list[str]:
    """Every GET route of the app, with its parameters filled in."""
    paths = []
    for context in iter_route_contexts(app.routes):
        if not context.methods or "GET" not in context.methods:
            continue
        path = context.path
        for param in re.findall(r"{(\w+)(?::\w+)?}", path):
            value = LITERALS.get(param)
            if value is None:
                key = KEYS.get(param)
                assert key is not None, f"{path}: no seeded value for {{{param}}} (add it to KEYS)"
                value = str(seeded.public.get(key, seeded.shared.get(key)))
            path = re.sub(r"{" + param + r"(?::\w+)?}", value, path)
        paths.append(path)
    return paths
