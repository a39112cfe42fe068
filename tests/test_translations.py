"""The UI ships zh-CN and en: every string a page or a mail marks for translation (``_()`` in
templates and in web/*.py) has a zh-CN translation, and a translation uses no placeholder its
English original is not given (``%(name)s`` the caller does not pass raises when formatted)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

WEB = Path(__file__).resolve().parents[1] / "src" / "livecircle" / "web"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# Strings whose callers pass more than the English uses: "20% off" reads "8折" in Chinese, so
# the pages (orders.js, shop.js) pass the rate too.
ALSO_GIVEN = {"%(percent)s off": {"rate"}}


def catalog() -> dict[str, str]:
    with (WEB / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {m.id: m.string for m in read_po(po) if isinstance(m.id, str) and m.id}


def marked() -> dict[str, str]:
    """Every marked string -> where it was found first."""
    found: dict[str, str] = {}
    for path in sorted(WEB.glob("templates/**/*.html")):
        with path.open("rb") as source:
            for line, _func, message, _ in babel_extract(source, ("_", "gettext"), [], {}):
                if isinstance(message, str):
                    found.setdefault(message, f"{path.name}:{line}")
    for path in sorted(WEB.glob("*.py")):
        with path.open("rb") as source:
            for line, _func, message, _ in extract_python(source, ("_",), [], {}):
                if isinstance(message, str):
                    found.setdefault(message, f"{path.name}:{line}")
    return found


def test_every_marked_string_has_a_chinese_translation_with_its_placeholders() -> None:
    zh = catalog()
    strings = marked()
    assert len(strings) > 1000  # the extraction found the UI, not nothing
    missing = [f"{where}: {text!r}" for text, where in strings.items() if not zh.get(text)]
    assert missing == []
    broken = [
        f"{where}: {text!r}"
        for text, where in strings.items()
        if not set(PLACEHOLDER.findall(zh[text]))
        <= set(PLACEHOLDER.findall(text)) | ALSO_GIVEN.get(text, set())
    ]
    assert broken == []
