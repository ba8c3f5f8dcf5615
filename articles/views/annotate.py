"""The annotation page: an article's text with its claims, the claim list and the claim panel.

One template (articles/article.html) with named partials: `article-text`, `claim-list`,
`claim-panel`, `claim-errors`. GETs of a partial answer htmx with the fragment and plain browsers
with a redirect to the page; every write is a form POST that htmx enhances: htmx gets the updated
panel plus a `claims-changed` event (the text and the list refresh themselves), plain browsers a
redirect back to the page. Bad input comes back as the same fragment with its message (400), a
stale version as a conflict view showing both versions (412). Writes go through services.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from .. import selectors, services
from ..access import Access, Kind
from ..models import (
    Annotation,
    Article,
    Claim,
    EvidenceKind,
    EvidenceRole,
    EvidenceType,
    RelationKind,
    Role,
    Stance,
)
from ..permissions import (
    Action,
    can_delete_annotation,
    can_delete_relation,
    can_edit_claim,
    claim_delete_refusal,
)

TEMPLATE = "articles/article.html"
FILTERS = {
    "all": "All",
    "mine": "Mine",
    "untagged": "Untagged",
    "disagreements": "Disagreements",
}
STANCE_KEYS = {Stance.SUPPORT: "1", Stance.OPPOSE: "2", Stance.NEUTRAL: "3"}
EXCERPT_CHARS = 90
# Unclaimed text is also cut after sentence ends, so that the "Claim" button, anchored to the
# piece of text holding the end of the selection, appears next to it and not a paragraph away.
SENTENCE_END = re.compile(r"[.!?。！？](?=\s)|[。！？]")
PARAGRAPH = re.compile(r"[^\n]+")


# --- The text, cut into segments at every claim boundary ---------------------------------------


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


def render_segments(
    text: str,
    paragraphs: list[list[Segment]],
    colour: dict[int, str],
    selected: int | None = None,
) -> SafeString:
    """The article as HTML: `<p>` per paragraph, a `<span data-s>` per segment (its start in
    code points, which the browser script needs to turn a selection into offsets). Built here
    rather than in the template because a long article has thousands of segments."""
    escape = html.escape
    out: list[str] = []
    for segments in paragraphs:
        out.append('<p class="para" dir="auto">')
        for seg in segments:
            piece = escape(text[seg.start : seg.end], quote=False)
            if not seg.claims:
                out.append(f'<span data-s="{seg.start}">{piece}</span>')
                continue
            depth = len(seg.claims)
            classes = f"c st-{colour.get(seg.claims[0], 'none')}"
            if depth > 1:
                classes += " d3" if depth > 2 else " d2"
            if seg.starts_claim:
                classes += " cs"
            if selected in seg.claims:
                classes += " sel"
            ids = " ".join(map(str, seg.claims))
            out.append(
                f'<span data-s="{seg.start}" data-c="{ids}" class="{classes}">{piece}</span>'
            )
        out.append("</p>")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text above is escaped


# --- What the page knows about each claim ----------------------------------------------------


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


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
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
                excerpt=_excerpt(claim.head),
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


def render_claim_items(
    rows: list[ClaimRow], *, filter_name: str, can_annotate: bool, selected: int | None = None
) -> SafeString:
    """The claim list's `<li>` items, built here for the same reason as the segments: a template
    loop costs about 0.2 ms per claim, too much at 1,000 claims. Every text is escaped."""
    escape = html.escape
    keep = f"filter={filter_name}&amp;" if filter_name != "all" else ""
    out: list[str] = []
    for row in rows:
        tags = []
        if row.gold:
            tags.append(f'<span class="tag tag-gold">Gold {escape(row.gold_label)}</span>')
        elif row.decision:
            decision = escape(row.decision)
            tags.append(f'<span class="tag tag-{decision}">{decision.title()}</span>')
        if row.mine:
            tags.append(
                f'<span class="tag tag-{escape(row.mine)}">You: {escape(row.mine_label)}</span>'
            )
        elif can_annotate:
            tags.append('<span class="tag tag-none">No stance from you</span>')
        if row.disagreement:
            tags.append('<span class="tag tag-mixed">Disputed</span>')
        if row.n_others:
            plural = "" if row.n_others == 1 else "s"
            tags.append(f'<span class="tag">+{row.n_others} other{plural}</span>')
        current = ' aria-current="true"' if row.id == selected else ""
        out.append(
            f'<li><a class="claim-item st-{escape(row.colour)}" data-claim="{row.id}" '
            f'href="?{keep}claim={row.id}#panel"{current}>'
            f'<span class="claim-num" aria-hidden="true">{row.number}</span>'
            f'<span class="claim-excerpt"><span class="visually-hidden">Claim {row.number}: </span>'
            f"{escape(row.excerpt, quote=False)}</span>"
            f'<span class="claim-tags">{"".join(tags)}</span></a></li>'
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped or an int


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


# --- Finding the other end of a relation ------------------------------------------------------

RELATION_MATCHES = 20  # at most this many claims offered for a search
MATCH_CONTEXT = 30  # code points shown before the first matching word
MATCH_CHARS = 120


@dataclass(frozen=True, slots=True)
class ClaimMatch:
    """A claim offered as a relation's other end: its number in the list and an excerpt cut
    into (text, is a searched word) pieces."""

    id: int
    number: int
    pieces: tuple[tuple[str, bool], ...]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def search_terms(query: str) -> list[str]:
    return [_fold(word) for word in query.split()][:10]


def _match_pieces(text: str, terms: list[str]) -> tuple[tuple[str, bool], ...]:
    """An excerpt of `text` around its first searched word, with every searched word marked.
    Case folding can change a string's length (ß -> ss), so words are located in the folded
    text only when folding kept its length; otherwise the excerpt is shown unmarked."""
    text = " ".join(text.split())
    folded = _fold(text)
    spans: list[tuple[int, int]] = []
    if len(folded) == len(text):
        for term in terms:
            at = folded.find(term)
            while term and at >= 0:
                spans.append((at, at + len(term)))
                at = folded.find(term, at + len(term))
    spans.sort()
    begin = max(0, spans[0][0] - MATCH_CONTEXT) if spans else 0
    if begin:  # start the excerpt at a word boundary
        space = text.rfind(" ", 0, begin)
        begin = space + 1 if space >= 0 and begin - space < 15 else begin
    stop = min(len(text), begin + MATCH_CHARS)
    pieces: list[tuple[str, bool]] = [("…", False)] if begin else []
    here = begin
    for start, end in spans:
        start, end = max(start, here), min(end, stop)
        if start >= end:
            continue
        if start > here:
            pieces.append((text[here:start], False))
        pieces.append((text[start:end], True))
        here = end
    if here < stop:
        pieces.append((text[here:stop], False))
    if stop < len(text):
        pieces.append(("…", False))
    return tuple(pieces)


def claim_matches(
    claims: list[tuple[int, str]],
    query: str,
    *,
    exclude: int,
    limit: int = RELATION_MATCHES,
) -> tuple[list[ClaimMatch], int]:
    """The claims (id, text; in text order, numbered from 1 as the list numbers them) whose text
    holds every word of `query`, case aside, other than `exclude`. A query that is a number
    ("12" or "#12") puts that claim first. Returns at most `limit` matches and how many more
    there were."""
    terms = search_terms(query)
    if not terms:
        return [], 0
    wanted = query.strip().lstrip("#")
    number = int(wanted) if wanted.isdigit() and len(wanted) < 7 else None
    first: list[tuple[int, int, str]] = []
    found: list[tuple[int, int, str]] = []
    for n, (claim_id, text) in enumerate(claims, start=1):
        if claim_id == exclude:
            continue
        if n == number:
            first.append((claim_id, n, text))
            continue
        folded = _fold(text)
        if all(term in folded for term in terms):
            found.append((claim_id, n, text))
    hits = first + found
    matches = [
        ClaimMatch(claim_id, n, _match_pieces(text, [] if n == number else terms))
        for claim_id, n, text in hits[:limit]
    ]
    return matches, max(0, len(hits) - limit)


def claim_picked(
    claims: list[tuple[int, str]], picked: int | None, *, exclude: int
) -> list[ClaimMatch]:
    """The one claim picked in the text, as a match (none if it is not another claim here)."""
    for n, (claim_id, text) in enumerate(claims, start=1):
        if claim_id == picked and claim_id != exclude:
            return [ClaimMatch(claim_id, n, _match_pieces(text, []))]
    return []


# --- Shared context ---------------------------------------------------------------------------


@dataclass
class Viewer:
    """The caller on this article: their access to the corpus plus the article's facts."""

    access: Access
    submitted: bool  # they have submitted their work on this article
    sees_all: bool  # every annotator's tags (and comments, relations) on it
    show_reviews: bool  # the curators' decisions on it

    @property
    def user(self) -> Any:
        return self.access.user

    @property
    def role(self) -> str:
        return self.access.role

    @property
    def can_annotate(self) -> bool:
        return self.access.can(Action.ANNOTATE)


def _viewer(access: Access, article: Article) -> Viewer:
    submitted = access.role != Role.VIEWER and selectors.has_submitted(
        user=access.user, article=article
    )
    return Viewer(
        access=access,
        submitted=submitted,
        sees_all=access.sees_all_on(article, Kind.ANNOTATION, submitted=submitted),
        show_reviews=access.sees_all_on(article, Kind.REVIEW, submitted=submitted),
    )


def _filter_name(request: HttpRequest) -> str:
    name = request.GET.get("filter", "all")
    return name if name in FILTERS else "all"


def _page_url(article_id: int, *, claim_id: int | None = None, filter_name: str = "all") -> str:
    query = {}
    if filter_name != "all":
        query["filter"] = filter_name
    if claim_id is not None:
        query["claim"] = claim_id
    url = reverse("article", args=[article_id])
    if query:
        url += "?" + urlencode(query)
    return url + ("#panel" if claim_id is not None else "")


def _list_context(
    article: Article,
    viewer: Viewer,
    rows: list[ClaimRow],
    filter_name: str,
    selected: int | None = None,
):
    shown = filter_rows(rows, filter_name, can_annotate=viewer.can_annotate)
    return {
        "rows": shown,
        "claim_items": render_claim_items(
            shown, filter_name=filter_name, can_annotate=viewer.can_annotate, selected=selected
        ),
        "n_claims": len(rows),
        "filter": filter_name,
        "filters": [
            (key, label, len(filter_rows(rows, key, can_annotate=viewer.can_annotate)))
            for key, label in FILTERS.items()
        ],
    }


def _text_context(
    article: Article, rows: list[ClaimRow], selected: int | None = None
) -> dict[str, Any]:
    spans = [(r.id, r.start, r.end) for r in rows]
    colour = {r.id: r.colour for r in rows}
    paragraphs = segment_text(article.text, spans)
    return {"article_html": render_segments(article.text, paragraphs, colour, selected)}


def _rows(article: Article, viewer: Viewer) -> list[ClaimRow]:
    overview = selectors.claim_overview_for_article(viewer.access, article)
    return claim_rows(overview, user_id=viewer.access.user_id)


def _base_context(article: Article, viewer: Viewer) -> dict[str, Any]:
    return {
        "article": article,
        "corpus": article.corpus,
        "viewer": viewer,
        "source_url": article.source_url
        if article.source_url.startswith(("http://", "https://"))
        else "",
    }


# --- The claim panel --------------------------------------------------------------------------


def _panel_context(
    request: HttpRequest,
    article: Article,
    viewer: Viewer,
    claim_id: int | None,
    **extra: Any,
) -> dict[str, Any]:
    """Everything the panel shows for one claim, in a fixed number of queries."""
    context: dict[str, Any] = {"panel_claim": None, **extra}
    if claim_id is None:
        return context
    claim = selectors.claims_for_article(viewer.access, article).filter(pk=claim_id)
    claim = claim.first()
    if claim is None:
        context["panel_missing"] = True
        return context
    visible = claim.visible_annotations
    mine = next((a for a in visible if a.annotator_id == request.user.pk), None)
    review = getattr(claim, "review", None) if viewer.show_reviews else None
    outline = list(selectors.claim_outline_for_article(article))
    labels = {cid: (n, _excerpt(head, 60)) for n, (cid, head) in enumerate(outline, 1)}
    position = next((i for i, item in enumerate(outline) if item[0] == claim.pk), None)
    relations = [
        {
            "relation": rel,
            "direction": "out",
            "other_id": rel.target_claim_id,
            "other": labels.get(rel.target_claim_id),
            "can_delete": can_delete_relation(user=request.user, role=viewer.role, relation=rel),
        }
        for rel in claim.relations_out
    ] + [
        {
            "relation": rel,
            "direction": "in",
            "other_id": rel.source_claim_id,
            "other": labels.get(rel.source_claim_id),
            "can_delete": can_delete_relation(user=request.user, role=viewer.role, relation=rel),
        }
        for rel in claim.relations_in
    ]
    corpus = article.corpus
    context.update(
        panel_claim=claim,
        number=labels.get(claim.pk, (0, ""))[0],
        colour=colour_of(
            [(a.annotator_id, a.topic_id, a.stance) for a in visible],
            user_id=request.user.pk,
            review=(review.decision, review.stance) if review else None,
        ),
        mine=mine,
        others=[a for a in visible if a.annotator_id != request.user.pk],
        review=review,
        topics=list(selectors.topics_for_corpus(corpus)),
        claim_labels=corpus.claim_labels,
        relations=relations,
        has_other_claims=len(outline) > 1,
        comments=list(selectors.comments_for_claim(viewer.access, claim)),
        can_edit_claim=can_edit_claim(user=request.user, role=viewer.role, claim=claim),
        # The service's rule (permissions.claim_delete_refusal), on what the caller may see.
        can_delete_claim=viewer.can_annotate
        and claim_delete_refusal(
            user=request.user,
            role=viewer.role,
            claim=claim,
            sees_all=viewer.sees_all,
            others_tagged=claim.n_annotations > (1 if mine else 0),
        )
        is None,
        can_delete_mine=mine is not None
        and can_delete_annotation(user=request.user, role=viewer.role, annotation=mine),
        prev_id=outline[position - 1][0] if position else None,
        next_id=outline[position + 1][0]
        if position is not None and position + 1 < len(outline)
        else None,
        stance_choices=[(value, label, STANCE_KEYS[value]) for value, label in Stance.choices],
        evidence_types=EvidenceType.choices,
        evidence_roles=EvidenceRole.choices,
        relation_kinds=RelationKind.choices,
        confidence_choices=range(1, 6),
    )
    context.setdefault("form", {})
    context.setdefault("relation_form", {})
    return context


def _claim_texts(article: Article) -> list[tuple[int, str]]:
    """Every live claim of the article as (id, text), in the list's order: one query."""
    return list(selectors.claim_outline_for_article(article).values_list("id", "exact"))


def _relation_search(
    article: Article, claim_id: int, *, query: str = "", picked: Any = None
) -> dict[str, Any]:
    """The relation form's choices: the claims matching `query`, or the one picked in the text."""
    claims = _claim_texts(article)
    if picked is not None:
        chosen = int(picked) if str(picked).isdigit() and len(str(picked)) < 19 else None
        matches, more = claim_picked(claims, chosen, exclude=claim_id), 0
        picked_id = matches[0].id if matches else None
    else:
        matches, more = claim_matches(claims, query, exclude=claim_id)
        picked_id = None
    return {
        "relation_query": query.strip(),
        "relation_matches": matches,
        "relation_more": more,
        "relation_picked": picked_id,
        "relation_pick_failed": picked is not None and not matches,
    }


def _render_panel(
    request: HttpRequest,
    article: Article,
    viewer: Viewer,
    claim_id: int | None,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    """The panel fragment (htmx) or the whole page with the panel open (plain browsers)."""
    if request.htmx:
        context = _base_context(article, viewer) | _panel_context(
            request, article, viewer, claim_id, **extra
        )
        return render(request, f"{TEMPLATE}#claim-panel", context, status=status)
    return _render_page(request, article, viewer, claim_id, status=status, **extra)


def _render_page(
    request: HttpRequest,
    article: Article,
    viewer: Viewer,
    claim_id: int | None,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    rows = _rows(article, viewer)
    filter_name = _filter_name(request)
    context = (
        _base_context(article, viewer)
        | _text_context(article, rows, claim_id)
        | _list_context(article, viewer, rows, filter_name, claim_id)
        | _panel_context(request, article, viewer, claim_id, **extra)
    )
    context["selected_id"] = claim_id
    context["legend"] = [
        ("support", "Support", "solid underline"),
        ("oppose", "Oppose", "wavy underline"),
        ("neutral", "Neutral", "dotted underline"),
        ("mixed", "Disputed", "double underline"),
        ("none", "No stance yet", "dashed underline"),
    ]
    return render(request, TEMPLATE, context, status=status)


def _after_write(
    request: HttpRequest,
    access: Access,
    article: Article,
    claim_id: int | None,
    message: str,
    *,
    changed: bool = True,
) -> HttpResponse:
    """htmx: the refreshed panel, a status message, and `claims-changed` for the text and list.
    Plain browsers: back to the page (post/redirect/get) with a flash message."""
    if not request.htmx:
        messages.success(request, message)
        return redirect(_page_url(article.pk, claim_id=claim_id, filter_name=_back_filter(request)))
    response = _render_panel(request, article, _viewer(access, article), claim_id)
    trigger_client_event(response, "saved", {"message": message})
    if changed:
        trigger_client_event(response, "claims-changed", {"claim": claim_id})
    return response


def _back_filter(request: HttpRequest) -> str:
    name = request.POST.get("filter", "all")
    return name if name in FILTERS else "all"


def _errors(error: ValidationError) -> list[str]:
    """A ValidationError as readable lines ("start: start must not be negative.")."""
    if hasattr(error, "error_dict"):
        lines = []
        for name, problems in error.message_dict.items():
            for problem in problems:
                lines.append(problem if problem.lower().startswith(name) else f"{name}: {problem}")
        return lines
    return list(error.messages)


def _conflict(
    request: HttpRequest,
    viewer: Viewer,
    article: Article,
    claim_id: int,
    *,
    what: str,
    mine: list[tuple[str, str]],
    theirs: list[tuple[str, str]],
    version: Any,
) -> HttpResponse:
    """412: the panel's conflict view, both versions side by side, and my submission to resend
    against the current `version`."""
    resend = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", "version")
        for value in values
    ]
    conflict = {
        "what": what,
        "mine": mine,
        "theirs": theirs,
        "action": request.path,
        "resend": resend,
        "version": version,
    }
    return _render_panel(request, article, viewer, claim_id, status=412, conflict=conflict)


# --- Reading the POST -------------------------------------------------------------------------

_INTEGER = re.compile(r"-?\d{1,30}")


def _offset(value: str | None) -> Any:
    """Offsets arrive as text: whole numbers become ints; anything else is passed on unchanged
    so that anchoring's message says what is wrong with it."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    return int(value) if _INTEGER.fullmatch(value) else value


def _optional(value: str | None) -> str | None:
    return value if value else None


def _stance_label(value: str) -> str:
    return dict(Stance.choices).get(value, value or "—")


def _annotation_summary(annotation: Annotation | None, topics: dict[int, str]) -> list:
    if annotation is None:
        return [("Stance", "—")]
    return [
        ("Stance", _stance_label(annotation.stance)),
        ("Topic", topics.get(annotation.topic_id, "")),
        ("Labels", ", ".join(annotation.labels) or "—"),
        ("Confidence", str(annotation.confidence or "—")),
        ("Note", annotation.note or "—"),
    ]


# --- Views: reading ---------------------------------------------------------------------------


@login_required
@require_GET
def article_page(request: HttpRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    viewer = _viewer(access, article)
    claim_id = request.GET.get("claim")
    return _render_page(
        request, article, viewer, selectors.parse_id(claim_id) if claim_id else None
    )


@login_required
@require_GET
def article_text(request: HttpRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    if not request.htmx:
        return redirect("article", pk=article.pk)
    viewer = _viewer(access, article)
    context = _base_context(article, viewer) | _text_context(article, _rows(article, viewer))
    return render(request, f"{TEMPLATE}#article-text", context)


@login_required
@require_GET
def article_claim_list(request: HttpRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    filter_name = _filter_name(request)
    if not request.htmx:
        return redirect(_page_url(article.pk, filter_name=filter_name))
    viewer = _viewer(access, article)
    rows = _rows(article, viewer)
    context = _base_context(article, viewer) | _list_context(article, viewer, rows, filter_name)
    return render(request, f"{TEMPLATE}#claim-list", context)


@login_required
@require_GET
def claim_panel(request: HttpRequest, pk: int) -> HttpResponse:
    claim, access = selectors.claim_with_access(request.user, pk)
    if not request.htmx:
        return redirect(_page_url(claim.article_id, claim_id=claim.pk))
    return _render_panel(request, claim.article, _viewer(access, claim.article), claim.pk)


@login_required
@require_GET
def relation_targets(request: HttpRequest, pk: int) -> HttpResponse:
    """The relation form's choices for htmx: the claims whose text holds the typed words
    (`q`), at most RELATION_MATCHES of them, or the claim picked in the text (`pick`)."""
    claim, _access = selectors.claim_with_access(request.user, pk)
    if not request.htmx:
        return redirect(_page_url(claim.article_id, claim_id=claim.pk))
    query = request.GET.get("q", "")[:200]
    context = _relation_search(claim.article, claim.pk, query=query, picked=request.GET.get("pick"))
    return render(request, f"{TEMPLATE}#relation-matches", context)


# --- Views: writing ---------------------------------------------------------------------------


def _claim_for_write(request: HttpRequest, pk: int) -> tuple[Claim, Article, Access]:
    """The claim (404 for non-members), its article and the caller's access, refusing members
    without the right."""
    claim, access = selectors.claim_with_access(request.user, pk)
    access.ensure(Action.ANNOTATE)
    return claim, claim.article, access


@login_required
@require_POST
def claim_create(request: HttpRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    access.ensure(Action.ANNOTATE)
    post = request.POST
    try:
        claim = services.claim_create(
            actor=request.user,
            article=article,
            role=access.role,
            start=_offset(post.get("start")),
            end=_offset(post.get("end")),
            exact=_optional(post.get("exact")),
            prefix=_optional(post.get("prefix")),
            suffix=_optional(post.get("suffix")),
            summary=post.get("summary", ""),
        )
    except ValidationError as error:
        viewer = _viewer(access, article)
        problems = {
            "claim_errors": _errors(error),
            "claim_form": {"exact": post.get("exact", "")},
        }
        if request.htmx:
            context = _base_context(article, viewer) | problems
            response = render(request, f"{TEMPLATE}#claim-errors", context, status=400)
            return reswap(retarget(response, "#claim-errors"), "outerHTML")
        return _render_page(request, article, viewer, None, status=400, **problems)
    return _after_write(request, access, article, claim.pk, "Claim marked.")


@login_required
@require_POST
def claim_edit(request: HttpRequest, pk: int) -> HttpResponse:
    claim, article, access = _claim_for_write(request, pk)
    summary = request.POST.get("summary", "")
    try:
        services.claim_update(
            actor=request.user,
            claim=claim,
            role=access.role,
            version=request.POST.get("version") or None,
            summary=summary,
        )
    except ValidationError as error:
        return _render_panel(
            request,
            article,
            _viewer(access, article),
            claim.pk,
            status=400,
            panel_errors=_errors(error),
        )
    except services.StaleVersion as stale:
        return _conflict(
            request,
            _viewer(access, article),
            article,
            claim.pk,
            what="the claim's summary",
            mine=[("Summary", summary or "—")],
            theirs=[("Summary", stale.current.summary or "—")],
            version=stale.current.version,
        )
    return _after_write(request, access, article, claim.pk, "Summary saved.", changed=False)


@login_required
@require_POST
def claim_labels(request: HttpRequest, pk: int) -> HttpResponse:
    """The claim's own labels (shared by everyone, unlike each annotator's): its creator or a
    curator sets them; the checkboxes send the whole set."""
    claim, article, access = _claim_for_write(request, pk)
    labels = request.POST.getlist("labels")
    try:
        services.claim_update(
            actor=request.user,
            claim=claim,
            role=access.role,
            # A form without a version (sent twice quickly) must not overwrite: compare with 0.
            version=request.POST.get("version") or 0,
            labels=labels,
        )
    except ValidationError as error:
        return _render_panel(
            request,
            article,
            _viewer(access, article),
            claim.pk,
            status=400,
            claim_label_errors=_errors(error),
        )
    except services.StaleVersion as stale:
        return _conflict(
            request,
            _viewer(access, article),
            article,
            claim.pk,
            what="the claim's labels",
            mine=[("Labels", ", ".join(labels) or "—")],
            theirs=[("Labels", ", ".join(stale.current.labels) or "—")],
            version=stale.current.version,
        )
    return _after_write(request, access, article, claim.pk, "Claim labels saved.", changed=False)


@login_required
@require_POST
def claim_delete(request: HttpRequest, pk: int) -> HttpResponse:
    claim, article, access = _claim_for_write(request, pk)
    services.claim_delete(access=access, claim=claim)
    return _after_write(request, access, article, None, "Claim deleted.")


@login_required
@require_POST
def annotation_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Create or update my annotation of the claim (stance buttons submit this form too)."""
    claim, article, access = _claim_for_write(request, pk)
    post = request.POST
    mine = selectors.annotation_of(user=request.user, claim=claim)
    stance = post.get("stance") or (mine.stance if mine else "")
    fields = {
        "topic": post.get("topic") or None,
        "stance": stance,
        "labels": post.getlist("labels"),
        "confidence": post.get("confidence") or None,
        "note": post.get("note", ""),
    }
    version = post.get("version") or None
    viewer = _viewer(access, article)
    try:
        if not stance:
            raise ValidationError({"stance": ["Choose a stance: support, oppose or neutral."]})
        if version is None and mine is None:
            services.annotation_create(actor=request.user, claim=claim, role=access.role, **fields)
        elif mine is None:
            raise services.Conflict("Your tag on this claim was deleted meanwhile.")
        else:
            # A form without a version (sent twice quickly) must not overwrite: compare with 0.
            services.annotation_update(
                actor=request.user,
                annotation=mine,
                role=access.role,
                version=version if version is not None else 0,
                **fields,
            )
    except ValidationError as error:
        return _render_panel(
            request,
            article,
            viewer,
            claim.pk,
            status=400,
            panel_errors=_errors(error),
            form=post,
        )
    except (services.StaleVersion, services.Conflict) as stale:
        current = (
            stale.current
            if isinstance(stale, services.StaleVersion)
            else selectors.annotation_of(user=request.user, claim=claim)
        )
        topics = dict(selectors.topics_for_corpus(article.corpus).values_list("id", "label"))
        typed = Annotation(
            stance=stance,
            topic_id=int(fields["topic"]) if str(fields["topic"] or "").isdigit() else None,
            labels=fields["labels"],
            confidence=fields["confidence"],
            note=fields["note"],
        )
        return _conflict(
            request,
            _viewer(access, article),
            article,
            claim.pk,
            what="your tag on this claim",
            mine=_annotation_summary(typed, topics),
            theirs=_annotation_summary(current, topics),
            version=current.version if current else "",
        )
    return _after_write(
        request, access, article, claim.pk, f"Tagged {_stance_label(stance).lower()}."
    )


def _mine_for_write(request: HttpRequest, pk: int) -> tuple[Annotation, Article, Access]:
    annotation, access = selectors.annotation_with_access(request.user, pk)
    access.ensure(Action.ANNOTATE)
    return annotation, annotation.claim.article, access


@login_required
@require_POST
def annotation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    annotation, article, access = _mine_for_write(request, pk)
    claim_id = annotation.claim_id
    services.annotation_delete(actor=request.user, annotation=annotation, role=access.role)
    return _after_write(request, access, article, claim_id, "Your tag was removed.")


def _evidence_items(items) -> list[dict[str, Any]]:
    """Evidence rows as the items annotation_update takes (it replaces the whole list)."""
    return [{name: getattr(item, name) for name in services.EVIDENCE_FIELDS} for item in items]


def _describe_evidence(item: dict[str, Any]) -> str:
    if item.get("kind") == EvidenceKind.SPAN:
        return f"“{_excerpt(item.get('exact') or '', 80)}”"
    return " · ".join(v for v in (item.get("title"), item.get("url"), item.get("quote")) if v)


def _evidence_write(
    request: HttpRequest,
    access: Access,
    annotation: Annotation,
    article: Article,
    items: list[dict[str, Any]],
    message: str,
    attempted: str,
) -> HttpResponse:
    claim_id = annotation.claim_id
    try:
        services.annotation_update(
            actor=request.user,
            annotation=annotation,
            role=access.role,
            version=request.POST.get("version") or 0,
            evidence=items,
        )
    except ValidationError as error:
        return _render_panel(
            request,
            article,
            _viewer(access, article),
            claim_id,
            status=400,
            evidence_errors=_errors(error),
            form=request.POST,
        )
    except services.StaleVersion as stale:
        theirs = [
            ("Evidence", _describe_evidence(item))
            for item in _evidence_items(stale.current.evidence.order_by("position", "id"))
        ] or [("Evidence", "—")]
        return _conflict(
            request,
            _viewer(access, article),
            article,
            claim_id,
            what="the evidence of your tag",
            mine=[("Change", attempted)],
            theirs=theirs,
            version=stale.current.version,
        )
    return _after_write(request, access, article, claim_id, message, changed=False)


@login_required
@require_POST
def evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    claim, article, access = _claim_for_write(request, pk)
    mine = selectors.annotation_of(user=request.user, claim=claim)
    post = request.POST
    if post.get("kind") == EvidenceKind.SOURCE:
        item = {
            "kind": EvidenceKind.SOURCE,
            "url": post.get("url", ""),
            "title": post.get("title", ""),
            "quote": post.get("quote", ""),
        }
    else:
        item = {
            "kind": EvidenceKind.SPAN,
            "start": _offset(post.get("start")),
            "end": _offset(post.get("end")),
            "exact": _optional(post.get("exact")),
        }
    item["evidence_type"] = post.get("evidence_type") or EvidenceType.OTHER
    item["role"] = post.get("role") or EvidenceRole.SUPPORTS
    if mine is None:
        return _render_panel(
            request,
            article,
            _viewer(access, article),
            claim.pk,
            status=400,
            evidence_errors=["Tag the claim's stance first; evidence belongs to your tag."],
            form=post,
        )
    return _evidence_write(
        request,
        access,
        mine,
        article,
        [*_evidence_items(mine.evidence.order_by("position", "id")), item],
        "Evidence added.",
        f"Add {_describe_evidence(item)}",
    )


@login_required
@require_POST
def evidence_delete(request: HttpRequest, pk: int, evidence_id: int) -> HttpResponse:
    annotation, article, access = _mine_for_write(request, pk)
    items = list(annotation.evidence.order_by("position", "id"))
    if not any(item.pk == evidence_id for item in items):
        raise Http404("Evidence not found.")
    removed = _evidence_items([i for i in items if i.pk == evidence_id])[0]
    kept = _evidence_items([i for i in items if i.pk != evidence_id])
    return _evidence_write(
        request,
        access,
        annotation,
        article,
        kept,
        "Evidence removed.",
        f"Remove {_describe_evidence(removed)}",
    )


@login_required
@require_POST
def relation_create(request: HttpRequest, pk: int) -> HttpResponse:
    claim, article, access = _claim_for_write(request, pk)
    post = request.POST
    target_id = post.get("target", "")
    query = post.get("q", "")[:200].strip()
    relation_form = {
        "direction": post.get("direction", ""),
        "kind": post.get("kind", ""),
        "q": query,
    }
    try:
        if not target_id and query:
            # Typed words but no choice (no JavaScript, or Enter in the search box): one match
            # is the choice; several are offered to choose from.
            search = _relation_search(article, claim.pk, query=query)
            matches = search["relation_matches"]
            if len(matches) == 1:
                target_id = str(matches[0].id)
            else:
                problem = (
                    f"Several claims match “{query}”: choose one."
                    if matches
                    else f"No other claim matches “{query}”."
                )
                return _render_panel(
                    request,
                    article,
                    _viewer(access, article),
                    claim.pk,
                    status=400,
                    relation_errors=[problem],
                    relation_form=relation_form,
                    **search,
                )
        if not target_id:
            raise ValidationError({"target": ["Choose the other claim."]})
        target, _target_access = selectors.claim_with_access(request.user, target_id)
        source, target = (target, claim) if post.get("direction") == "in" else (claim, target)
        services.relation_create(
            actor=request.user,
            source=source,
            target=target,
            role=access.role,
            kind=post.get("kind", ""),
        )
    except ValidationError as error:
        return _render_panel(
            request,
            article,
            _viewer(access, article),
            claim.pk,
            status=400,
            relation_errors=_errors(error),
            relation_form=relation_form,
        )
    except services.Conflict as error:
        return _render_panel(
            request,
            article,
            _viewer(access, article),
            claim.pk,
            status=409,
            relation_errors=[str(error)],
            relation_form=relation_form,
        )
    return _after_write(request, access, article, claim.pk, "Link added.")


@login_required
@require_POST
def relation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    relation, access = selectors.relation_with_access(request.user, pk)
    article = relation.source_claim.article
    access.ensure(Action.ANNOTATE)
    back = selectors.parse_id(request.POST.get("claim") or relation.source_claim_id)
    if back not in (relation.source_claim_id, relation.target_claim_id):
        back = relation.source_claim_id
    services.relation_delete(actor=request.user, relation=relation, role=access.role)
    return _after_write(request, access, article, back, "Link removed.")


@login_required
@require_POST
def comment_create(request: HttpRequest, pk: int) -> HttpResponse:
    claim, article, access = _claim_for_write(request, pk)
    try:
        services.comment_create(
            actor=request.user, claim=claim, role=access.role, text=request.POST.get("text", "")
        )
    except ValidationError as error:
        return _render_panel(
            request,
            article,
            _viewer(access, article),
            claim.pk,
            status=400,
            comment_errors=_errors(error),
            form=request.POST,
        )
    return _after_write(request, access, article, claim.pk, "Comment posted.", changed=False)


@login_required
@require_POST
def article_submit(request: HttpRequest, pk: int) -> HttpResponse:
    article, access = selectors.article_with_access(request.user, pk)
    services.article_submit(actor=request.user, article=article, role=access.role)
    messages.success(
        request,
        "Submitted: your work on this article is marked done. "
        "You now see the other annotators' tags and the curators' decisions.",
    )
    return redirect("article", pk=article.pk)


urlpatterns = [
    path("articles/<int:pk>/", article_page, name="article"),
    path("articles/<int:pk>/text", article_text, name="article-text"),
    path("articles/<int:pk>/claim-list", article_claim_list, name="article-claim-list"),
    path("articles/<int:pk>/claims/new", claim_create, name="claim-create"),
    path("articles/<int:pk>/submit", article_submit, name="article-submit"),
    path("claims/<int:pk>/panel", claim_panel, name="claim-panel"),
    path("claims/<int:pk>/edit", claim_edit, name="claim-edit"),
    path("claims/<int:pk>/labels", claim_labels, name="claim-labels"),
    path("claims/<int:pk>/delete", claim_delete, name="claim-delete"),
    path("claims/<int:pk>/annotation", annotation_save, name="annotation-save"),
    path("claims/<int:pk>/evidence", evidence_add, name="evidence-add"),
    path("claims/<int:pk>/relations", relation_create, name="relation-create"),
    path("claims/<int:pk>/relation-targets", relation_targets, name="relation-targets"),
    path("claims/<int:pk>/comments", comment_create, name="comment-create"),
    path("annotations/<int:pk>/delete", annotation_delete, name="annotation-delete"),
    path(
        "annotations/<int:pk>/evidence/<int:evidence_id>/delete",
        evidence_delete,
        name="evidence-delete",
    ),
    path("relations/<int:pk>/delete", relation_delete, name="relation-delete"),
]
