"""The JSONL export's lines with the database writing each row's JSON (SQLite).

`reader.read_articles` hands the writers row objects, which orjson then writes: every text is
converted by sqlite3 into a Python string, copied into a row object, and encoded back into
UTF-8 JSON by orjson. Here SQLite writes each article's, claim's, annotation's and evidence's
own JSON object (`json_object`, cast to a BLOB so that sqlite3 hands over the bytes without
decoding them; usernames and topic labels joined in), and Python only splices the objects into
lines with bytes joins: the nested lists, the anchor, and the rare parts (reviews, comments,
relations, groups) written by orjson from the same rows as the reader's. The queries per batch
are the reader's nine, the batches the reader's.

SQLite's JSON of a text is the bytes of `json.dumps(text, ensure_ascii=False)` (quotes,
backslashes, \\b \\f \\n \\r \\t, other control characters as lowercase \\u00XX, NUL included,
everything else as UTF-8: tests compare the lines with the reference writer on hostile texts).
Two kinds of values are not left to it. Floats (the anchor's score): SQLite writes 15
significant digits, the line orjson's shortest text, so the anchor is written in Python (one
`bytes` per status and version at score 1.0, most claims). Label lists: Django stores JSON with
`", "` separators and non-ASCII escaped, so SQLite writes a list only when it is `[]` or strings
without any escape; otherwise the object holds a marker string in its place and the stored text
comes along in a column of its own, and Python puts in what orjson writes for the parsed list
(as the reader's rows have it). The marker can only be found where it was put: a `"` that is
not escaped is never inside a string, so `,"labels":"\\u0001"` in an object's bytes is the key and
its value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson
from django.db import NotSupportedError, connections
from django.db.models import BinaryField, Case, Expression, F, Func, TextField, When
from django.db.models.functions import Cast

from ..filters import ExportFilters
from ..models import Corpus
from ..replica import read_alias
from . import reader
from .reader import (
    ARTICLES_PER_BATCH,
    ARTICLES_WRITTEN,
    BYTES_PER_BATCH,
    _BatchQueries,
    _Names,
    batch_annotations,
    batch_articles,
    batch_claims,
    batch_evidence,
    collector_paused,
)
from .rows import AnchorRow, CommentRow, ReviewRow
from .sql import IdSlot, IsoText, Prepared, runner

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler
    from django.db.models.sql.compiler import _AsSqlType as AsSql

# The parts the fragment path writes: all of JSONL's.
CHILD_PARTS = frozenset({"reviews", "comments", "relations"})

_KEY = re.compile(r"[a-z_]+")


def available(using: str | None = None) -> bool:
    """Whether the export's database writes the fragments (SQLite; PostgreSQL's per-row JSON
    cost its backend more than the Python it saves: bench/README.md)."""
    return connections[using or read_alias()].vendor == "sqlite"


class _SqliteOnly(Func):
    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> AsSql:
        raise NotSupportedError("The JSONL fragments are written by SQLite only.")


class JsonObject(_SqliteOnly):
    """SQLite's `json_object` of the keys and values, in their order: compact JSON, texts
    escaped as `json.dumps(ensure_ascii=False)` escapes them. `blob=True` casts it to a BLOB
    (sqlite3 then hands over bytes; a nested object must stay JSON text)."""

    output_field = BinaryField()

    def __init__(
        self, blob: bool = True, left_open: bool = False, **fields: Expression | str
    ) -> None:
        for key in fields:
            if not _KEY.fullmatch(key):
                raise ValueError(f"a plain key, not {key!r}")
        self.keys = tuple(fields)
        self.blob, self.left_open = blob, left_open
        super().__init__(*(F(v) if isinstance(v, str) else v for v in fields.values()))

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        pieces: list[str] = []
        params: list[Any] = []
        for key, expression in zip(self.keys, self.source_expressions, strict=True):
            sql, more = compiler.compile(expression)
            pieces.append(f"'{key}', {sql}")
            params.extend(more)
        written = f"json_object({', '.join(pieces)})"
        if self.left_open:
            # Without its closing brace, for the lists that follow (its last value is a string:
            # exactly one brace goes).
            written = f"rtrim({written}, '}}')"
        return (f"CAST({written} AS BLOB)" if self.blob else written), tuple(params)


class _Raw(_SqliteOnly):
    """SQL around one column: `template` with `{}` for the compiled column."""

    output_field = TextField()

    def __init__(self, template: str, column: str | Expression | None = None) -> None:
        self.template_sql = template
        super().__init__(
            *([] if column is None else [F(column) if isinstance(column, str) else column])
        )

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        if not self.source_expressions:
            return self.template_sql, ()
        column, params = compiler.compile(self.source_expressions[0])
        if params:
            raise NotSupportedError("a plain column")
        return self.template_sql.replace("{}", column), ()


# A label list SQLite can write: `[]`, or strings without escapes as Django stores them
# (`["a", "b"]`; the import's COPY-free path the same; compact `["a","b"]` too): no backslash,
# and no quote left once the separators are taken out. Anything else (numbers, nesting, escapes:
# Django's JSON escapes non-ASCII) is left to Python.
_PLAIN_LABELS = (
    "instr({}, '\\') = 0 AND substr({}, 1, 2) = '[\"' AND substr({}, -2) = '\"]'"
    " AND instr(replace(replace(substr({}, 3, length({}) - 4), '\", \"', ''), '\",\"', ''),"
    " '\"') = 0"
)


def _labels(column: str) -> _Raw:
    return _Raw(
        f"CASE WHEN {{}} = '[]' THEN json_array() WHEN {_PLAIN_LABELS}"
        f" THEN json(replace({{}}, '\", \"', '\",\"')) ELSE char(1) END",
        column,
    )


def _labels_left(column: str) -> _Raw:
    """The label list's stored text where `_labels` left a marker, else NULL."""
    return _Raw(f"CASE WHEN {{}} = '[]' OR ({_PLAIN_LABELS}) THEN NULL ELSE {{}} END", column)


_EMPTY = _Raw("json_array()")
_LABELS_MARK = b',"labels":"\\u0001"'


class _Blob(_SqliteOnly):
    """A JSON text as a BLOB: sqlite3 hands over its bytes without decoding them."""

    output_field = BinaryField()

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> AsSql:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST({sql} AS BLOB)", params


def _as_text(column: str) -> Cast:
    return Cast(column, output_field=TextField())


class _FragmentQueries:
    """The batch queries whose rows are JSON objects, compiled once per export."""

    def __init__(self, filters: ExportFilters) -> None:
        self.filters = filters
        # (status, version) -> the anchor at score 1.0, written once per export.
        self.anchors: dict[tuple[str, int], bytes] = {}
        articles, claims, annotations = IdSlot("articles"), IdSlot("claims"), IdSlot("annotations")
        self.articles = Prepared(
            batch_articles(articles).values_list(
                "id",
                JsonObject(
                    left_open=True,
                    id=_as_text("id"),
                    title="title",
                    text="text",
                    author="author",
                    source_url="source_url",
                    published_on=_as_text("published_on"),
                    language="language",
                    text_version="text_version",
                    created_at=IsoText(F("created_at")),
                    updated_at=IsoText(F("updated_at")),
                ),
            ),
            articles,
        )
        articles = IdSlot("articles")
        self.claims = Prepared(
            batch_claims(filters, articles).values_list(
                "article_id",
                "id",
                "anchor_status",
                "anchor_score",
                "anchor_version",
                _labels_left("labels"),
                JsonObject(
                    left_open=True,
                    id=_as_text("id"),
                    start="start",
                    end="end",
                    exact="exact",
                    prefix="prefix",
                    suffix="suffix",
                    summary="summary",
                    labels=_labels("labels"),
                    created_by="created_by__username",
                    created_at=IsoText(F("created_at")),
                    updated_at=IsoText(F("updated_at")),
                ),
            ),
            articles,
        )
        # In the index's order (by annotator id within a claim), sorted by username when
        # assembled (sorting the rows with their JSON in SQLite cost a third of the query).
        self.annotations = Prepared(
            batch_annotations(filters, claims).values_list(
                "claim_id",
                "id",
                "annotator_id",
                _labels_left("labels"),
                JsonObject(
                    id=_as_text("id"),
                    annotator="annotator__username",
                    topic="topic__label",
                    stance="stance",
                    labels=_labels("labels"),
                    confidence="confidence",
                    note="note",
                    status="status",
                    created_at=IsoText(F("created_at")),
                    updated_at=IsoText(F("updated_at")),
                    evidence=_EMPTY,
                ),
            ),
            claims,
        )
        span = JsonObject(
            blob=False,
            kind="kind",
            start="start",
            end="end",
            exact="exact",
            evidence_type="evidence_type",
            role="role",
        )
        source = JsonObject(
            blob=False,
            kind="kind",
            url="url",
            title="title",
            quote="quote",
            evidence_type="evidence_type",
            role="role",
        )
        self.evidence = Prepared(
            batch_evidence(annotations).values_list(
                "annotation_id",
                _Blob(Case(When(kind="span", then=span), default=source, output_field=TextField())),
            ),
            annotations,
        )
        # Reviews, comments and relations: the reader's own queries (rare rows, written by orjson).
        self.children = _BatchQueries(filters, CHILD_PARTS, rows=False)


def fragment_queries(filters: ExportFilters) -> _FragmentQueries:
    """The fragment queries for `filters`, compiled once per process and alias (as the reader's:
    `reader._compiled`; compiling them cost each export some 5-10 ms of CPU)."""
    return reader._compiled(("fragments", filters), lambda: _FragmentQueries(filters))


def fragment_lines(
    corpus: Corpus,
    filters: ExportFilters,
    *,
    batch_size: int = ARTICLES_PER_BATCH,
    batch_bytes: int = BYTES_PER_BATCH,
) -> Iterator[bytes]:
    """The selected articles' JSONL lines, newline included: the bytes of
    `jsonl.article_line` for each of `reader.read_articles`' rows, batch by batch as the reader
    reads them (the same queries, the same batches), in the writer's thread."""
    names = _Names()
    queries = fragment_queries(filters)
    with collector_paused():
        run = runner(connections[read_alias()])
        for article_ids in reader._plan_batches(corpus, filters, run, batch_size, batch_bytes):
            yield from _batch_lines(queries, names, run, article_ids)
            if (written := ARTICLES_WRITTEN.get()) is not None:
                written(len(article_ids))


def _batch_lines(
    queries: _FragmentQueries, names: _Names, run: Callable, article_ids: list[int]
) -> list[bytes]:
    article_rows = run(queries.articles(article_ids))
    claim_rows = run(queries.claims(article_ids))
    claim_ids = [row[1] for row in claim_rows]
    annotation_rows = run(queries.annotations(claim_ids))
    evidence_rows = run(queries.evidence([row[1] for row in annotation_rows]))
    children = queries.children
    assert children.reviews and children.comments and children.relations
    review_rows = run(children.reviews(claim_ids))
    comment_rows = run(children.comments(claim_ids))
    relation_rows = run(children.relations(claim_ids))
    groups = names.resolve(
        run,
        claim_ids,
        {row[2] for row in annotation_rows}
        | {row[1] for row in review_rows}
        | {row[2] for row in comment_rows}
        | {row[4] for row in relation_rows},
        {row[3] for row in review_rows},
    )
    users, topics = names.users, names.topics

    # Evidence, by annotation: each annotation's list written into its object.
    evidence: dict[int, list[bytes]] = {}
    for annotation_id, written in evidence_rows:
        if (held := evidence.get(annotation_id)) is None:
            evidence[annotation_id] = [written]
        else:
            held.append(written)

    # Annotations, by claim (rows of claims this batch does not export are never asked for).
    annotations: dict[int, list[bytes]] = {}
    unsorted: list[int] = []
    previous_claim, previous = None, ""
    for claim_id, annotation_id, annotator_id, labels_left, written in annotation_rows:
        if labels_left is not None:
            written = _labels_fixed(written, labels_left)
        if evidence and (its := evidence.get(annotation_id)) is not None:
            # The object ends with `"evidence":[]}`.
            written = b"".join((written[:-3], b"[", b",".join(its), b"]}"))
        annotator = users[annotator_id]
        if claim_id != previous_claim:
            annotations[claim_id] = [written]
            previous_claim, previous = claim_id, annotator
            continue
        annotations[claim_id].append(written)
        if annotator < previous and (not unsorted or unsorted[-1] != claim_id):
            unsorted.append(claim_id)
        previous = annotator
    # One annotation per claim and annotator, so the username alone orders a claim's list.
    if unsorted:
        names_of: dict[int, list[str]] = {claim_id: [] for claim_id in unsorted}
        for claim_id, _, annotator_id, *_ in annotation_rows:
            if (held_names := names_of.get(claim_id)) is not None:
                held_names.append(users[annotator_id])
        for claim_id, held_names in names_of.items():
            annotations[claim_id] = [
                written
                for _, written in sorted(zip(held_names, annotations[claim_id], strict=True))
            ]

    # What hangs from a claim besides its annotations, written by orjson from the reader's rows.
    tails: dict[int, list[bytes | None]] = {}
    for claim_id, curator, decision, topic_id, stance, note, created_at, updated_at in review_rows:
        review_row = ReviewRow(
            users[curator], decision, topics[topic_id], stance, note, created_at,
            updated_at or created_at,
        )  # fmt: skip
        tails.setdefault(claim_id, [None, None])[0] = orjson.dumps(review_row)
    for claim_id, comment_id, author, text, created_at in comment_rows:
        held_tail = tails.setdefault(claim_id, [None, None])
        comment = orjson.dumps(CommentRow(str(comment_id), users[author], text, created_at))
        held_tail[1] = comment if held_tail[1] is None else held_tail[1] + b"," + comment

    # Each article's claims as pieces of its line, commas included (joined once, per line).
    by_article: dict[int, list[bytes]] = {article_id: [] for article_id in article_ids}
    claim_place: dict[int, tuple[int, int]] = {}
    current, pieces, index = None, [], 0
    anchors = queries.anchors
    review: bytes | None
    for article_id, claim_id, status, score, version, labels_left, written in claim_rows:
        if labels_left is not None:
            written = _labels_fixed(written, labels_left)
        # The anchor, shared by the claims placed at score 1.0 (most), as orjson writes it.
        if score == 1.0:  # no other float equals 1.0 (0.0 has a negative twin)
            anchor = anchors.get((status, version))
            if anchor is None:
                anchor = anchors[status, version] = _anchor(status, score, version)
        else:
            anchor = _anchor(status, score, version)
        if article_id != current:
            current, pieces, index = article_id, by_article[article_id], 0
        else:
            pieces.append(b",")
            index += 1
        if relation_rows:
            claim_place[claim_id] = (article_id, index)
        # The claim's object without its closing brace, then the anchor and the lists.
        pieces += (written, anchor)
        its = annotations.get(claim_id)
        tail: list[bytes | None] | None = tails.get(claim_id) if tails else None
        group = groups.get(claim_id) if groups else None
        if tail is None and group is None:
            if its is None:
                pieces.append(_NOTHING_HANGS)
            else:
                pieces += (b',"annotations":[', b",".join(its), _NOTHING_ELSE)
            continue
        review, comments = tail or (None, None)
        pieces += (
            b',"annotations":[',
            b"" if its is None else b",".join(its),
            b'],"review":',
            b"null" if review is None else review,
            b',"comments":[',
            b"" if comments is None else comments,
            b'],"group":',
            b"null" if group is None else orjson.dumps(group),
            b"}",
        )

    relations: dict[int, list[bytes]] = {}
    for relation_id, source_id, target_id, kind, created_by, created_at in relation_rows:
        # Both ends must be exported claims (the trash and the filters may leave one out).
        if (source := claim_place.get(source_id)) is None or (
            target := claim_place.get(target_id)
        ) is None:
            continue
        relation = orjson.dumps(
            {
                "id": str(relation_id),
                "source": source[1],
                "target": target[1],
                "kind": kind,
                "created_by": users[created_by],
                "created_at": created_at,
            }
        )
        relations.setdefault(source[0], []).append(relation)

    lines = []
    for article_id, written in article_rows:
        its_relations = relations.get(article_id) if relations else None
        line = by_article[article_id]
        line[:0] = (written, b',"claims":[')
        line += (
            b'],"relations":[',
            b"" if its_relations is None else b",".join(its_relations),
            b"]}\n",
        )
        lines.append(b"".join(line))
    return lines


_NOTHING_ELSE = b'],"review":null,"comments":[],"group":null}'
_NOTHING_HANGS = b',"annotations":[' + _NOTHING_ELSE


def _labels_fixed(written: bytes, stored: str) -> bytes:
    """The object with the label list in place of its marker, as the reader's rows have it."""
    return written.replace(_LABELS_MARK, b',"labels":' + orjson.dumps(json.loads(stored)), 1)


def _anchor(status: str, score: float, version: int) -> bytes:
    """`,"anchor":{...}` as orjson writes the reader's `AnchorRow`."""
    return b',"anchor":' + orjson.dumps(AnchorRow(status, score, version))
