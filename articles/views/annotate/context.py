"""What the page shows: the caller on the article (`Viewer`), and the contexts of the page's
parts (the text, the claim list, the claim panel). Every read goes through the caller's Access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.urls import reverse
from django_htmx.middleware import HtmxDetails

from ... import selectors
from ...access import Access, Kind
from ...models import (
    Article,
    AssignmentState,
    Claim,
    EvidenceRole,
    EvidenceType,
    RelationKind,
    Role,
    Stance,
)
from ...permissions import (
    Action,
    can_delete_annotation,
    can_delete_relation,
    can_edit_claim,
    claim_delete_refusal,
)
from .claim_list import (
    FILTERS,
    ClaimRow,
    claim_rows,
    colour_of,
    excerpt,
    filter_rows,
    render_claim_items,
)
from .segments import render_segments, segment_text

STANCE_KEYS: dict[str, str] = {Stance.SUPPORT: "1", Stance.OPPOSE: "2", Stance.NEUTRAL: "3"}
LEGEND = [
    ("support", "Support", "solid underline"),
    ("oppose", "Oppose", "wavy underline"),
    ("neutral", "Neutral", "dotted underline"),
    ("mixed", "Disputed", "double underline"),
    ("none", "No stance yet", "dashed underline"),
]


class PageRequest(HttpRequest):
    """A request to the page's views: signed in (they are all login_required) and read by
    django-htmx's middleware (`htmx` is falsy for plain browsers)."""

    user: User
    htmx: HtmxDetails


@dataclass
class Viewer:
    """The caller on this article: their access to the corpus plus the article's facts."""

    access: Access
    submitted: bool  # they have submitted their work on this article
    assigned: bool  # the article is assigned to them (or they submitted it)
    sees_all: bool  # every annotator's tags (and comments, relations) on it
    show_reviews: bool  # the curators' decisions on it

    @property
    def user(self) -> User:
        return self.access.user

    @property
    def role(self) -> str:
        return self.access.role

    @property
    def can_annotate(self) -> bool:
        return self.access.can(Action.ANNOTATE)

    @property
    def can_manage(self) -> bool:
        """Owners edit the article's details and move it to the trash."""
        return self.access.can(Action.MANAGE)

    def annotates(self, rows: list[ClaimRow]) -> bool:
        """Whether they tag this article: an annotator, or a curator or owner it is assigned to
        or who tagged a claim of it. Only they are shown "No stance from you" and "Submit my
        work"; the others may still tag (can_annotate), they are not asked to."""
        if not self.can_annotate:
            return False
        return self.role == Role.ANNOTATOR or self.assigned or any(row.mine for row in rows)


def viewer_for(access: Access, article: Article) -> Viewer:
    """The caller on `article`: one query (their assignment's state), none for viewers."""
    state = (
        None
        if access.role == Role.VIEWER
        else selectors.assignment_state(user=access.user, article=article)
    )
    submitted = state == AssignmentState.SUBMITTED
    return Viewer(
        access=access,
        submitted=submitted,
        assigned=state is not None,
        sees_all=access.sees_all_on(article, Kind.ANNOTATION, submitted=submitted),
        show_reviews=access.sees_all_on(article, Kind.REVIEW, submitted=submitted),
    )


def page_url(article_id: int, *, claim_id: int | None = None, filter_name: str = "all") -> str:
    """The page, with the claim list's filter and the open claim in its query string."""
    query: dict[str, Any] = {}
    if filter_name != "all":
        query["filter"] = filter_name
    if claim_id is not None:
        query["claim"] = claim_id
    url = reverse("article", args=[article_id])
    if query:
        url += "?" + urlencode(query)
    return url + ("#panel" if claim_id is not None else "")


def rows_for(article: Article, viewer: Viewer) -> list[ClaimRow]:
    """Every claim of the article as the text and the list show it: three queries at most."""
    overview = selectors.claim_overview_for_article(viewer.access, article)
    return claim_rows(overview, user_id=viewer.access.user_id)


def base_context(article: Article, viewer: Viewer) -> dict[str, Any]:
    return {
        "article": article,
        "corpus": article.corpus,
        "viewer": viewer,
        "source_url": article.source_url
        if article.source_url.startswith(("http://", "https://"))
        else "",
    }


def list_context(
    viewer: Viewer, rows: list[ClaimRow], filter_name: str, selected: int | None = None
) -> dict[str, Any]:
    can_annotate = viewer.annotates(rows)
    shown = filter_rows(rows, filter_name, can_annotate=can_annotate)
    return {
        "annotates": can_annotate,
        "rows": shown,
        "claim_items": render_claim_items(
            shown, filter_name=filter_name, can_annotate=can_annotate, selected=selected
        ),
        "n_claims": len(rows),
        "filter": filter_name,
        "filters": [
            (key, label, len(filter_rows(rows, key, can_annotate=can_annotate)))
            for key, label in FILTERS.items()
        ],
    }


def text_context(
    article: Article, rows: list[ClaimRow], selected: int | None = None
) -> dict[str, Any]:
    spans = [(r.id, r.start, r.end) for r in rows]
    colour = {r.id: r.colour for r in rows}
    paragraphs = segment_text(article.text, spans)
    return {"article_html": render_segments(article.text, paragraphs, colour, selected)}


# --- The claim panel --------------------------------------------------------------------------


def _relations(
    claim: Claim, viewer: Viewer, labels: dict[int, tuple[int, str]]
) -> list[dict[str, Any]]:
    """The claim's links both ways, each with the other claim's number and excerpt."""
    # relations_out/_in, visible_annotations, n_annotations: set by selectors.claims_for_article.
    facts: Any = claim
    links = [(rel, "out", rel.target_claim_id) for rel in facts.relations_out] + [
        (rel, "in", rel.source_claim_id) for rel in facts.relations_in
    ]
    return [
        {
            "relation": rel,
            "direction": direction,
            "other_id": other_id,
            "other": labels.get(other_id),
            "can_delete": can_delete_relation(user=viewer.user, role=viewer.role, relation=rel),
        }
        for rel, direction, other_id in links
    ]


def panel_context(
    article: Article, viewer: Viewer, claim_id: int | None, **extra: Any
) -> dict[str, Any]:
    """Everything the panel shows for one claim, in a fixed number of queries. `extra` is what a
    write adds: its messages, what was typed (`form`, `relation_form`), a conflict."""
    context: dict[str, Any] = {"panel_claim": None, "form": {}, "relation_form": {}, **extra}
    if claim_id is None:
        return context
    claim = selectors.claims_for_article(viewer.access, article).filter(pk=claim_id).first()
    if claim is None:
        context["panel_missing"] = True
        return context
    user_id = viewer.access.user_id
    facts: Any = claim  # with the attributes selectors.claims_for_article sets
    visible = facts.visible_annotations
    mine = next((a for a in visible if a.annotator_id == user_id), None)
    review = getattr(claim, "review", None) if viewer.show_reviews else None
    outline = list(selectors.claim_outline_for_article(article))
    labels = {cid: (n, excerpt(head, 60)) for n, (cid, head) in enumerate(outline, 1)}
    position = next((i for i, item in enumerate(outline) if item[0] == claim.pk), None)
    corpus = article.corpus
    context.update(
        panel_claim=claim,
        number=labels.get(claim.pk, (0, ""))[0],
        colour=colour_of(
            [(a.annotator_id, a.topic_id, a.stance) for a in visible],
            user_id=user_id,
            review=(review.decision, review.stance) if review else None,
        ),
        mine=mine,
        others=[a for a in visible if a.annotator_id != user_id],
        review=review,
        topics=list(selectors.topics_for_corpus(corpus)),
        claim_labels=corpus.claim_labels,
        relations=_relations(claim, viewer, labels),
        has_other_claims=len(outline) > 1,
        comments=list(selectors.comments_for_claim(viewer.access, claim)),
        can_edit_claim=can_edit_claim(user=viewer.user, role=viewer.role, claim=claim),
        # The service's rule (permissions.claim_delete_refusal), on what the caller may see.
        can_delete_claim=viewer.can_annotate
        and claim_delete_refusal(
            user=viewer.user,
            role=viewer.role,
            claim=claim,
            sees_all=viewer.sees_all,
            others_tagged=facts.n_annotations > (1 if mine else 0),
        )
        is None,
        can_delete_mine=mine is not None
        and can_delete_annotation(user=viewer.user, role=viewer.role, annotation=mine),
        prev_id=outline[position - 1][0] if position else None,
        next_id=outline[position + 1][0]
        if position is not None and position + 1 < len(outline)
        else None,
        stance_choices=[(value, label, STANCE_KEYS[value]) for value, label in Stance.choices],
        evidence_types=EvidenceType.choices,
        evidence_roles=EvidenceRole.choices,
        evidence_picked=_evidence_picked(context["form"]),
        relation_kinds=RelationKind.choices,
        confidence_choices=range(1, 6),
    )
    return context


def _evidence_picked(form: Any) -> dict[str, dict[str, str]]:
    """The type and role each "add evidence" form shows selected: what was sent, when the form
    comes back with a mistake, else the explicit empty type (no type is suggested; it is stored
    as "other") and "supports"."""
    other, supports = "", str(EvidenceRole.SUPPORTS)
    picked = {kind: {"type": other, "role": supports} for kind in ("span", "source")}
    kind = form.get("kind") if form else None
    if kind in picked:
        picked[kind] = {
            "type": form.get("evidence_type") or other,
            "role": form.get("role") or supports,
        }
    return picked
