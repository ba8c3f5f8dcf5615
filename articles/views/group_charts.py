"""The group page's chart: claims of the group by stance, per month of publication, as stacked
bars drawn in SVG on the server.

Stances are told apart by colour and by fill pattern (solid, hatched, dotted, cross-hatched,
outlined), as the text tells them by underline style; a table under the chart gives the same
numbers. Only month labels and numbers are written here, no user text; presentation
attributes only (the CSP forbids inline style).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.safestring import SafeString, mark_safe

from ..group_selectors import TIMELINE_STANCES, Bucket

FILLS = {
    "support": ("#1a7340", "url(#tl-support)"),
    "oppose": ("#b3361b", "url(#tl-oppose)"),
    "neutral": ("#4a5a78", "url(#tl-neutral)"),
    "mixed": ("#7a3d8f", "url(#tl-mixed)"),
    "none": ("#8a5300", "#fff6df"),
}
WORDS = {
    "support": "support",
    "oppose": "oppose",
    "neutral": "neutral",
    "mixed": "mixed",
    "none": "not tagged",
}
BAR_W, GAP, CHART_H, LEFT, TOP, BOTTOM = 34, 14, 160, 34, 16, 64

PATTERNS = (
    "<defs>"
    '<pattern id="tl-support" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="#1a7340"/></pattern>'
    '<pattern id="tl-oppose" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fcebe6"/>'
    '<rect width="3" height="6" fill="#b3361b"/></pattern>'
    '<pattern id="tl-neutral" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="#e9edf4"/><circle cx="3" cy="3" r="1.8" fill="#4a5a78"/>'
    "</pattern>"
    '<pattern id="tl-mixed" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="#f4eaf7"/><path d="M0,0 L6,6 M6,0 L0,6" '
    'stroke="#7a3d8f" stroke-width="1.2"/></pattern>'
    "</defs>"
)


def timeline_chart(buckets: Sequence[Bucket]) -> dict[str, object] | None:
    """{"svg": markup, "rows": the table's rows, "stances": its columns}, or None (no claim)."""
    if not buckets or not any(b.total for b in buckets):
        return None
    shown = [s for s in TIMELINE_STANCES if any(b.counts.get(s) for b in buckets)]
    top = max(b.total for b in buckets)
    scale = CHART_H / top
    # Few months: wider bars, so that a short chart is not a thin one.
    bar_w = max(BAR_W, min(64, 360 // len(buckets) - GAP))
    legend_w = LEFT + sum(28 + 7 * len(WORDS[s]) for s in shown)
    width = max(LEFT + len(buckets) * (bar_w + GAP) + GAP, legend_w)
    legend_y = TOP + CHART_H + 44
    height = legend_y + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" viewBox="0 0 {width} '
        f'{height}" width="{width}" height="{height}" role="img" '
        'aria-labelledby="timeline-title timeline-desc">',
        '<title id="timeline-title">Claims of the group by stance, per month of publication'
        "</title>",
        '<desc id="timeline-desc">Stacked bars: the stance shown for each claim (the gold '
        "stance, else the majority of the tags you may see). The table below has the numbers."
        "</desc>",
        PATTERNS,
        f'<line x1="{LEFT}" y1="{TOP + CHART_H}" x2="{width - GAP / 2}" y2="{TOP + CHART_H}" '
        'stroke="#b7bec9"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11" '
        f'fill="#555f6d">{top}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + CHART_H}" text-anchor="end" font-size="11" '
        'fill="#555f6d">0</text>',
    ]
    for k, bucket in enumerate(buckets):
        x = LEFT + GAP + k * (bar_w + GAP)
        y = float(TOP + CHART_H)
        for stance in shown:
            count = bucket.counts.get(stance, 0)
            if not count:
                continue
            h = count * scale
            y -= h
            stroke, fill = FILLS[stance]
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="1"><title>{bucket.label}: {count} '
                f"{WORDS[stance]}</title></rect>"
            )
        if bucket.total:
            parts.append(
                f'<text x="{x + bar_w / 2}" y="{y - 4:.1f}" text-anchor="middle" font-size="11" '
                f'fill="#1d2430">{bucket.total}</text>'
            )
        label_y = TOP + CHART_H + 12
        parts.append(
            f'<text x="{x + bar_w / 2}" y="{label_y}" font-size="10" fill="#555f6d" '
            f'text-anchor="end" transform="rotate(-45 {x + bar_w / 2} {label_y})">'
            f"{bucket.label}</text>"
        )
    x = LEFT
    for stance in shown:
        stroke, fill = FILLS[stance]
        parts.append(
            f'<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + 16}" y="{legend_y + 10}" font-size="11" fill="#1d2430">'
            f"{WORDS[stance]}</text>"
        )
        x += 28 + 7 * len(WORDS[stance])
    parts.append("</svg>")
    svg: SafeString = mark_safe("".join(parts))  # noqa: S308  (numbers and fixed words only)
    return {
        "svg": svg,
        "stances": [WORDS[s] for s in shown],
        "rows": [(b.label, [b.counts.get(s, 0) for s in shown], b.total) for b in buckets],
    }
