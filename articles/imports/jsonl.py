"""Native JSONL import: one article per line (DESIGN.md's native line, or a bare article).

Keys the line does not define (ids, timestamps, anything else) are ignored. Offsets count code
points of the text as given in the line; if normalising the text (NFC, no CR, no BOM) changes
it, they are mapped onto the stored text. A bad line is reported with its number (counting
every physical line from 1, blank ones included) and each problem found in it, named by its
path, e.g. `claims[2].annotations[0].stance: stance must be one of support, oppose, neutral; got
'maybe'.` The checks are articles.validators', the same as the API's.

Every user a line names must be a member of the corpus with a role that could have done it: an
annotation's annotator, a claim's or relation's created_by and a comment's author are annotators,
curators or owners; a review's curator is a curator or an owner. Anyone else (a viewer, a
non-member, a name nobody has) makes the line bad, and a non-member gets the same message
whether or not such a user exists.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import IO, Any, cast

import orjson
from django.core.exceptions import ValidationError

from .. import anchoring, services, validators
from ..models import AnnotationStatus, RelationKind, ReviewDecision, Role, Stance
from ..services import suggestions as suggestion_checks
from ..services.groups import GROUP_LABEL_CHARS
from ..validators import MAX_COMMENT_CHARS, MAX_SUMMARY_CHARS
from . import (
    Errors,
    ImportContext,
    OffsetMap,
    PlannedAnnotation,
    PlannedArticle,
    PlannedClaim,
    PlannedReview,
)

LINES_PER_CHUNK = 200
# With `ramp` (PostgreSQL), the first chunk is smaller and each next one twice the last, up to
# LINES_PER_CHUNK: the writer waits for the first chunk to be planned and starts on a small one
# sooner (the first write of 1,000 documents at 0.02-0.04 s instead of 0.11 s; SQLite measured
# no difference, bench/README.md).
FIRST_CHUNK_LINES = 25
BYTES_PER_CHUNK = 16 * 1024 * 1024
MAX_PROBLEMS_PER_LINE = 20


class LineProblems(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems


class _Collector:
    """Runs checks for one line, keeping each failure as 'path: message'."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def check(self, path: str, function, *args, **kwargs):
        """Run a validator; a plain error is filed under `path`, a keyed one under each of
        its fields below `path`."""
        try:
            return function(*args, **kwargs)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, texts in error.message_dict.items():
                    self.add(f"{path}.{name}" if path else name, " ".join(texts))
            else:
                self.add(path, " ".join(error.messages))
            return None
        except services.PayloadTooLarge as error:
            self.add(path, str(error))
            return None

    def add(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}" if path else text)


def _usernames(data: dict) -> list[Any]:
    """Every username a line names, for one bulk lookup of members per chunk."""
    names: list[Any] = []
    add = names.append
    for claim in _list(data.get("claims")):
        if not isinstance(claim, dict):
            continue
        add(claim.get("created_by"))
        annotations = claim.get("annotations")
        if isinstance(annotations, list):
            names += [a.get("annotator") for a in annotations if isinstance(a, dict)]
        review = claim.get("review")
        if isinstance(review, dict):
            add(review.get("curator"))
        comments = claim.get("comments")
        if comments:
            names += [c.get("author") for c in _list(comments) if isinstance(c, dict)]
    relations = data.get("relations")
    if relations:
        names += [r.get("created_by") for r in _list(relations) if isinstance(r, dict)]
    return names


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _expect_list(collector: _Collector, data: dict, key: str, path: str = "") -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        collector.add(f"{path}{key}", "must be a list.")
        return []
    return value


def _plan_annotation(
    context: ImportContext, collector: _Collector, path: str, data: Any, text: str, offsets
) -> PlannedAnnotation | None:
    if not isinstance(data, dict):
        collector.add(path, "must be an object.")
        return None
    before = len(collector.problems)
    annotator_id = collector.check(
        f"{path}.annotator", context.member_id, data.get("annotator"), "annotator", Role.ANNOTATOR
    )
    topic = collector.check(f"{path}.topic", context.topic_label, data.get("topic"))
    stance = collector.check(f"{path}.stance", validators.validate_stance, data.get("stance"))
    labels = collector.check(
        f"{path}.labels", validators.validate_labels, data.get("labels"), allowed=context.labels
    )
    confidence = collector.check(
        f"{path}.confidence", validators.validate_confidence, data.get("confidence")
    )
    note = collector.check(f"{path}.note", validators.validate_text, data.get("note"), "note")
    status = collector.check(
        f"{path}.status",
        validators.validate_choice,
        data.get("status") or AnnotationStatus.DRAFT,
        "status",
        AnnotationStatus,
    )
    evidence = collector.check(
        f"{path}.evidence", _plan_evidence, text, data.get("evidence"), offsets
    )
    if len(collector.problems) > before:
        return None
    return PlannedAnnotation(
        annotator_id=annotator_id,
        topic=topic,
        stance=stance,
        labels=labels,
        confidence=confidence,
        note=note.strip(),
        status=status,
        evidence=evidence,
    )


def _plan_evidence(text: str, items: Any, offsets: OffsetMap) -> list[validators.EvidenceFields]:
    """An annotation's evidence, its spans' offsets mapped like the claims'."""
    if isinstance(items, list):
        items = [
            {**item, "start": offsets(item.get("start")), "end": offsets(item.get("end"))}
            if isinstance(item, dict)
            else item
            for item in items
        ]
    return validators.validate_evidence(text, items)


def _created_by(context: ImportContext, collector: _Collector, path: str, data: dict) -> int | None:
    """Who made a claim or relation: the importing user when the line does not say, else a
    member who may annotate."""
    created_by = data.get("created_by")
    if created_by in (None, ""):
        return context.actor_id
    return collector.check(
        f"{path}.created_by", context.member_id, created_by, "created_by", Role.ANNOTATOR
    )


def _plan_review(
    context: ImportContext, collector: _Collector, path: str, data: Any
) -> PlannedReview | None:
    if not isinstance(data, dict):
        collector.add(path, "must be an object or null.")
        return None
    before = len(collector.problems)
    curator_id = collector.check(
        f"{path}.curator", context.member_id, data.get("curator"), "curator", Role.CURATOR
    )
    decision = collector.check(
        f"{path}.decision",
        validators.validate_choice,
        data.get("decision"),
        "decision",
        ReviewDecision,
    )
    accepted = decision == ReviewDecision.ACCEPTED
    topic = None
    if accepted or data.get("topic") not in (None, ""):
        topic = collector.check(f"{path}.topic", context.topic_label, data.get("topic"))
    if accepted and data.get("stance") in (None, ""):
        collector.add(f"{path}.stance", "An accepted claim needs a gold stance.")
    stance = collector.check(
        f"{path}.stance", validators.validate_stance, data.get("stance"), required=False
    )
    note = collector.check(f"{path}.note", validators.validate_text, data.get("note"), "note")
    if len(collector.problems) > before:
        return None
    return PlannedReview(
        curator_id=curator_id, decision=decision, topic=topic, stance=stance, note=note.strip()
    )


def _plan_claim(
    context: ImportContext, collector: _Collector, path: str, data: Any, text: str, offsets
) -> PlannedClaim | None:
    if not isinstance(data, dict):
        collector.add(path, "must be an object.")
        return None
    before = len(collector.problems)
    orphaned = _is_orphan(data)
    span = collector.check(
        path,
        _orphan_span if orphaned else validators.validate_span,
        text,
        start=offsets(data.get("start")),
        end=offsets(data.get("end")),
        exact=data.get("exact"),
        prefix=data.get("prefix"),
        suffix=data.get("suffix"),
    )
    summary = collector.check(
        f"{path}.summary",
        validators.validate_text,
        data.get("summary"),
        "summary",
        max_chars=MAX_SUMMARY_CHARS,
    )
    labels = collector.check(
        f"{path}.labels", validators.validate_labels, data.get("labels"), allowed=context.labels
    )
    created_by_id = _created_by(context, collector, path, data)
    annotations = []
    seen: set[int] = set()
    for i, item in enumerate(_expect_list(collector, data, "annotations", f"{path}.")):
        planned = _plan_annotation(
            context, collector, f"{path}.annotations[{i}]", item, text, offsets
        )
        if planned is None:
            continue
        if planned.annotator_id in seen:
            collector.add(
                f"{path}.annotations[{i}].annotator",
                f"{item.get('annotator')!r} annotated this claim twice; one annotation each.",
            )
        seen.add(planned.annotator_id)
        annotations.append(planned)
    review = None
    if data.get("review") is not None:
        review = _plan_review(context, collector, f"{path}.review", data["review"])
    comments = []
    for i, item in enumerate(_expect_list(collector, data, "comments", f"{path}.")):
        where = f"{path}.comments[{i}]"
        if not isinstance(item, dict):
            collector.add(where, "must be an object.")
            continue
        author_id = collector.check(
            f"{where}.author", context.member_id, item.get("author"), "author", Role.ANNOTATOR
        )
        comment = collector.check(
            f"{where}.text",
            validators.validate_text,
            item.get("text"),
            "text",
            max_chars=MAX_COMMENT_CHARS,
        )
        if comment is not None and not comment.strip():
            collector.add(f"{where}.text", "The comment is empty.")
        elif author_id is not None and comment is not None:
            comments.append((author_id, comment.strip()))
    group = None
    if data.get("group") is not None:
        group_data = data["group"]
        if not isinstance(group_data, dict):
            collector.add(f"{path}.group", 'must be an object {"label"} (or null).')
        else:
            group = collector.check(
                f"{path}.group.label",
                validators.validate_line,
                group_data.get("label"),
                "label",
                max_chars=GROUP_LABEL_CHARS,
                required=True,
            )
    if len(collector.problems) > before or created_by_id is None:
        return None  # created_by_id is None only when its problem was collected
    return PlannedClaim(
        group=group,
        orphaned=orphaned,
        span=span,
        summary=summary.strip(),
        labels=labels,
        created_by_id=created_by_id,
        annotations=annotations,
        review=review,
        comments=comments,
    )


def _is_orphan(data: dict) -> bool:
    """A claim exported as orphaned by a text change: no offsets, its old quote and context."""
    anchor = data.get("anchor")
    return (
        isinstance(anchor, dict)
        and anchor.get("status") == "orphaned"
        and data.get("start") is None
        and data.get("end") is None
    )


def _orphan_span(text: str, *, start: object, end: object, exact: object, prefix: object,
                 suffix: object) -> anchoring.Span:  # fmt: skip
    """An orphan's quote and context, checked as text; its offsets stay empty (0, 0 here)."""
    check = validators.validate_text
    quote = validators.keyed("exact", check, exact, "exact", max_chars=max(len(text), 1))
    if not quote:
        raise ValidationError({"exact": ["An orphaned claim keeps its quote; exact is empty."]})
    limit = anchoring.CONTEXT_LENGTH
    before = validators.keyed("prefix", check, prefix, "prefix", max_chars=limit)
    after = validators.keyed("suffix", check, suffix, "suffix", max_chars=limit)
    return anchoring.Span(0, 0, anchoring.normalize_text(quote), before, after)


def _positions(data: dict) -> Iterator[Any]:
    suggestions = data.get("suggestions")
    if isinstance(suggestions, dict):
        suggestions = suggestions.get("suggestions")
    for item in _list(suggestions):
        if isinstance(item, dict):
            yield item.get("start")
            yield item.get("end")
    for claim in _list(data.get("claims")):
        if isinstance(claim, dict):
            yield claim.get("start")
            yield claim.get("end")
            for annotation in _list(claim.get("annotations")):
                if isinstance(annotation, dict):
                    for item in _list(annotation.get("evidence")):
                        if isinstance(item, dict):
                            yield item.get("start")
                            yield item.get("end")


def plan_article(
    context: ImportContext, data: Any, checked: Callable[[], Any] | None = None
) -> PlannedArticle:
    """Validate one article line; raise LineProblems listing what is wrong with it. `checked`:
    the line as the full checks must read it, when `data` was read another way (see _decode)."""
    planned = _plan_plain(context, data)
    if planned is not None:
        return planned
    return _plan_checked(context, data if checked is None else checked())


def _plan_checked(context: ImportContext, data: Any) -> PlannedArticle:
    """Every check on every value, each failure collected with its path (the reference: what
    _plan_plain accepts, this plans the same)."""
    if not isinstance(data, dict):
        raise LineProblems(["A line must be a JSON object: one article."])
    collector = _Collector()
    fields = collector.check("", services.clean_article_fields, data)
    if fields is None:
        raise LineProblems(collector.problems)
    raw_text = data["text"]
    offsets = OffsetMap(raw_text, fields["text"], _positions(data))
    text = fields["text"]
    claims: list[PlannedClaim | None] = []
    for i, item in enumerate(_expect_list(collector, data, "claims")):
        claims.append(_plan_claim(context, collector, f"claims[{i}]", item, text, offsets))
    relations = _plan_relations(context, collector, data, len(claims))
    suggestions = _plan_suggestions(context, collector, data, text, offsets)
    if collector.problems:
        raise LineProblems(collector.problems)
    # A claim is None only when its problems were collected, and then the line was refused above.
    return PlannedArticle(
        fields=fields,
        claims=cast("list[PlannedClaim]", claims),
        relations=relations,
        suggestions=suggestions,
    )


def _plan_relations(
    context: ImportContext, collector: _Collector, data: dict, claims: int
) -> list[tuple[int, int, str, int]]:
    relations = []
    seen = set()
    for i, item in enumerate(_expect_list(collector, data, "relations")):
        where = f"relations[{i}]"
        if not isinstance(item, dict):
            collector.add(where, "must be an object.")
            continue
        ends = []
        for end in ("source", "target"):
            value = item.get(end)
            if isinstance(value, bool) or not isinstance(value, int):
                collector.add(f"{where}.{end}", "must be the index of a claim in this line.")
            elif not 0 <= value < claims:
                collector.add(
                    f"{where}.{end}",
                    f"{value} is not a claim index (this line has {claims} claims).",
                )
            else:
                ends.append(value)
        kind = collector.check(
            f"{where}.kind", validators.validate_choice, item.get("kind"), "kind", RelationKind
        )
        created_by_id = _created_by(context, collector, where, item)
        if len(ends) == 2 and kind is not None and created_by_id is not None:
            if ends[0] == ends[1]:
                collector.add(where, "A claim cannot be related to itself.")
            elif (ends[0], ends[1], kind) in seen:
                collector.add(where, f"claims {ends[0]} {kind} {ends[1]} is listed twice.")
            else:
                seen.add((ends[0], ends[1], kind))
                relations.append((ends[0], ends[1], kind, created_by_id))
    return relations


# --- The common line, planned without the collector --------------------------------------------
#
# Most lines of a large import are plain: claims by offsets that hold, annotations by members
# with a known stance. _plan_plain plans such a line with a few direct tests per value instead
# of the collector's calls (a third of an import's time went there), and gives up, returning
# None, at the first value it is not sure of: _plan_checked then plans the line and words every
# problem. What _plan_plain accepts, _plan_checked accepts and plans the same way (tests compare
# the two on valid and broken lines).


class _Unsure(Exception):
    """A value _plan_plain leaves to the full checks."""


_STANCES = frozenset(Stance.values)
_STATUSES = frozenset(AnnotationStatus.values)
# A claim with no other keys than these has no review, group or comments to plan (any other key,
# even one the import ignores, costs the three look-ups).
_PLAIN_CLAIM_KEYS = frozenset(
    ("start", "end", "exact", "prefix", "suffix", "summary", "labels", "created_by", "annotations")
)


def _plan_plain(context: ImportContext, data: Any) -> PlannedArticle | None:
    if type(data) is not dict:
        return None
    try:
        fields = services.clean_article_fields(data)
        text = fields["text"]
        offsets = OffsetMap(data["text"], text, _positions(data))
        claims = [
            _plain_claim(context, item, text, offsets) for item in _plain_list(data, "claims")
        ]
        relations: list[tuple[int, int, str, int]] = []
        suggestions: list[tuple[str, suggestion_checks.SuggestionFields]] = []
        if _plain_list(data, "relations") or data.get("suggestions") is not None:
            collector = _Collector()
            relations = _plan_relations(context, collector, data, len(claims))
            suggestions = _plan_suggestions(context, collector, data, text, offsets)
            if collector.problems:
                return None
    except Exception:  # noqa: BLE001 (whatever it is, the full checks decide and say why)
        return None
    return PlannedArticle(
        fields=fields, claims=claims, relations=relations, suggestions=suggestions
    )


def _plain_list(data: dict, key: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if type(value) is not list:
        raise _Unsure
    return value


def _plain_claim(context: ImportContext, data: Any, text: str, offsets: OffsetMap) -> PlannedClaim:
    if type(data) is not dict:
        raise _Unsure
    get = data.get
    if not data.keys() <= _PLAIN_CLAIM_KEYS and (
        get("review") is not None or get("group") is not None or _plain_list(data, "comments")
    ):
        # Rarer parts: the full checks for this claim alone.
        collector = _Collector()
        planned = _plan_claim(context, collector, "", data, text, offsets)
        if collector.problems or planned is None:
            raise _Unsure
        return planned
    if offsets.identity:
        start, end = get("start"), get("end")
    else:
        start, end = offsets(get("start")), offsets(get("end"))
    if type(start) is not int or type(end) is not int or not 0 <= start < end <= len(text):
        raise _Unsure
    exact = text[start:end]
    given = get("exact")
    if given is not None and given != exact:
        raise _Unsure
    prefix, suffix = get("prefix"), get("suffix")
    # A context given must be text, the text's own, and stay itself once normalised.
    if prefix is not None and (
        type(prefix) is not str
        or not (
            len(prefix) <= start
            and text.startswith(prefix, start - len(prefix), start)
            and unicodedata.is_normalized("NFC", prefix)
        )
    ):
        raise _Unsure
    if suffix is not None and (
        type(suffix) is not str
        or not (text.startswith(suffix, end) and unicodedata.is_normalized("NFC", suffix))
    ):
        raise _Unsure
    summary = get("summary")
    labels = get("labels")
    created_by = get("created_by")
    if created_by is None or created_by == "":
        created_by_id = context.actor_id
    elif type(created_by) is str and created_by in context.annotator_ids:
        created_by_id = context.annotator_ids[created_by]
    else:
        raise _Unsure
    items = get("annotations")
    if items is None:
        annotations = []
    elif type(items) is list:
        annotations = [_plain_annotation(context, item, text, offsets) for item in items]
        if len(annotations) > 1 and len({a.annotator_id for a in annotations}) < len(annotations):
            raise _Unsure
    else:
        raise _Unsure
    context_length = anchoring.CONTEXT_LENGTH
    return PlannedClaim(
        anchoring.Span(
            start,
            end,
            exact,
            text[max(0, start - context_length) : start],
            text[end : end + context_length],
        ),
        ""
        if summary is None
        else validators.validate_text(summary, "summary", max_chars=MAX_SUMMARY_CHARS).strip(),
        [] if labels is None else validators.validate_labels(labels, allowed=context.labels),
        created_by_id,
        annotations,
    )


def _plain_annotation(
    context: ImportContext, data: Any, text: str, offsets: OffsetMap
) -> PlannedAnnotation:
    if type(data) is not dict:
        raise _Unsure
    get = data.get
    annotator = get("annotator")
    if type(annotator) is not str:
        raise _Unsure
    annotator_id = context.annotator_ids.get(annotator)
    if annotator_id is None:
        raise _Unsure
    topic = get("topic")
    if topic is None or topic == "":
        label = context.first_topic
        if label is None:
            raise _Unsure
    elif type(topic) is str:
        label = context.topic_labels.get(topic) or context.topic_labels.setdefault(
            topic, validators.validate_topic_label(topic)
        )
    else:
        raise _Unsure
    stance = get("stance")
    if type(stance) is not str or stance not in _STANCES:
        raise _Unsure
    status = get("status") or AnnotationStatus.DRAFT
    if not isinstance(status, str) or status not in _STATUSES:
        raise _Unsure
    labels, confidence, note, evidence = (
        get("labels"),
        get("confidence"),
        get("note"),
        get("evidence"),
    )
    return PlannedAnnotation(
        annotator_id,
        label,
        stance,
        [] if labels is None else validators.validate_labels(labels, allowed=context.labels),
        None if confidence is None else validators.validate_confidence(confidence),
        "" if note is None else validators.validate_text(note, "note").strip(),
        status,
        [] if evidence is None or evidence == [] else _plan_evidence(text, evidence, offsets),
    )


def _plan_suggestions(
    context: ImportContext, collector: _Collector, data: dict, text: str, offsets
) -> list[tuple[str, suggestion_checks.SuggestionFields]]:
    """A line's `suggestions`: a list of suggestions, each naming its `model`, or one model's
    as `{"model", "suggestions": [...]}` (the API's request body). Topics are labels."""
    value = data.get("suggestions")
    shared_model = None
    where = "suggestions"
    if isinstance(value, dict):
        shared_model = collector.check(
            "suggestions.model", suggestion_checks.validate_model_name, value.get("model")
        )
        value = value.get("suggestions")
        where = "suggestions.suggestions"
    if value is None:
        return []
    if not isinstance(value, list):
        collector.add(where, "must be a list.")
        return []
    planned: list[tuple[str, suggestion_checks.SuggestionFields]] = []
    seen: dict[tuple[str, int, int], int] = {}
    for i, item in enumerate(value):
        path = f"{where}[{i}]"
        if not isinstance(item, dict):
            collector.add(path, "must be an object.")
            continue
        model = shared_model
        if shared_model is None or "model" in item:
            model = collector.check(
                f"{path}.model", suggestion_checks.validate_model_name, item.get("model")
            )
        mapped = {**item, "start": offsets(item.get("start")), "end": offsets(item.get("end"))}
        fields = collector.check(
            path,
            suggestion_checks.validate_suggestion,
            text,
            mapped,
            allowed_labels=context.labels,
        )
        topic = None
        if fields is not None and fields.topic is not None:
            topic = collector.check(f"{path}.topic", context.topic_label, str(fields.topic))
        if model is None or fields is None:
            continue
        key = (model, fields.span.start, fields.span.end)
        if key in seen:
            collector.add(path, f"{model} suggests the same span as {where}[{seen[key]}].")
            continue
        seen[key] = i
        planned.append((model, replace(fields, topic=topic)))
    return planned


def _decode_fast(raw: bytes, first: bool) -> tuple[Any, str | None, Callable[[], Any] | None]:
    """The line's JSON value read by orjson (in C: 0.03 s instead of 0.05-0.07 s for the issue's
    1,000 lines), with a way to read it again as `json` does for the full checks; a line orjson
    refuses is read by `json` at once, which words why it cannot be read.

    orjson and `json` read every valid line alike but integers past 64 bits (orjson: floats), and
    only the plain planner sees orjson's value: it accepts no such number (offsets, confidence,
    indexes and scores must be small integers or numbers from 0 to 1), and a line it gives up on
    is read again by `json` before the full checks, so every error is worded as before."""
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return orjson.loads(raw), None, lambda: _read_again(raw)
    except orjson.JSONDecodeError:
        return *_decode(raw, False), None


def _read_again(raw: bytes) -> Any:
    data, problem = _decode(raw, False)
    if problem is not None:  # (no line orjson reads is known that `json` refuses)
        raise LineProblems([problem])
    return data


def _decode(raw: bytes, first: bool) -> tuple[Any, str | None]:
    """The line's JSON value, or why it cannot be read."""
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"Not valid UTF-8 (byte {error.start + 1} of the line)."
    try:
        return json.loads(line), None
    except json.JSONDecodeError as error:
        return None, f"Not valid JSON: {error.msg} (column {error.colno})."
    except RecursionError:
        return None, "Not valid JSON: nested too deeply."


def plan(
    context: ImportContext,
    file: IO[bytes],
    *,
    errors: Errors,
    ramp: bool = False,
    **_options,
) -> Iterator[list]:
    """Yield lists of validated articles, a chunk of lines at a time (errors in line order);
    with `ramp`, smaller chunks first (see FIRST_CHUNK_LINES)."""
    pending: list[tuple[int, bytes]] = []
    size = 0
    lines = min(FIRST_CHUNK_LINES if ramp else LINES_PER_CHUNK, LINES_PER_CHUNK)
    for number, raw in enumerate(file, start=1):
        if not raw.strip():
            continue
        pending.append((number, raw))
        size += len(raw)
        if len(pending) >= lines or size >= BYTES_PER_CHUNK:
            yield _plan_chunk(context, pending, errors)
            pending, size = [], 0
            lines = min(2 * lines, LINES_PER_CHUNK)
    if pending:
        yield _plan_chunk(context, pending, errors)


def _plan_chunk(context: ImportContext, lines: list[tuple[int, bytes]], errors: Errors) -> list:
    parsed = [(number, *_decode_fast(raw, number == 1)) for number, raw in lines]
    context.load_members(
        name for _, data, _, _ in parsed if isinstance(data, dict) for name in _usernames(data)
    )
    planned = []
    for number, data, unreadable, checked in parsed:
        if unreadable:
            errors.add(number, unreadable)
            continue
        try:
            planned.append(plan_article(context, data, checked))
        except LineProblems as problems:
            shown = problems.problems[:MAX_PROBLEMS_PER_LINE]
            hidden = len(problems.problems) - len(shown)
            errors.add(number, "; ".join(shown) + (f"; and {hidden} more" if hidden else ""))
    if not errors:  # (nothing will be written otherwise)
        for article in planned:
            article.text_sha256 = services.text_sha256(article.fields["text"])
    return planned
