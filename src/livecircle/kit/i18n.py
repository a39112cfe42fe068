"""Translations from Babel catalogs (``.po``), zh-CN first, English as source text.

Catalogs are read once at start-up with Babel's parser; no compile step is
needed on a fresh clone.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = ("zh-CN", "en")


class Translator:
    def __init__(self, catalogs: dict[str, dict[str, str]], default: str) -> None:
        self.catalogs = catalogs
        self.default = default

    def gettext(self, locale: str, message: str) -> str:
        return self.catalogs.get(locale, {}).get(message) or message

    def negotiate(self, *, query: str | None, cookie: str | None, accept_language: str) -> str:
        for candidate in (query, cookie):
            if candidate in LOCALES:
                return candidate
        for part in accept_language.split(","):
            tag = part.split(";")[0].strip().lower()
            if tag.startswith("zh"):
                return "zh-CN"
            if tag.startswith("en"):
                return "en"
        return self.default


def load_catalogs(directory: Path) -> dict[str, dict[str, str]]:
    """Read ``<dir>/<locale_with_underscore>/LC_MESSAGES/messages.po`` for each locale."""
    catalogs: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        path = directory / locale.replace("-", "_") / "LC_MESSAGES" / "messages.po"
        if not path.exists():
            catalogs[locale] = {}
            continue
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale.replace("-", "_"))
        catalogs[locale] = {
            str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str) and m.string
        }
    return catalogs
