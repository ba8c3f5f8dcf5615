"""Corpus exports: one module per format, each a generator of byte chunks.

This package holds what every format shares:

- `parse_export_params` validates the request's parameters (all of them, before the first byte);
- `read_articles` reads the selected live articles in batches with everything hanging from them,
  a fixed number of queries per batch (never per row), each query's rows as plain tuples in one
  round trip, in a reader thread one batch ahead of the writer, so memory stays bounded by a few
  batches however large the corpus is;
- `FORMATS`, the registry: name -> content type, file extension and writer;
- `stream(spec)`, the bytes of an export, read inside one transaction (one consistent snapshot).

Filters, and how they combine (the same in every format):

- `article` (repeatable, or comma-separated): only these articles;
- `annotator` (a username) and `status` (draft|submitted) select annotations; when either is
  given, a claim is exported only if it keeps at least one selected annotation, and an article
  only if it keeps a claim. Without them every live claim is exported, annotated or not;
- `gold_only`: only claims a curator accepted (their review carries the gold topic and stance);
- `updated_since`: articles in which anything changed since that moment (the article, a claim
  created, changed or moved to the trash, an annotation, a review, a comment or a relation);
  annotations, relations and comments deleted for good leave no trace, so a consumer that must
  see deletions re-exports in full now and then.

Articles and claims in the trash are never exported.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from operator import attrgetter
from time import monotonic

import psycopg
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connection, connections, transaction
from django.db.models import (
    BooleanField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    TextField,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from psycopg import errors as psycopg_errors
from psycopg import pq
from psycopg.adapt import Transformer

from ..models import (
    Annotation,
    AnnotationStatus,
    Article,
    Claim,
    Comment,
    Corpus,
    Evidence,
    Relation,
    Review,
    ReviewDecision,
    Topic,
)
from ..services import EVIDENCE_FIELDS

ARTICLES_PER_BATCH = 250
FIRST_BATCH = 50
# A batch also closes once its texts reach this many bytes, so that a corpus of long articles
# (up to ARTICLE_MAX_CHARS each) does not hold a whole batch of them at once.
BYTES_PER_BATCH = 8_000_000
CHUNK_BYTES = 64 * 1024

# What hangs from a claim, beyond the claim itself; a format reads only the parts it writes.
PARTS = frozenset({"annotations", "evidence", "reviews", "comments", "relations"})

PARAMETERS = ("format", "article", "annotator", "status", "gold_only", "updated_since")
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


# --- What a writer receives ------------------------------------------------------------------
#
# The rows have the native JSONL line's shape: its keys as fields, in its order, ids as strings,
# so that the JSONL writer hands them to orjson as they are (it writes a dataclass's fields in
# order, the fields named with a leading underscore left out). Other formats read the attributes.


@dataclass
class SpanEvidenceRow:
    kind: str  # "span"
    start: int
    end: int
    exact: str
    evidence_type: str
    role: str
    # What the other kind has, empty here (class attributes: not written to JSONL).
    url = title = quote = ""


@dataclass
class SourceEvidenceRow:
    kind: str  # "source"
    url: str
    title: str
    quote: str
    evidence_type: str
    role: str
    start = end = None
    exact = ""


EvidenceRow = SpanEvidenceRow | SourceEvidenceRow


@dataclass
class AnnotationRow:
    id: str
    annotator: str
    topic: str
    stance: str
    labels: list
    confidence: int | None
    note: str
    status: str
    created_at: str
    updated_at: str
    evidence: list[EvidenceRow] = field(default_factory=list)


@dataclass
class ReviewRow:
    curator: str
    decision: str
    topic: str | None
    stance: str
    note: str
    created_at: str
    updated_at: str


@dataclass
class CommentRow:
    id: str
    author: str
    text: str
    created_at: str


@dataclass
class ClaimRow:
    id: str
    start: int
    end: int
    exact: str
    prefix: str
    suffix: str
    summary: str
    labels: list
    created_by: str
    created_at: str
    updated_at: str
    annotations: list[AnnotationRow] = field(default_factory=list)
    review: ReviewRow | None = None
    comments: list[CommentRow] = field(default_factory=list)


@dataclass
class RelationRow:
    id: str
    source: int  # index of the source claim in its article's `claims`
    target: int
    kind: str
    created_by: str
    created_at: str


@dataclass
class ArticleRow:
    id: str
    title: str
    text: str
    author: str
    source_url: str
    published_on: str | None
    language: str
    created_at: str
    updated_at: str
    claims: list[ClaimRow] = field(default_factory=list)
    relations: list[RelationRow] = field(default_factory=list)


@dataclass(frozen=True)
class ExportFilters:
    article_ids: tuple[int, ...] = ()
    annotator_id: int | None = None
    status: str | None = None
    gold_only: bool = False
    updated_since: datetime | None = None

    @property
    def selects_annotations(self) -> bool:
        return self.annotator_id is not None or self.status is not None


@dataclass(frozen=True)
class ExportSpec:
    corpus: Corpus
    format: ExportFormat
    filters: ExportFilters
    # Absolute IRIs (W3C) are built from these; the API passes the request's own.
    base_url: str = "http://localhost:8000"
    collection_url: str = ""

    def filename(self) -> str:
        return f"{self.corpus.slug}.{self.format.extension}"


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str
    content_type: str
    writer: Callable[[ExportSpec], Iterator[bytes]]
    # The parts of the corpus it writes (`PARTS`): the reader skips the others' queries.
    parts: frozenset[str] = PARTS


# --- Parameters ------------------------------------------------------------------------------


def parse_export_params(corpus: Corpus, params: Mapping[str, Sequence[str]]) -> ExportSpec:
    """Validate every parameter; raise ValidationError {parameter: [messages]} naming each bad one.

    `params` maps a name to its list of values (a QueryDict's `lists()`, or a plain dict).
    """
    errors: dict[str, list[str]] = {}
    values = {name: list(given) for name, given in params.items()}
    for name in values:
        if name not in PARAMETERS:
            errors[name] = [f"Unknown parameter; the export takes {', '.join(PARAMETERS)}."]
    for name in ("format", "annotator", "status", "gold_only", "updated_since"):
        if len(values.get(name, [])) > 1:
            errors[name] = [f"{name} may be given only once."]

    def single(name: str) -> str | None:
        given = values.get(name)
        return given[0] if given and name not in errors else None

    format_name = (single("format") or "jsonl").strip().lower()
    export_format = FORMATS.get(format_name)
    if export_format is None and "format" not in errors:
        errors["format"] = [
            f"format must be one of {', '.join(FORMATS)}; got {_show(single('format'))}."
        ]

    article_ids = _parse_article_ids(corpus, values.get("article", []), errors)

    annotator_id = None
    username = single("annotator")
    if username is not None:
        # PostgreSQL cannot even compare a string holding NUL: no user has one anyway.
        user = (
            None
            if "\x00" in username
            else get_user_model().objects.filter(username=username.strip()).only("pk").first()
        )
        if user is None:
            errors["annotator"] = [f"No user {_show(username)}."]
        else:
            annotator_id = user.pk

    status = single("status")
    if status is not None and status not in AnnotationStatus.values:
        errors["status"] = [
            f"status must be one of {', '.join(AnnotationStatus.values)}; got {_show(status)}."
        ]

    gold_only = False
    gold_word = single("gold_only")
    if gold_word is not None:
        word = gold_word.strip().lower()
        if word in TRUE_WORDS:
            gold_only = True
        elif word not in FALSE_WORDS:
            errors["gold_only"] = [f"gold_only must be true or false; got {_show(gold_word)}."]

    updated_since = None
    since = single("updated_since")
    if since is not None:
        updated_since = _parse_moment(since)
        if updated_since is None:
            errors["updated_since"] = [
                "updated_since must be an ISO 8601 date or date-time, e.g. "
                f"2025-01-31T12:00:00Z; got {_show(since)}."
            ]

    if errors:
        raise ValidationError(errors)
    return ExportSpec(
        corpus=corpus,
        format=export_format,
        filters=ExportFilters(
            article_ids=tuple(article_ids),
            annotator_id=annotator_id,
            status=status,
            gold_only=gold_only,
            updated_since=updated_since,
        ),
    )


def _parse_article_ids(corpus: Corpus, given: list[str], errors: dict) -> list[int]:
    ids: list[int] = []
    bad: list[str] = []
    for value in given:
        for part in str(value).split(","):
            part = part.strip()
            if part.isascii() and part.isdigit() and 0 < len(part) < 19 and int(part) > 0:
                ids.append(int(part))
            else:
                bad.append(part)
    if bad:
        errors["article"] = [f"{_show(b)} is not an article id." for b in bad[:20]]
        return []
    if ids:
        found = set(
            Article.objects.alive().filter(corpus=corpus, pk__in=ids).values_list("pk", flat=True)
        )
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            errors["article"] = [f"No article {i} in this corpus." for i in missing[:20]]
    return sorted(set(ids))


def _parse_moment(value: str) -> datetime | None:
    text = value.strip()
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    if moment is not None:
        try:
            # In UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts (-16:09).
            moment = moment.astimezone(UTC)
        except OverflowError:
            return None
    return moment


def _show(value: object) -> str:
    text = str(value)
    return json.dumps(text[:40] + ("…" if len(text) > 40 else ""), ensure_ascii=False)


# --- The row reader --------------------------------------------------------------------------


class InIds(Func):
    """The rows whose `column` is one of `ids`, with the ids as ONE parameter: any number of
    ids, one short query. The ids are ints, written by us, so the literal is safe.

    On PostgreSQL the plan matters. A batch's ids are mostly neighbours (rows are created in
    bulk), so when they are dense the index is scanned over their range (`BETWEEN min AND max`,
    which the planner estimates well) and `= ANY(...)` only filters the rows found (hashed;
    `+ 0` keeps the planner from using it as an index condition). As an index condition, an
    array of thousands of ids is costed as thousands of separate index probes, and PostgreSQL 15
    chose a sequential scan of the whole table instead: three to four times slower. Sparse ids
    keep `= ANY(...)` as the index condition. SQLite reads `json_each` of the ids."""

    conditional = True
    output_field = BooleanField()
    # A range this many times wider than the number of ids counts as sparse.
    DENSE = 4

    def __init__(self, column: str, ids):
        super().__init__(F(column))
        self.ids = [int(i) for i in ids]

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        array = "{" + ",".join(map(str, self.ids)) + "}"
        if not self.ids:
            return f"{column} = ANY(%s::bigint[])", [*params, array]
        low, high = min(self.ids), max(self.ids)
        if high - low + 1 > self.DENSE * len(self.ids):
            return f"{column} = ANY(%s::bigint[])", [*params, array]
        return (
            f"({column} BETWEEN %s AND %s AND ({column} + 0) = ANY(%s::bigint[]))",
            [*params, low, high, *params, array],
        )

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        # The column is a compiled, quoted identifier; the ids are a bound parameter.
        sql = f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608
        return sql, [*params, json.dumps(self.ids)]


class IsoText(Func):
    """A timestamp as RFC 3339 text in UTC (`2025-01-31T12:00:00.000000Z`), formatted by the
    database: parsing timestamps into Python objects only to print them again was a large part
    of the export's time."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return (
            f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
            params,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores UTC as "YYYY-MM-DD HH:MM:SS[.ffffff]".
        column, params = compiler.compile(self.source_expressions[0])
        return f"replace({column}, ' ', 'T') || 'Z'", params

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError("Exports run on PostgreSQL and SQLite, the project's databases.")


def _text(column: str) -> Cast:
    # Dates and JSON are read as the database's text, for the same reason.
    return Cast(column, output_field=TextField())


def _iso(column: str) -> IsoText:
    return IsoText(F(column))


def _annotation_filter(filters: ExportFilters, prefix: str = "") -> Q:
    q = Q()
    if filters.annotator_id is not None:
        q &= Q(**{f"{prefix}annotator_id": filters.annotator_id})
    if filters.status is not None:
        q &= Q(**{f"{prefix}status": filters.status})
    return q


def _claims_selected(filters: ExportFilters) -> Q:
    """Which live claims are exported (as a filter on Claim)."""
    q = Q(deleted_at__isnull=True)
    if filters.gold_only:
        q &= Q(review__decision=ReviewDecision.ACCEPTED)
    if filters.selects_annotations:
        q &= Q(Exists(Annotation.objects.filter(_annotation_filter(filters), claim=OuterRef("pk"))))
    return q


def _changed_since(moment: datetime) -> Q:
    live_claims = Claim.objects.filter(article=OuterRef("pk"))
    return (
        Q(updated_at__gte=moment)
        | Exists(live_claims.filter(Q(updated_at__gte=moment) | Q(deleted_at__gte=moment)))
        | Exists(Annotation.objects.filter(claim__article=OuterRef("pk"), updated_at__gte=moment))
        | Exists(Review.objects.filter(claim__article=OuterRef("pk"), updated_at__gte=moment))
        | Exists(Comment.objects.filter(claim__article=OuterRef("pk"), created_at__gte=moment))
        | Exists(
            Relation.objects.filter(source_claim__article=OuterRef("pk"), created_at__gte=moment)
        )
    )


def selected_articles(corpus: Corpus, filters: ExportFilters):
    articles = Article.objects.alive().filter(corpus=corpus)
    if filters.article_ids:
        articles = articles.filter(pk__in=filters.article_ids)
    if filters.gold_only or filters.selects_annotations:
        articles = articles.filter(
            Exists(Claim.objects.filter(_claims_selected(filters), article=OuterRef("pk")))
        )
    if filters.updated_since is not None:
        articles = articles.filter(_changed_since(filters.updated_since))
    return articles.order_by("id")


class _Labels:
    """JSON label lists read as text, parsed once per distinct value (they repeat a lot)."""

    def __init__(self) -> None:
        # Readers may look `seen` up directly and call only on a miss.
        self.seen: dict[str, list] = {}

    def __call__(self, text: str | None) -> list:
        if not text or text == "[]":
            return []
        value = self.seen.get(text)
        if value is None:
            if len(self.seen) > 10_000:
                self.seen.clear()
            value = self.seen[text] = json.loads(text)
        return value


def read_articles(
    corpus: Corpus,
    filters: ExportFilters,
    *,
    parts: frozenset[str] = PARTS,
    batch_size: int = ARTICLES_PER_BATCH,
    batch_bytes: int = BYTES_PER_BATCH,
) -> Iterator[ArticleRow]:
    """The selected articles in id order, each complete (claims in text order with their
    annotations and evidence, review, comments; the relations between exported claims), or
    with only the `parts` asked for (the others left empty).

    Nine queries per batch of articles with every part, one fewer for each part left out,
    whatever the number of claims and annotations (see `_read_batches`). The first batch is
    small, so the first bytes leave quickly.

    The queries run in a reader thread on this thread's own database connection (so in its
    transaction and snapshot), one batch ahead: while this thread assembles and writes a batch,
    the database works on the next one, on the other core. Nothing else uses the connection
    until the reader has stopped, which it does when the export ends or is abandoned.
    """
    labels = _Labels()
    names = _Names()
    batches = _read_ahead(
        lambda run: _read_batches(corpus, filters, names, run, parts, batch_size, batch_bytes)
    )
    for raw in batches:
        yield from _assemble(raw, labels, names)


def _read_ahead(produce: Callable) -> Iterator[_RawBatch]:
    """Run `produce(run)` in a thread and hand over what it yields, one item ahead.

    `run(queryset)` executes a query on the calling thread's connection (`_runner`). Errors in
    the reader are raised here; closing this generator stops the reader and waits for it, so
    the connection is never used by two threads at once after that.
    """
    wrapper = connections[DEFAULT_DB_ALIAS]
    wrapper.ensure_connection()
    run = _runner(wrapper)
    handover: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    finished = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handover.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            for item in produce(run):
                if not put(item):
                    return
            put(finished)
        except BaseException as error:  # handed to the consumer, raised there
            put(error)

    # Django refuses a connection to another thread until sharing is declared.
    wrapper.inc_thread_sharing()
    thread = threading.Thread(target=reader, name="export-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = handover.get()
            if item is finished:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        wrapper.dec_thread_sharing()


def _runner(wrapper) -> Callable[[object], list[tuple]]:
    """How the reader thread runs a query on `wrapper`'s connection.

    On PostgreSQL the query is sent with libpq's blocking `PQexec`, which psycopg runs without
    holding Python's GIL until the whole result has arrived, and the rows are then loaded in one
    call. Through a cursor, psycopg takes the GIL back for every piece of the result read from
    the socket; with the writer thread busy, each of those waits its turn, and a batch's queries
    took four times as long. The query text is composed as psycopg's client-side cursor composes
    it (what Django sends too), errors become Django's database errors, and the query is logged
    where Django logs queries (`connection.queries`, query-count tests). Elsewhere (SQLite) the
    reader uses a Django cursor.
    """
    if wrapper.vendor != "postgresql":
        return lambda queryset: _fetch(queryset, wrapper)
    raw = wrapper.connection
    composer = psycopg.ClientCursor(raw)
    encoding = raw.info.encoding

    def run(queryset) -> list[tuple]:
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
        query = composer.mogrify(sql, params)
        started = monotonic()
        with wrapper.wrap_database_errors:
            result = raw.pgconn.exec_(query.encode(encoding))
            if result.status != pq.ExecStatus.TUPLES_OK:
                raise _error_of(result)
        if wrapper.queries_logged:
            wrapper.queries_log.append({"sql": query, "time": f"{monotonic() - started:.3f}"})
        loader = Transformer(raw)
        loader.set_pgresult(result)
        return loader.load_rows(0, result.ntuples, tuple)

    return run


def _error_of(result) -> psycopg.Error:
    """The psycopg exception for a failed result, by its SQLSTATE (as a cursor would raise)."""
    message = (result.error_message or b"").decode("utf-8", "replace").strip()
    state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    try:
        error_class = psycopg_errors.lookup(state)
    except KeyError:
        error_class = psycopg.DatabaseError
    return error_class(message or "The export's query failed.")


def _fetch(queryset, wrapper) -> list[tuple]:
    """All the rows of one query, as plain tuples in one round trip, through a Django cursor.

    A batch is held in memory anyway, so its rows are read at once through an ordinary cursor:
    no server-side cursor (DECLARE, a FETCH per 2,000 rows, CLOSE, and a plan tuned for the
    first rows), and no per-row work from Django. The select lists hold only fields and
    expressions that need no conversion (ints, text, timestamps and JSON cast to text by the
    database), in the order the rows are unpacked.
    """
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    with wrapper.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class OctetLength(Func):
    """A text's size in bytes: what a batch's memory budget counts, known to the database
    without reading (or decompressing) the text."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return f"octet_length({column})", params

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return f"length(CAST({column} AS BLOB))", params


class _Names:
    """Usernames and topic labels by id, looked up once per export and kept.

    The batch queries read plain ids; joining every row to the user and topic tables cost
    PostgreSQL more than the rest of the annotation query, and a batch names only a handful of
    people and topics. `resolve` runs one query per batch for the ids not yet known."""

    def __init__(self) -> None:
        self.users: dict[int, str] = {}
        self.topics: dict[int | None, str | None] = {None: None}

    def resolve(self, run, user_ids: set, topic_ids: set) -> None:
        users = user_ids - self.users.keys()
        topics = topic_ids - self.topics.keys()
        rows = run(
            get_user_model()
            .objects.filter(InIds("id", users))
            .order_by()
            .values_list(Value(0), "id", "username")
            .union(
                Topic.objects.filter(InIds("id", topics))
                .order_by()
                .values_list(Value(1), "id", "label"),
                all=True,
            )
        )
        for table, key, name in rows:
            (self.topics if table else self.users)[key] = name


@dataclass(slots=True)
class _RawBatch:
    """One batch's rows as the database returned them (see `_read_batches`)."""

    articles: list[tuple]
    claims: list[tuple]
    annotations: list[tuple]
    evidence: list[tuple]
    reviews: list[tuple]
    comments: list[tuple]
    relations: list[tuple]


def _read_batches(
    corpus: Corpus,
    filters: ExportFilters,
    names: _Names,
    run: Callable[[object], list[tuple]],
    parts: frozenset[str],
    batch_size: int,
    batch_bytes: int,
) -> Iterator[_RawBatch]:
    """The selected articles' rows, batch by batch, through `run(queryset)`: nine queries per
    batch. The next batch's article ids and sizes (keyset pagination on the id: no server-side
    cursor), the articles, their claims, annotations, evidence, reviews, comments, relations,
    and the names these refer to. A batch closes at `batch_size` articles or once its texts
    reach `batch_bytes` bytes."""
    selected = selected_articles(corpus, filters)
    last, limit = 0, min(batch_size, FIRST_BATCH)
    while True:
        sizes = run(selected.filter(pk__gt=last).values_list("id", OctetLength("text"))[:limit])
        if not sizes:
            return
        article_ids, total = [], 0
        for article_id, size in sizes:
            article_ids.append(article_id)
            total += size or 0
            if total >= batch_bytes:
                break
        last = article_ids[-1]
        yield _read_batch(filters, names, run, article_ids, parts)
        if len(sizes) < limit and len(article_ids) == len(sizes):
            return  # that was the end: no need to ask again
        limit = batch_size


def _read_batch(
    filters: ExportFilters, names: _Names, run, article_ids: list[int], parts: frozenset[str]
) -> _RawBatch:
    article_rows = run(
        Article.objects.filter(InIds("id", article_ids))
        .order_by("id")
        .values_list(
            "id",
            "title",
            "text",
            "author",
            "source_url",
            _text("published_on"),
            "language",
            _iso("created_at"),
            _iso("updated_at"),
        )
    )
    claim_rows = run(
        Claim.objects.filter(_claims_selected(filters), InIds("article_id", article_ids))
        .order_by("article_id", "start", "-end", "id")
        .values_list(
            "article_id",
            "id",
            "start",
            "end",
            "exact",
            "prefix",
            "suffix",
            "summary",
            "created_by_id",
            # Expressions last, in this order: then Django hands the rows over as they come.
            _text("labels"),
            _iso("created_at"),
            _iso("updated_at"),
        )
    )
    claim_ids = [row[1] for row in claim_rows]
    # Sorted by annotator id here; by username (the export's order) below.
    annotation_rows = (
        run(
            Annotation.objects.filter(InIds("claim_id", claim_ids), _annotation_filter(filters))
            .order_by("claim_id", "annotator_id")
            .values_list(
                "claim_id",
                "id",
                "annotator_id",
                "topic_id",
                "stance",
                "confidence",
                "note",
                "status",
                _text("labels"),
                _iso("created_at"),
                _iso("updated_at"),
            )
        )
        if "annotations" in parts
        else []
    )
    evidence_rows = (
        run(
            Evidence.objects.filter(InIds("annotation_id", [row[1] for row in annotation_rows]))
            .order_by("annotation_id", "position", "id")
            .values_list("annotation_id", *EVIDENCE_FIELDS)
        )
        if "evidence" in parts
        else []
    )
    review_rows = (
        run(
            Review.objects.filter(InIds("claim_id", claim_ids)).values_list(
                "claim_id",
                "curator_id",
                "decision",
                "topic_id",
                "stance",
                "note",
                _iso("created_at"),
                _iso("updated_at"),
            )
        )
        if "reviews" in parts
        else []
    )
    comment_rows = (
        run(
            Comment.objects.filter(InIds("claim_id", claim_ids))
            .order_by("claim_id", "created_at", "id")
            .values_list("claim_id", "id", "author_id", "text", _iso("created_at"))
        )
        if "comments" in parts
        else []
    )
    relation_rows = (
        run(
            Relation.objects.filter(InIds("source_claim_id", claim_ids))
            .order_by("id")
            .values_list(
                "id",
                "source_claim_id",
                "target_claim_id",
                "kind",
                "created_by_id",
                _iso("created_at"),
            )
        )
        if "relations" in parts
        else []
    )
    names.resolve(
        run,
        {row[8] for row in claim_rows}
        | {row[2] for row in annotation_rows}
        | {row[1] for row in review_rows}
        | {row[2] for row in comment_rows}
        | {row[4] for row in relation_rows},
        {row[3] for row in annotation_rows} | {row[3] for row in review_rows},
    )
    return _RawBatch(
        article_rows,
        claim_rows,
        annotation_rows,
        evidence_rows,
        review_rows,
        comment_rows,
        relation_rows,
    )


def _assemble(raw: _RawBatch, labels: _Labels, names: _Names) -> list[ArticleRow]:
    """Build the batch's articles from its rows."""
    batch = [ArticleRow(str(row[0]), *row[1:]) for row in raw.articles]
    by_article = {row[0]: article for row, article in zip(raw.articles, batch, strict=True)}
    claim_rows, annotation_rows, evidence_rows = raw.claims, raw.annotations, raw.evidence
    review_rows, comment_rows, relation_rows = raw.reviews, raw.comments, raw.relations
    users, topics = names.users, names.topics

    # Per-row work is most of the Python time: unpack rows, look the labels up in the cache
    # inline, and keep the current parent's list while its children come in (they come grouped).
    known_labels = labels.seen
    claims: dict[int, ClaimRow] = {}
    claim_article: dict[int, int] = {}
    claim_index: dict[int, int] = {}
    current_article, article_claims = None, []
    for (
        article_id, claim_id, start, end, exact, prefix, suffix, summary, created_by,
        label_text, created_at, updated_at,
    ) in claim_rows:  # fmt: skip
        claim_labels = known_labels.get(label_text)
        if claim_labels is None:
            claim_labels = labels(label_text)
        claim = ClaimRow(
            str(claim_id), start, end, exact, prefix, suffix, summary, claim_labels,
            users[created_by], created_at, updated_at,
        )  # fmt: skip
        if article_id != current_article:
            current_article, article_claims = article_id, by_article[article_id].claims
        claim_index[claim_id] = len(article_claims)
        article_claims.append(claim)
        claims[claim_id] = claim
        claim_article[claim_id] = article_id

    annotations: dict[int, AnnotationRow] = {}
    unsorted: list[list[AnnotationRow]] = []
    current_claim, claim_annotations, previous = None, [], ""
    for (
        claim_id, annotation_id, annotator_id, topic_id, stance, confidence, note, status,
        label_text, created_at, updated_at,
    ) in annotation_rows:  # fmt: skip
        annotation_labels = known_labels.get(label_text)
        if annotation_labels is None:
            annotation_labels = labels(label_text)
        annotator = users[annotator_id]
        annotation = AnnotationRow(
            str(annotation_id), annotator, topics[topic_id], stance, annotation_labels,
            confidence, note, status, created_at, updated_at,
        )  # fmt: skip
        if claim_id != current_claim:
            current_claim, claim_annotations = claim_id, claims[claim_id].annotations
        elif annotator < previous:
            unsorted.append(claim_annotations)
        previous = annotator
        claim_annotations.append(annotation)
        annotations[annotation_id] = annotation
    # One annotation per claim and annotator, so the username alone orders a claim's list.
    for claim_annotations in unsorted:
        claim_annotations.sort(key=_by_annotator)

    # The columns are EVIDENCE_FIELDS, in its order.
    for annotation_id, kind, start, end, exact, url, title, quote, kind_of, role in evidence_rows:
        annotations[annotation_id].evidence.append(
            SpanEvidenceRow(kind, start, end, exact, kind_of, role)
            if kind == "span"
            else SourceEvidenceRow(kind, url, title, quote, kind_of, role)
        )

    for claim_id, curator, decision, topic_id, stance, note, created_at, updated_at in review_rows:
        claims[claim_id].review = ReviewRow(
            users[curator], decision, topics[topic_id], stance, note, created_at, updated_at
        )

    for claim_id, comment_id, author, text, created_at in comment_rows:
        claims[claim_id].comments.append(
            CommentRow(str(comment_id), users[author], text, created_at)
        )

    for relation_id, source_id, target_id, kind, created_by, created_at in relation_rows:
        # Both ends must be exported claims (the trash and the filters may leave one out).
        if target_id in claim_index:
            by_article[claim_article[source_id]].relations.append(
                RelationRow(
                    str(relation_id),
                    claim_index[source_id],
                    claim_index[target_id],
                    kind,
                    users[created_by],
                    created_at,
                )
            )
    return batch


_by_annotator = attrgetter("annotator")


# --- Shared helpers for writers --------------------------------------------------------------


def compact_json() -> Callable[[object], str]:
    return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def chunked(pieces: Iterator[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Join small pieces into chunks of about `size` bytes (fewer, larger writes)."""
    buffer: list[bytes] = []
    length = 0
    for piece in pieces:
        buffer.append(piece)
        length += len(piece)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)


def stream(spec: ExportSpec) -> Iterator[bytes]:
    """The export's bytes. Reads run in one transaction so the whole export is one snapshot
    (REPEATABLE READ on PostgreSQL when this is the outermost transaction)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # Must be the transaction's first statement; a nested block keeps its caller's level.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield from spec.format.writer(spec)


# --- The registry ----------------------------------------------------------------------------

# The format modules import the reader above, so they are imported after it is defined.
from . import aif, brat, csv, jsonl, w3c  # noqa: E402

FORMATS: dict[str, ExportFormat] = {
    module.FORMAT.name: module.FORMAT for module in (jsonl, w3c, brat, csv, aif)
}
