"""The reader: the selected live articles, in batches, with everything hanging from them.

A fixed number of queries per batch (never per row), each query's rows as plain tuples in one
round trip (`sql.runner`); on PostgreSQL in a reader thread one batch ahead of the writer (two
readers on two connections in one snapshot when the export has a transaction of its own), on
SQLite in the writer's thread; memory stays bounded by a few batches however large the corpus
is. The writers get `ArticleRow`s (`rows`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

import psycopg
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import BigIntegerField, F, QuerySet, TextField, Value
from django.db.models.functions import Cast

from ..ahead import put_unless_stopped, run_ahead
from ..filters import ExportFilters
from ..models import (
    EVIDENCE_FIELDS,
    Annotation,
    Article,
    Claim,
    ClaimGroupMember,
    Comment,
    Corpus,
    Evidence,
    Relation,
    Review,
    Topic,
)
from ..replica import read_alias
from ..side import SideConnection, side_connection
from .rows import (
    AnchorRow,
    AnnotationRow,
    ArticleRow,
    ClaimRow,
    CommentRow,
    EvidenceRow,
    RelationRow,
    ReviewRow,
    SourceEvidenceRow,
    SpanEvidenceRow,
)
from .spec import PARTS
from .sql import (
    ISO_TEXT,
    Bound,
    IdIs,
    Ids,
    IdSlot,
    InIds,
    OctetLength,
    Prepared,
    as_iso,
    as_iso_updated,
    as_text,
    ids_of,
    raw_runner,
    runner,
)

# Told how many articles were just handed to the writer (a background export's progress).
ARTICLES_WRITTEN: ContextVar[Callable[[int], None] | None] = ContextVar(
    "articles_written", default=None
)

T = TypeVar("T")

ARTICLES_PER_BATCH = 250
FIRST_BATCH = 50
# A batch also closes once its texts reach this many bytes, so that a corpus of long articles
# (up to ARTICLE_MAX_CHARS each) does not hold a whole batch of them at once.
BYTES_PER_BATCH = 8_000_000


class _Labels:
    """JSON label lists read as text, parsed once per distinct value (they repeat a lot). The
    lists are shared by the rows that carry the same labels: writers only read them."""

    def __init__(self) -> None:
        # Readers may look `seen` up directly and call only on a miss; the empty list (most
        # rows') is always there.
        self.seen: dict[str | None, list] = {"[]": []}

    def __call__(self, text: str | None) -> list:
        if not text or text == "[]":
            return self.seen["[]"]
        value = self.seen.get(text)
        if value is None:
            if len(self.seen) > 10_000:
                self.seen = {"[]": self.seen["[]"]}
            value = self.seen[text] = json.loads(text)
        return value


def read_articles(
    corpus: Corpus,
    filters: ExportFilters,
    *,
    parts: frozenset[str] = PARTS,
    batch_size: int = ARTICLES_PER_BATCH,
    batch_bytes: int = BYTES_PER_BATCH,
    first_page: list[tuple[int, int]] | None = None,
) -> Iterator[ArticleRow]:
    """The selected articles in id order, each complete (claims in text order with their
    annotations and evidence, review, comments; the relations between exported claims), or
    with only the `parts` asked for (the others left empty).

    Eight queries per batch of articles with every part, one fewer for each part left out,
    whatever the number of claims and annotations, and one per `PLANNED_AT_ONCE` articles that
    finds them (see `_read_batches`). The first batch is small, so the first bytes leave
    quickly.

    On PostgreSQL the queries run in a reader thread on this thread's own database connection
    (so in its transaction and snapshot), one batch ahead: while this thread assembles and
    writes a batch, the database works on the next one, on the other core. Nothing else uses
    the connection until the reader has stopped, which it does when the export ends or is
    abandoned. When the export has a transaction of its own (`SNAPSHOT_SHAREABLE`), a second
    reader on a second connection in the same snapshot reads every other batch
    (`_read_in_two`). On SQLite they run in this thread (see below).

    `first_page`: the first `PLANNED_AT_ONCE` articles' ids and sizes, when the caller has read
    them already (`parallel`).
    """
    labels = _Labels()
    names = _Names()
    for raw in read_batches(
        corpus,
        filters,
        names,
        parts=parts,
        batch_size=batch_size,
        batch_bytes=batch_bytes,
        first_page=first_page,
    ):
        yield from _assemble(raw, labels, names)


def read_batches(
    corpus: Corpus,
    filters: ExportFilters,
    names: _Names,
    *,
    parts: frozenset[str] = PARTS,
    batch_size: int = ARTICLES_PER_BATCH,
    batch_bytes: int = BYTES_PER_BATCH,
    first_page: list[tuple[int, int]] | None = None,
) -> Iterator[_RawBatch]:
    """The batches of `read_articles` as the queries return their rows, before they are
    assembled into `ArticleRow`s: for a writer that writes straight from the rows (`csv`).
    `names` learns the usernames and topic labels the rows refer to."""
    with collector_paused():
        wrapper = connections[read_alias()]
        names.prepare(filters, parts)  # compiled once, shared by the readers
        if SNAPSHOT_SHAREABLE.get() and wrapper.vendor == "postgresql":
            size, size_bytes = _for_two(batch_size), _for_two(batch_bytes)
            batches = _read_in_two(
                wrapper,
                lambda run: _plan_batches(corpus, filters, run, size, size_bytes, first_page),
                lambda run, article_ids: _read_batch(filters, names, run, article_ids, parts),
            )
        elif wrapper.vendor == "postgresql":
            batches = _read_ahead(
                lambda run: _read_batches(
                    corpus, filters, names, run, parts, batch_size, batch_bytes, first_page
                )
            )
        else:
            # SQLite: in this thread. sqlite3 lets go of the GIL for each row it steps to and
            # takes it back to convert the row, so a reader thread beside a busy writer waited
            # a switch interval (5 ms) for every row and gained nothing; the queries' rows are
            # Python's work either way.
            batches = _read_batches(
                corpus, filters, names, runner(wrapper), parts, batch_size, batch_bytes, first_page
            )
        for raw in batches:
            yield raw
            if (written := ARTICLES_WRITTEN.get()) is not None:
                written(len(raw.articles))


def _for_two(size: int) -> int:
    # Smaller batches with two readers: more of them are in flight (each reader's, each
    # handover's).
    return max(1, size * 2 // 3)


def compile_ahead(parts_read: Iterable[frozenset[str]]) -> None:
    """Compile the queries of an export without filters, for each set of parts, as an export
    would (`_compiled`): called when a server starts, so that its first export does not pay for
    it. Compiling needs no database connection."""
    filters = ExportFilters()
    for parts in parts_read:
        _Names().prepare(filters, parts)
    _compiled(("plan", filters, PLANNED_AT_ONCE), lambda: _plan_query(filters))


_collector = threading.Lock()
_collector_pauses = 0
_collector_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[bool]:
    """Python's cyclic garbage collector off while an export runs (then as it was before).

    An export allocates a few hundred thousand rows and row objects per 100,000 annotations;
    each allocation counts towards a collection, and every collection walks the objects still
    alive, so the collector took half of the export's CPU time (`bench-100k` as JSONL: 2.1 s of
    CPU with it, 0.9-1.0 s without) and, holding the GIL, stalled the reader thread. The export's
    objects form no cycles (rows hold lists of rows, nothing points back): reference counting
    frees each batch once written, so memory stays as flat as before. Other threads of the
    process (a threaded server) keep their cyclic garbage until the last export running ends;
    the default gunicorn workers serve one request at a time. Counted, so that overlapping
    exports restore the collector only when the last one ends; the block is told whether it is
    the only export (or import) running in the process (`parallel` forks only then).
    """
    global _collector_pauses, _collector_was_enabled
    with _collector:
        if _collector_pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
        alone = _collector_pauses == 1
    try:
        yield alone
    finally:
        with _collector:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_enabled:
                gc.enable()


def _read_ahead(produce: Callable) -> Iterator[_RawBatch]:
    """Run `produce(run)` in a thread and hand over what it yields, one item ahead.

    `run(queryset)` executes a query on the calling thread's connection (`sql.runner`). Errors in
    the reader are raised here; closing this generator stops the reader and waits for it, so
    the connection is never used by two threads at once after that.
    """
    wrapper = connections[read_alias()]  # the primary, or the replica the export reads from
    wrapper.ensure_connection()
    return run_ahead(produce(runner(wrapper)), wrapper, name="export-reader")


# Set by `streaming.stream` while an export reads in a transaction of its own (REPEATABLE READ,
# READ ONLY, nothing written in it): another connection may then read in the same snapshot.
SNAPSHOT_SHAREABLE: ContextVar[bool] = ContextVar("snapshot_shareable", default=False)


def _read_in_two(
    wrapper,
    plan: Callable[[Callable], Iterator[list[int]]],
    read: Callable[[Callable, list[int]], _RawBatch],
) -> Iterator[_RawBatch]:
    """The batches `plan(run)` names, read by two reader threads on two connections in the
    export's snapshot (PostgreSQL), and handed over in order.

    The first reader uses the export's connection: it plans the batches (each one before it
    reads the previous one) and reads the even ones. When there is a second batch, a second
    reader opens a second connection, which reads in the export's snapshot
    (`pg_export_snapshot` / `SET TRANSACTION SNAPSHOT`: exactly the rows the first one sees),
    and reads the odd ones. That connection is the export connection's side connection
    (articles/side.py), kept from one export to the next: opening it and warming its server
    process's caches cost the writer 10-20 ms of waiting for the second batch of every export.
    If it has to be opened, that happens while the first reader reads the first batch, and the
    second reader starts on the second batch as soon as it is connected. One reader's queries
    then run in the database, on the other core, while the other reader's rows are loaded and
    this thread writes: through one connection, the database and Python took turns. An export of
    one batch uses no second connection; if the second connection cannot be had (the server's
    connection limit, say), the first reader reads every batch. The second reader ends its
    transaction when it is done, and the connection is closed if it cannot be ended.
    """
    run = runner(wrapper)
    side = side_connection(wrapper)
    odd_batches: queue.Queue = queue.Queue()  # holds one or two: the first reader waits on its own
    handovers: tuple[queue.Queue, queue.Queue] = (queue.Queue(maxsize=1), queue.Queue(maxsize=1))
    stop = threading.Event()
    second_connection: list = []
    second_thread: list[threading.Thread] = []
    # Set once the second reader has connected, or failed to.
    second_tried = threading.Event()
    errors: list[BaseException] = []
    finished, wake = object(), object()

    def put(handover: queue.Queue, item) -> bool:
        return put_unless_stopped(handover, item, stop)

    def fail(error: BaseException) -> None:
        errors.append(error)  # raised by the consumer, wherever it waits
        for handover in handovers:
            with contextlib.suppress(queue.Full):
                handover.put_nowait(wake)

    def start_second() -> None:
        (snapshot,) = run(Bound("SELECT pg_export_snapshot()", ()))[0]
        second_thread.append(
            threading.Thread(target=second, args=(snapshot,), name="export-reader-2", daemon=True)
        )
        second_thread[0].start()

    def second_reads() -> bool:
        """Whether the second reader reads the odd batches (False: it was refused)."""
        if not second_thread:
            return False
        second_tried.wait()
        return bool(second_connection)

    def first() -> None:
        try:
            planned = plan(run)
            number, article_ids = 0, next(planned, None)
            while article_ids is not None:
                # The following batch is planned first: the second reader may read it meanwhile.
                following = next(planned, None)
                if number == 0 and following is not None:
                    start_second()
                if number % 2 == 0:
                    if following is not None and second_thread:
                        odd_batches.put(following)  # read there only once connected
                    if not put(handovers[0], read(run, article_ids)):
                        return
                elif not second_reads() and not put(handovers[1], read(run, article_ids)):
                    return
                number, article_ids = number + 1, following
            if not second_reads():
                put(handovers[number % 2], finished)
            elif number % 2 == 0:
                put(handovers[0], finished)
        except BaseException as error:  # handed to the consumer, raised there
            fail(error)
        finally:
            odd_batches.put(None)

    def second(snapshot: str) -> None:
        try:
            try:
                raw = _in_snapshot(side, snapshot)
                if raw is not None:
                    second_connection.append(raw)
            finally:
                second_tried.set()
            if raw is None:
                return  # the first reader reads every batch
            run_second = raw_runner(raw, wrapper)
            while not stop.is_set():
                try:
                    article_ids = odd_batches.get(timeout=0.1)
                except queue.Empty:
                    continue
                if article_ids is None:
                    side.release()  # its transaction ended while the writer writes
                    put(handovers[1], finished)
                    return
                if not put(handovers[1], read(run_second, article_ids)):
                    return
        except BaseException as error:
            fail(error)

    wrapper.inc_thread_sharing()
    first_thread = threading.Thread(target=first, name="export-reader", daemon=True)
    first_thread.start()
    try:
        number = 0
        while True:
            item = handovers[number % 2].get()
            if errors:
                raise errors[0]
            if item is finished:
                return
            yield item
            number += 1
    finally:
        stop.set()
        first_thread.join()  # then the second thread, if any, has been started
        for thread in second_thread:
            thread.join()
        wrapper.dec_thread_sharing()
        if second_connection:
            side.release()  # idle again for the next export (closed if it cannot be)


def _begin_in_snapshot(raw: psycopg.Connection, snapshot: str) -> None:
    """A read-only transaction on `raw` that reads in the exported `snapshot` (the export's
    own, valid while the export's transaction lasts)."""
    raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    raw.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))


def _connect_in_snapshot(wrapper, snapshot: str) -> psycopg.Connection:
    """A new connection to `wrapper`'s database in the exported `snapshot` (a forked child's:
    a connection cannot be shared across a fork)."""
    connection = wrapper.connect_beside()
    try:
        _begin_in_snapshot(connection, snapshot)
    except BaseException:
        connection.close()
        raise
    return connection


def _in_snapshot(side: SideConnection, snapshot: str) -> psycopg.Connection | None:
    """`side`'s connection in a read-only transaction that reads in the exported `snapshot`
    (the export's own, valid while the export's transaction lasts); None when there is no side
    connection. A kept connection that fails to begin is replaced by a new one, once."""
    for attempt in range(2):
        raw = side.get()
        if raw is None:
            return None
        try:
            _begin_in_snapshot(raw, snapshot)
        except (psycopg.Error, OSError):
            if attempt:
                side.broken()
                return None
            side.close()  # gone since it was checked, say: a new one
            continue
        return raw
    return None


class _Names:
    """Usernames and topic labels by id, looked up once per export and kept.

    The batch queries read plain ids; joining every row to the user and topic tables cost
    PostgreSQL more than the rest of the annotation query, and a batch names only a handful of
    people and topics. `resolve` runs one query per batch for the ids not yet known."""

    def __init__(self) -> None:
        self.users: dict[int, str] = {}
        self.topics: dict[int | None, str | None] = {None: None}
        # The export's batch queries, compiled on its first batch (`_BatchQueries`).
        self.queries: _BatchQueries | None = None
        self._names_query: Prepared | None = None

    def prepare(self, filters: ExportFilters, parts: frozenset[str]) -> None:
        """The export's queries, compiled by an earlier export with the same filters and
        parts (`_compiled`), or now (else on its first batch)."""
        if self.queries is None:
            self.queries = _compiled(
                ("batch", filters, parts), lambda: _BatchQueries(filters, parts)
            )
        if self._names_query is None:
            self._names_query = _compiled(("names",), self._names)

    def resolve(
        self, run, claim_ids: Ids | list[int], user_ids: set, topic_ids: set
    ) -> dict[int, dict]:
        """Learn the names not known yet; answer the groups of these claims (claim id ->
        `{"id", "label"}`), read in the same query: joined to every claim row, the group tables
        were hashed whole for every batch."""
        users = user_ids - self.users.keys()
        topics = topic_ids - self.topics.keys()
        rows = run(self._names()(list(users), list(topics), claim_ids))
        groups = {}
        for table, key, name, group_id in rows:
            if table == 2:
                groups[key] = {"id": str(group_id), "label": name}
            else:
                (self.topics if table else self.users)[key] = name
        return groups

    def _names(self) -> Prepared:
        if self._names_query is None:
            nothing = Cast(Value(None), output_field=BigIntegerField())
            slots = IdSlot("users"), IdSlot("topics"), IdSlot("claims")
            self._names_query = Prepared(
                get_user_model()
                .objects.filter(InIds("id", slots[0]))
                .order_by()
                .values_list(Value(0), "id", "username", nothing)
                .union(
                    Topic.objects.filter(InIds("id", slots[1]))
                    .order_by()
                    .values_list(Value(1), "id", "label", nothing),
                    ClaimGroupMember.objects.filter(InIds("claim_id", slots[2], loose=True))
                    .order_by()
                    .values_list(Value(2), "claim_id", "group__label", "group_id"),
                    all=True,
                ),
                *slots,
            )
        return self._names_query


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
    groups: dict[int, dict]  # claim id -> its group, {"id", "label"}


def _read_batches(
    corpus: Corpus,
    filters: ExportFilters,
    names: _Names,
    run: Callable[..., list[tuple]],
    parts: frozenset[str],
    batch_size: int,
    batch_bytes: int,
    first_page: list[tuple[int, int]] | None = None,
) -> Iterator[_RawBatch]:
    """The selected articles' rows, batch by batch, through `run(queryset)`: eight queries per
    batch (the articles, their claims, annotations, evidence, reviews, comments, relations,
    and the names these refer to), and one per `PLANNED_AT_ONCE` articles for their ids and
    sizes (keyset pagination on the id: no server-side cursor). A batch closes at `batch_size`
    articles or once its texts reach `batch_bytes` bytes."""
    for article_ids in _plan_batches(corpus, filters, run, batch_size, batch_bytes, first_page):
        yield _read_batch(filters, names, run, article_ids, parts)


def _plan_batches(
    corpus: Corpus,
    filters: ExportFilters,
    run: Callable[..., list[tuple]],
    batch_size: int,
    batch_bytes: int,
    first_page: list[tuple[int, int]] | None = None,
) -> Iterator[list[int]]:
    """The selected articles' ids, batch by batch (their ids and text sizes read
    `PLANNED_AT_ONCE` at a time; the first `PLANNED_AT_ONCE` given when read already)."""
    limit, article_ids, total = min(batch_size, FIRST_BATCH), [], 0
    for article_id, size in _planned(corpus, filters, run, first_page):
        article_ids.append(article_id)
        total += size or 0
        if len(article_ids) >= limit or total >= batch_bytes:
            yield article_ids
            limit, article_ids, total = batch_size, [], 0
    if article_ids:
        yield article_ids


# The selected articles' ids and sizes read by one query. One query per batch, each between two
# batches of the reader that plans them, waited for the GIL after its rows came back as long as
# the other queries did: up to 14 ms for a query of 0.2 ms, six times per export of the issue's
# corpus. Two integers per article.
PLANNED_AT_ONCE = 2000


def _planned(
    corpus: Corpus,
    filters: ExportFilters,
    run: Callable,
    first_page: list[tuple[int, int]] | None = None,
) -> Iterator[tuple[int, int]]:
    """The selected articles' (id, text size) in id order, `PLANNED_AT_ONCE` per query."""
    last = 0
    while True:
        if first_page is not None:
            rows, first_page = first_page, None
        else:
            rows = _planned_page(corpus, filters, run, last)
        yield from rows
        if len(rows) < PLANNED_AT_ONCE:
            return  # that was the end: no need to ask again
        last = rows[-1][0]


def _planned_page(
    corpus: Corpus, filters: ExportFilters, run: Callable, last: int
) -> list[tuple[int, int]]:
    """The next `PLANNED_AT_ONCE` selected articles' (id, text size) after the id `last`."""
    query = _compiled(("plan", filters, PLANNED_AT_ONCE), lambda: _plan_query(filters))
    return run(query([corpus.pk], [last]))


def _plan_query(filters: ExportFilters) -> Prepared:
    """The next `PLANNED_AT_ONCE` selected articles of a corpus after an id: their ids and
    text sizes."""
    corpus, after = IdSlot("corpus"), IdSlot("after")
    selected = filters.select_articles(
        Article.objects.alive().filter(IdIs("corpus_id", "=", corpus))
    )
    return Prepared(
        selected.filter(IdIs("id", ">", after)).values_list("id", OctetLength("text"))[
            :PLANNED_AT_ONCE
        ],
        corpus,
        after,
    )


# Compiled queries kept from one export to the next (`_compiled`).
_COMPILED: dict[tuple, Any] = {}
_COMPILED_KEPT = 64


def _compiled(key: tuple, compile_: Callable[[], T]) -> T:
    """The queries `compile_()` makes, compiled once per database alias read and `key` (which
    must hold everything the SQL depends on: the filters, the parts, the limits) and kept.

    Building the reader's querysets and having Django compile them cost 6-11 ms of CPU per
    export, and the query that finds each batch 1-1.5 ms per batch, on the writer's or a reader's
    thread; the issue's corpus (seven batches) then spent a tenth of its Python time compiling
    the same SQL again. The compiled `Prepared` queries hold no state of an export."""
    key = (read_alias(), *key)
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= _COMPILED_KEPT:
            _COMPILED.clear()
        found = _COMPILED[key] = compile_()
    return found


# The rows of each table a batch reads, in the export's order: the reader's rows and the JSONL
# fragments' (`fragments`) select them alike, each in its own columns.


def batch_articles(articles: IdSlot) -> QuerySet:
    return Article.objects.filter(InIds("id", articles)).order_by("id")


def batch_claims(filters: ExportFilters, articles: IdSlot) -> QuerySet:
    return Claim.objects.filter(filters.claims_q(), InIds("article_id", articles)).order_by(
        "article_id", F("start").asc(nulls_last=True), "-end", "id"
    )


def batch_annotations(filters: ExportFilters, claims: IdSlot) -> QuerySet:
    """By annotator id within a claim (the index's order); the export's order is by username,
    sorted when assembled."""
    return Annotation.objects.filter(
        InIds("claim_id", claims, loose=True), filters.annotations_q()
    ).order_by("claim_id", "annotator_id")


def batch_evidence(annotations: IdSlot) -> QuerySet:
    return Evidence.objects.filter(InIds("annotation_id", annotations, loose=True)).order_by(
        "annotation_id", "position", "id"
    )


class _BatchQueries:
    """The reader's queries for a batch, compiled once per export (`sql.Prepared`): the same
    SQL for every batch but for the ids, written into it as literals."""

    def __init__(self, filters: ExportFilters, parts: frozenset[str], *, rows: bool = True) -> None:
        """`rows=False` compiles only the child parts' queries (the JSONL fragments' reviews,
        comments and relations: `fragments`)."""
        articles, claims, annotations = IdSlot("articles"), IdSlot("claims"), IdSlot("annotations")
        self.articles: Prepared | None = None
        self.claims: Prepared | None = None
        if rows:
            self._compile_rows(filters, articles, "context" in parts)
        self.annotations = (
            Prepared(
                batch_annotations(filters, claims).values_list(
                    "claim_id",
                    "id",
                    "annotator_id",
                    "topic_id",
                    "stance",
                    "confidence",
                    "note",
                    "status",
                    as_text("labels"),
                    as_iso("created_at"),
                    as_iso_updated(),
                ),
                claims,
            )
            if "annotations" in parts
            else None
        )
        self.evidence = (
            Prepared(
                batch_evidence(annotations).values_list("annotation_id", *EVIDENCE_FIELDS),
                annotations,
            )
            if "evidence" in parts
            else None
        )
        claims = IdSlot("claims")
        self.reviews = (
            Prepared(
                Review.objects.filter(InIds("claim_id", claims, loose=True)).values_list(
                    "claim_id",
                    "curator_id",
                    "decision",
                    "topic_id",
                    "stance",
                    "note",
                    as_iso("created_at"),
                    as_iso_updated(),
                ),
                claims,
            )
            if "reviews" in parts
            else None
        )
        claims = IdSlot("claims")
        self.comments = (
            Prepared(
                Comment.objects.filter(InIds("claim_id", claims, loose=True))
                .order_by("claim_id", "created_at", "id")
                .values_list("claim_id", "id", "author_id", "text", as_iso("created_at")),
                claims,
            )
            if "comments" in parts
            else None
        )
        claims = IdSlot("claims")
        self.relations = (
            Prepared(
                Relation.objects.filter(InIds("source_claim_id", claims, loose=True))
                .order_by("id")
                .values_list(
                    "id",
                    "source_claim_id",
                    "target_claim_id",
                    "kind",
                    "created_by_id",
                    as_iso("created_at"),
                ),
                claims,
            )
            if "relations" in parts
            else None
        )

    def _compile_rows(self, filters: ExportFilters, articles: IdSlot, context: bool) -> None:
        def read(column: Any) -> Any:
            # Without the "context" part, NULL in the column's place (the rows keep their shape).
            return column if context else Cast(Value(None), output_field=TextField())

        self.articles = Prepared(
            batch_articles(articles).values_list(
                "id",
                "title",
                read("text"),
                read("author"),
                read("source_url"),
                read(as_text("published_on")),
                read("language"),
                "text_version",
                read(as_iso("created_at")),
                read(as_iso_updated()),
            ),
            articles,
        )
        articles = IdSlot("articles")
        self.claims = Prepared(
            batch_claims(filters, articles).values_list(
                "article_id",
                "id",
                "start",
                "end",
                "exact",
                read("prefix"),
                read("suffix"),
                "summary",
                "created_by_id",
                "anchor_status",
                "anchor_score",
                "anchor_version",
                # Expressions last, in this order: then Django hands the rows over as they come.
                as_text("labels"),
                read(as_iso("created_at")),
                read(as_iso_updated()),
            ),
            articles,
        )


_SECOND = itemgetter(1)


def _read_batch(
    filters: ExportFilters, names: _Names, run, article_ids: list[int], parts: frozenset[str]
) -> _RawBatch:
    queries = names.queries
    if queries is None:
        queries = names.queries = _BatchQueries(filters, parts)
    assert queries.articles is not None and queries.claims is not None
    article_rows = run(queries.articles(article_ids))
    claim_rows = run(queries.claims(article_ids))
    # The columns picked by `itemgetter`, in C (a comprehension's loop is Python's).
    claim_ids = ids_of(map(_SECOND, claim_rows))  # for five queries: `Ids`
    annotation_rows = run(queries.annotations(claim_ids)) if queries.annotations else []
    evidence_rows = run(queries.evidence(map(_SECOND, annotation_rows))) if queries.evidence else []
    review_rows = run(queries.reviews(claim_ids)) if queries.reviews else []
    comment_rows = run(queries.comments(claim_ids)) if queries.comments else []
    relation_rows = run(queries.relations(claim_ids)) if queries.relations else []
    groups = names.resolve(
        run,
        claim_ids,
        set(map(itemgetter(8), claim_rows)).union(
            map(itemgetter(2), annotation_rows),
            map(_SECOND, review_rows),
            map(itemgetter(2), comment_rows),
            map(itemgetter(4), relation_rows),
        ),
        set(map(itemgetter(3), annotation_rows)).union(map(itemgetter(3), review_rows)),
    )
    return _RawBatch(
        article_rows,
        claim_rows,
        annotation_rows,
        evidence_rows,
        review_rows,
        comment_rows,
        relation_rows,
        groups,
    )


def _assemble(raw: _RawBatch, labels: _Labels, names: _Names) -> list[ArticleRow]:
    """Build the batch's articles from its rows."""
    # Timestamps as the database sent them, written as text by `iso` (`IsoText`); the update
    # stamp is None where it equals the creation stamp (`as_iso_updated`).
    iso = ISO_TEXT
    batch = [
        ArticleRow(
            str(article_id),
            title,
            text,
            author,
            source_url,
            published_on,
            language,
            text_version,
            iso[created_at],
            iso[updated_at if updated_at is not None else created_at],
        )
        for (
            article_id,
            title,
            text,
            author,
            source_url,
            published_on,
            language,
            text_version,
            created_at,
            updated_at,
        ) in raw.articles
    ]
    by_article = {row[0]: article for row, article in zip(raw.articles, batch, strict=True)}
    claim_rows, annotation_rows, evidence_rows = raw.claims, raw.annotations, raw.evidence
    review_rows, comment_rows, relation_rows = raw.reviews, raw.comments, raw.relations
    users, topics, groups = names.users, names.topics, raw.groups

    # Per-row work is most of the Python time: unpack rows, look the labels up in the cache
    # inline, and keep the current parent's list while its children come in (they come grouped).
    known_labels = labels.seen
    # Claims share their anchor rows when placed at score 1 (most are; writers only read them).
    anchors: dict[tuple[str, int], AnchorRow] = {}
    claims: dict[int, ClaimRow] = {}
    current_article, article_claims = None, []
    for (
        article_id, claim_id, start, end, exact, prefix, suffix, summary, created_by,
        anchor_status, anchor_score, anchor_version, label_text, created_at, updated_at,
    ) in claim_rows:  # fmt: skip
        claim_labels = known_labels.get(label_text)
        if claim_labels is None:
            claim_labels = labels(label_text)
        if anchor_score == 1.0:  # no other float equals 1.0 (0.0 has a negative twin)
            anchor = anchors.get((anchor_status, anchor_version))
            if anchor is None:
                anchor = anchors[anchor_status, anchor_version] = AnchorRow(
                    anchor_status, anchor_score, anchor_version
                )
        else:
            anchor = AnchorRow(anchor_status, anchor_score, anchor_version)
        # No comments yet: the shared empty list, replaced by the claim's own on its first.
        created = iso[created_at]
        claim = ClaimRow(
            str(claim_id), start, end, exact, prefix, suffix, summary, claim_labels,
            users[created_by], created, created if updated_at is None else iso[updated_at],
            anchor,
            [], None, _NONE_YET, groups.get(claim_id) if groups else None,
        )  # fmt: skip
        if article_id != current_article:
            current_article, article_claims = article_id, by_article[article_id].claims
        article_claims.append(claim)
        claims[claim_id] = claim

    # The child rows may include rows of claims (annotations) this batch does not export
    # (`InIds(loose=True)`: ids in the batch's range that the filters or the trash left out, or
    # another batch's): they are skipped here.
    # Annotations by id, for their evidence (only when the batch has any).
    annotations: dict[int, AnnotationRow] | None = {} if evidence_rows else None
    unsorted: list[list[AnnotationRow]] = []
    current_claim, claim_annotations, previous = None, None, ""
    for (
        claim_id, annotation_id, annotator_id, topic_id, stance, confidence, note, status,
        label_text, created_at, updated_at,
    ) in annotation_rows:  # fmt: skip
        if claim_id != current_claim:
            current_claim, previous = claim_id, ""
            parent = claims.get(claim_id)
            claim_annotations = None if parent is None else parent.annotations
        if claim_annotations is None:
            continue
        annotation_labels = known_labels.get(label_text)
        if annotation_labels is None:
            annotation_labels = labels(label_text)
        annotator = users[annotator_id]
        topic = topics[topic_id]
        # An annotation's topic is a required foreign key (only a review's may be empty).
        assert topic is not None
        created = iso[created_at]
        annotation = AnnotationRow(
            str(annotation_id), annotator, topic, stance, annotation_labels, confidence, note,
            status, created, created if updated_at is None else iso[updated_at], _NONE_YET,
        )  # fmt: skip
        if annotator < previous:
            unsorted.append(claim_annotations)
        previous = annotator
        claim_annotations.append(annotation)
        if annotations is not None:
            annotations[annotation_id] = annotation
    # One annotation per claim and annotator, so the username alone orders a claim's list.
    for claim_annotations in unsorted:
        claim_annotations.sort(key=_by_annotator)

    # The columns are EVIDENCE_FIELDS, in its order.
    for annotation_id, kind, start, end, exact, url, title, quote, kind_of, role in evidence_rows:
        assert annotations is not None
        if (holder := annotations.get(annotation_id)) is not None:
            evidence: EvidenceRow = (
                SpanEvidenceRow(kind, start, end, exact, kind_of, role)
                if kind == "span"
                else SourceEvidenceRow(kind, url, title, quote, kind_of, role)
            )
            if holder.evidence is _NONE_YET:
                holder.evidence = [evidence]
            else:
                holder.evidence.append(evidence)

    for claim_id, curator, decision, topic_id, stance, note, created_at, updated_at in review_rows:
        if claim_id in claims:
            claims[claim_id].review = ReviewRow(
                users[curator],
                decision,
                topics[topic_id],
                stance,
                note,
                iso[created_at],
                iso[updated_at if updated_at is not None else created_at],
            )

    for claim_id, comment_id, author, text, created_at in comment_rows:
        if (commented := claims.get(claim_id)) is not None:
            comment = CommentRow(str(comment_id), users[author], text, iso[created_at])
            if commented.comments is _NONE_YET:
                commented.comments = [comment]
            else:
                commented.comments.append(comment)

    if not relation_rows:
        return batch
    # Where each claim is: its article, and its index in the article's claims.
    claim_article: dict[int, int] = {}
    claim_index: dict[int, int] = {}
    current_article, index = None, 0
    for article_id, claim_id, *_ in claim_rows:
        if article_id != current_article:
            current_article, index = article_id, 0
        claim_article[claim_id] = article_id
        claim_index[claim_id] = index
        index += 1
    for relation_id, source_id, target_id, kind, created_by, created_at in relation_rows:
        # Both ends must be exported claims (the trash and the filters may leave one out).
        if target_id in claim_index and source_id in claim_index:
            by_article[claim_article[source_id]].relations.append(
                RelationRow(
                    str(relation_id),
                    claim_index[source_id],
                    claim_index[target_id],
                    kind,
                    users[created_by],
                    iso[created_at],
                )
            )
    return batch


def evidence_by_annotation(evidence_rows: list[tuple]) -> dict[int, list[EvidenceRow]]:
    """A batch's evidence rows (the columns of EVIDENCE_FIELDS, in its order, as `_assemble`
    reads them) as evidence, by annotation id, in the rows' order: for the writers that work
    from the rows (CSV, W3C)."""
    evidence: dict[int, list[EvidenceRow]] = {}
    for annotation_id, kind, start, end, exact, url, title, quote, kind_of, role in evidence_rows:
        row: EvidenceRow = (
            SpanEvidenceRow(kind, start, end, exact, kind_of, role)
            if kind == "span"
            else SourceEvidenceRow(kind, url, title, quote, kind_of, role)
        )
        if (held := evidence.get(annotation_id)) is None:
            evidence[annotation_id] = [row]
        else:
            held.append(row)
    return evidence


_by_annotator = attrgetter("annotator")
# The empty list that rows without comments or evidence share (writers only read rows), so
# that 20,000 claims do not each allocate one.
_NONE_YET: list = []
