"""Corpora, their topics, and their members."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Required, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from ..models import Annotation, Corpus, Membership, Review, Role, Topic
from ..permissions import Action, ensure
from ..validators import keyed, validate_topic_label
from .accounts import _find_user
from .base import (
    Conflict,
    User,
    Version,
    _create_unique,
    _lock,
    _snapshot,
    audit,
    check_version,
    clean_bool,
    clean_choice,
    clean_free_text,
    clean_labels,
    clean_line,
)

# --- Corpora and topics --------------------------------------------------------------------

CORPUS_FIELDS = ("slug", "name", "description", "blind", "claim_labels")
TOPIC_FIELDS = ("label", "description", "position")


class TopicInput(TypedDict, total=False):
    """A topic as a form or the API gives it."""

    label: Required[str]
    description: str


class TopicFields(TypedDict):
    """A cleaned topic, ready for Topic(**fields)."""

    label: str
    description: str


class CorpusChanges(TypedDict, total=False):
    """What corpus_update may change; any subset."""

    name: str
    description: str
    blind: bool
    claim_labels: Sequence[str]


class TopicChanges(TypedDict, total=False):
    """What topic_update may change; any subset."""

    label: str
    description: str


def _clean_topic(data: object, index: int | None = None) -> TopicFields:
    field = "topics" if index is not None else "label"
    if not isinstance(data, Mapping):
        raise ValidationError({field: ["Each topic must be an object with a label."]})
    try:
        label = keyed("label", validate_topic_label, data.get("label"), "label")
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
    actor: User,
    name: str,
    slug: str | None = None,
    description: str = "",
    blind: bool = False,
    claim_labels: Sequence[str] | None = None,
    topics: Sequence[TopicInput] | None = None,
) -> Corpus:
    name = clean_line(name, "name", max_chars=200, required=True)
    if slug in (None, ""):
        slug = slugify(name)[:64] or "corpus"
    if slugify(slug) != slug or len(slug) > 64:
        raise ValidationError(
            {"slug": ["slug may hold only lowercase letters, digits, hyphens and underscores."]}
        )
    blind = clean_bool(blind, "blind")
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
    *,
    actor: User,
    corpus: Corpus,
    role: str | None,
    version: Version = None,
    **changes: Unpack[CorpusChanges],
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
            corpus.blind = clean_bool(changes["blind"], "blind")
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
    return corpus


def corpus_delete(*, actor: User | None, corpus: Corpus, role: str | None) -> None:
    """Deletes the corpus and everything in it; no actor means a command-line reset."""
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
    *, actor: User, corpus: Corpus, role: str | None, label: str, description: str = ""
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


def topic_update(
    *,
    actor: User,
    topic: Topic,
    role: str | None,
    version: Version = None,
    **changes: Unpack[TopicChanges],
) -> Topic:
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
    return current


def topic_delete(*, actor: User, topic: Topic, role: str | None) -> None:
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


def _resolve_topic(
    corpus: Corpus, topic: Topic | int | str | None, *, topics: Sequence[Topic] | None = None
) -> Topic:
    """A Topic object, a topic id, a label, or None (the corpus's first topic). `topics`: the
    corpus's topics in order, when the caller fetched them already (then no query)."""
    if isinstance(topic, Topic):
        if topic.corpus_id != corpus.pk:
            raise ValidationError({"topic": ["That topic belongs to another corpus."]})
        return topic
    if topics is not None:
        return _topic_among(topics, topic)
    in_corpus = Topic.objects.filter(corpus=corpus)
    if topic in (None, ""):
        first = in_corpus.order_by("position", "id").first()
        if first is None:
            raise ValidationError({"topic": ["This corpus has no topics yet; an owner adds them."]})
        return first
    found = None
    if (
        isinstance(topic, int)
        and not isinstance(topic, bool)
        or (isinstance(topic, str) and topic.isdigit() and len(topic) < 19)
    ):
        found = in_corpus.filter(pk=int(topic)).first()
    if found is None and isinstance(topic, str):
        found = in_corpus.filter(label=topic).first()
    if found is None:
        raise ValidationError({"topic": [f"No topic {topic!r} in this corpus."]})
    return found


def _topic_among(topics: Sequence[Topic], topic: int | str | None) -> Topic:
    """_resolve_topic over topics already fetched: the same answers, the same messages."""
    if topic in (None, ""):
        if not topics:
            raise ValidationError({"topic": ["This corpus has no topics yet; an owner adds them."]})
        return topics[0]
    found = None
    if (
        isinstance(topic, int)
        and not isinstance(topic, bool)
        or (isinstance(topic, str) and topic.isdigit() and len(topic) < 19)
    ):
        found = next((t for t in topics if t.pk == int(topic)), None)
    if found is None and isinstance(topic, str):
        found = next((t for t in topics if t.label == topic), None)
    if found is None:
        raise ValidationError({"topic": [f"No topic {topic!r} in this corpus."]})
    return found


# --- Members -------------------------------------------------------------------------------


def membership_add(
    *, actor: User, corpus: Corpus, role: str | None, username: str, new_role: str
) -> Membership:
    ensure(role, Action.MANAGE)
    new_role = clean_choice(new_role, "role", Role)
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


def membership_update(
    *, actor: User, membership: Membership, role: str | None, new_role: str
) -> Membership:
    ensure(role, Action.MANAGE)
    new_role = clean_choice(new_role, "role", Role)
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


def membership_remove(*, actor: User, membership: Membership, role: str | None) -> None:
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
