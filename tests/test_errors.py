"""Bad input to any endpoint gets a 4xx problem+json answer, never a 500.

Walks the served OpenAPI document and sends each operation malformed path
parameters, bodies and query strings, anonymously and as a signed-in member.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Account

PROBLEM = "application/problem+json"
BAD_IDS = ["abc", "-1", "0", "99999999999999999999", "1.5", "%00", "１２"]
BAD_BODIES: list[Any] = [
    None,
    "not json",
    [],
    {"unexpected": True},
    {"title": "x" * 10_000},
    {"title": None, "text": 12, "email": [], "password": {}},
]


def _fill(path: str, value: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", value, path)


async def _send(
    client: httpx.AsyncClient, method: str, url: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    if body is None:
        return await client.request(method, url, headers=headers)
    if isinstance(body, str):
        return await client.request(
            method, url, content=body, headers={**headers, "content-type": "application/json"}
        )
    return await client.request(method, url, json=body, headers=headers)


def assert_problem(response: httpx.Response, context: str) -> None:
    assert response.status_code < 500, f"{context}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM, context
        body = response.json()
        assert {"type", "title", "status", "code", "detail"} <= body.keys(), context
        assert body["status"] == response.status_code, context


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/rooms" in spec["paths"]


async def test_no_endpoint_answers_bad_input_with_a_500(
    client: httpx.AsyncClient, viewer: Account, demo: dict[str, Any]
) -> None:
    """Each operation, anonymously and as a member: every malformed path id (with an empty
    body), every malformed body with a real id in the path (so the body is what is judged),
    and a malformed query string."""
    spec = (await client.get("/api/openapi.json")).json()
    checked = 0
    for path, operations in spec["paths"].items():
        for method in operations:
            has_body = method in {"post", "put", "patch"}
            valid = _fill(path, str(demo["room_id"]))
            for who in ({}, viewer.headers):
                for bad_id in BAD_IDS if "{" in path else []:
                    url = _fill(path, bad_id)
                    response = await _send(client, method.upper(), url, {} if has_body else None, who)
                    assert_problem(response, f"{method} {url}")
                    checked += 1
                for body in BAD_BODIES if has_body else [None]:
                    response = await _send(client, method.upper(), valid, body, who)
                    assert_problem(response, f"{method} {valid} {body!r:.40}")
                    checked += 1
                response = await _send(client, method.upper(), valid + "?limit=-5&after_id=x", {}, who)
                assert_problem(response, f"{method} {valid} with bad query")
    assert checked > 100


async def test_unknown_routes_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    wrong_method = await client.put("/api/v1/rooms")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


async def test_pages_and_media_paths_refuse_bad_input_cleanly(client: httpx.AsyncClient) -> None:
    for url in (
        "/rooms/abc",
        "/rooms/999999",
        "/hls/1/../../etc/passwd",
        "/hls/abc/index.m3u8",
        "/replay/0/index.m3u8",
        "/replay/1/1/..%2f..%2fx.ts",
        "/console/rooms/abc",
    ):
        response = await client.get(url)
        assert 400 <= response.status_code < 500, url
    page = await client.get("/rooms/999999", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


async def test_form_endpoints_refuse_bad_input_cleanly(client: httpx.AsyncClient) -> None:
    for url in (
        "/hooks/rtmp/publish",
        "/hooks/rtmp/update",
        "/hooks/rtmp/publish_done",
        "/hooks/rtmp/record_done",
        "/login",
        "/register",
        "/logout",
        "/console/rooms",
        "/console/rooms/abc/key/rotate",
        "/console/shows/1/end",
    ):
        for body in ({}, {"name": "x" * 5000}, {"name": "r-not-a-room", "path": "/etc/passwd"}):
            response = await client.post(url, data=body)
            assert 300 <= response.status_code < 500, (url, body, response.status_code, response.text[:200])
