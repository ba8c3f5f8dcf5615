"""The claims as the text and the list show them: one row per claim (plain values, no models),
its highlight colour, the list's filters, and the list items as HTML."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.utils.safestring import SafeString, mark_safe

from ... import selectors
from ...models import Stance
from .markup import Html, fill, join

FILTERS = {
    "all": "All",
    "mine": "Mine",
    "untagged": "Untagged",
    "disagreements": "Disagreements",
}
EXCERPT_CHARS = 90
STANCE_LABELS = dict(Stance.choices)


@dataclass(slots=True)
class ClaimRow:
    """A claim as the text and the list show it (built from plain values, no models)."""

    id: int
    number: int
    start: int
    end: int
    excerpt: str
    mine: str  # my stance, or ""
    n_visible: int
    n_others: int
    colour: str  # support, oppose, neutral, mixed (the team disagrees), none
    decision: str  # the visible review's decision, or ""
    gold: str  # the gold stance of an accepted, visible review, or ""
    disagreement: bool
    is_mine: bool

    @property
    def mine_label(self) -> str:
        return STANCE_LABELS.get(self.mine, "").lower()

    @property
    def gold_label(self) -> str:
        return STANCE_LABELS.get(self.gold, "").lower()


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The text on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def colour_of(
    tags: list[tuple[int, int, str]], *, user_id: int, review: tuple[str, str] | None
) -> str:
    """The stance a claim is shown in: the gold one once reviewed (and visible), else mine, else
    the team's when they agree ("mixed" when not), else "none"."""
    if review and review[0] == "accepted" and review[1]:
        return review[1]
    mine = next((stance for who, _topic, stance in tags if who == user_id), None)
    if mine:
        return mine
    views = {(topic, stance) for _who, topic, stance in tags}
    if len(views) == 1:
        return next(iter(views))[1]
    return "mixed" if views else "none"


def claim_rows(overview: list[selectors.ClaimOverview], *, user_id: int) -> list[ClaimRow]:
    rows = []
    for number, claim in enumerate(overview, start=1):
        tags = claim.tags
        mine = next((stance for who, _topic, stance in tags if who == user_id), "")
        review = claim.review
        rows.append(
            ClaimRow(
                id=claim.id,
                number=number,
                start=claim.start,
                end=claim.end,
                excerpt=excerpt(claim.head),
                mine=mine,
                n_visible=len(tags),
                n_others=sum(1 for who, _t, _s in tags if who != user_id),
                colour=colour_of(tags, user_id=user_id, review=review),
                decision=review[0] if review else "",
                gold=review[1] if review and review[0] == "accepted" else "",
                disagreement=len({(topic, stance) for _w, topic, stance in tags}) > 1,
                is_mine=claim.created_by_id == user_id or bool(mine),
            )
        )
    return rows


def filter_rows(rows: list[ClaimRow], name: str, *, can_annotate: bool) -> list[ClaimRow]:
    if name == "mine":
        return [r for r in rows if r.is_mine]
    if name == "untagged":
        # Work left to do: claims without my stance (or, for those who do not tag, without any).
        if can_annotate:
            return [r for r in rows if not r.mine]
        return [r for r in rows if not r.n_visible]
    if name == "disagreements":
        return [r for r in rows if r.disagreement]
    return rows


# A list item: the claim's number, its excerpt, its badges. `keep` carries the list's filter.
ITEM = (
    '<li><a class="claim-item st-%(colour)s" data-claim="%(id)s" href="?%(keep)sclaim=%(id)s#panel"'
    "%(current)s>"
    '<span class="claim-num" aria-hidden="true">%(number)s</span>'
    '<span class="claim-excerpt"><span class="visually-hidden">Claim %(number)s: </span>'
    "%(excerpt)s</span>"
    '<span class="claim-tags">%(tags)s</span></a></li>'
)
CURRENT = fill(' aria-current="true"')
NOTHING = fill("")
TAG = '<span class="tag%(kind)s">%(text)s</span>'


@functools.lru_cache(maxsize=256)
def _tag(kind: str, text: str) -> Html:
    """A badge. Few distinct ones (stances, decisions, counts): each is escaped once."""
    return fill(TAG, kind=kind, text=text)


def _tags(row: ClaimRow, *, can_annotate: bool) -> list[Html]:
    """The small badges of a list item: the review, my stance, a dispute, the others' count."""
    tags = []
    if row.gold:
        tags.append(_tag(" tag-gold", f"Gold {row.gold_label}"))
    elif row.decision:
        tags.append(_tag(f" tag-{row.decision}", row.decision.title()))
    if row.mine:
        tags.append(_tag(f" tag-{row.mine}", f"You: {row.mine_label}"))
    elif can_annotate:
        tags.append(_tag(" tag-none", "No stance from you"))
    if row.disagreement:
        tags.append(_tag(" tag-mixed", "Disputed"))
    if row.n_others:
        plural = "" if row.n_others == 1 else "s"
        tags.append(_tag("", f"+{row.n_others} other{plural}"))
    return tags


def render_claim_items(
    rows: list[ClaimRow], *, filter_name: str, can_annotate: bool, selected: int | None = None
) -> SafeString:
    """The claim list's `<li>` items, built here for the same reason as the text's segments: a
    template loop costs about 0.2 ms per claim, too much at 1,000 claims."""
    keep = fill("filter=%(name)s&amp;", name=filter_name) if filter_name != "all" else NOTHING
    items = join(
        fill(
            ITEM,
            colour=row.colour,
            id=row.id,
            keep=keep,
            current=CURRENT if row.id == selected else NOTHING,
            number=row.number,
            excerpt=row.excerpt,
            tags=join(_tags(row, can_annotate=can_annotate)),
        )
        for row in rows
    )
    return mark_safe(items)  # noqa: S308 - fill() escaped every value
