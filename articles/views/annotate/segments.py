"""The article's text cut into segments at every claim boundary, and rendered as HTML.

Built here rather than in the template because a long article has thousands of segments: the
page must stay quick with 1,000 claims (bench/bench_annotation_page.py measures it).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

from .markup import Html, fill, join

# Unclaimed text is also cut after sentence ends, so that the "Claim" button, anchored to the
# piece of text holding the end of the selection, appears next to it and not a paragraph away.
SENTENCE_END = re.compile(r"[.!?。！？](?=\s)|[。！？]")
PARAGRAPH = re.compile(r"[^\n]+")

# A `<span data-s>` per segment: its start in code points, which the browser script needs to
# turn a selection into offsets; a claimed one also lists its claims and how it is highlighted.
PLAIN_SEGMENT = '<span data-s="%(start)s">%(text)s</span>'
CLAIMED_SEGMENT = '<span data-s="%(start)s" data-c="%(claims)s" class="%(classes)s">%(text)s</span>'
PARAGRAPH_HTML = '<p class="para" dir="auto">%(segments)s</p>'


@dataclass(frozen=True, slots=True)
class Segment:
    start: int
    end: int
    claims: tuple[int, ...]  # the claims covering it, innermost first
    starts_claim: bool


def segment_text(text: str, spans: list[tuple[int, int, int]]) -> list[list[Segment]]:
    """Cut `text` into paragraphs (runs without a newline) of segments such that every claim
    boundary, paragraph boundary and sentence end is a segment boundary; each segment lists the
    claims covering it. `spans` are (claim id, start, end). One sweep over the sorted boundaries:
    O((n + b) log(n + b)) plus the size of the output.
    """
    paragraphs = [(m.start(), m.end()) for m in PARAGRAPH.finditer(text)]
    starts_at: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    ends_at: dict[int, list[int]] = defaultdict(list)
    points = {0, len(text)}
    for claim_id, start, end in spans:
        starts_at[start].append((claim_id, start, end))
        ends_at[end].append(claim_id)
        points.add(start)
        points.add(end)
    for start, end in paragraphs:
        points.add(start)
        points.add(end)
    points.update(m.end() for m in SENTENCE_END.finditer(text))
    boundaries = sorted(points)

    active: dict[int, tuple[int, int]] = {}
    result: list[list[Segment]] = []
    paragraph_index = 0
    current: list[Segment] | None = None
    for here, after in zip(boundaries, boundaries[1:], strict=False):
        for claim_id in ends_at.get(here, ()):
            active.pop(claim_id, None)
        opening = starts_at.get(here, ())
        for claim_id, start, end in opening:
            active[claim_id] = (start, end)
        while paragraph_index < len(paragraphs) and paragraphs[paragraph_index][1] <= here:
            paragraph_index += 1
            current = None
        if paragraph_index >= len(paragraphs) or paragraphs[paragraph_index][0] > here:
            continue  # a run of newlines between paragraphs: not shown as text
        if current is None:
            current = []
            result.append(current)
        # Innermost first: the latest start, then the earliest end.
        covering = tuple(sorted(active, key=lambda c: (-active[c][0], active[c][1], c)))
        current.append(Segment(here, after, covering, bool(opening)))
    return result


@functools.lru_cache(maxsize=256)
def _classes(colour: str, depth: int, starts: bool, selected: bool) -> Html:
    """A claimed segment's classes: its colour, darker when claims overlap, where a claim starts,
    the open claim. A few dozen combinations, escaped once each (thousands of segments)."""
    classes = f"c st-{colour}"
    if depth > 1:
        classes += " d3" if depth > 2 else " d2"
    if starts:
        classes += " cs"
    if selected:
        classes += " sel"
    return fill("%(classes)s", classes=classes)


def _segment(text: str, seg: Segment, colour: dict[int, str], selected: int | None) -> Html:
    piece = text[seg.start : seg.end]
    if not seg.claims:
        return fill(PLAIN_SEGMENT, start=seg.start, text=piece)
    classes = _classes(
        colour.get(seg.claims[0], "none"), len(seg.claims), seg.starts_claim, selected in seg.claims
    )
    claims = " ".join(map(str, seg.claims))
    return fill(CLAIMED_SEGMENT, start=seg.start, claims=claims, classes=classes, text=piece)


def render_segments(
    text: str,
    paragraphs: list[list[Segment]],
    colour: dict[int, str],
    selected: int | None = None,
) -> SafeString:
    """The article as HTML: a `<p>` per paragraph, a `<span data-s>` per segment."""
    html = join(
        fill(
            PARAGRAPH_HTML,
            segments=join(_segment(text, seg, colour, selected) for seg in segments),
        )
        for segments in paragraphs
    )
    return mark_safe(html)  # noqa: S308 - fill() escaped every piece of text
