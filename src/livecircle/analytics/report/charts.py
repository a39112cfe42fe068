"""The PDF's charts, drawn offline by matplotlib (Agg, PNG) with the packaged CJK font.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot state), so charts can be drawn
on a worker thread.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

FONT = Path(__file__).resolve().parent / "fonts" / "NotoSansSC-LCSubset.otf"
DPI = 150
matplotlib.use("Agg")  # no display: draw to PNG only
COLORS = ("#e8452c", "#f5a623", "#7b61ff", "#2bb673", "#1f8ef1", "#8a8a8a")


@lru_cache(maxsize=1)
def font_family() -> str:
    font_manager.fontManager.addfont(str(FONT))
    return str(font_manager.FontProperties(fname=str(FONT)).get_name())


def _figure(height: float = 2.6) -> tuple[Figure, Any]:
    figure = Figure(figsize=(7.2, height), dpi=DPI)
    axes = figure.subplots()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _rc() -> Any:
    return matplotlib.rc_context(
        {"font.family": [font_family(), "DejaVu Sans"], "axes.unicode_minus": False, "font.size": 8}
    )


def curve(points: list[list[int]], *, xlabel: str, ylabel: str) -> bytes:
    with _rc():
        figure, axes = _figure()
        xs = [p[0] / 60 for p in points] or [0]
        ys = [p[1] for p in points] or [0]
        axes.plot(xs, ys, color=COLORS[0], linewidth=1.5)
        axes.fill_between(xs, ys, color=COLORS[0], alpha=0.12)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.set_ylim(bottom=0)
        return _png(figure)


def interaction(
    minutes: list[dict[str, Any]], peaks: list[dict[str, Any]], *, series: dict[str, str], xlabel: str
) -> bytes:
    with _rc():
        figure, axes = _figure(2.8)
        xs = [m["minute"] for m in minutes]
        bottom = [0] * len(xs)
        for color, (key, label) in zip(COLORS, series.items(), strict=False):
            values = [m[key] for m in minutes]
            axes.bar(xs, values, bottom=bottom, color=color, label=label, width=0.8)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        for rank, peak in enumerate(peaks, start=1):
            axes.annotate(
                f"#{rank}",
                (peak["minute"], peak["total"]),
                ha="center",
                va="bottom",
                fontsize=8,
                color="#333",
            )
        axes.set_xlabel(xlabel)
        axes.legend(loc="upper right", fontsize=7, frameon=False, ncols=len(series))
        return _png(figure)


def bars(names: list[str], values: list[float], *, horizontal: bool = True, height: float = 2.4) -> bytes:
    with _rc():
        figure, axes = _figure(height)
        if horizontal:
            positions = list(range(len(names)))[::-1]
            axes.barh(positions, values, color=COLORS[4])
            axes.set_yticks(positions, names)
            axes.grid(axis="x", alpha=0.3)
            for y, value in zip(positions, values, strict=True):
                axes.text(value, y, f" {value:,.0f}", va="center", fontsize=7)
        else:
            axes.bar(names, values, color=COLORS[3])
        return _png(figure)
