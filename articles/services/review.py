"""Curators' reviews, comments on claims, and the assignment of articles to annotators."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import db_statistics
from ..models import (
    Article,
    Assignment,
    AssignmentState,
    Claim,
    Comment,
    Corpus,
    Membership,
    Review,
    ReviewDecision,
    Role,
    Stance,
    Topic,
)
from ..permissions import Action, ensure
from .accounts import _find_user
from .base import (
    User,
    Version,
    _create_unique,
    _snapshot,
    audit,
    check_version,
    clean_choice,
    clean_free_text,
    clean_int,
)
from .corpora import _resolve_topic

# --- Reviews and comments ------------------------------------------------------------------

REVIEW_FIELDS = ("claim_id", "decision", "topic", "stance", "note")


def review_set(
    *,
    actor: User,
    claim: Claim,
    role: str | None,
    decision: str,
    topic: Topic | int | str | None = None,
    stance: str | None = None,
    note: str = "",
    version: Version = None,
) -> Review:
    """The curator's decision on a claim: accepted with a gold topic and stance, or rejected."""
    ensure(role, Action.REVIEW)
    corpus = claim.article.corpus
    decision = clean_choice(decision, "decision", ReviewDecision)
    gold_topic: Topic | None
    if decision == ReviewDecision.ACCEPTED:
        gold_topic = _resolve_topic(corpus, topic)
        if stance in (None, ""):
            raise ValidationError({"stance": ["An accepted claim needs a gold stance."]})
        gold_stance = clean_choice(stance, "stance", Stance)
    else:
        gold_topic = _resolve_topic(corpus, topic) if topic not in (None, "") else None
        gold_stance = clean_choice(stance, "stance", Stance, required=False)
    note = clean_free_text(note, "note").strip()
    with transaction.atomic():
        current = Review.objects.select_for_update().filter(claim=claim).first()
        if current is None:
            if version not in (None, "", 0, "0"):
                raise ValidationError({"version": ["This claim has no review yet."]})
            review = _create_unique(
                lambda: Review.objects.create(
                    claim=claim,
                    curator=actor,
                    decision=decision,
                    topic=gold_topic,
                    stance=gold_stance,
                    note=note,
                ),
                "Another curator reviewed this claim at the same moment; reload it.",
            )
            audit(
                actor=actor,
                verb="review.create",
                obj=review,
                corpus=corpus,
                after=_snapshot(review, REVIEW_FIELDS),
            )
            return review
        check_version(current, version)
        before = _snapshot(current, REVIEW_FIELDS)
        current.curator = actor
        current.decision, current.topic, current.stance, current.note = (
            decision,
            gold_topic,
            gold_stance,
            note,
        )
        current.version += 1
        current.save()
        audit(
            actor=actor,
            verb="review.update",
            obj=current,
            corpus=corpus,
            before=before,
            after=_snapshot(current, REVIEW_FIELDS),
        )
        return current


def review_delete(*, actor: User, review: Review, role: str | None) -> None:
    ensure(role, Action.REVIEW)
    with transaction.atomic():
        audit(
            actor=actor,
            verb="review.delete",
            obj=review,
            corpus=review.claim.article.corpus,
            before=_snapshot(review, REVIEW_FIELDS),
        )
        review.delete()


def comment_create(*, actor: User, claim: Claim, role: str | None, text: str) -> Comment:
    ensure(role, Action.ANNOTATE)
    text = clean_free_text(text, "text", max_chars=10_000).strip()
    if not text:
        raise ValidationError({"text": ["The comment is empty."]})
    with transaction.atomic():
        comment = Comment.objects.create(claim=claim, author=actor, text=text)
        audit(
            actor=actor,
            verb="comment.create",
            obj=comment,
            corpus=claim.article.corpus,
            after={"claim": claim.pk, "text": text},
        )
    return comment


# --- Assignments ---------------------------------------------------------------------------


def _annotator_member(corpus: Corpus, user: User) -> None:
    membership = Membership.objects.filter(corpus=corpus, user=user).first()
    if membership is None or membership.role == Role.VIEWER:
        raise ValidationError(
            {
                "annotator": [
                    f"{user.username} is not an annotator, curator or owner of this corpus."
                ]
            }
        )


def assignment_create(
    *, actor: User, article: Article, role: str | None, annotator: User | str
) -> Assignment:
    """Gives the article to an annotator (a user, or a username or email to look up)."""
    ensure(role, Action.ASSIGN)
    if not isinstance(annotator, User):
        annotator = _find_user(annotator, "annotator")
    _annotator_member(article.corpus, annotator)
    with transaction.atomic():
        assignment = _create_unique(
            lambda: Assignment.objects.create(
                article=article, annotator=annotator, assigned_by=actor
            ),
            f"{annotator.username} has this article already.",
        )
        audit(
            actor=actor,
            verb="assignment.create",
            obj=assignment,
            corpus=article.corpus,
            after={"article": article.pk, "annotator": annotator.username},
        )
    return assignment


def assignment_delete(*, actor: User, assignment: Assignment, role: str | None) -> None:
    ensure(role, Action.ASSIGN)
    if assignment.state == AssignmentState.SUBMITTED:
        raise ValidationError({"assignment": ["Submitted work cannot be unassigned."]})
    with transaction.atomic():
        audit(
            actor=actor,
            verb="assignment.delete",
            obj=assignment,
            corpus=assignment.article.corpus,
            before={"article": assignment.article_id, "annotator": assignment.annotator_id},
        )
        assignment.delete()


def assignments_balance(
    *,
    actor: User,
    corpus: Corpus,
    role: str | None,
    per_article: int | str | None,
    annotators: Sequence[User | str] | None = None,
) -> list[Assignment]:
    """Gives every live article to `per_article` annotators, spreading the load evenly.

    Existing assignments count toward both the article's quota and each annotator's load.
    """
    ensure(role, Action.ASSIGN)
    per_article = clean_int(per_article, "per_article")
    if per_article < 1:
        raise ValidationError({"per_article": ["per_article must be at least 1."]})
    eligible = Membership.objects.filter(
        corpus=corpus, role__in=[Role.ANNOTATOR, Role.CURATOR, Role.OWNER]
    ).select_related("user")
    people = [m.user for m in eligible if m.user.is_active]
    if annotators:
        wanted = {a.username if isinstance(a, User) else a for a in annotators}
        people = [u for u in people if u.username in wanted]
        missing = wanted - {u.username for u in people}
        if missing:
            raise ValidationError(
                {"annotators": [f"Not annotators of this corpus: {', '.join(sorted(missing))}."]}
            )
    if len(people) < per_article:
        raise ValidationError(
            {
                "per_article": [
                    f"Only {len(people)} annotators can take work; asked for {per_article}."
                ]
            }
        )
    articles = list(
        Article.objects.alive().filter(corpus=corpus).order_by("id").values_list("id", flat=True)
    )
    existing = set(
        Assignment.objects.filter(article__corpus=corpus).values_list("article_id", "annotator_id")
    )
    load = {u.pk: 0 for u in people}
    holders: dict[int, set[int]] = defaultdict(set)  # article id: its annotators' ids
    for article_id, user_id in existing:
        holders[article_id].add(user_id)
        if user_id in load:
            load[user_id] += 1
    created: list[Assignment] = []
    with transaction.atomic():
        for article_id in articles:
            have = holders.get(article_id, set())
            need = per_article - len(have)
            candidates = sorted(
                (u for u in people if u.pk not in have), key=lambda u: (load[u.pk], u.username)
            )
            for user in candidates[: max(need, 0)]:
                created.append(Assignment(article_id=article_id, annotator=user, assigned_by=actor))
                load[user.pk] += 1
        Assignment.objects.bulk_create(created)
        # Many rows at once: the planner's statistics are refreshed as after an import (the
        # filtered corpus pages plan by them; see db_statistics).
        written = len(created)
        transaction.on_commit(lambda: db_statistics.refresh({"Assignment": written}))
        audit(
            actor=actor,
            verb="assignment.balance",
            obj=corpus,
            corpus=corpus,
            after={"per_article": per_article, "created": len(created)},
        )
    return created
