"""Server-rendered pages: Jinja2 with the request's locale, principal and CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from livecircle.kit.i18n import Translator


class Pages:
    def __init__(self, directory: Path, translator: Translator) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(),
            enable_async=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.translator = translator

    def render(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        locale: str = getattr(request.state, "locale", self.translator.default)

        def gettext(message: str, **values: Any) -> str:
            text = self.translator.gettext(locale, message)
            return text % values if values else text

        base = {
            "request": request,
            "locale": locale,
            "_": gettext,
            "csrf_token": getattr(request.state, "csrf_token", ""),
        }
        html = self.env.get_template(name).render({**base, **context})
        return HTMLResponse(html, status_code=status_code)


def get_pages(request: Request) -> Pages:
    return cast(Pages, request.app.state.pages)
