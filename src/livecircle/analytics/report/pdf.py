"""The report as a PDF, made offline: fpdf2 with the packaged CJK font (CFF outlines, embedded
as a subset) and matplotlib charts as PNG. No browser, no network, no system font.

A character outside the font (an emoji in a product name, a rare hanzi) is drawn as
``MISSING`` (□) instead of failing or silently vanishing.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import FontFace

from livecircle.analytics.report import charts, script_section
from livecircle.analytics.report.document import (
    DEFAULT_LOCALE,
    FORMULA_NOTE,
    INTERACTIONS,
    METRICS,
    PEAK_NOTE,
    SECTIONS,
    SERIES,
    STAGES,
    STEPS,
    Gettext,
    cause_text,
    fmt,
    gettext_for,
)
from livecircle.analytics.report.formulas import INTERACTIONS as FORMULA_INTERACTIONS

FONT = charts.FONT
FAMILY = "cjk"
MISSING = "□"
HEADLINE = ("viewers", "peak", "watch_seconds", "interaction_rate", "orders", "gmv_cents", "paid_cents")
GREY = (110, 110, 110)
HEAD_FILL = FontFace(emphasis="", fill_color=(238, 238, 238))


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    with TTFont(str(FONT), lazy=True) as font:
        return frozenset(font.getBestCmap())


def clean(text: Any) -> str:
    """``text`` with every character the font lacks replaced by □ (line breaks kept)."""
    covered = _covered()
    return "".join(ch if ord(ch) in covered or ch in "\n\t" else MISSING for ch in str(text))


class _Document(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=7)
        self.set_text_color(*GREY)
        self.cell(0, 6, clean(f"{self.footer_text} · {self.page_no()}"), align="C")
        self.set_text_color(0, 0, 0)


def render_pdf(data: dict[str, Any], *, locale: str = DEFAULT_LOCALE) -> bytes:
    """The whole report as PDF bytes (A4, Chinese by default)."""
    _ = gettext_for(locale)
    pdf = _Document(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font(FAMILY, fname=str(FONT))
    pdf.footer_text = f"{_(SECTIONS['report'])} · {data['show']['title']}"
    pdf.add_page()
    _cover(pdf, data, _)
    _curve(pdf, data, _)
    _interaction(pdf, data, _)
    pdf.add_page()
    _funnel(pdf, data, _)
    _products(pdf, data, _)
    _growth_and_segments(pdf, data, _)
    pdf.add_page()
    _formulas(pdf, data, _)
    _comparison(pdf, data, _)
    _targets(pdf, data, _)
    _script(pdf, data, _)
    return bytes(pdf.output())


def _heading(pdf: FPDF, text: str, size: int = 13) -> None:
    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FAMILY, size=size)
    pdf.cell(0, 8, clean(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)


def _note(pdf: FPDF, text: str) -> None:
    pdf.set_font(FAMILY, size=7.5)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(0, 4, clean(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FAMILY, size=9)


def _table(pdf: FPDF, header: Iterable[str], rows: Iterable[Iterable[Any]], widths: tuple[int, ...]) -> None:
    pdf.set_font(FAMILY, size=8.5)
    with pdf.table(col_widths=widths, headings_style=HEAD_FILL, line_height=5.5, text_align="LEFT") as table:
        for values in (header, *rows):
            row = table.row()
            for value in values:
                row.cell(clean(value))
    pdf.ln(2)


def _image(pdf: FPDF, png: bytes, height: float) -> None:
    if pdf.get_y() + height > pdf.h - 18:
        pdf.add_page()
    pdf.image(io.BytesIO(png), w=pdf.epw, h=height)


def _cover(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    show = data["show"]
    pdf.set_font(FAMILY, size=18)
    pdf.cell(0, 11, clean(_(SECTIONS["report"])), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=15)
    pdf.multi_cell(0, 8, clean(show["title"]), new_x="LMARGIN", new_y="NEXT")
    lines = [
        f"{_('Room')}: {show['room_title']}  ·  {_('Host')}: {show['host_name']}",
        f"{_('Started')}: {show['started_at'][:16].replace('T', ' ')} UTC  ·  "
        f"{_('Duration')}: {fmt('watch_seconds', show['duration_seconds'])}",
        f"{_('Built')}: {show['as_of'][:19].replace('T', ' ')} UTC",
    ]
    _note(pdf, "\n".join(lines))
    _heading(pdf, _(SECTIONS["overview"]))
    figures, definitions = data["figures"], data["definitions"]
    rows = [(_(METRICS[k]), fmt(k, figures.get(k)), _(definitions.get(k, ""))) for k in HEADLINE]
    _table(pdf, (_("Figure"), _("This show"), _("Definition")), rows, (30, 25, 75))


def _curve(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    curve = data["curve"]
    _heading(pdf, _(SECTIONS["curve"]))
    _note(
        pdf,
        f"{_(METRICS['viewers'])}: {curve['unique_viewers']}  ·  {_(METRICS['peak'])}: {curve['peak']} "
        f"({_('minute')} {curve['peak_at'] // 60})",
    )
    _image(pdf, charts.curve(curve["points"], xlabel=_("minute"), ylabel=_("Online")), 46)


def _interaction(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    inter = data["interaction"]
    _heading(pdf, _(SECTIONS["interaction"]))
    series = {key: _(label) for key, label in SERIES.items()}
    _image(pdf, charts.interaction(inter["minutes"], inter["peaks"], series=series, xlabel=_("minute")), 50)
    _heading(pdf, _(SECTIONS["peaks"]), size=11)
    rows = [
        (f"#{rank}", p["minute"], p["total"], "; ".join(cause_text(c, _) for c in p["causes"]) or "–")
        for rank, p in enumerate(inter["peaks"], start=1)
    ]
    _table(pdf, ("#", _("minute"), _("Interactions"), _("What happened")), rows, (10, 18, 25, 100))
    _note(pdf, _(PEAK_NOTE))


def _funnel(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    steps = data["funnel"]["steps"]
    _heading(pdf, _(SECTIONS["funnel"]))
    rows = [(_(STEPS[s["step"]]), s["people"], fmt("conversion", s["conversion"])) for s in steps]
    _table(pdf, (_("Step"), _("People"), _("Conversion from the step before")), rows, (45, 30, 55))
    png = charts.bars([_(STEPS[s["step"]]) for s in steps], [s["people"] for s in steps], height=1.9)
    _image(pdf, png, 38)


def _products(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    _heading(pdf, _(SECTIONS["products"]))
    if not data["products"]:
        _note(pdf, _("No product was clicked or ordered in this show."))
        return
    rows = [
        (
            p.get("name") or f"#{p['product_id']}",
            p["clicks"],
            p["orders"],
            fmt("gmv_cents", p["order_cents"]),
            p["paid_orders"],
            fmt("paid_cents", p["paid_cents"]),
        )
        for p in data["products"]
    ]
    header = (
        _("Product"),
        _("Clicks"),
        _(METRICS["orders"]),
        _(METRICS["gmv_cents"]),
        _(METRICS["paid_orders"]),
        _(METRICS["paid_cents"]),
    )
    _table(pdf, header, rows, (50, 16, 16, 24, 18, 24))


def _growth_and_segments(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    growth, segments = data["growth"], data["segments"]
    _heading(pdf, _(SECTIONS["growth"]))
    counts = [(_(METRICS[k]), growth[k]) for k in ("new_followers", "new_members")]
    _table(pdf, (_("Figure"), _("This show")), counts, (60, 40))
    _heading(pdf, _(SECTIONS["segments"]))
    _note(pdf, f"{_('Signed-in viewers')}: {segments['signed_in_viewers']}")
    rows = [(_(STAGES[m["stage"]]), m["count"], fmt("share", m["share"])) for m in segments["mix"]]
    _table(pdf, (_("Lifecycle stage"), _("People"), _("Share")), rows, (50, 30, 30))


def _formulas(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    f = data["formulas"]
    _heading(pdf, _(SECTIONS["formulas"]))
    _note(pdf, "P_u = Σ p_i·a_i    C_r = Σ c_i·p_i / Σ p_i    I_b = Σ i_b·p_i / Σ p_i")
    header = (_("Interaction"), _("People"), "p_i", "a_i", "p_i·a_i", "c_i", "c_i·p_i", "i_b", "i_b·p_i")
    rows = [
        (
            _(INTERACTIONS[r["interaction"]]),
            r["doers"],
            r["p"],
            r["a"],
            r["p_a"],
            r["c"],
            r["c_p"],
            r["i_b"],
            r["ib_p"],
        )
        for r in f["rows"]
    ]
    _table(pdf, header, rows, (28, 14, 14, 12, 16, 14, 16, 12, 16))
    pdf.set_font(FAMILY, size=11)
    summary = f"P_u = {fmt('x', f['P_u'])}    C_r = {fmt('x', f['C_r'])}    I_b = {fmt('x', f['I_b'])}"
    pdf.cell(0, 7, clean(summary), new_x="LMARGIN", new_y="NEXT")
    _note(pdf, _(FORMULA_NOTE))
    _note(pdf, f"{_('Viewers')}: {f['viewers']}  ·  i ∈ {{{', '.join(FORMULA_INTERACTIONS)}}}")


def _comparison(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    comparison = data["comparison"]
    _heading(pdf, _(SECTIONS["comparison"]))
    if not comparison["previous"]:
        _note(pdf, _("This is the host's first ended show: nothing to compare with yet."))
        return
    titles = ", ".join(f"#{p['show_id']} {p['title']}" for p in comparison["previous"])
    _note(pdf, f"{_('Previous shows')}: {titles}")
    rows = [
        (
            _(METRICS[r["metric"]]),
            fmt(r["metric"], r["this"]),
            fmt(r["metric"], r["mean"]),
            fmt(r["metric"], r["delta"]),
            fmt("share", r["delta_pct"]),
        )
        for r in comparison["rows"]
    ]
    _table(
        pdf,
        (_("Figure"), _("This show"), _("Mean of previous"), _("Difference"), "%"),
        rows,
        (40, 25, 28, 25, 20),
    )


def _targets(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    _heading(pdf, _(SECTIONS["targets"]))
    if not data["targets"]:
        _note(pdf, _("No targets were set for this show."))
        return
    rows = [
        (
            _(METRICS[t["metric"]]),
            fmt(t["metric"], t["target"]),
            fmt(t["metric"], t["actual"]),
            fmt("attainment", t["attainment"]),
        )
        for t in data["targets"]
    ]
    _table(pdf, (_("Figure"), _("Target"), _("Actual"), _("Attained")), rows, (45, 30, 30, 25))


def _script(pdf: FPDF, data: dict[str, Any], _: Gettext) -> None:
    """The run-of-show steps and their outcomes (analytics/report/script_section.py)."""
    _heading(pdf, _("Run-of-show"))
    rows = script_section.rows(data, _)
    if not rows:
        _note(pdf, _("This show ran without a script."))
        return
    _table(pdf, [_(h) for h in script_section.HEADER], rows, (50, 48, 32, 16, 20, 20))
