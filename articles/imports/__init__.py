"""Corpus imports: native JSONL, brat zips and single text/Markdown/HTML/PDF/Word articles.

What a file is comes from its content (sniff.detect), not its name: a PDF renamed .txt is read
as a PDF, and a file the import cannot read (an image, a legacy .doc, an archive of something
else) is refused with 415 and a sentence saying what it looks like. The name's extension, or
the content type the API was sent, is only a hint where the bytes cannot decide (.md or .txt).

Every import is all or nothing. The format modules read the file in chunks and turn each article
into a validated plan (the same rules as the API: services.clean_article_fields and the field
validators of articles.validators), collecting every bad line with its number and reason.
While no error has been seen, each chunk of plans is written with bulk inserts; the whole import
runs in one transaction, so the first error means nothing is kept, and the file is still read to
the end so that every bad line is reported (the first MAX_ERRORS of them).
One AuditEvent ("corpus.import", with the counts) records a successful import.

Users are named by username and must be members of the corpus with a role that could have done
what the line says (inactive users too: their past work stays theirs); see jsonl. A topic named
by label is created when the corpus lacks it; an annotation or accepted review without a topic
takes the corpus's first topic as it was before the import, and when the corpus has no topic at
all that is an error for the line (name the topic, or add one to the corpus).

Imports running at the same time into one corpus may name the same new topic: the first to
create a topic holds the corpus row (FOR NO KEY UPDATE, which the rows pointing at the corpus do
not wait for) until it commits, and the others then find that topic instead of creating it
again. A change that still makes the write fail (say, a topic deleted meanwhile) is answered
409, nothing written, never a server error.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import IO, Any

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils import timezone

from .. import anchoring, counters, db_statistics, services, validators
from ..exports.reader import collector_paused
from ..models import (
    AnchorStatus,
    Annotation,
    AnnotationStatus,
    Article,
    Assignment,
    AssignmentState,
    Claim,
    ClaimGroup,
    ClaimGroupMember,
    Comment,
    Corpus,
    Evidence,
    EvidenceRole,
    EvidenceType,
    Relation,
    Review,
    Role,
    Suggestion,
    Topic,
)
from ..permissions import Action, ensure, rank
from ..services.suggestions import SuggestionFields
from ..side import SideConnection, side_connection
from . import rows

MAX_ERRORS = 1000
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".zip": "zip",
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}


@dataclass
class ImportResult:
    articles: int = 0
    claims: int = 0
    annotations: int = 0
    evidence: int = 0
    relations: int = 0
    reviews: int = 0
    comments: int = 0
    topics: int = 0
    # The ids of what the import created, in file order (answered by the API, not audited).
    article_ids: list[int] = field(default_factory=list, repr=False)
    claim_ids: list[int] = field(default_factory=list, repr=False)
    suggestions: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts (not through dataclasses.asdict, which copies every id of the lists)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclass_fields(self)
            if not f.name.endswith("_ids")
        }

    def created_ids(self) -> dict[str, list[str]]:
        """The ids of the new articles and claims, as the API gives ids (strings)."""
        return {
            "article_ids": [str(pk) for pk in self.article_ids],
            "claim_ids": [str(pk) for pk in self.claim_ids],
        }


class ImportFailed(Exception):
    """Nothing was imported. `errors`: (line number or None, reason); `status`: 400, 409 (the
    corpus changed under the import), 413 or 415 (not a kind of file the import reads)."""

    def __init__(self, errors: list[tuple[int | None, str]], status: int = 400, more: int = 0):
        self.errors = errors
        self.status = status
        self.more = more
        count = len(errors) + more
        if status == 413:
            message = "The file is too large to import; nothing was imported."
        elif status == 415:
            message = "The file is not of a kind the import reads; nothing was imported."
        elif status == 409:
            message = "The corpus changed while the file was imported; nothing was imported."
        elif count == 1:
            message = "The file has a problem; nothing was imported."
        else:
            message = f"The file has {count:,} problems; nothing was imported."
        if more:
            message += f" The first {len(errors):,} are listed."
        super().__init__(message)

    @staticmethod
    def describe(line: int | None, reason: str) -> str:
        return f"line {line}: {reason}" if line is not None else reason


class Errors:
    """Collects (line, reason) pairs, keeping the first MAX_ERRORS and counting the rest."""

    def __init__(self) -> None:
        self.items: list[tuple[int | None, str]] = []
        self.more = 0

    def add(self, line: int | None, reason: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append((line, reason))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def fail(self) -> ImportFailed:
        return ImportFailed(self.items, more=self.more)


def messages(error: Exception) -> list[str]:
    """A service error as readable strings, each naming its field."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return [f"{name}: {' '.join(texts)}" for name, texts in error.message_dict.items()]
    if isinstance(error, ValidationError):
        return list(error.messages)
    return [str(error)]


# --- Plans: validated data waiting to be written ---------------------------------------------


@dataclass(slots=True)
class PlannedAnnotation:
    annotator_id: int
    topic: str | None  # a label; None: the corpus's first topic
    stance: str
    labels: list[str]
    confidence: int | None
    note: str
    status: str
    evidence: list[validators.EvidenceFields]


@dataclass(slots=True)
class PlannedReview:
    curator_id: int
    decision: str
    topic: str | None
    stance: str
    note: str


@dataclass(slots=True)
class PlannedClaim:
    span: anchoring.Span  # an orphan's offsets are placeholders (see `orphaned`)
    summary: str
    labels: list[str]
    created_by_id: int
    annotations: list[PlannedAnnotation] = field(default_factory=list)
    review: PlannedReview | None = None
    comments: list[tuple[int, str]] = field(default_factory=list)
    group: str | None = None  # the label of the claim group it belongs to (created if missing)
    orphaned: bool = False  # orphaned by a text change: no position, its old quote kept


@dataclass(slots=True)
class PlannedArticle:
    fields: services.ArticleFields
    claims: list[PlannedClaim] = field(default_factory=list)
    relations: list[tuple[int, int, str, int]] = field(default_factory=list)
    # (model, suggestion) pairs, the topic a label (or None); see services.suggestions
    suggestions: list[tuple[str, SuggestionFields]] = field(default_factory=list)
    # The text's hash, when the planner computed it (off the writer's thread, which waits on it).
    text_sha256: str | None = field(default=None, compare=False)


class ImportContext:
    """What validation needs to know about the corpus and its members, fetched in bulk."""

    def __init__(self, *, actor, corpus: Corpus):
        self.actor = actor
        self.actor_id: int = actor.pk  # (the request's user is a lazy object: read it once)
        self.corpus = corpus
        self.labels = list(corpus.claim_labels or [])
        topics = list(Topic.objects.filter(corpus=corpus).order_by("position", "id"))
        self.topics: dict[str, Topic] = {t.label: t for t in topics}
        self.first_topic: str | None = topics[0].label if topics else None
        self.members: dict[str, validators.Member] = {}
        self._looked_up: set[str] = set()
        # For the planners' common case, what validate_member would accept at once: the user id
        # of each member found who may annotate (annotator, created_by, author), by username.
        self.annotator_ids: dict[str, int] = {}
        # Topic labels as given -> as cleaned, once validate_topic_label accepted them.
        self.topic_labels: dict[str, str] = {}
        # Held around each use of the connection: the planner looks members up in a thread
        # while the writer writes (see ahead.py).
        self.database = threading.Lock()

    def load_members(self, usernames: Iterable[Any]) -> None:
        """Look up, in one query, the memberships of the usernames not seen yet."""
        wanted = {n for n in usernames if isinstance(n, str) and n not in self._looked_up}
        if wanted:
            with self.database:
                found = validators.corpus_members(self.corpus.pk, wanted)
            self.members.update(found)
            self._looked_up |= wanted
            minimum = rank(Role.ANNOTATOR)
            self.annotator_ids.update(
                (name, member.user_id)
                for name, member in found.items()
                if name.strip() and rank(member.role) >= minimum
            )

    def member_id(self, username: Any, field_name: str, minimum: str) -> int:
        """The user id of a member with at least the `minimum` role (see validate_member)."""
        if isinstance(username, str) and username not in self._looked_up:
            self.load_members([username])
        member = validators.validate_member(
            username, field_name, members=self.members, minimum=minimum
        )
        return member.user_id

    def topic_label(self, value: Any, field_name: str = "topic") -> str:
        """A topic label (created at write time if missing), or the first topic for None."""
        if value in (None, ""):
            if self.first_topic is None:
                raise ValidationError(
                    "This corpus has no topic yet: name the topic, or add one to the corpus first."
                )
            return self.first_topic
        return validators.validate_topic_label(value, field_name)


class OffsetMap:
    """Maps offsets into a text as given to offsets into its normalised form (NFC, no CR, no BOM).

    Imported offsets count code points of the text *as given*; normalisation may shorten it.
    Fast path: normalise the pieces between the positions and add up their lengths; that is
    exact unless a position splits a sequence normalisation joins (CR LF, a letter and its
    combining mark), which the pieces, put back together, then show; the slow path normalises
    the whole text up to each position. A span whose text still differs from the normalised
    span is reported by the caller's exact-match check.
    """

    def __init__(self, raw: str, normalised: str, positions: Iterable[Any] = ()):
        self.identity = raw == normalised
        self.mapping: dict[int, int] = {}
        if self.identity:
            return
        wanted = sorted(
            {
                p
                for p in positions
                if isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= len(raw)
            }
        )
        pieces: list[str] = []
        previous, length = 0, 0
        for position in wanted:
            piece = anchoring.normalize_text(raw[previous:position])
            pieces.append(piece)
            length += len(piece)
            self.mapping[position] = length
            previous = position
        pieces.append(anchoring.normalize_text(raw[previous:]))
        if "".join(pieces) != normalised:
            self.mapping = {p: len(anchoring.normalize_text(raw[:p])) for p in wanted}

    def __call__(self, position: Any) -> Any:
        if self.identity:
            return position
        if isinstance(position, int) and not isinstance(position, bool):
            return self.mapping.get(position, position)
        return position


# --- Writing ---------------------------------------------------------------------------------

# The columns the writer fills, in the order of its tuples (the others take their defaults).
ARTICLE_DEFAULTS = (
    ("title", ""),
    ("text", ""),
    ("author", ""),
    ("source_url", ""),
    ("published_on", None),
    ("language", ""),
)
ARTICLE_COLUMNS = tuple(name for name, _ in ARTICLE_DEFAULTS)
CLAIM_COLUMNS = (
    "article_id",
    "start",
    "end",
    "exact",
    "prefix",
    "suffix",
    "summary",
    "labels",
    "created_by_id",
    "anchor_status",
    "anchor_score",
)
PLACED = (AnchorStatus.EXACT.value, 1.0)
ORPHANED = (AnchorStatus.ORPHANED.value, 0.0)  # no position: its old quote and context kept
ANNOTATION_COLUMNS = (
    "claim_id",
    "annotator_id",
    "topic_id",
    "stance",
    "labels",
    "confidence",
    "note",
    "status",
)
EVIDENCE_DEFAULTS = (
    ("kind", ""),
    ("evidence_type", EvidenceType.OTHER.value),
    ("role", EvidenceRole.SUPPORTS.value),
    ("start", None),
    ("end", None),
    ("exact", ""),
    ("url", ""),
    ("title", ""),
    ("quote", ""),
)
EVIDENCE_COLUMNS = ("annotation_id", "position", *(name for name, _ in EVIDENCE_DEFAULTS))
REVIEW_COLUMNS = ("claim_id", "curator_id", "decision", "topic_id", "stance", "note")


class Writer:
    """Bulk-writes validated plans, creating missing topics, and counts what it created.

    The rows go to the database as plain tuples (rows.insert_rows), never as model instances.
    With `created` (what counters.deferred gives), the counting triggers stand aside and the
    writer counts each chunk's new articles itself from what it wrote (counters.count_written:
    their counter rows written with the chunk, their corpus's and members' shares added at the
    end), never reading their rows back.
    """

    def __init__(self, context: ImportContext, *, created: counters.Created | None = None):
        self.context = context
        # The new articles, counted for counters.deferred (None: the triggers count).
        self.created = created
        self.result = ImportResult()
        self.holds_corpus = False
        self.assignments = 0  # rows written, for the statistics refresh (not in the result)
        self.groups: dict[str, ClaimGroup] = {}
        self.topic_ids: dict[str, int] = {}
        # PostgreSQL: the new rows' foreign keys checked once per chunk, not once per row (the
        # counting triggers, which stand aside with them, are deferred then).
        self.foreign_keys = (
            rows.ForeignKeys()
            if created is not None and connection.vendor == "postgresql"
            else None
        )

    def _topic(self, label: str | None) -> Topic | None:
        if label is None:
            return None
        topic = self.context.topics.get(label)
        return topic if topic is not None else self._new_topic(label)

    def _topic_id(self, label: str | None) -> int | None:
        if label is None:
            return None
        found = self.topic_ids.get(label)
        if found is None:
            topic = self._topic(label)
            assert topic is not None
            found = self.topic_ids[label] = topic.pk
        return found

    def _new_topic(self, label: str) -> Topic:
        """The topic `label`, which the corpus lacked when the import looked: created, or found
        if another import (or an owner) created it since."""
        context = self.context
        if not self.holds_corpus:
            # Imports creating topics in this corpus take turns (see the module's docstring);
            # SQLite has no row locks, but its writers already run one at a time.
            list(
                Corpus.objects.select_for_update(no_key=True)
                .filter(pk=context.corpus.pk)
                .values_list("pk", flat=True)
            )
            self.holds_corpus = True
            for topic in Topic.objects.filter(corpus=context.corpus).order_by("position", "id"):
                context.topics.setdefault(topic.label, topic)
            if label in context.topics:
                return context.topics[label]
        try:
            with transaction.atomic():
                topic = Topic.objects.create(
                    corpus=context.corpus, label=label, position=len(context.topics)
                )
        except IntegrityError:
            # Created meanwhile by someone who does not take turns (an owner adding it by hand).
            topic = Topic.objects.get(corpus=context.corpus, label=label)
        else:
            self.result.topics += 1
        context.topics[label] = topic
        return topic

    def rows_written(self) -> dict[str, int]:
        """{model name: rows written}, for db_statistics.refresh."""
        r = self.result
        return {
            "Article": r.articles,
            "Claim": r.claims,
            "Annotation": r.annotations,
            "Evidence": r.evidence,
            "Relation": r.relations,
            "Review": r.reviews,
            "Comment": r.comments,
            "Assignment": self.assignments,
        }

    def _join_groups(self, claim_ids: list[int], planned: list[PlannedClaim]) -> None:
        """Claims that name a group join it; a group the corpus lacks is created (by label)."""
        members = []
        for claim_id, plan in zip(claim_ids, planned, strict=True):
            if plan.group is None:
                continue
            group = self.groups.get(plan.group)
            if group is None:
                group = services.group_for_import(
                    self.context.corpus, plan.group, self.context.actor
                )
                self.groups[plan.group] = group
            members.append(
                ClaimGroupMember(group=group, claim_id=claim_id, added_by=self.context.actor)
            )
        ClaimGroupMember.objects.bulk_create(members, batch_size=1000)

    def write(self, chunk: list[PlannedArticle] | PreparedChunk) -> None:
        """Write a chunk: plans as the planner gave them, or a chunk prepared already (prepare,
        on the planner's thread)."""
        if isinstance(chunk, list):
            if not chunk:
                return
            # The topics first (a missing one is created, through the ORM), then the chunk's
            # ids in one query, which on PostgreSQL also pauses the per-row foreign-key checks
            # (see rows.reserve_ids): as few round trips as can be.
            for label in _topic_labels(chunk):
                self._topic_id(label)
            prepared = self.prepare(
                chunk,
                reserve=lambda wanted: rows.reserve_ids(wanted, foreign_keys=self.foreign_keys),
            )
            assert prepared is not None, "every topic known"
            chunk = prepared
        self._send(chunk)

    def prepare(
        self, plans: list[PlannedArticle], *, reserve, encoder: Any = None
    ) -> PreparedChunk | None:
        """The chunk's rows, with their ids (`reserve`: rows.reserve_ids with the connection to
        draw them on) and, with `encoder` (PostgreSQL, a cursor of another connection than the
        writer's), formatted as COPY streams (rows.prepare_rows). Python only but for the ids:
        the planner thread calls this while the writer writes the chunk before. None if a topic
        the chunk names is not known yet (the writer then creates it and prepares the chunk)."""
        context = self.context
        corpus_id = context.corpus.pk
        planned_claims = [c for plan in plans for c in plan.claims]
        planned_annotations = [a for c in planned_claims for a in c.annotations]
        topic_ids: dict[str | None, int | None] = {None: None}
        for label in _topic_labels(plans, planned_claims):
            topic = context.topics.get(label)
            if topic is None:
                return None
            topic_ids[label] = topic.pk
        evidence_count = sum(len(a.evidence) for a in planned_annotations if a.evidence)
        reviews_of = [(i, c.review) for i, c in enumerate(planned_claims) if c.review is not None]
        comments_count = sum(len(c.comments) for c in planned_claims if c.comments)
        relations_count = sum(len(plan.relations) for plan in plans)
        # Blind mode and progress read assignments: an annotator whose imported work on an
        # article is submitted has submitted that article (the articles are new: no assignment
        # exists yet). Each new article's counts, from what is written into it
        # (counters.count_written); its id comes below.
        counted = []
        for plan in plans:
            annotators: dict[int, int] = {}
            submitters: set[int] = set()
            annotations = reviewed = tagged = 0
            for planned in plan.claims:
                if planned.annotations:
                    tagged += 1
                    annotations += len(planned.annotations)
                    for item in planned.annotations:
                        annotators[item.annotator_id] = annotators.get(item.annotator_id, 0) + 1
                        if item.status == AnnotationStatus.SUBMITTED:
                            submitters.add(item.annotator_id)
                if planned.review is not None:
                    reviewed += 1
            numbers = (len(plan.claims), annotations, reviewed, tagged, *[len(submitters)] * 2)
            counted.append((numbers, frozenset(submitters), annotators))
        assignments_count = sum(len(submitters) for _, submitters, _ in counted)
        (
            article_ids,
            claim_ids,
            annotation_ids,
            evidence_ids,
            review_ids,
            comment_ids,
            relation_ids,
            assignment_ids,
        ) = reserve(
            [
                (Article, len(plans)),
                (Claim, len(planned_claims)),
                (Annotation, len(planned_annotations)),
                (Evidence, evidence_count),
                (Review, len(reviews_of)),
                (Comment, comments_count),
                (Relation, relations_count),
                (Assignment, assignments_count),
            ]
        )
        now = timezone.now()
        prepared: list[rows.Prepared] = []

        def add(model, fields, values, ids) -> None:
            if values:
                prepared.append(
                    rows.prepare_rows(model, fields, values, ids=ids, now=now, encoder=encoder)
                )

        add(
            Article,
            ("corpus_id", "created_by_id", "text_sha256", *ARTICLE_COLUMNS),
            [
                (
                    corpus_id,
                    context.actor_id,
                    plan.text_sha256 or services.text_sha256(plan.fields["text"]),
                    *[plan.fields.get(name, default) for name, default in ARTICLE_DEFAULTS],
                )
                for plan in plans
            ],
            article_ids,
        )
        add(
            Claim,
            CLAIM_COLUMNS,
            [
                (
                    article_id,
                    *((None, None) if c.orphaned else (c.span.start, c.span.end)),
                    c.span.exact,
                    c.span.prefix,
                    c.span.suffix,
                    c.summary,
                    c.labels,
                    c.created_by_id,
                    *(ORPHANED if c.orphaned else PLACED),
                )
                for article_id, plan in zip(article_ids, plans, strict=True)
                for c in plan.claims
            ],
            claim_ids,
        )
        add(
            Annotation,
            ANNOTATION_COLUMNS,
            [
                (
                    claim_id,
                    a.annotator_id,
                    topic_ids[a.topic],
                    a.stance,
                    a.labels,
                    a.confidence,
                    a.note,
                    a.status,
                )
                for claim_id, c in zip(claim_ids, planned_claims, strict=True)
                for a in c.annotations
            ],
            annotation_ids,
        )
        add(
            Evidence,
            EVIDENCE_COLUMNS,
            [
                (
                    annotation_id,
                    position,
                    *[item.get(name, default) for name, default in EVIDENCE_DEFAULTS],
                )
                for annotation_id, a in zip(annotation_ids, planned_annotations, strict=True)
                if a.evidence
                for position, item in enumerate(a.evidence)
            ],
            evidence_ids,
        )
        add(
            Review,
            REVIEW_COLUMNS,
            [
                (
                    claim_ids[i],
                    review.curator_id,
                    review.decision,
                    topic_ids[review.topic],
                    review.stance,
                    review.note,
                )
                for i, review in reviews_of
            ],
            review_ids,
        )
        add(
            Comment,
            ("claim_id", "author_id", "text"),
            [
                (claim_id, author_id, text)
                for claim_id, c in zip(claim_ids, planned_claims, strict=True)
                if c.comments
                for author_id, text in c.comments
            ],
            comment_ids,
        )
        relations = []
        offset = 0
        for plan in plans:
            ids = claim_ids[offset : offset + len(plan.claims)]
            offset += len(plan.claims)
            relations += [
                (ids[source], ids[target], kind, created_by_id)
                for source, target, kind, created_by_id in plan.relations
            ]
        add(
            Relation,
            ("source_claim_id", "target_claim_id", "kind", "created_by_id"),
            relations,
            relation_ids,
        )
        add(
            Assignment,
            ("article_id", "annotator_id", "state", "submitted_at"),
            [
                (article_id, annotator_id, AssignmentState.SUBMITTED.value, now)
                for article_id, annotator_id in sorted(
                    (article_id, user)
                    for article_id, (_, submitters, _) in zip(article_ids, counted, strict=True)
                    for user in submitters
                )
            ],
            assignment_ids,
        )
        written = [
            counters.Written(article_id, corpus_id, numbers, submitters, annotators)
            for article_id, (numbers, submitters, annotators) in zip(
                article_ids, counted, strict=True
            )
        ]
        return PreparedChunk(
            plans=plans,
            planned_claims=planned_claims,
            article_ids=article_ids,
            claim_ids=claim_ids,
            annotations=len(annotation_ids),
            evidence=evidence_count,
            reviews=len(reviews_of),
            comments=comments_count,
            relations=relations_count,
            assignments=assignments_count,
            rows=prepared,
            written=written,
        )

    def _send(self, chunk: PreparedChunk) -> None:
        """The prepared rows written, one COPY (or SQLite's INSERTs) after another, their
        foreign keys checked, their counts kept, and the rarer parts written through the ORM."""
        actor = self.context.actor
        foreign_keys = self.foreign_keys
        for prepared in chunk.rows:
            rows.write_prepared(prepared, foreign_keys=foreign_keys)
        self.assignments += chunk.assignments
        if foreign_keys is not None:
            foreign_keys.check()
        if self.created is not None:
            counters.count_written(self.created, chunk.written)
        # Through the ORM, with the database's own checks (rare parts of a line).
        article_ids, plans = chunk.article_ids, chunk.plans
        self._join_groups(chunk.claim_ids, chunk.planned_claims)
        suggestions = [
            Suggestion(
                article_id=article_id,
                start=item.span.start,
                end=item.span.end,
                exact=item.span.exact,
                prefix=item.span.prefix,
                suffix=item.span.suffix,
                model=model,
                topic=self._topic(None if item.topic is None else str(item.topic)),
                stance=item.stance,
                labels=item.labels,
                score=item.score,
                created_by=actor,
            )
            for article_id, plan in zip(article_ids, plans, strict=True)
            for model, item in plan.suggestions
        ]
        Suggestion.objects.bulk_create(suggestions, batch_size=1000)
        result = self.result
        result.article_ids += article_ids
        result.claim_ids += chunk.claim_ids
        result.articles += len(article_ids)
        result.claims += len(chunk.claim_ids)
        result.annotations += chunk.annotations
        result.evidence += chunk.evidence
        result.reviews += chunk.reviews
        result.comments += chunk.comments
        result.relations += chunk.relations
        result.suggestions += len(suggestions)


@dataclass(slots=True)
class PreparedChunk:
    """A chunk's rows ready to be written, with what the writer counts of them (Writer.prepare)."""

    plans: list[PlannedArticle]
    planned_claims: list[PlannedClaim]
    article_ids: list[int]
    claim_ids: list[int]
    annotations: int
    evidence: int
    reviews: int
    comments: int
    relations: int
    assignments: int
    rows: list[rows.Prepared]
    written: list[counters.Written]

    def __len__(self) -> int:
        return len(self.plans)


def _topic_labels(
    plans: list[PlannedArticle], planned_claims: list[PlannedClaim] | None = None
) -> set[str]:
    """The topic labels a chunk's annotations and reviews name."""
    if planned_claims is None:
        planned_claims = [c for plan in plans for c in plan.claims]
    labels = {a.topic for c in planned_claims for a in c.annotations}
    labels |= {c.review.topic for c in planned_claims if c.review is not None}
    labels.discard(None)
    return labels  # type: ignore[return-value]


def prepared_ahead(
    writer: Writer, plans: Iterator[list[PlannedArticle]], errors: Errors, side: SideConnection
) -> Iterator[list[PlannedArticle] | PreparedChunk]:
    """The planner's chunks, each prepared for the writer where it can be (PostgreSQL: ids drawn
    and COPY streams formatted on `side`, in the planner's thread); any other chunk as it is,
    for the writer to prepare (an error seen, a new topic, the side connection unusable)."""
    for chunk in plans:
        raw = None if errors or not chunk else side.get()
        if raw is None:
            yield chunk
            continue
        try:
            prepared = writer.prepare(
                chunk,
                reserve=lambda wanted, raw=raw: rows.reserve_ids(wanted, side=raw),
                encoder=raw.cursor(),
            )
        except psycopg.Error:
            side.broken()
            prepared = None
        yield chunk if prepared is None else prepared


# --- Entry points ----------------------------------------------------------------------------


def kind_for_name(name: str) -> str | None:
    """The kind a file name suggests: a hint for sniff.detect, which reads the content."""
    return EXTENSIONS.get(os.path.splitext(name or "")[1].lower())


def unsupported(name: str, looks_like: str) -> ImportFailed:
    """415 naming what the file looks like and what the import reads."""
    from .sniff import SUPPORTED

    what = os.path.basename(name) if name else "The file"
    return ImportFailed(
        [(None, f"{what} looks like {looks_like}; the import reads {SUPPORTED}.")], status=415
    )


def import_file(
    *, actor, corpus: Corpus, role: str | None, name: str, data: bytes, title: str | None = None
) -> ImportResult:
    """Import an uploaded file, its format read from its content (the name's extension only
    breaks ties: .md or .txt). Raises ImportFailed (nothing written) or PermissionDenied."""
    import io

    ensure(role, Action.IMPORT)
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFailed(
            [
                (
                    None,
                    f"{name} is {len(data):,} bytes; at most "
                    f"{settings.IMPORT_MAX_BYTES:,} bytes can be imported at once.",
                )
            ],
            status=413,
        )
    return import_upload(
        actor=actor,
        corpus=corpus,
        role=role,
        kind=kind_for_name(name),
        name=name,
        file=io.BytesIO(data),
        title=title,
    )


def import_upload(
    *,
    actor,
    corpus: Corpus,
    role: str | None,
    kind: str | None,
    name: str,
    file: IO[bytes],
    title: str | None = None,
) -> ImportResult:
    """Import a seekable binary file object. `kind` (jsonl, zip, text, markdown, html, pdf,
    docx, or None) is what the name or content type suggests; the content decides (see sniff).
    `title` names a single article (text, Markdown, HTML, PDF, Word); the others ignore it."""
    from . import brat, jsonl, pdf, sniff, text, word
    from .ahead import planned_ahead
    from .commit import synced_commit

    ensure(role, Action.IMPORT)
    try:
        kind = sniff.detect(file, hint=kind)
    except sniff.Unsupported as refusal:
        raise unsupported(name, str(refusal)) from None
    planner = {"jsonl": jsonl.plan, "zip": brat.plan, "pdf": pdf.plan, "docx": word.plan}.get(
        kind, text.plan
    )
    errors = Errors()
    side = side_connection(connections[DEFAULT_DB_ALIAS])
    try:
        # An import allocates a few objects per value of every line (the parsed JSON, the plans,
        # the rows), none in cycles: the cyclic collector, which walks every live object each
        # few collections, only cost time (see exports.reader.collector_paused).
        # SQLite: committed with the log synced, the checkpoint in a thread (see commit.py).
        with synced_commit() as synced, collector_paused(), transaction.atomic():
            if synced is not None:
                transaction.on_commit(synced.committed)  # before the statistics refresh
            postgresql = connection.vendor == "postgresql"
            if postgresql:
                # The foreign keys checked as each chunk is written, while the next one is
                # planned, rather than all of them at the end (see ahead.py).
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            context = ImportContext(actor=actor, corpus=corpus)
            with counters.deferred() as created:
                writer = Writer(context, created=created)
                planned: Iterator[list[PlannedArticle]] = planner(
                    context, file, name=name, title=title, kind=kind, errors=errors, ramp=postgresql
                )
                plans: Iterator[list[PlannedArticle] | PreparedChunk] = planned
                if writer.foreign_keys is not None:
                    # PostgreSQL: the planner thread also draws each chunk's ids and formats its
                    # COPY streams, on a connection of its own, while the writer's COPYs hold
                    # this one; the writer then only sends them.
                    plans = prepared_ahead(writer, planned, errors, side)
                for chunk in planned_ahead(plans):
                    if not errors:
                        with context.database:
                            writer.write(chunk)
                if errors:
                    raise errors.fail()
            if writer.result.articles == 0:
                raise ImportFailed([(None, "The file holds no article.")])
            services.audit(
                actor=actor,
                verb="corpus.import",
                obj=corpus,
                corpus=corpus,
                after={"source": name, "format": kind, **writer.result.as_dict()},
            )
            # Once committed, the planner's statistics of the tables the import grew are
            # refreshed (see db_statistics: the database may never do it by itself); after the
            # response where the view asks for that (db_statistics.after_response).
            transaction.on_commit(lambda: db_statistics.refresh_soon(writer.rows_written()))
            if postgresql:
                # Checked already, inside the try (not at a commit that may belong to the
                # caller's transaction: the page imports several files); deferred again, as
                # Django's foreign keys are (a rollback of the import restores that itself).
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    except IntegrityError:
        raise ImportFailed(
            [
                (
                    None,
                    "The corpus changed while the file was being imported (a topic or a member "
                    "it names was removed meanwhile, say). Import the file again.",
                )
            ],
            status=409,
        ) from None
    return writer.result
