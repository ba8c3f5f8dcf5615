"""Suggestions: spans a model proposes as claims, and people's decisions on them.

A suggestion is not an annotation. Accepting one makes the person's own annotation on the claim
at that span (the live claim with exactly that span, or a new one) and records the decision with
that annotation as its provenance; rejecting records the decision. Decisions are per person (one
per suggestion and person), so blind double annotation stays blind: one annotator's decision
neither shows to another (access.Kind.SUGGESTION_DECISION) nor changes what theirs does.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import anchoring, validators
from ..access import Access
from ..models import (
    Annotation,
    Article,
    Claim,
    Suggestion,
    SuggestionDecision,
    SuggestionState,
    Topic,
)
from ..permissions import Action
from .annotations import annotation_create, annotation_delete
from .base import Conflict, User, audit
from .claims import claim_create
from .corpora import _resolve_topic

MAX_SUGGESTIONS_PER_REQUEST = 10_000
MAX_MODEL_CHARS = 200


@dataclass(frozen=True)
class SuggestionFields:
    """One suggestion, validated: the span, and the model's topic (a label or id as given, still
    to be resolved), stance, labels and score."""

    span: anchoring.Span
    topic: str | int | None
    stance: str
    labels: list[str]
    score: float | None


# --- Validation (shared by the API and the JSONL import) -------------------------------------


def validate_model_name(value: object, field: str = "model") -> str:
    """`name@version`, one line: the name says which model, the version which of its releases."""
    text = validators.validate_line(value, field, max_chars=MAX_MODEL_CHARS, required=True)
    name, at, version = text.rpartition("@")
    if not at or not name.strip() or not version.strip():
        raise ValidationError(
            f"{field} must be name@version, e.g. my-classifier@2; got {text!r}.", code="invalid"
        )
    return text


def validate_score(value: object, field: str = "score") -> float | None:
    """A number from 0 to 1 (how sure the model is); None is no score."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{field} must be a number from 0 to 1.", code="invalid")
    if not 0 <= value <= 1:
        raise ValidationError(f"{field} must be from 0 to 1; got {value}.", code="range")
    return float(value)


def validate_suggestion(
    text: str, item: object, *, allowed_labels: Sequence[str] = ()
) -> SuggestionFields:
    """One suggestion as a client or a file gives it: `{start, end}` or `{exact, prefix?,
    suffix?}` (the same checks as a claim's span) plus `topic?`, `stance?`, `labels?`, `score?`.
    Errors are keyed by field."""
    if not isinstance(item, dict):
        raise ValidationError({"suggestion": ["Each suggestion must be an object."]})
    errors: dict[str, list[str]] = {}
    span = None
    try:
        span = validators.validate_span(
            text,
            start=item.get("start"),
            end=item.get("end"),
            exact=item.get("exact"),
            prefix=item.get("prefix"),
            suffix=item.get("suffix"),
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    stance, labels, score = "", [], None
    try:
        stance = validators.validate_stance(item.get("stance"), required=False)
    except ValidationError as error:
        errors["stance"] = list(error.messages)
    try:
        labels = validators.validate_labels(item.get("labels"), allowed=allowed_labels)
    except ValidationError as error:
        errors["labels"] = list(error.messages)
    try:
        score = validate_score(item.get("score"))
    except ValidationError as error:
        errors["score"] = list(error.messages)
    topic = item.get("topic")
    if topic is not None and (isinstance(topic, bool) or not isinstance(topic, str | int)):
        errors["topic"] = ["topic must be a topic's id or label."]
    if errors:
        raise ValidationError(errors)
    assert span is not None
    return SuggestionFields(
        span=span,
        topic=None if topic in (None, "") else topic,
        stance=stance or "",
        labels=labels,
        score=score,
    )


def validate_suggestions(
    text: str, items: object, *, allowed_labels: Sequence[str] = (), field: str = "suggestions"
) -> list[SuggestionFields]:
    """A list of suggestions, every bad one reported by its index (`suggestions[3].start`), and
    the same span given twice reported at its second place."""
    if not isinstance(items, list):
        raise ValidationError({field: [f"{field} must be a list of suggestions."]})
    if len(items) > MAX_SUGGESTIONS_PER_REQUEST:
        raise ValidationError(
            {
                field: [
                    f"At most {MAX_SUGGESTIONS_PER_REQUEST} suggestions at once; got {len(items)}."
                ]
            }
        )
    errors: dict[str, list[str]] = {}
    clean: list[SuggestionFields] = []
    seen: dict[tuple[int, int], int] = {}
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        try:
            fields = validate_suggestion(text, item, allowed_labels=allowed_labels)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors[where if name == "suggestion" else f"{where}.{name}"] = messages
            continue
        span = (fields.span.start, fields.span.end)
        if span in seen:
            errors[where] = [f"The same span as {field}[{seen[span]}]; one suggestion per span."]
            continue
        seen[span] = index
        clean.append(fields)
    if errors:
        raise ValidationError(errors)
    return clean


def _topics_by_key(article: Article) -> dict[str, Topic]:
    """The corpus's topics by id and by label (what a client may name a topic by)."""
    topics: dict[str, Topic] = {}
    for topic in Topic.objects.filter(corpus_id=article.corpus_id):
        topics[topic.label] = topic
        topics[str(topic.pk)] = topic
    return topics


# --- Writes ----------------------------------------------------------------------------------


def suggestions_create(
    *, access: Access, article: Article, model: object, suggestions: object
) -> list[Suggestion]:
    """Stores a model's suggestions on an article (curators and owners): all or nothing. A span
    the same model suggested on this article already is a conflict (409) naming it."""
    access.ensure(Action.REVIEW)
    errors: dict[str, list[str]] = {}
    try:
        model_name = validate_model_name(model)
    except ValidationError as error:
        errors["model"] = list(error.messages)
    try:
        items = validate_suggestions(
            article.text, suggestions, allowed_labels=article.corpus.claim_labels
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    if not errors and not items:
        errors["suggestions"] = ["Give at least one suggestion."]
    topics = _topics_by_key(article)
    if not errors:
        for index, item in enumerate(items):
            if item.topic is not None and str(item.topic) not in topics:
                errors[f"suggestions[{index}].topic"] = [f"No topic {item.topic!r} in this corpus."]
    if errors:
        raise ValidationError(errors)
    return _store(
        actor=access.user,
        article=article,
        model=model_name,
        items=items,
        topics=topics,
        skip_existing=False,
    )


def _store(
    *,
    actor: User,
    article: Article,
    model: str,
    items: Sequence[SuggestionFields],
    topics: dict[str, Topic],
    skip_existing: bool,
) -> list[Suggestion]:
    with transaction.atomic():
        existing = {
            (start, end): pk
            for start, end, pk in Suggestion.objects.filter(article=article, model=model)
            .select_for_update()
            .values_list("start", "end", "pk")
        }
        clashes = [
            (index, existing[(item.span.start, item.span.end)])
            for index, item in enumerate(items)
            if (item.span.start, item.span.end) in existing
        ]
        if clashes and not skip_existing:
            named = ", ".join(f"suggestions[{i}] (suggestion {pk})" for i, pk in clashes[:10])
            raise Conflict(f"{model} suggested the same span on this article already: {named}.")
        clashing = {i for i, _ in clashes}
        rows = Suggestion.objects.bulk_create(
            Suggestion(
                article=article,
                start=item.span.start,
                end=item.span.end,
                exact=item.span.exact,
                prefix=item.span.prefix,
                suffix=item.span.suffix,
                model=model,
                topic=topics[str(item.topic)] if item.topic is not None else None,
                stance=item.stance,
                labels=item.labels,
                score=item.score,
                created_by=actor,
            )
            for index, item in enumerate(items)
            if index not in clashing
        )
        if rows:
            audit(
                actor=actor,
                verb="suggestion.create",
                obj=article,
                corpus=article.corpus,
                after={"model": model, "count": len(rows)},
            )
    return rows


def suggestions_store_builtin(
    *, access: Access, article: Article, model: str, items: Sequence[SuggestionFields]
) -> list[Suggestion]:
    """The built-in suggester's output: spans it suggested here already are kept, not doubled
    (running it twice with one version gives the same suggestions)."""
    access.ensure(Action.REVIEW)
    return _store(
        actor=access.user,
        article=article,
        model=model,
        items=items,
        topics=_topics_by_key(article),
        skip_existing=True,
    )


def _decided(
    *,
    suggestion: Suggestion,
    actor: User,
    state: str,
    annotation: Annotation | None,
    created: bool,
    batch: str = "",
) -> SuggestionDecision:
    decision, _ = SuggestionDecision.objects.update_or_create(
        suggestion=suggestion,
        decided_by=actor,
        defaults={
            "state": state,
            "annotation": annotation,
            "created_annotation": created,
            "batch": batch,
        },
    )
    return decision


def suggestion_accept(
    *,
    access: Access,
    suggestion: Suggestion,
    stance: object = None,
    topic: object = None,
    batch: str = "",
) -> SuggestionDecision:
    """The caller's annotation on the claim at the suggestion's span, with the suggestion's
    stance and topic unless corrected by `stance` and `topic`. When the caller has tagged that
    claim already, their annotation stays as it is and becomes the decision's provenance."""
    access.ensure(Action.ANNOTATE)
    actor, article = access.user, suggestion.article
    stance_value = stance if stance not in (None, "") else suggestion.stance
    if stance_value in (None, ""):
        raise ValidationError(
            {"stance": ["This suggestion has no stance: choose one (support, oppose, neutral)."]}
        )
    clean_stance = validators.keyed("stance", validators.validate_stance, stance_value)
    given_topic = topic if isinstance(topic, str | int) and topic != "" else None
    chosen_topic = _resolve_topic(access.corpus, given_topic or suggestion.topic)
    with transaction.atomic():
        previous = (
            SuggestionDecision.objects.select_for_update()
            .filter(suggestion=suggestion, decided_by=actor)
            .first()
        )
        accepted_already = previous is not None and previous.state == SuggestionState.ACCEPTED
        if accepted_already and previous is not None and previous.annotation_id is not None:
            return previous
        claim = (
            Claim.objects.alive()
            .filter(article=article, start=suggestion.start, end=suggestion.end)
            .order_by("id")
            .first()
        )
        if claim is None:
            claim = claim_create(
                actor=actor,
                article=article,
                role=access.role,
                start=suggestion.start,
                end=suggestion.end,
            )
        annotation = Annotation.objects.filter(claim=claim, annotator=actor).first()
        created = annotation is None
        if annotation is None:
            annotation = annotation_create(
                actor=actor,
                claim=claim,
                role=access.role,
                stance=clean_stance,
                topic=chosen_topic,
                labels=suggestion.labels,
            )
        decision = _decided(
            suggestion=suggestion,
            actor=actor,
            state=SuggestionState.ACCEPTED,
            annotation=annotation,
            created=created,
            batch=batch,
        )
        audit(
            actor=actor,
            verb="suggestion.accept",
            obj=suggestion,
            corpus=access.corpus,
            after={
                "annotation": annotation.pk,
                "claim": claim.pk,
                "stance": annotation.stance,
                "topic": annotation.topic_id,
                "corrected": clean_stance != suggestion.stance
                or (suggestion.topic_id is not None and chosen_topic.pk != suggestion.topic_id),
            },
        )
    return decision


def suggestion_reject(*, access: Access, suggestion: Suggestion) -> SuggestionDecision:
    """Records the caller's rejection. An annotation an earlier acceptance made stays (it is the
    caller's own work now; they delete it if they wish), no longer linked to the suggestion."""
    access.ensure(Action.ANNOTATE)
    with transaction.atomic():
        decision = _decided(
            suggestion=suggestion,
            actor=access.user,
            state=SuggestionState.REJECTED,
            annotation=None,
            created=False,
        )
        audit(actor=access.user, verb="suggestion.reject", obj=suggestion, corpus=access.corpus)
    return decision


def suggestion_undo(*, access: Access, suggestion: Suggestion) -> None:
    """Takes the caller's decision back: the suggestion is open for them again, and an
    annotation their acceptance created is deleted unless they have edited it since."""
    access.ensure(Action.ANNOTATE)
    with transaction.atomic():
        decision = (
            SuggestionDecision.objects.select_for_update(of=("self",))
            .select_related("annotation__claim__article__corpus")
            .filter(suggestion=suggestion, decided_by=access.user)
            .first()
        )
        if decision is None:
            return
        _undo(access, decision)


def _undo(access: Access, decision: SuggestionDecision) -> None:
    annotation = decision.annotation
    decision.delete()
    if decision.created_annotation and annotation is not None and annotation.version == 1:
        annotation_delete(actor=access.user, annotation=annotation, role=access.role)
    audit(
        actor=access.user,
        verb="suggestion.undo",
        obj=decision.suggestion,
        corpus=access.corpus,
        before={"state": decision.state},
    )


@dataclass(frozen=True)
class BulkAcceptance:
    batch: str
    accepted: int
    skipped_without_stance: int


def suggestions_accept_above(
    *, access: Access, article: Article, threshold: float, model: str | None = None
) -> BulkAcceptance:
    """Accepts, as the caller, every suggestion on the article they have not decided yet whose
    score is at least `threshold` (of one `model`, or any), all at once; those without a stance
    are left open (a stance is the caller's to choose). Undone as one by its `batch`."""
    access.ensure(Action.ANNOTATE)
    threshold = validators.keyed("threshold", validate_score, threshold) or 0.0
    batch = secrets.token_hex(8)
    candidates = (
        Suggestion.objects.filter(article=article, score__gte=threshold)
        .exclude(decisions__decided_by=access.user)
        .select_related("article__corpus", "topic")
        .order_by("start", "-end", "id")
    )
    if model:
        candidates = candidates.filter(model=model)
    accepted = skipped = 0
    with transaction.atomic():
        for suggestion in candidates:
            if not suggestion.stance:
                skipped += 1
                continue
            suggestion_accept(access=access, suggestion=suggestion, batch=batch)
            accepted += 1
    return BulkAcceptance(batch=batch, accepted=accepted, skipped_without_stance=skipped)


def suggestions_undo_batch(*, access: Access, article: Article, batch: str) -> int:
    """Undoes the caller's bulk acceptance `batch` on the article; how many it took back."""
    access.ensure(Action.ANNOTATE)
    if not batch:
        raise ValidationError({"batch": ["Say which bulk acceptance to undo."]})
    with transaction.atomic():
        decisions = list(
            SuggestionDecision.objects.select_for_update(of=("self",))
            .select_related("annotation", "suggestion")
            .filter(decided_by=access.user, batch=batch, suggestion__article=article)
        )
        for decision in decisions:
            _undo(access, decision)
    return len(decisions)
