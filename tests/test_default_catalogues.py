"""A new tenant gets default gifts, badge rules, tag rules and alert rules on first use. If
its operator's first act is to add one of their own, the defaults are still there: the own
entry joins them instead of standing in for them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from livecircle.analytics.alerts.service import DEFAULT_RULES as ALERT_DEFAULTS
from livecircle.analytics.tags.service import DEFAULT_RULES as TAG_DEFAULTS
from livecircle.economy.service import DEFAULT_GIFTS
from livecircle.economy.tiers import DEFAULT_BADGES
from livecircle.identity.schemas import Role
from tests.conftest import RunningServer, make_account

MONTHLY = {"metric": "spend_cents", "window_days": 30, "bands": [{"min": 1, "tag": "月消费:有"}]}
CASES: list[tuple[str, dict[str, Any], str, set[str]]] = [
    ("/api/v1/gifts", {"name": "自定义花束", "price": 7}, "name", {g[0] for g in DEFAULT_GIFTS}),
    (
        "/api/v1/badges/rules",
        {"code": "own_badge", "name": "自定义徽章", "stat": "xp", "threshold": 3},
        "code",
        {b[0] for b in DEFAULT_BADGES},
    ),
    (
        "/api/v1/analytics/tag-rules",
        {"name": "月消费", "kind": "consumption", "definition": MONTHLY},
        "name",
        {str(r["name"]) for r in TAG_DEFAULTS},
    ),
    (
        "/api/v1/analytics/alert-rules",
        {"name": "自定义预警", "metric": "online", "comparator": "<", "threshold": 3, "window_seconds": 60},
        "name",
        {str(r["name"]) for r in ALERT_DEFAULTS},
    ),
]


async def test_an_operator_s_first_own_entry_joins_the_defaults(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    for path, body, key, defaults in CASES:
        operator = await make_account(server, role=Role.OPERATOR, tenant=f"first-{uuid.uuid4().hex[:8]}")
        created = await client.post(path, json=body, headers=operator.headers)
        assert created.status_code == 201, (path, created.text)
        listed = (await client.get(path, headers=operator.headers)).json()
        assert {str(entry[key]) for entry in listed} == {body[key], *defaults}, path
