"""Argument maps: claims as nodes, supports / attacks / rephrases as edges, laid out in layers
and drawn as SVG on the server.

Layout (Sugiyama-style, written here: a few dozen lines of well-known steps, no dependency and
no system library, so `make run` needs nothing beyond PyPI; grandalf, the pure-Python option,
has not been released since 2023 and is slow past a few hundred nodes):

1. supports and attacks point from a premise to the claim it bears on; the claim argued for
   goes above its premises, so a reader follows the argument top-down. Cycles are broken by
   ignoring the edges that close them (depth-first back edges); rephrases do not layer.
2. Each node's layer is the longest path from it to a claim nothing points from (layer 0).
3. Crossings are reduced by barycentre sweeps (down, then up, a few times), the classic
   heuristic: each node moves to the mean position of its neighbours in the layers done.
4. A layer wider than MAX_PER_ROW wraps onto several rows; claims without any relation are set
   in a grid below the argument, so that 300 claims stay readable.

Drawing: every node is an `<a>` link to the claim on the annotation page (keyboard reachable:
links are focusable), filled and outlined by its stance (the gold stance, else the majority
the caller may see) with the text's colour-blind-safe cue repeated as the outline's dash style
and a written stance word; edges differ by line style and arrowhead, not colour alone. User
text is escaped (`esc`). No inline style or script: the page's CSP forbids them; a standalone
SVG and the page that embeds it carry presentation attributes only.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

NODE_W = 220
LINE_H = 16
PAD = 10
GAP_X = 36
GAP_Y = 70
MAX_PER_ROW = 6
WRAP = 30
MAX_LINES = 4
MARGIN = 24
SWEEPS = 4
ARC_ROOM = 70

# The stance palette of app.css (strong, soft) and the outline's dash pattern per stance (the
# text uses underline styles: solid, wavy, dotted, double; a dash stands for the wave here).
STANCE_STYLE = {
    "support": ("#1a7340", "#e3f3e9", ""),
    "oppose": ("#b3361b", "#fcebe6", "7 4"),
    "neutral": ("#4a5a78", "#e9edf4", "2 3"),
    "mixed": ("#7a3d8f", "#f4eaf7", ""),
    "none": ("#8a5300", "#fff6df", "1 5"),
}
STANCE_WORD = {
    "support": "supports the topic",
    "oppose": "opposes the topic",
    "neutral": "neutral",
    "mixed": "mixed stances",
    "none": "not tagged",
}
EDGE_STYLE = {  # colour, dash pattern, marker
    "supports": ("#1a7340", "", "arrow-supports"),
    "attacks": ("#b3361b", "9 5", "arrow-attacks"),
    "rephrases": ("#4a5a78", "2 4", "arrow-rephrases"),
}
LAYERING_KINDS = ("supports", "attacks")


def esc(text: str) -> str:
    """Text for an SVG element or attribute (both quote kinds escaped)."""
    return escape(text, quote=True)


@dataclass
class MapNode:
    id: int
    label: str
    stance: str  # a STANCE_STYLE key
    source: str  # "gold", "majority" or "none"
    href: str
    note: str = ""  # a second line in smaller type (the article, in a group's map)
    highlight: bool = False  # drawn with a heavier outline (the group's own claims)
    x: float = 0.0
    y: float = 0.0
    lines: list[str] = field(default_factory=list)

    @property
    def height(self) -> float:
        return PAD * 2 + LINE_H * (len(self.lines) + 1 + (1 if self.note else 0))


@dataclass
class MapEdge:
    id: int
    source: int
    target: int
    kind: str


def node_label(summary: str, exact: str) -> str:
    """The summary, else a short quote."""
    summary = (summary or "").strip()
    if summary:
        return summary
    quote = " ".join(exact.split())
    return f"“{quote[:117].rstrip()}…”" if len(quote) > 120 else f"“{quote}”"


def _wrap(text: str) -> list[str]:
    lines = textwrap.wrap(text, WRAP, break_long_words=True) or [""]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][: WRAP - 1].rstrip() + "…"
    return lines


# --- Layout ----------------------------------------------------------------------------------


def _acyclic(ids: Sequence[int], edges: Sequence[MapEdge]) -> dict[int, list[int]]:
    """Successors along supports/attacks, without the edges that close a cycle."""
    out: dict[int, list[int]] = defaultdict(list)
    for e in edges:
        if e.kind in LAYERING_KINDS and e.source != e.target and e.target not in out[e.source]:
            out[e.source].append(e.target)
    kept: dict[int, list[int]] = defaultdict(list)
    state: dict[int, int] = {}  # 1: on the stack, 2: done
    for root in ids:
        if root in state:
            continue
        stack = [(root, iter(out[root]))]
        state[root] = 1
        while stack:
            node, successors = stack[-1]
            for nxt in successors:
                if state.get(nxt) == 1:
                    continue  # a back edge: it would close a cycle
                kept[node].append(nxt)
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(out[nxt])))
                break
            else:
                state[node] = 2
                stack.pop()
    return kept


def _layers(ids: Sequence[int], succ: dict[int, list[int]]) -> dict[int, int]:
    """Longest path to a sink, computed in reverse topological order (no recursion)."""
    layer: dict[int, int] = {}
    for root in ids:
        if root in layer:
            continue
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node in layer:
                continue
            if expanded:
                layer[node] = 1 + max((layer[s] for s in succ[node]), default=-1)
                continue
            stack.append((node, True))
            stack.extend((s, False) for s in succ[node] if s not in layer)
    return layer


def layout(nodes: Sequence[MapNode], edges: Sequence[MapEdge]) -> tuple[float, float]:
    """Places the nodes (sets x, y, lines); returns the drawing's width and height."""
    for node in nodes:
        node.lines = _wrap(node.label)
    ids = [n.id for n in nodes]
    by_id = {n.id: n for n in nodes}
    linked = {e.source for e in edges} | {e.target for e in edges}
    connected = [i for i in ids if i in linked]
    loose = [i for i in ids if i not in linked]
    succ = _acyclic(connected, edges)
    layer_of = _layers(connected, succ)
    layers: list[list[int]] = [[] for _ in range(max(layer_of.values(), default=-1) + 1)]
    for i in connected:
        layers[layer_of[i]].append(i)

    neighbours: dict[int, set[int]] = defaultdict(set)
    for e in edges:
        if e.source in by_id and e.target in by_id and e.source != e.target:
            neighbours[e.source].add(e.target)
            neighbours[e.target].add(e.source)
    position: dict[int, float] = {}
    for row in layers:
        for k, i in enumerate(row):
            position[i] = k
    for sweep in range(SWEEPS):
        order = layers if sweep % 2 == 0 else list(reversed(layers))
        for row in order[1:]:

            def centre(i: int) -> float:
                placed = [position[j] for j in neighbours[i] if j in position]
                return sum(placed) / len(placed) if placed else position[i]

            row.sort(key=lambda i: (centre(i), position[i]))
            for k, i in enumerate(row):
                position[i] = k

    rows: list[list[int]] = []
    for row in layers:
        rows += [row[k : k + MAX_PER_ROW] for k in range(0, len(row), MAX_PER_ROW)]
    loose_rows = [loose[k : k + MAX_PER_ROW] for k in range(0, len(loose), MAX_PER_ROW)]
    widest = max((len(r) for r in rows + loose_rows), default=1)
    width = MARGIN * 2 + widest * NODE_W + (widest - 1) * GAP_X
    # Room above the first row for the arcs of links within a row (rephrases).
    y = float(MARGIN + (ARC_ROOM if edges else 0))
    for index, row in enumerate(rows + loose_rows):
        if index == len(rows) and rows:
            y += GAP_Y / 2  # the unlinked claims, set apart below the argument
        row_w = len(row) * NODE_W + (len(row) - 1) * GAP_X
        x = (width - row_w) / 2
        for i in row:
            by_id[i].x, by_id[i].y = x, y
            x += NODE_W + GAP_X
        y += max(by_id[i].height for i in row) + GAP_Y
    height = max(y - GAP_Y + MARGIN, MARGIN * 2 + 40)
    return width, height


# --- Drawing ---------------------------------------------------------------------------------


def _defs() -> str:
    return (
        "<defs>"
        '<marker id="arrow-supports" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#1a7340"/></marker>'
        '<marker id="arrow-attacks" viewBox="0 0 12 12" refX="11" refY="6" markerWidth="11" '
        'markerHeight="11" orient="auto-start-reverse"><path d="M1,1 L11,6 L1,11 z" '
        'fill="#ffffff" stroke="#b3361b" stroke-width="1.6"/><path d="M11,1 L11,11" '
        'stroke="#b3361b" stroke-width="1.6"/></marker>'
        '<marker id="arrow-rephrases" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="8" '
        'markerHeight="8"><circle cx="5" cy="5" r="3.5" fill="#ffffff" stroke="#4a5a78" '
        'stroke-width="1.5"/></marker>'
        "</defs>"
    )


def _edge(edge: MapEdge, by_id: dict[int, MapNode]) -> str:
    source, target = by_id[edge.source], by_id[edge.target]
    colour, dash, marker = EDGE_STYLE.get(edge.kind, EDGE_STYLE["supports"])
    sx, tx = source.x + NODE_W / 2, target.x + NODE_W / 2
    if target.y + target.height < source.y:  # the usual case: from below up to the target
        sy, ty = source.y, target.y + target.height
        c1, c2 = sy - (sy - ty) / 2, ty + (sy - ty) / 2
    elif source.y + source.height < target.y:
        sy, ty = source.y + source.height, target.y
        c1, c2 = sy + (ty - sy) / 2, ty - (ty - sy) / 2
    else:  # the same row: an arc above the two
        sy, ty = source.y, target.y
        c1 = c2 = sy - (40 + abs(tx - sx) / 8)
    path = f"M{sx:.1f},{sy:.1f} C{sx:.1f},{c1:.1f} {tx:.1f},{c2:.1f} {tx:.1f},{ty:.1f}"
    ends = (
        f'marker-start="url(#{marker})" marker-end="url(#{marker})"'
        if edge.kind == "rephrases"
        else f'marker-end="url(#{marker})"'
    )
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<path class="edge edge-{esc(edge.kind)}" data-relation="{edge.id}" '
        f'data-source="{edge.source}" data-target="{edge.target}" d="{path}" fill="none" '
        f'stroke="{colour}" stroke-width="2"{dashes} {ends}><title>{esc(edge.kind)}</title></path>'
    )


def _node(node: MapNode) -> str:
    strong, soft, dash = STANCE_STYLE.get(node.stance, STANCE_STYLE["none"])
    h = node.height
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    width = 3.5 if node.highlight else 2
    parts = [
        f'<a class="node" href="{esc(node.href)}" data-claim="{node.id}" '
        f'aria-label="{esc(node.label)}. {esc(STANCE_WORD.get(node.stance, node.stance))}'
        f'{" (gold)" if node.source == "gold" else ""}">',
        f'<g transform="translate({node.x:.1f},{node.y:.1f})">',
        f'<rect width="{NODE_W}" height="{h:.0f}" rx="8" fill="{soft}" stroke="{strong}" '
        f'stroke-width="{width}"{dashes}/>',
    ]
    if node.stance == "mixed":  # double outline, as the text's double underline
        parts.append(
            f'<rect x="4" y="4" width="{NODE_W - 8}" height="{h - 8:.0f}" rx="5" fill="none" '
            f'stroke="{strong}" stroke-width="1.2"/>'
        )
    word = STANCE_WORD.get(node.stance, node.stance) + (" · gold" if node.source == "gold" else "")
    parts.append(
        f'<text x="{PAD}" y="{PAD + 11}" font-size="11" font-weight="700" fill="{strong}" '
        f'font-family="system-ui, sans-serif">{esc(word.upper())}</text>'
    )
    y = PAD + 11 + LINE_H
    for line in node.lines:
        parts.append(
            f'<text x="{PAD}" y="{y}" font-size="13" fill="#1d2430" '
            f'font-family="system-ui, sans-serif">{esc(line)}</text>'
        )
        y += LINE_H
    if node.note:
        note = node.note if len(node.note) <= 34 else node.note[:33] + "…"
        parts.append(
            f'<text x="{PAD}" y="{y}" font-size="11" fill="#555f6d" '
            f'font-family="system-ui, sans-serif">{esc(note)}</text>'
        )
    parts.append("</g></a>")
    return "".join(parts)


def render(
    nodes: Sequence[MapNode], edges: Sequence[MapEdge], *, title: str, standalone: bool = True
) -> str:
    """The map as SVG markup: a document (`standalone`) or an element for an HTML page."""
    by_id = {n.id: n for n in nodes}
    drawn = [e for e in edges if e.source in by_id and e.target in by_id and e.source != e.target]
    width, height = layout(nodes, drawn)
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    parts = [
        head,
        f'<svg xmlns="http://www.w3.org/2000/svg" class="argmap" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" role="group" '
        f'aria-label="{esc(title)}" data-width="{width:.0f}" data-height="{height:.0f}">',
        f"<title>{esc(title)}</title>",
        _defs(),
        f'<rect class="map-bg" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        '<g class="edges">',
        *(_edge(e, by_id) for e in drawn),
        '</g><g class="nodes">',
        *(_node(n) for n in nodes),
        "</g>",
    ]
    if not nodes:
        parts.append(
            f'<text x="{MARGIN}" y="{MARGIN + 20}" font-size="14" fill="#555f6d" '
            'font-family="system-ui, sans-serif">No claim to draw yet.</text>'
        )
    parts.append("</svg>\n")
    return "".join(parts)
