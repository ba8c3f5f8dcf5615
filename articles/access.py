"""Who is asking, decided once: one small frozen object per request and corpus.

Every read that shows people's work goes through `Access.visible(kind)` (or, for reads across
several corpora, `visible_q` with the facts left to the database). The blind rule lives in
`RULES` and `visible_q` and nowhere else:

    DESIGN.md, "Blind mode means noninterference": before an annotator has submitted an article
    of a blind corpus, nothing that anyone else wrote on that article reaches them.

Curators and owners see everything (they review it); viewers write nothing, so blinding them
protects nobody's independence and they see everything too. Reviews are stricter than the other
kinds: an annotator sees the curators' decisions on an article only once they have submitted it,
blind corpus or not, since a gold stance shown earlier would steer their own tags.

Selectors take an `Access`, views get one from the selector that fetched the object
(`selectors.*_with_access`), and `Access.ensure` answers "may this member do this" (403), while
the selectors have already answered 404 to non-members.
"""

from __future__ import annotations

import enum
import functools
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Assignment, AssignmentState, Membership, Role
from .permissions import Action, can, ensure

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .models import Article, Corpus


class Kind(enum.StrEnum):
    """The kinds of people's work that blind mode hides."""

    ANNOTATION = "annotation"
    EVIDENCE = "evidence"
    RELATION = "relation"
    REVIEW = "review"
    COMMENT = "comment"
    ASSIGNMENT = "assignment"
    SUGGESTION_DECISION = "suggestion_decision"  # who accepted or rejected a model's suggestion


@dataclass(frozen=True, slots=True)
class Rule:
    """Where, on a row of this kind, to find who wrote it and which article it is about."""

    author: str | None  # field holding the user who wrote it (None: never the reader's own)
    article: str  # path from the row to its article
    blind_only: bool  # hidden only in blind corpora (False: hidden until submit in every corpus)


RULES: dict[Kind, Rule] = {
    Kind.ANNOTATION: Rule(author="annotator", article="claim__article", blind_only=True),
    Kind.EVIDENCE: Rule(
        author="annotation__annotator", article="annotation__claim__article", blind_only=True
    ),
    Kind.RELATION: Rule(author="created_by", article="source_claim__article", blind_only=True),
    Kind.COMMENT: Rule(author="author", article="claim__article", blind_only=True),
    Kind.ASSIGNMENT: Rule(author="annotator", article="article", blind_only=True),
    Kind.REVIEW: Rule(author=None, article="claim__article", blind_only=False),
    Kind.SUGGESTION_DECISION: Rule(
        author="decided_by", article="suggestion__article", blind_only=True
    ),
}

# Roles that see everyone's work on every article.
SEES_ALL_ROLES = (Role.OWNER, Role.CURATOR, Role.VIEWER)

_UNKNOWN = object()  # a fact the database decides row by row (reads across several corpora)


def submitted_articles(user_id: int) -> QuerySet:
    """Ids of the articles the user has submitted (a subquery)."""
    return Assignment.objects.filter(annotator_id=user_id, state=AssignmentState.SUBMITTED).values(
        "article_id"
    )


def visible_q(
    kind: Kind,
    *,
    user_id: int,
    prefix: str = "",
    role: object = _UNKNOWN,
    blind: object = _UNKNOWN,
    few: bool = False,
) -> Q:
    """The rows of `kind` (reached through `prefix` from the queried model) the user may see.

    `role` and `blind` are the facts known in advance for one corpus; left unknown, the database
    checks them per row (the corpus list, the dashboard). Q() means "everything".

    `few`: the query reads the rows of a few articles (a page). Whether the user submitted an
    article is then asked row by row, one probe of their (annotator, state, article) index,
    instead of reading the list of every article they submitted: for a member who submitted
    100,000 articles the planner costed that list on every probe and scanned the whole table
    (a page's counts: 135 ms, 1 ms this way, on PostgreSQL at 100,000 articles).
    """
    clauses = visible_clauses(kind, user_id=user_id, prefix=prefix, role=role, blind=blind, few=few)
    return Q() if clauses is None else functools.reduce(operator.or_, clauses)


def visible_clauses(
    kind: Kind,
    *,
    user_id: int,
    prefix: str = "",
    role: object = _UNKNOWN,
    blind: object = _UNKNOWN,
    few: bool = False,
) -> list[Q] | None:
    """`visible_q` as the filters of which a visible row passes at least one (None: every row
    is visible)."""
    rule = RULES[kind]
    corpus = f"{prefix}{rule.article}__corpus"
    clauses: list[Q] = []
    if role is _UNKNOWN:
        clauses.append(
            Q(
                Exists(
                    Membership.objects.filter(
                        corpus=OuterRef(corpus), user_id=user_id, role__in=SEES_ALL_ROLES
                    )
                )
            )
        )
    elif role in SEES_ALL_ROLES:
        return None
    if rule.blind_only:
        if blind is _UNKNOWN:
            clauses.append(Q(**{f"{corpus}__blind": False}))
        elif not blind:
            return None
    if rule.author:
        clauses.append(Q(**{f"{prefix}{rule.author}": user_id}))
    if few:
        clauses.append(
            Q(
                Exists(
                    Assignment.objects.filter(
                        annotator_id=user_id,
                        state=AssignmentState.SUBMITTED,
                        article=OuterRef(f"{prefix}{rule.article}"),
                    )
                )
            )
        )
    else:
        clauses.append(Q(**{f"{prefix}{rule.article}__in": submitted_articles(user_id)}))
    return clauses


@dataclass(frozen=True, slots=True)
class Access:
    """The caller as a member of one corpus: who, which role, and what they may see."""

    user: User  # a signed-in member (the project keeps Django's own user model)
    corpus: Corpus
    role: str  # a Role value; non-members never get an Access (the selectors answer 404)

    @property
    def user_id(self) -> int:
        return int(self.user.pk)

    # --- may they do it ---------------------------------------------------------------------

    def can(self, action: Action | str) -> bool:
        return can(self.role, action)

    def ensure(self, action: Action | str) -> None:
        """PermissionDenied (403) naming the role needed, unless the role allows `action`."""
        ensure(self.role, action)

    @property
    def is_annotator(self) -> bool:
        """Whether they tag claims themselves (the page shows "my stance", "submit my work")."""
        return self.role == Role.ANNOTATOR

    # --- what may they see ------------------------------------------------------------------

    def visible(self, kind: Kind, prefix: str = "", *, few: bool = False) -> Q:
        """The rows of `kind` this member may see, as a filter (Q() for everything); `few`: the
        query reads a few articles' rows (see visible_q)."""
        return visible_q(
            kind,
            user_id=self.user_id,
            prefix=prefix,
            role=self.role,
            blind=self.corpus.blind,
            few=few,
        )

    def visible_exists(self, kind: Kind, rows: QuerySet) -> Q:
        """Whether `rows` (rows of `kind`, as a subquery correlated to the outer query) hold
        one this member may see: `Exists(rows.filter(self.visible(kind)))`, written as one
        EXISTS per way of being visible, OR-ed. Under a filter on a whole corpus (a filtered
        page's count), the planner turns each into a semi-join; one EXISTS over an OR of
        correlated probes was run probe by probe, article after article (1.2 s at 100,000).
        The articles the member submitted are read once, as a list (not `few`): SQLite probed
        them per article otherwise (1 s at 100,000 articles, 0.5 s this way, under load)."""
        clauses = visible_clauses(
            kind, user_id=self.user_id, role=self.role, blind=self.corpus.blind, few=False
        )
        if clauses is None:
            return Q(Exists(rows))
        return functools.reduce(operator.or_, (Q(Exists(rows.filter(c))) for c in clauses))

    def sees_everything(self, kind: Kind) -> bool:
        """True when nothing of `kind` is hidden from them anywhere in the corpus."""
        return self.visible(kind) == Q()

    def sees_all_on(
        self, article: Article, kind: Kind = Kind.ANNOTATION, *, submitted: bool | None = None
    ) -> bool:
        """Whether every row of `kind` on `article` is visible to them: one query at most, none
        when the caller already knows whether they `submitted` the article."""
        if self.sees_everything(kind):
            return True
        if submitted is None:
            submitted = submitted_articles(self.user_id).filter(article_id=article.pk).exists()
        return submitted

    def show_disagreements(self) -> bool:
        """Disagreement filters and counts compare everyone's stances: only for those who see
        every annotation of the corpus."""
        return self.sees_everything(Kind.ANNOTATION)

    def may_see_agreement(self) -> bool:
        """Agreement figures: for those who see every annotation, and for annotators of a corpus
        that is not blind (per-annotator figures hint at the others' stances)."""
        return self.sees_everything(Kind.ANNOTATION) and self.can(Action.VIEW)
