"""The API docs page (Swagger UI) at /api/docs, without inline script.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline ``<script>``,
which the site's CSP refuses and an offline install cannot fetch. This page loads the Swagger UI
bundle we ship (static/vendor/swagger-ui, swagger-ui-dist 5 from npm) and starts it from
/static/api_docs.js, under the same CSP as every other page.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

DOCS_PATH = "/api/docs"
_BUNDLE = "/static/vendor/swagger-ui"

router = APIRouter(include_in_schema=False)

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>livecircle API</title>
  <link rel="stylesheet" href="{_BUNDLE}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="/api/openapi.json"></div>
  <script src="{_BUNDLE}/swagger-ui-bundle.js"></script>
  <script src="/static/api_docs.js"></script>
</body>
</html>
"""


@router.get(DOCS_PATH)
async def api_docs() -> HTMLResponse:
    return HTMLResponse(_PAGE)
