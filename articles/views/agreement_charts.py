"""Geometry for the agreement page's pictures, drawn as SVG by the template.

No JavaScript library and no inline style (the CSP forbids it): this module computes positions,
sizes, colours and labels; `agreement.html` writes them out as SVG elements and attributes.
Every number shown is formatted here, and a figure without a value says "n/a" (never NaN).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from ..agreement import Figure

# Stance colours, the same as app.css's --support / --oppose / --neutral.
STANCE_COLOURS = {"support": "#1a7340", "oppose": "#b3361b", "neutral": "#4a5a78"}
NO_VALUE_FILL = "#eceff3"
TEXT_DARK = "#1d2430"
TEXT_LIGHT = "#ffffff"
# The kappa scale: red for worse than chance, white at chance (0), blue for agreement.
NEGATIVE_END = (179, 54, 27)
POSITIVE_END = (45, 91, 208)
WHITE = (255, 255, 255)


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    # Adding 0.0 turns -0.0 into 0.0; rounding first keeps "-0.00" from appearing.
    return f"{round(value, digits) + 0.0:.{digits}f}"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def kappa_fill(value: float | None) -> tuple[str, str]:
    """(cell colour, text colour) for a kappa in [-1, 1]."""
    if value is None:
        return NO_VALUE_FILL, TEXT_DARK
    t = max(-1.0, min(1.0, value))
    rgb = _mix(WHITE, POSITIVE_END if t >= 0 else NEGATIVE_END, abs(t))
    # Relative luminance decides the text colour (WCAG formula, simplified gamma).
    lum = sum(c * w for c, w in zip(rgb, (0.2126, 0.7152, 0.0722), strict=True)) / 255
    return _hex(rgb), (TEXT_LIGHT if lum < 0.55 else TEXT_DARK)


@dataclass
class HeatCell:
    x: int
    y: int
    fill: str
    text_fill: str
    label: str
    sub: str
    title: str
    cx: int = 0
    cy: int = 0


@dataclass
class Heatmap:
    width: int
    height: int
    cell: int
    names: list[dict[str, Any]]
    cells: list[HeatCell]
    legend: list[dict[str, Any]]
    legend_y: int
    legend_ticks: list[dict[str, Any]]


def heatmap(
    annotators: list[str], pairwise: dict[tuple[Hashable, Hashable], Figure]
) -> Heatmap | None:
    """A symmetric matrix of pairwise Cohen's kappa, annotator names on both axes."""
    if len(annotators) < 2:
        return None
    cell = 64
    label_w = min(160, 16 + 8 * max(len(name) for name in annotators))
    top = label_w  # column labels are rotated, so they take as much height as row labels width
    n = len(annotators)
    cells = []
    for i, a in enumerate(annotators):
        for j, b in enumerate(annotators):
            x, y = label_w + j * cell, top + i * cell
            if i == j:
                cells.append(HeatCell(x, y, "#f8f9fb", "#606a79", "—", "", f"{a} with themself"))
                continue
            figure = pairwise.get((a, b)) or pairwise.get((b, a))
            value = figure.value if figure else None
            fill, text_fill = kappa_fill(value)
            n_items = figure.n_items if figure else 0
            title = (
                f"Cohen's kappa {a} / {b}: {fmt(value)} on {n_items} claims"
                if value is not None
                else f"{a} / {b}: {figure.reason if figure else 'not enough data'}"
            )
            cells.append(HeatCell(x, y, fill, text_fill, fmt(value), f"n={n_items}", title))
    for c in cells:
        c.cx, c.cy = c.x + cell // 2, c.y + cell // 2
    names = [
        {
            "name": short(name, 18),
            "full": name,
            "row_x": label_w - 8,
            "row_y": top + i * cell + cell // 2,
            "col_x": label_w + i * cell + cell // 2,
            "col_y": top - 8,
        }
        for i, name in enumerate(annotators)
    ]
    legend_y = top + n * cell + 28
    steps = 11
    legend_w = 22
    legend = []
    for k in range(steps):
        value = -1 + 2 * k / (steps - 1)
        legend.append({"x": label_w + k * legend_w, "fill": kappa_fill(value)[0], "w": legend_w})
    legend.append(
        {"x": label_w + steps * legend_w + 24, "fill": NO_VALUE_FILL, "w": legend_w, "na": True}
    )
    ticks = [
        {"x": label_w, "label": "−1"},
        {"x": label_w + (steps // 2) * legend_w + legend_w // 2, "label": "0"},
        {"x": label_w + steps * legend_w, "label": "1"},
        {"x": label_w + steps * legend_w + 24 + legend_w + 6, "label": "n/a", "start": True},
    ]
    width = max(label_w + n * cell + 8, label_w + 420)
    return Heatmap(
        width=width,
        height=legend_y + 40,
        cell=cell,
        names=names,
        cells=cells,
        legend=legend,
        legend_y=legend_y,
        legend_ticks=ticks,
    )


@dataclass
class BarRow:
    y: int
    label: str
    full: str
    bar_w: int
    text: str
    text_x: int
    has_value: bool
    href: str = ""
    mid: int = 0  # vertical centre of the row, for labels
    bar_y: int = 0
    bar_h: int = 0


@dataclass
class BarChart:
    width: int
    height: int
    label_w: int
    plot_w: int
    rows: list[BarRow]
    ticks: list[dict[str, Any]]
    row_h: int = 28


def article_bars(groups: list[dict[str, Any]]) -> BarChart | None:
    """Horizontal bars: percent agreement per article, alpha and claim count as text.

    `groups`: dicts with title, href, percent (Figure), alpha (Figure), n_items.
    """
    if not groups:
        return None
    label_w, plot_w, row_h, top = 260, 360, 28, 24
    rows = []
    for i, g in enumerate(groups):
        percent: Figure = g["percent"]
        alpha: Figure = g["alpha"]
        y = top + i * row_h
        if percent.value is None:
            rows.append(
                BarRow(
                    y,
                    short(g["title"], 34),
                    g["title"],
                    0,
                    "not enough data",
                    6,
                    False,
                    g.get("href", ""),
                )
            )
            continue
        bar_w = round(percent.value * plot_w)
        text = f"{pct(percent.value)} · α {fmt(alpha.value)} · {percent.n_items} claims"
        rows.append(
            BarRow(
                y,
                short(g["title"], 34),
                g["title"],
                bar_w,
                text,
                bar_w + 6,
                True,
                g.get("href", ""),
            )
        )
    for row in rows:
        row.mid = row.y + row_h // 2
        row.bar_y, row.bar_h = row.y + 5, row_h - 10
        row.text_x += label_w
    ticks = [
        {"x": label_w + round(plot_w * f), "label": f"{round(f * 100)}%"}
        for f in (0, 0.25, 0.5, 0.75, 1)
    ]
    return BarChart(
        width=label_w + plot_w + 220,
        height=top + len(groups) * row_h + 8,
        label_w=label_w,
        plot_w=plot_w,
        rows=rows,
        ticks=ticks,
        row_h=row_h,
    )


@dataclass
class StackRow:
    y: int
    name: str
    total: int
    total_x: int
    segments: list[dict[str, Any]] = field(default_factory=list)
    mid: int = 0
    bar_y: int = 0
    bar_h: int = 0


@dataclass
class StackChart:
    width: int
    height: int
    label_w: int
    plot_w: int
    rows: list[StackRow]
    legend: list[dict[str, Any]]
    legend_y: int
    row_h: int = 30


def stance_stacks(
    annotators: list[str], counts: dict[str, Counter], stances: tuple[str, ...]
) -> StackChart | None:
    """Stacked horizontal bars: how many support / oppose / neutral each annotator gave."""
    if not annotators:
        return None
    label_w, plot_w, row_h, top = 150, 420, 30, 8
    biggest = max((sum(counts.get(a, Counter()).values()) for a in annotators), default=0) or 1
    rows = []
    for i, name in enumerate(annotators):
        tally = counts.get(name, Counter())
        total = sum(tally[s] for s in stances)
        x = label_w
        segments = []
        for stance in stances:
            w = round(tally[stance] / biggest * plot_w)
            if tally[stance]:
                w = max(w, 2)
                segments.append(
                    {
                        "x": x,
                        "w": w,
                        "fill": STANCE_COLOURS.get(stance, "#888888"),
                        "count": tally[stance],
                        "show": w >= 24,
                        "cx": x + w // 2,
                        "title": f"{name}: {tally[stance]} {stance}",
                    }
                )
            x += w
        row = StackRow(top + i * row_h, short(name, 18), total, x + 6, segments)
        row.mid, row.bar_y, row.bar_h = row.y + row_h // 2, row.y + 5, row_h - 10
        rows.append(row)
    legend_y = top + len(annotators) * row_h + 14
    legend = [
        {
            "x": label_w + i * 110,
            "text_x": label_w + i * 110 + 18,
            "fill": STANCE_COLOURS.get(s, "#888888"),
            "label": s.capitalize(),
        }
        for i, s in enumerate(stances)
    ]
    return StackChart(
        width=label_w + plot_w + 60,
        height=legend_y + 24,
        label_w=label_w,
        plot_w=plot_w,
        rows=rows,
        legend=legend,
        legend_y=legend_y,
        row_h=row_h,
    )
