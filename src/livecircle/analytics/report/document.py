"""The report as HTML: labels in the reader's language, figures formatted, and the charts'
data for ``static/report.js`` (ECharts, vendored). The page (``web/report_pages.py``) and
the stored standalone document share the template ``report_body.html``.

Templates and catalogs are the web layer's files, read by path (no import of ``web``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape

from livecircle.kit.i18n import Translator, load_catalogs

Gettext = Callable[[str], str]
WEB = Path(__file__).resolve().parents[2] / "web"
DEFAULT_LOCALE = "zh-CN"

SECTIONS: dict[str, str] = {
    "report": "Post-show report",
    "overview": "Overview",
    "curve": "Viewer curve",
    "interaction": "Interaction per minute",
    "peaks": "Interaction peaks",
    "funnel": "Conversion funnel",
    "products": "Top products",
    "growth": "New members and followers",
    "segments": "Segment mix",
    "formulas": "Formulas",
    "comparison": "Compared with previous shows",
    "targets": "Targets",
}
METRICS: dict[str, str] = {
    "viewers": "Unique viewers",
    "peak": "Peak online",
    "watch_seconds": "Watch time",
    "avg_watch_seconds": "Average watch time",
    "comments": "Comments",
    "likes": "Viewers who liked",
    "shares": "Shares",
    "interaction_rate": "Interaction rate",
    "gifts": "Gifts",
    "gift_coins": "Gift coins",
    "product_clicks": "Product clicks",
    "click_to_order": "Click to order",
    "orders": "Orders placed",
    "gmv_cents": "GMV",
    "paid_orders": "Paid orders",
    "paid_cents": "Paid amount",
    "payment_success": "Payment success",
    "new_followers": "New followers",
    "new_members": "New members",
}
STEPS: dict[str, str] = {"view": "Viewed", "click": "Clicked a product", "order": "Ordered", "pay": "Paid"}
SERIES: dict[str, str] = {"chat": "Chat", "like_taps": "Like taps", "gifts": "Gifts", "shares": "Shares"}
CAUSES: dict[str, str] = {
    "poll_started": "Poll launched",
    "product_pinned": "Product pinned",
    "coupon_drop": "Coupons dropped",
    "lottery_started": "Lottery started",
    "flash_sale": "Flash sale",
    "gift_burst": "Gift burst",
}
STAGES: dict[str, str] = {
    "new": "New user",
    "engaged": "Engaged",
    "converted": "Converted",
    "loyal": "Loyal",
    "silent": "Silent",
    "churn_risk": "Churn risk",
}
INTERACTIONS: dict[str, str] = {
    "chat": "Chat",
    "like": "Like",
    "share": "Share",
    "gift": "Gift",
    "product_click": "Product click",
    "follow": "Follow",
    "community_join": "Community join",
}
PEAK_NOTE = (
    "A peak is one of the three busiest minutes (chat + like taps + gifts + shares), annotated with the "
    "host's actions in that minute or the two before, and gift bursts (gifts that minute at least 3 times "
    "the show's median per minute)."
)
FORMULA_NOTE = (
    "p_i: share of the show's viewers who did i at least once; c_i: share of those who also placed an "
    "order in the show; a_i: value weight of i; i_b: brand-influence weight of i (weights fixed by the "
    "product, shown in the table)."
)
CENTS = {"gmv_cents", "paid_cents", "order_cents"}
RATIOS = {"interaction_rate", "click_to_order", "payment_success", "conversion", "share", "attainment"}
SECONDS = {"watch_seconds", "avg_watch_seconds"}


@lru_cache(maxsize=1)
def _translator() -> Translator:
    return Translator(load_catalogs(WEB / "translations"), default=DEFAULT_LOCALE)


def gettext_for(locale: str) -> Gettext:
    translator = _translator()
    return lambda message: translator.gettext(locale, message)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(WEB / "templates"),
        autoescape=select_autoescape(),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(data: dict[str, Any], *, locale: str = DEFAULT_LOCALE) -> str:
    """A standalone HTML document of the report (what is stored with it)."""
    _ = gettext_for(locale)
    context = {"locale": locale, "_": lambda message, **values: _(message) % values if values else _(message)}
    return _environment().get_template("report_document.html").render({**context, **view(data, _)})


def view(data: dict[str, Any], _: Gettext) -> dict[str, Any]:
    """What ``report_body.html`` shows: the data, its labels and formatter, the charts' JSON."""
    return {
        "r": data,
        "labels": labels(_),
        "fmt": fmt,
        "cause_text": lambda cause: cause_text(cause, _),
        "chart_json": chart_json(data, _),
    }


def labels(_: Gettext) -> dict[str, dict[str, str]]:
    groups = {
        "sections": SECTIONS,
        "metrics": METRICS,
        "steps": STEPS,
        "series": SERIES,
        "causes": CAUSES,
        "stages": STAGES,
        "interactions": INTERACTIONS,
    }
    return {group: {key: _(text) for key, text in names.items()} for group, names in groups.items()}


def fmt(metric: str, value: Any) -> str:
    """A figure as people read it: ¥ for cents, % for ratios, h:mm:ss for seconds."""
    if value is None:
        return "–"
    if metric in CENTS:
        return f"¥{value / 100:,.2f}"
    if metric in RATIOS:
        return f"{value * 100:.1f}%"
    if metric in SECONDS:
        seconds = round(value)
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() else f"{value:,.2f}"
    return f"{value:,}"


def cause_text(cause: dict[str, Any], _: Gettext) -> str:
    text = _(CAUSES.get(cause["type"], cause["type"]))
    name = cause.get("product_name")
    detail = f" · {name}" if name else ""
    return f"{text}{detail} ({_('minute')} {cause['minute']})"


def chart_json(data: dict[str, Any], _: Gettext) -> str:
    """The charts' data and labels as JSON safe inside ``<script type="application/json">``."""
    payload = {
        "labels": labels(_),
        "minute": _("minute"),
        "online": _("Online"),
        "curve": data["curve"]["points"],
        "minutes": data["interaction"]["minutes"],
        "peaks": [
            {
                "minute": p["minute"],
                "total": p["total"],
                "text": "; ".join(cause_text(c, _) for c in p["causes"]),
            }
            for p in data["interaction"]["peaks"]
        ],
        "funnel": [{"name": _(STEPS[s["step"]]), "value": s["people"]} for s in data["funnel"]["steps"]],
        "products": [
            {
                "name": p.get("name") or f"#{p['product_id']}",
                "paid_cents": p["paid_cents"],
                "orders": p["orders"],
            }
            for p in data["products"]
        ],
        "segments": [
            {"name": _(STAGES.get(m["stage"], m["stage"])), "value": m["count"]}
            for m in data["segments"]["mix"]
        ],
    }
    return (
        orjson.dumps(payload).decode().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )
