"""Articles: their text and fields, the trash, and submitting one's work on an article."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import TypedDict, Unpack

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import anchoring
from ..models import (
    Annotation,
    AnnotationStatus,
    Article,
    Assignment,
    AssignmentState,
    Claim,
    Corpus,
)
from ..permissions import Action, ensure
from .base import (
    PayloadTooLarge,
    User,
    Version,
    _lock,
    _parse_date,
    _snapshot,
    audit,
    check_version,
    clean_line,
    clean_url,
)

ARTICLE_FIELDS = ("title", "author", "source_url", "published_on", "language", "text_sha256")


class ArticleInput(TypedDict, total=False):
    """An article's fields as a form or the API gives them (the date may still be text)."""

    title: str
    text: str
    author: str
    source_url: str
    published_on: date | str | None
    language: str


class ArticleFields(TypedDict, total=False):
    """Cleaned article fields, ready for Article(**fields); all of them unless partial."""

    title: str
    text: str
    author: str
    source_url: str
    published_on: date | None
    language: str
    text_sha256: str


def clean_article_text(text: object) -> str:
    if not isinstance(text, str):
        raise ValidationError({"text": ["text must be a string."]})
    anchoring.check_text(text, "text")
    text = anchoring.normalize_text(text)
    if not text.strip():
        raise ValidationError({"text": ["text is empty."]})
    limit = settings.ARTICLE_MAX_CHARS
    if len(text) > limit:
        raise PayloadTooLarge(
            f"The article text has {len(text):,} characters; the limit is {limit:,} "
            "(ARTICLE_MAX_CHARS)."
        )
    return text


def clean_article_fields(data: Mapping[str, object], *, partial: bool = False) -> ArticleFields:
    """Validate article fields from a form, the API or an import line."""
    cleaned: ArticleFields = {}
    if not partial or "title" in data:
        cleaned["title"] = clean_line(data.get("title"), "title", max_chars=500, required=True)
    if not partial or "text" in data:
        cleaned["text"] = clean_article_text(data.get("text"))
    if "author" in data or not partial:
        cleaned["author"] = clean_line(data.get("author"), "author", max_chars=300)
    if "source_url" in data or not partial:
        cleaned["source_url"] = clean_url(data.get("source_url"))
    if "published_on" in data or not partial:
        cleaned["published_on"] = _parse_date(data.get("published_on"), "published_on")
    if "language" in data or not partial:
        cleaned["language"] = clean_line(data.get("language"), "language", max_chars=35)
    return cleaned


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def article_create(
    *, actor: User, corpus: Corpus, role: str | None, **data: Unpack[ArticleInput]
) -> Article:
    ensure(role, Action.IMPORT)
    fields = clean_article_fields(data)
    fields["text_sha256"] = text_sha256(fields["text"])
    with transaction.atomic():
        article = Article.objects.create(corpus=corpus, created_by=actor, **fields)
        audit(
            actor=actor,
            verb="article.create",
            obj=article,
            corpus=corpus,
            after=_snapshot(article, ARTICLE_FIELDS),
        )
    return article


def article_update(
    *,
    actor: User,
    article: Article,
    role: str | None,
    version: Version = None,
    **data: Unpack[ArticleInput],
) -> Article:
    ensure(role, Action.MANAGE)
    unknown = set(data) - {"title", "text", "author", "source_url", "published_on", "language"}
    if unknown:
        raise ValidationError({f: ["This field cannot be changed here."] for f in unknown})
    fields = clean_article_fields(data, partial=True)
    with transaction.atomic():
        current = _lock(Article, article.pk)
        check_version(current, version)
        if "text" in fields and fields["text"] != current.text:
            if Claim.objects.filter(article=current).exists():
                raise ValidationError(
                    {"text": ["The text cannot change once claims point into it."]}
                )
            fields["text_sha256"] = text_sha256(fields["text"])
        before = _snapshot(current, ARTICLE_FIELDS)
        for name, value in fields.items():
            setattr(current, name, value)
        current.version += 1
        current.save()
        audit(
            actor=actor,
            verb="article.update",
            obj=current,
            corpus=article.corpus,
            before=before,
            after=_snapshot(current, ARTICLE_FIELDS),
        )
    return current


def article_delete(*, actor: User, article: Article, role: str | None) -> None:
    """Moves the article and its claims to the corpus's trash (an owner can restore them)."""
    ensure(role, Action.DELETE_ARTICLE)
    now = timezone.now()
    with transaction.atomic():
        Claim.objects.filter(article=article, deleted_at__isnull=True).update(
            deleted_at=now, deleted_by=actor
        )
        Article.objects.filter(pk=article.pk).update(deleted_at=now, deleted_by=actor)
        audit(
            actor=actor,
            verb="article.delete",
            obj=article,
            corpus=article.corpus,
            before=_snapshot(article, ARTICLE_FIELDS),
        )


def article_restore(*, actor: User, article: Article, role: str | None) -> None:
    ensure(role, Action.MANAGE)
    with transaction.atomic():
        current = _lock(Article, article.pk)
        if current.deleted_at is None:
            return
        # Claims deleted together with the article come back; ones deleted before stay in the trash.
        Claim.objects.filter(article=current, deleted_at=current.deleted_at).update(
            deleted_at=None, deleted_by=None
        )
        current.deleted_at = None
        current.deleted_by = None
        current.save(update_fields=["deleted_at", "deleted_by"])
        audit(actor=actor, verb="article.restore", obj=current, corpus=current.corpus)


def article_purge(*, actor: User, article: Article, role: str | None) -> None:
    """Deletes a trashed article for good."""
    ensure(role, Action.MANAGE)
    if article.deleted_at is None:
        raise ValidationError({"article": ["Only an article in the trash can be purged."]})
    with transaction.atomic():
        audit(
            actor=actor,
            verb="article.purge",
            obj=article,
            corpus=article.corpus,
            before=_snapshot(article, ARTICLE_FIELDS),
        )
        article.delete()


def article_submit(*, actor: User, article: Article, role: str | None) -> Assignment:
    """Marks the actor's work on the article done: their annotations become submitted."""
    ensure(role, Action.ANNOTATE)
    now = timezone.now()
    with transaction.atomic():
        assignment, _ = Assignment.objects.select_for_update().get_or_create(
            article=article, annotator=actor
        )
        n = Annotation.objects.filter(
            claim__article=article, claim__deleted_at__isnull=True, annotator=actor
        ).update(status=AnnotationStatus.SUBMITTED, updated_at=now)
        assignment.state = AssignmentState.SUBMITTED
        assignment.submitted_at = now
        assignment.save(update_fields=["state", "submitted_at"])
        audit(
            actor=actor,
            verb="article.submit",
            obj=article,
            corpus=article.corpus,
            after={"annotations_submitted": n},
        )
    return assignment
