"""Every write: validated, atomic, audited.

Services receive objects the caller fetched *with permission* (selectors.*_get_for_user) plus the
caller's role, check the object-level rules (only an annotation's annotator edits it, ...), and
raise:
- django.core.exceptions.ValidationError with a dict {field: [messages]} for bad data (HTTP 400);
- PermissionDenied for a member without the right (403);
- Conflict for a duplicate (409);
- StaleVersion when the caller's version is not the current one (412);
- PayloadTooLarge for text over the documented limits (413).
Each write records an AuditEvent in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.text import slugify

from . import anchoring
from .models import (
    Annotation,
    AnnotationStatus,
    ApiToken,
    Article,
    Assignment,
    AssignmentState,
    AuditEvent,
    Claim,
    Comment,
    Corpus,
    Evidence,
    EvidenceKind,
    EvidenceRole,
    EvidenceType,
    Membership,
    Relation,
    RelationKind,
    Review,
    ReviewDecision,
    Role,
    Stance,
    Topic,
)
from .permissions import (
    Action,
    can,
    can_delete_annotation,
    can_delete_relation,
    can_edit_annotation,
    can_edit_claim,
    ensure,
    ensure_that,
)

User = get_user_model()

MAX_LABELS = 50
MAX_LABEL_LENGTH = 100
MAX_NOTE_CHARS = 20_000
MAX_EVIDENCE = 100
SAFE_URL = URLValidator(schemes=["http", "https"])


class Conflict(Exception):
    """A duplicate: the object exists already (HTTP 409)."""


class StaleVersion(Exception):
    """The caller edited an old version (HTTP 412); `current` is the object as it stands now."""

    def __init__(self, current: Model, given: int):
        self.current = current
        self.given = given
        super().__init__(
            f"This {type(current).__name__.lower()} was changed by someone else meanwhile "
            f"(your version {given}, current version {current.version}). "
            "Reload it, then apply your change again."
        )


class PayloadTooLarge(Exception):
    """Text over a documented limit (HTTP 413)."""


# --- helpers -------------------------------------------------------------------------------


def _snapshot(obj: Model | None, fields: Iterable[str]) -> dict[str, Any] | None:
    if obj is None:
        return None
    data = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, Model):
            value = value.pk
        data[name] = value
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def audit(
    *,
    actor,
    verb: str,
    obj: Model,
    corpus: Corpus | None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        object_type=type(obj).__name__.lower(),
        object_id=str(obj.pk),
        corpus=corpus,
        corpus_slug=corpus.slug if corpus else "",
        before=before,
        after=after,
    )


def check_version(obj: Model, version: Any) -> None:
    """Optimistic concurrency: None means the caller did not say (pages always say)."""
    if version is None:
        return
    try:
        given = int(version)
    except (TypeError, ValueError):
        raise ValidationError({"version": ["version must be a whole number."]}) from None
    if given != obj.version:
        raise StaleVersion(obj, given)


def _lock(model: type[Model], pk: Any) -> Model:
    return model.objects.select_for_update().get(pk=pk)


def clean_free_text(value: Any, field: str, *, max_chars: int = MAX_NOTE_CHARS) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: [f"{field} must be text."]})
    anchoring.check_text(value, field)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if len(value) > max_chars:
        raise ValidationError(
            {field: [f"{field} is {len(value)} characters; at most {max_chars}."]}
        )
    return value


def clean_line(value: Any, field: str, *, max_chars: int, required: bool = False) -> str:
    value = clean_free_text(value, field, max_chars=max_chars).strip()
    if "\n" in value:
        raise ValidationError({field: [f"{field} must be a single line."]})
    if required and not value:
        raise ValidationError({field: [f"{field} is required."]})
    return value


def clean_url(value: Any, field: str = "source_url") -> str:
    value = clean_line(value, field, max_chars=2000)
    if value:
        try:
            SAFE_URL(value)
        except ValidationError:
            raise ValidationError(
                {field: [f"{field} must be an http:// or https:// address."]}
            ) from None
    return value


def clean_labels(value: Any, field: str, *, allowed: Sequence[str] = ()) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError({field: [f"{field} must be a list of text labels."]})
    if len(value) > MAX_LABELS:
        raise ValidationError({field: [f"{field} has {len(value)} labels; at most {MAX_LABELS}."]})
    labels: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise ValidationError({field: [f"{field} must contain text labels only."]})
        label = clean_line(item, field, max_chars=MAX_LABEL_LENGTH)
        if not label:
            raise ValidationError({field: [f"{field} contains an empty label."]})
        if allowed and label not in allowed:
            raise ValidationError(
                {field: [f"{label!r} is not one of this corpus's labels ({', '.join(allowed)})."]}
            )
        if label not in labels:
            labels.append(label)
    return labels


def _choice(value: Any, field: str, choices: type, *, required: bool = True) -> str:
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or value not in choices.values:
        raise ValidationError(
            {field: [f"{field} must be one of {', '.join(choices.values)}; got {value!r}."]}
        )
    return value


def _parse_date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError({field: [f"{field} must be a date as YYYY-MM-DD; got {value!r}."]})


def _create_unique(factory, message: str):
    """Run a create that a unique constraint may refuse, turning the refusal into Conflict."""
    try:
        with transaction.atomic():
            return factory()
    except IntegrityError as error:
        raise Conflict(message) from error


# --- Corpora, topics, members ---------------------------------------------------------------

CORPUS_FIELDS = ("slug", "name", "description", "blind", "claim_labels")
TOPIC_FIELDS = ("label", "description", "position")


def _clean_topic(data: Mapping[str, Any], index: int | None = None) -> dict[str, str]:
    field = "topics" if index is not None else "label"
    if not isinstance(data, Mapping):
        raise ValidationError({field: ["Each topic must be an object with a label."]})
    try:
        label = clean_line(data.get("label"), "label", max_chars=300, required=True)
        description = clean_free_text(data.get("description"), "description", max_chars=5000)
    except ValidationError as error:
        if index is None:
            raise
        raise ValidationError(
            {field: [f"Topic {index + 1}: {m}" for m in error.messages]}
        ) from None
    return {"label": label, "description": description}


def corpus_create(
    *,
    actor,
    name: str,
    slug: str | None = None,
    description: str = "",
    blind: bool = False,
    claim_labels: Sequence[str] | None = None,
    topics: Sequence[Mapping[str, Any]] | None = None,
) -> Corpus:
    name = clean_line(name, "name", max_chars=200, required=True)
    if slug in (None, ""):
        slug = slugify(name)[:64] or "corpus"
    if not isinstance(slug, str) or slugify(slug) != slug or len(slug) > 64:
        raise ValidationError(
            {"slug": ["slug may hold only lowercase letters, digits, hyphens and underscores."]}
        )
    if not isinstance(blind, bool):
        raise ValidationError({"blind": ["blind must be true or false."]})
    cleaned_topics = [_clean_topic(t, i) for i, t in enumerate(topics or [])]
    if len({t["label"] for t in cleaned_topics}) != len(cleaned_topics):
        raise ValidationError({"topics": ["Two topics have the same label."]})
    with transaction.atomic():
        corpus = _create_unique(
            lambda: Corpus.objects.create(
                slug=slug,
                name=name,
                description=clean_free_text(description, "description", max_chars=20_000),
                blind=blind,
                claim_labels=clean_labels(claim_labels, "claim_labels"),
                created_by=actor,
            ),
            f"A corpus with the slug {slug!r} exists already.",
        )
        Membership.objects.create(corpus=corpus, user=actor, role=Role.OWNER)
        for position, topic in enumerate(cleaned_topics):
            Topic.objects.create(corpus=corpus, position=position, **topic)
        audit(
            actor=actor,
            verb="corpus.create",
            obj=corpus,
            corpus=corpus,
            after={**_snapshot(corpus, CORPUS_FIELDS), "topics": cleaned_topics},
        )
    return corpus


def corpus_update(
    *, actor, corpus: Corpus, role: str | None, version: Any = None, **changes: Any
) -> Corpus:
    ensure(role, Action.MANAGE)
    unknown = set(changes) - {"name", "description", "blind", "claim_labels"}
    if unknown:
        raise ValidationError({f: ["This field cannot be changed here."] for f in unknown})
    with transaction.atomic():
        corpus = _lock(Corpus, corpus.pk)
        check_version(corpus, version)
        before = _snapshot(corpus, CORPUS_FIELDS)
        if "name" in changes:
            corpus.name = clean_line(changes["name"], "name", max_chars=200, required=True)
        if "description" in changes:
            corpus.description = clean_free_text(changes["description"], "description")
        if "blind" in changes:
            if not isinstance(changes["blind"], bool):
                raise ValidationError({"blind": ["blind must be true or false."]})
            corpus.blind = changes["blind"]
        if "claim_labels" in changes:
            corpus.claim_labels = clean_labels(changes["claim_labels"], "claim_labels")
        corpus.version += 1
        corpus.save()
        audit(
            actor=actor,
            verb="corpus.update",
            obj=corpus,
            corpus=corpus,
            before=before,
            after=_snapshot(corpus, CORPUS_FIELDS),
        )
    corpus.my_role = role
    return corpus


def corpus_delete(*, actor, corpus: Corpus, role: str | None) -> None:
    ensure(role, Action.MANAGE)
    with transaction.atomic():
        audit(
            actor=actor,
            verb="corpus.delete",
            obj=corpus,
            corpus=corpus,
            before=_snapshot(corpus, CORPUS_FIELDS),
        )
        corpus.delete()


def topic_create(
    *, actor, corpus: Corpus, role: str | None, label: str, description: str = ""
) -> Topic:
    ensure(role, Action.MANAGE)
    data = _clean_topic({"label": label, "description": description})
    with transaction.atomic():
        position = Topic.objects.filter(corpus=corpus).count()
        topic = _create_unique(
            lambda: Topic.objects.create(corpus=corpus, position=position, **data),
            f"This corpus has a topic labelled {data['label']!r} already.",
        )
        audit(
            actor=actor,
            verb="topic.create",
            obj=topic,
            corpus=corpus,
            after=_snapshot(topic, TOPIC_FIELDS),
        )
    return topic


def topic_update(*, actor, topic: Topic, role: str | None, version: Any = None, **changes) -> Topic:
    ensure(role, Action.MANAGE)
    unknown = set(changes) - {"label", "description"}
    if unknown:
        raise ValidationError({f: ["This field cannot be changed here."] for f in unknown})
    with transaction.atomic():
        current = _lock(Topic, topic.pk)
        check_version(current, version)
        before = _snapshot(current, TOPIC_FIELDS)
        data = _clean_topic(
            {
                "label": changes.get("label", current.label),
                "description": changes.get("description", current.description),
            }
        )
        current.label, current.description = data["label"], data["description"]
        current.version += 1
        try:
            with transaction.atomic():
                current.save()
        except IntegrityError as error:
            raise Conflict(
                f"This corpus has a topic labelled {data['label']!r} already."
            ) from error
        audit(
            actor=actor,
            verb="topic.update",
            obj=current,
            corpus=topic.corpus,
            before=before,
            after=_snapshot(current, TOPIC_FIELDS),
        )
    current.my_role = role
    return current


def topic_delete(*, actor, topic: Topic, role: str | None) -> None:
    ensure(role, Action.MANAGE)
    if (
        Annotation.objects.filter(topic=topic).exists()
        or Review.objects.filter(topic=topic).exists()
    ):
        raise Conflict(
            "This topic is used by annotations or reviews; it cannot be deleted. Rename it instead."
        )
    with transaction.atomic():
        audit(
            actor=actor,
            verb="topic.delete",
            obj=topic,
            corpus=topic.corpus,
            before=_snapshot(topic, TOPIC_FIELDS),
        )
        topic.delete()


def _find_user(username_or_email: Any, field: str = "username"):
    if not isinstance(username_or_email, str) or not username_or_email.strip():
        raise ValidationError({field: [f"{field} is required."]})
    key = username_or_email.strip()
    user = User.objects.filter(username=key).first()
    if user is None and "@" in key:
        matches = list(User.objects.filter(email__iexact=key)[:2])
        user = matches[0] if len(matches) == 1 else None
    if user is None or not user.is_active:
        raise ValidationError({field: [f"No active user {key!r}."]})
    return user


def membership_add(*, actor, corpus: Corpus, role: str | None, username: str, new_role: str):
    ensure(role, Action.MANAGE)
    new_role = _choice(new_role, "role", Role)
    user = _find_user(username)
    with transaction.atomic():
        membership = _create_unique(
            lambda: Membership.objects.create(corpus=corpus, user=user, role=new_role),
            f"{user.username} is a member of this corpus already.",
        )
        audit(
            actor=actor,
            verb="membership.create",
            obj=membership,
            corpus=corpus,
            after={"username": user.username, "role": new_role},
        )
    return membership


def _ensure_an_owner_remains(membership: Membership) -> None:
    others = Membership.objects.filter(corpus_id=membership.corpus_id, role=Role.OWNER).exclude(
        pk=membership.pk
    )
    if membership.role == Role.OWNER and not others.exists():
        raise ValidationError({"role": ["A corpus needs at least one owner; add another first."]})


def membership_update(*, actor, membership: Membership, role: str | None, new_role: str):
    ensure(role, Action.MANAGE)
    new_role = _choice(new_role, "role", Role)
    with transaction.atomic():
        current = (
            Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
        )
        if new_role != Role.OWNER:
            # Lock every owner row so two demotions at once cannot leave no owner.
            list(
                Membership.objects.select_for_update().filter(
                    corpus_id=current.corpus_id, role=Role.OWNER
                )
            )
            _ensure_an_owner_remains(current)
        before = {"username": current.user.username, "role": current.role}
        current.role = new_role
        current.save(update_fields=["role"])
        audit(
            actor=actor,
            verb="membership.update",
            obj=current,
            corpus=current.corpus,
            before=before,
            after={"username": current.user.username, "role": new_role},
        )
    return current


def membership_remove(*, actor, membership: Membership, role: str | None) -> None:
    ensure(role, Action.MANAGE)
    with transaction.atomic():
        current = (
            Membership.objects.select_for_update()
            .select_related("user", "corpus")
            .get(pk=membership.pk)
        )
        list(
            Membership.objects.select_for_update().filter(
                corpus_id=current.corpus_id, role=Role.OWNER
            )
        )
        _ensure_an_owner_remains(current)
        audit(
            actor=actor,
            verb="membership.delete",
            obj=current,
            corpus=current.corpus,
            before={"username": current.user.username, "role": current.role},
        )
        current.delete()


# --- Articles ------------------------------------------------------------------------------

ARTICLE_FIELDS = ("title", "author", "source_url", "published_on", "language", "text_sha256")


def clean_article_text(text: Any) -> str:
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


def clean_article_fields(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate article fields from a form, the API or an import line."""
    cleaned: dict[str, Any] = {}
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


def article_create(*, actor, corpus: Corpus, role: str | None, **data: Any) -> Article:
    ensure(role, Action.IMPORT)
    fields = clean_article_fields(data)
    with transaction.atomic():
        article = Article.objects.create(
            corpus=corpus, created_by=actor, text_sha256=text_sha256(fields["text"]), **fields
        )
        audit(
            actor=actor,
            verb="article.create",
            obj=article,
            corpus=corpus,
            after=_snapshot(article, ARTICLE_FIELDS),
        )
    article.my_role = role
    return article


def article_update(
    *, actor, article: Article, role: str | None, version: Any = None, **data: Any
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
    current.my_role = role
    return current


def article_delete(*, actor, article: Article, role: str | None) -> None:
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


def article_restore(*, actor, article: Article, role: str | None) -> None:
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


def article_purge(*, actor, article: Article, role: str | None) -> None:
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


def article_submit(*, actor, article: Article, role: str | None) -> Assignment:
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


# --- Claims --------------------------------------------------------------------------------

CLAIM_FIELDS = ("start", "end", "exact", "summary", "labels")


def claim_create(
    *,
    actor,
    article: Article,
    role: str | None,
    start: Any = None,
    end: Any = None,
    exact: Any = None,
    prefix: Any = None,
    suffix: Any = None,
    summary: Any = "",
    labels: Any = None,
) -> Claim:
    ensure(role, Action.ANNOTATE)
    span = anchoring.resolve_span(
        article.text, start=start, end=end, exact=exact, prefix=prefix, suffix=suffix
    )
    summary = clean_free_text(summary, "summary", max_chars=2000).strip()
    labels = clean_labels(labels, "labels", allowed=article.corpus.claim_labels)
    with transaction.atomic():
        claim = Claim.objects.create(
            article=article,
            start=span.start,
            end=span.end,
            exact=span.exact,
            prefix=span.prefix,
            suffix=span.suffix,
            summary=summary,
            labels=labels,
            created_by=actor,
        )
        audit(
            actor=actor,
            verb="claim.create",
            obj=claim,
            corpus=article.corpus,
            after=_snapshot(claim, CLAIM_FIELDS),
        )
    claim.my_role = role
    return claim


def claim_update(
    *, actor, claim: Claim, role: str | None, version: Any = None, **changes: Any
) -> Claim:
    ensure_that(
        can_edit_claim(user=actor, role=role, claim=claim),
        "Only the claim's creator or a curator may change it.",
    )
    unknown = set(changes) - {"summary", "labels"}
    if unknown:
        raise ValidationError(
            {
                f: ["This field cannot be changed; delete the claim and mark it again."]
                for f in unknown
            }
        )
    with transaction.atomic():
        current = _lock(Claim, claim.pk)
        check_version(current, version)
        before = _snapshot(current, CLAIM_FIELDS)
        if "summary" in changes:
            current.summary = clean_free_text(changes["summary"], "summary", max_chars=2000).strip()
        if "labels" in changes:
            current.labels = clean_labels(
                changes["labels"], "labels", allowed=claim.article.corpus.claim_labels
            )
        current.version += 1
        current.save()
        audit(
            actor=actor,
            verb="claim.update",
            obj=current,
            corpus=claim.article.corpus,
            before=before,
            after=_snapshot(current, CLAIM_FIELDS),
        )
    current.my_role = role
    return current


def claim_delete(*, actor, claim: Claim, role: str | None) -> None:
    """Moves the claim to the trash. A claim that carries others' annotations needs a curator."""
    others = Annotation.objects.filter(claim=claim).exclude(annotator=actor).exists()
    allowed = can(role, Action.REVIEW) or (
        can_edit_claim(user=actor, role=role, claim=claim) and not others
    )
    # One message either way: in blind mode it must not reveal that others tagged the claim.
    ensure_that(
        allowed,
        "Only a curator, or the claim's creator while nobody else has tagged it, may delete it.",
    )
    with transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(deleted_at=timezone.now(), deleted_by=actor)
        audit(
            actor=actor,
            verb="claim.delete",
            obj=claim,
            corpus=claim.article.corpus,
            before=_snapshot(claim, CLAIM_FIELDS),
        )


def claim_restore(*, actor, claim: Claim, role: str | None) -> None:
    ensure(role, Action.MANAGE)
    with transaction.atomic():
        if claim.article.deleted_at is not None:
            raise ValidationError({"claim": ["Restore the claim's article first."]})
        Claim.objects.filter(pk=claim.pk).update(deleted_at=None, deleted_by=None)
        audit(actor=actor, verb="claim.restore", obj=claim, corpus=claim.article.corpus)


# --- Annotations and evidence ------------------------------------------------------------------

# claim_id lets a claim's history find events of annotations and reviews deleted since.
ANNOTATION_FIELDS = ("claim_id", "topic", "stance", "labels", "confidence", "note", "status")


def _resolve_topic(corpus: Corpus, topic: Any) -> Topic:
    """A Topic object, a topic id, a label, or None (the corpus's first topic)."""
    if isinstance(topic, Topic):
        if topic.corpus_id != corpus.pk:
            raise ValidationError({"topic": ["That topic belongs to another corpus."]})
        return topic
    topics = Topic.objects.filter(corpus=corpus)
    if topic in (None, ""):
        first = topics.order_by("position", "id").first()
        if first is None:
            raise ValidationError({"topic": ["This corpus has no topics yet; an owner adds them."]})
        return first
    found = None
    if (
        isinstance(topic, int)
        and not isinstance(topic, bool)
        or (isinstance(topic, str) and topic.isdigit() and len(topic) < 19)
    ):
        found = topics.filter(pk=int(topic)).first()
    if found is None and isinstance(topic, str):
        found = topics.filter(label=topic).first()
    if found is None:
        raise ValidationError({"topic": [f"No topic {topic!r} in this corpus."]})
    return found


def _clean_confidence(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError({"confidence": ["confidence must be a whole number from 1 to 5."]})
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(
            {"confidence": ["confidence must be a whole number from 1 to 5."]}
        ) from None
    if not 1 <= number <= 5:
        raise ValidationError({"confidence": [f"confidence must be from 1 to 5; got {number}."]})
    return number


def clean_evidence(article: Article, items: Any) -> list[dict[str, Any]]:
    """Validate a list of evidence items; every bad item is reported with its number."""
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        raise ValidationError({"evidence": ["evidence must be a list."]})
    if len(items) > MAX_EVIDENCE:
        raise ValidationError({"evidence": [f"At most {MAX_EVIDENCE} evidence items."]})
    cleaned, errors = [], []
    for number, item in enumerate(items, start=1):
        try:
            cleaned.append(_clean_evidence_item(article, item))
        except ValidationError as error:
            details = (
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
                if hasattr(error, "error_dict")
                else " ".join(error.messages)
            )
            errors.append(f"Evidence {number}: {details}")
    if errors:
        raise ValidationError({"evidence": errors})
    return cleaned


def _clean_evidence_item(article: Article, item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise ValidationError("each evidence item must be an object.")
    kind = item.get("kind") or (
        EvidenceKind.SOURCE
        if any(item.get(k) for k in ("url", "title", "quote"))
        else EvidenceKind.SPAN
    )
    kind = _choice(kind, "kind", EvidenceKind)
    data: dict[str, Any] = {
        "kind": kind,
        "evidence_type": _choice(
            item.get("evidence_type") or "other", "evidence_type", EvidenceType
        ),
        "role": _choice(item.get("role") or "supports", "role", EvidenceRole),
    }
    if kind == EvidenceKind.SPAN:
        span = anchoring.resolve_span(
            article.text,
            start=item.get("start"),
            end=item.get("end"),
            exact=item.get("exact"),
            prefix=item.get("prefix"),
            suffix=item.get("suffix"),
        )
        data.update(start=span.start, end=span.end, exact=span.exact)
    else:
        data.update(
            url=clean_url(item.get("url"), "url"),
            title=clean_line(item.get("title"), "title", max_chars=500),
            quote=clean_free_text(item.get("quote"), "quote", max_chars=5000).strip(),
        )
        if not (data["url"] or data["title"] or data["quote"]):
            raise ValidationError({"url": ["A source needs a url, a title or a quote."]})
    return data


# What an evidence item is made of: what clean_evidence takes and what the audit records.
EVIDENCE_FIELDS = (
    "kind",
    "start",
    "end",
    "exact",
    "url",
    "title",
    "quote",
    "evidence_type",
    "role",
)


def _evidence_snapshot(annotation: Annotation) -> list[dict[str, Any]]:
    return [_snapshot(e, EVIDENCE_FIELDS) for e in annotation.evidence.order_by("position", "id")]


def annotation_create(
    *,
    actor,
    claim: Claim,
    role: str | None,
    stance: Any,
    topic: Any = None,
    labels: Any = None,
    confidence: Any = None,
    note: Any = "",
    evidence: Any = None,
) -> Annotation:
    """Creates the actor's own annotation of the claim (one per claim and annotator)."""
    ensure(role, Action.ANNOTATE)
    corpus = claim.article.corpus
    data = {
        "topic": _resolve_topic(corpus, topic),
        "stance": _choice(stance, "stance", Stance),
        "labels": clean_labels(labels, "labels", allowed=corpus.claim_labels),
        "confidence": _clean_confidence(confidence),
        "note": clean_free_text(note, "note").strip(),
    }
    items = clean_evidence(claim.article, evidence)
    submitted = Assignment.objects.filter(
        article_id=claim.article_id, annotator=actor, state=AssignmentState.SUBMITTED
    ).exists()
    with transaction.atomic():
        annotation = _create_unique(
            lambda: Annotation.objects.create(
                claim=claim,
                annotator=actor,
                status=AnnotationStatus.SUBMITTED if submitted else AnnotationStatus.DRAFT,
                **data,
            ),
            "You have annotated this claim already; edit your annotation instead.",
        )
        Evidence.objects.bulk_create(
            Evidence(annotation=annotation, position=i, **item) for i, item in enumerate(items)
        )
        audit(
            actor=actor,
            verb="annotation.create",
            obj=annotation,
            corpus=corpus,
            after={**_snapshot(annotation, ANNOTATION_FIELDS), "evidence": items},
        )
    annotation.my_role = role
    return annotation


def annotation_update(
    *, actor, annotation: Annotation, role: str | None, version: Any = None, **changes: Any
) -> Annotation:
    """Changes the actor's own annotation. `evidence`, when given, replaces the whole list."""
    ensure_that(
        can_edit_annotation(user=actor, role=role, annotation=annotation),
        "Only the annotator who wrote this annotation may change it.",
    )
    unknown = set(changes) - {"topic", "stance", "labels", "confidence", "note", "evidence"}
    if unknown:
        raise ValidationError({f: ["This field cannot be changed here."] for f in unknown})
    claim = annotation.claim
    corpus = claim.article.corpus
    data: dict[str, Any] = {}
    if "topic" in changes:
        data["topic"] = _resolve_topic(corpus, changes["topic"])
    if "stance" in changes:
        data["stance"] = _choice(changes["stance"], "stance", Stance)
    if "labels" in changes:
        data["labels"] = clean_labels(changes["labels"], "labels", allowed=corpus.claim_labels)
    if "confidence" in changes:
        data["confidence"] = _clean_confidence(changes["confidence"])
    if "note" in changes:
        data["note"] = clean_free_text(changes["note"], "note").strip()
    items = clean_evidence(claim.article, changes["evidence"]) if "evidence" in changes else None
    with transaction.atomic():
        current = Annotation.objects.select_for_update().get(pk=annotation.pk)
        check_version(current, version)
        before = {**_snapshot(current, ANNOTATION_FIELDS), "evidence": _evidence_snapshot(current)}
        for name, value in data.items():
            setattr(current, name, value)
        if items is not None:
            current.evidence.all().delete()
            Evidence.objects.bulk_create(
                Evidence(annotation=current, position=i, **item) for i, item in enumerate(items)
            )
        current.version += 1
        current.save()
        audit(
            actor=actor,
            verb="annotation.update",
            obj=current,
            corpus=corpus,
            before=before,
            after={
                **_snapshot(current, ANNOTATION_FIELDS),
                "evidence": _evidence_snapshot(current),
            },
        )
    current.claim = claim
    current.my_role = role
    return current


def annotation_delete(*, actor, annotation: Annotation, role: str | None) -> None:
    ensure_that(
        can_delete_annotation(user=actor, role=role, annotation=annotation),
        "Only the annotator who wrote this annotation (or an owner) may delete it.",
    )
    with transaction.atomic():
        audit(
            actor=actor,
            verb="annotation.delete",
            obj=annotation,
            corpus=annotation.claim.article.corpus,
            before={
                **_snapshot(annotation, ANNOTATION_FIELDS),
                "evidence": _evidence_snapshot(annotation),
            },
        )
        annotation.delete()


# --- Relations, reviews, comments ----------------------------------------------------------


def relation_create(
    *, actor, source: Claim, target: Claim, role: str | None, kind: Any
) -> Relation:
    """`source` and `target` must have been fetched with permission (claim_get_for_user)."""
    ensure(role, Action.ANNOTATE)
    kind = _choice(kind, "kind", RelationKind)
    if source.article_id != target.article_id:
        raise ValidationError({"target": ["Both claims must be in the same article."]})
    if source.pk == target.pk:
        raise ValidationError({"target": ["A claim cannot be related to itself."]})
    with transaction.atomic():
        relation = _create_unique(
            lambda: Relation.objects.create(
                source_claim=source, target_claim=target, kind=kind, created_by=actor
            ),
            f"Claim {source.pk} {kind} claim {target.pk} already.",
        )
        audit(
            actor=actor,
            verb="relation.create",
            obj=relation,
            corpus=source.article.corpus,
            after={"source": source.pk, "target": target.pk, "kind": kind},
        )
    return relation


def relation_delete(*, actor, relation: Relation, role: str | None) -> None:
    ensure_that(
        can_delete_relation(user=actor, role=role, relation=relation),
        "Only the relation's creator or a curator may delete it.",
    )
    with transaction.atomic():
        audit(
            actor=actor,
            verb="relation.delete",
            obj=relation,
            corpus=relation.source_claim.article.corpus,
            before={
                "source": relation.source_claim_id,
                "target": relation.target_claim_id,
                "kind": relation.kind,
            },
        )
        relation.delete()


REVIEW_FIELDS = ("claim_id", "decision", "topic", "stance", "note")


def review_set(
    *,
    actor,
    claim: Claim,
    role: str | None,
    decision: Any,
    topic: Any = None,
    stance: Any = None,
    note: Any = "",
    version: Any = None,
) -> Review:
    """The curator's decision on a claim: accepted with a gold topic and stance, or rejected."""
    ensure(role, Action.REVIEW)
    corpus = claim.article.corpus
    decision = _choice(decision, "decision", ReviewDecision)
    if decision == ReviewDecision.ACCEPTED:
        gold_topic = _resolve_topic(corpus, topic)
        if stance in (None, ""):
            raise ValidationError({"stance": ["An accepted claim needs a gold stance."]})
        gold_stance = _choice(stance, "stance", Stance)
    else:
        gold_topic = _resolve_topic(corpus, topic) if topic not in (None, "") else None
        gold_stance = _choice(stance, "stance", Stance, required=False)
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


def review_delete(*, actor, review: Review, role: str | None) -> None:
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


def comment_create(*, actor, claim: Claim, role: str | None, text: Any) -> Comment:
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


def _annotator_member(corpus: Corpus, user) -> None:
    membership = Membership.objects.filter(corpus=corpus, user=user).first()
    if membership is None or membership.role == Role.VIEWER:
        raise ValidationError(
            {
                "annotator": [
                    f"{user.username} is not an annotator, curator or owner of this corpus."
                ]
            }
        )


def assignment_create(*, actor, article: Article, role: str | None, annotator) -> Assignment:
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


def assignment_delete(*, actor, assignment: Assignment, role: str | None) -> None:
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
    *, actor, corpus: Corpus, role: str | None, per_article: Any, annotators: Sequence | None = None
) -> list[Assignment]:
    """Gives every live article to `per_article` annotators, spreading the load evenly.

    Existing assignments count toward both the article's quota and each annotator's load.
    """
    ensure(role, Action.ASSIGN)
    try:
        per_article = int(per_article)
    except (TypeError, ValueError):
        raise ValidationError({"per_article": ["per_article must be a whole number."]}) from None
    if per_article < 1:
        raise ValidationError({"per_article": ["per_article must be at least 1."]})
    eligible = Membership.objects.filter(
        corpus=corpus, role__in=[Role.ANNOTATOR, Role.CURATOR, Role.OWNER]
    ).select_related("user")
    people = [m.user for m in eligible if m.user.is_active]
    if annotators:
        wanted = {getattr(a, "username", a) for a in annotators}
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
    for _, user_id in existing:
        if user_id in load:
            load[user_id] += 1
    created: list[Assignment] = []
    with transaction.atomic():
        for article_id in articles:
            have = {uid for aid, uid in existing if aid == article_id}
            need = per_article - len(have)
            candidates = sorted(
                (u for u in people if u.pk not in have), key=lambda u: (load[u.pk], u.username)
            )
            for user in candidates[: max(need, 0)]:
                created.append(Assignment(article_id=article_id, annotator=user, assigned_by=actor))
                load[user.pk] += 1
        Assignment.objects.bulk_create(created)
        audit(
            actor=actor,
            verb="assignment.balance",
            obj=corpus,
            corpus=corpus,
            after={"per_article": per_article, "created": len(created)},
        )
    return created


# --- Users ---------------------------------------------------------------------------------


def user_deactivate(*, actor, user) -> None:
    """Users are never deleted with their work: they are deactivated and keep their attribution."""
    if not (actor.is_superuser or actor.pk == user.pk):
        raise PermissionDenied("Only an administrator may deactivate another user.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        audit(
            actor=actor,
            verb="user.deactivate",
            obj=user,
            corpus=None,
            after={"username": user.username},
        )


# --- API tokens ----------------------------------------------------------------------------


def api_token_create(
    *, actor, name: Any = "", expires_in: timedelta | None = None
) -> tuple[ApiToken, str]:
    """A new API token for the actor. Returns the token row and the key, which exists only here:
    the database keeps its hash, so the key is shown once and never again."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied("Only an active, signed-in user can create a token.")
    name = clean_line(name, "name", max_chars=100)
    if expires_in is not None and (
        not isinstance(expires_in, timedelta) or expires_in <= timedelta(0)
    ):
        raise ValidationError({"expiry": ["The expiry must lie in the future."]})
    with transaction.atomic():
        token, key = ApiToken.objects.create(user=actor, expiry=expires_in, name=name)
        audit(
            actor=actor,
            verb="token.create",
            obj=token,
            corpus=None,
            after={"name": name, "expiry": token.expiry.isoformat() if token.expiry else None},
        )
    return token, key


def api_token_revoke(*, actor, token: ApiToken) -> None:
    """Deletes the token: the next request that presents it is refused."""
    if token.user_id != actor.pk:
        raise PermissionDenied("Only the token's owner may revoke it.")
    with transaction.atomic():
        audit(
            actor=actor,
            verb="token.revoke",
            obj=token,
            corpus=None,
            before={"name": token.name, "created": token.created.isoformat()},
        )
        token.delete()
