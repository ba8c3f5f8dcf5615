"""The CSV and W3C writers against their reference: rows made in memory (no database) with
hostile text everywhere, written by the writers' fast paths (cells quoted by hand, W3C items
joined from pre-encoded pieces) and by the straightforward way they were written before (the csv
module cell by cell, orjson on one dict per item), which must give the same bytes."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
from collections.abc import Iterator
from operator import attrgetter
from types import SimpleNamespace
from unittest.mock import patch

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from articles.exports import csv as csv_export
from articles.exports import streaming, w3c
from articles.exports.reader import _assemble, _Labels, _Names, _RawBatch
from articles.exports.rows import (
    AnchorRow,
    AnnotationRow,
    ArticleRow,
    ClaimRow,
    CommentRow,
    RelationRow,
    ReviewRow,
    SourceEvidenceRow,
    SpanEvidenceRow,
)
from articles.exports.spec import ExportSpec
from articles.exports.streaming import CHUNK_BYTES
from articles.filters import ExportFilters
from articles.spreadsheet import FORMULA_STARTS, neutralise

# What a cell's quoting and neutralising turn on, and what they must leave alone: the csv
# module's specials, every formula start, NUL, a lone surrogate half, line separators that are
# not CSV's, an astral emoji, a combining mark, right-to-left text.
HOSTILE = [",", '"', "\r", "\n", " ", "'", "|", "\\", ";", "\0", "\x0b", "\x85", "\u2028"]
HOSTILE += [*FORMULA_STARTS, "a", "é", "\ud800", "🚀", "\u0307", "ש", "研"]

hostile_text = st.text(alphabet=st.sampled_from(HOSTILE), max_size=6) | st.text(max_size=6)
# JSON's text: what UTF-8 can carry (no lone surrogate half; orjson refuses them, as before).
JSON_HOSTILE = [c for c in HOSTILE if c != "\ud800"]
no_surrogates = st.characters(blacklist_categories=["Cs"])
json_text = st.text(alphabet=st.sampled_from(JSON_HOSTILE), max_size=6) | st.text(
    alphabet=no_surrogates, max_size=6
)
timestamps = st.sampled_from(["2026-01-02T03:04:05.123456Z", "2026-01-02T03:04:05Z"])
ids = st.integers(min_value=1, max_value=10**12).map(str)
words = st.sampled_from(["support", "oppose", "neutral", "draft", "submitted", ""])


def _csv_line(cells: list) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


def test_csv_cells_are_what_the_csv_module_writes_for_every_short_hostile_string():
    for size in range(4):
        for chars in itertools.product(HOSTILE, repeat=size):
            value = "".join(chars)
            assert csv_export.quoted(value) == _csv_line([value, ""])[:-3], repr(value)
            assert csv_export.text_cell(value) == _csv_line([neutralise(value), ""])[:-3]
    assert csv_export.text_cell(None) == ""
    assert csv_export.text_cell("=1") == "'=1"
    assert csv_export.text_cell('-"a,b"') == '"\'-""a,b"""'
    assert csv_export.text_cell("\rline") == '"\'\rline"'


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_csv_cells_are_what_the_csv_module_writes_for_any_text(value):
    assert csv_export.quoted(value) == _csv_line([value, ""])[:-3]
    assert csv_export.text_cell(value) == _csv_line([neutralise(value), ""])[:-3]


@st.composite
def evidence_rows(draw, text=hostile_text):
    if draw(st.booleans()):
        start = draw(st.none() | st.integers(0, 40))
        return SpanEvidenceRow(
            "span",
            start,
            None if start is None else start + draw(st.integers(1, 10)),
            draw(text),
            draw(st.sampled_from(["example", "study"])),
            draw(st.sampled_from(["supports", "undermines"])),
        )
    return SourceEvidenceRow(
        "source",
        draw(st.sampled_from(["", 'https://example.org/a?b=1&c="2"'])),
        draw(text),
        draw(text),
        "statistic",
        "supports",
    )


@st.composite
def annotation_rows(draw, text=hostile_text):
    return AnnotationRow(
        id=draw(ids),
        annotator=draw(text),
        topic=draw(text),
        stance=draw(words),
        labels=draw(st.lists(text, max_size=3)),
        confidence=draw(st.none() | st.integers(1, 5) | st.sampled_from([0.1, 1.0, 2.5, True])),
        note=draw(text),
        status=draw(words),
        created_at=draw(timestamps),
        updated_at=draw(timestamps),
        evidence=draw(st.lists(evidence_rows(text), max_size=2)),
    )


@st.composite
def claim_rows(draw, text=hostile_text):
    start = draw(st.none() | st.integers(0, 40))
    review = draw(
        st.none()
        | st.builds(
            ReviewRow,
            curator=text,
            decision=st.sampled_from(["accepted", "rejected"]),
            topic=st.none() | text,
            stance=words,
            note=text,
            created_at=timestamps,
            updated_at=timestamps,
        )
    )
    return ClaimRow(
        id=draw(ids),
        start=start,
        end=None if start is None else start + draw(st.integers(1, 10)),
        exact=draw(text),
        prefix=draw(text),
        suffix=draw(text),
        summary=draw(text),
        labels=draw(st.lists(text, max_size=3)),
        created_by=draw(text),
        created_at=draw(timestamps),
        updated_at=draw(timestamps),
        anchor=AnchorRow(
            status=draw(st.sampled_from(["exact", "moved", "fuzzy", "orphaned"])),
            score=draw(st.sampled_from([1.0, 0.1, 0.0, 2 / 3, 1e-05, 0.95])),
            version=draw(st.integers(1, 3)),
        ),
        annotations=draw(st.lists(annotation_rows(text), max_size=3)),
        review=review,
        comments=draw(st.lists(st.builds(CommentRow, ids, text, text, timestamps), max_size=2)),
        group=draw(st.none() | st.fixed_dictionaries({"id": ids, "label": text})),
    )


@st.composite
def article_rows(draw, text=hostile_text):
    claims = draw(st.lists(claim_rows(text), max_size=4))
    relations = []
    if claims:
        indexes = st.integers(0, len(claims) - 1)
        relations = draw(
            st.lists(
                st.builds(
                    RelationRow,
                    ids,
                    indexes,
                    indexes,
                    st.sampled_from(["supports", "attacks", "rephrases"]),
                    text,
                    timestamps,
                ),
                max_size=3,
            )
        )
    return ArticleRow(
        id=draw(ids),
        title=draw(text),
        text="".join(draw(st.lists(text, min_size=10, max_size=20))),
        author="",
        source_url="",
        published_on=None,
        language="en",
        text_version=draw(st.integers(1, 3)),
        created_at=draw(timestamps),
        updated_at=draw(timestamps),
        claims=claims,
        relations=relations,
    )


def _csv_reference(articles: list[ArticleRow]) -> str:
    """Every row's 31 cells through the csv module, people's text neutralised cell by cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    _ = neutralise
    for article in articles:
        for claim in article.claims:
            claim_cells = [
                article.id, _(article.title), claim.id, claim.start, claim.end, _(claim.exact),
                _(claim.summary), _("|".join(claim.labels)), _(claim.created_by),
            ]  # fmt: skip
            review = claim.review
            review_cells = (
                [review.decision, _(review.topic or ""), review.stance, _(review.curator),
                 _(review.note)]
                if review is not None
                else [""] * 5
            )  # fmt: skip
            group = claim.group
            review_cells += [article.text_version, claim.anchor.status, claim.anchor.score]
            review_cells += [group["id"], _(group["label"])] if group else ["", ""]
            for a in claim.annotations or [None]:
                annotation_cells = (
                    [""] * 12
                    if a is None
                    else [
                        a.id, _(a.annotator), _(a.topic), a.stance, _("|".join(a.labels)),
                        "" if a.confidence is None else a.confidence, _(a.note), a.status,
                        len(a.evidence),
                        csv_export._evidence_json(a.evidence) if a.evidence else "",
                        a.created_at, a.updated_at,
                    ]
                )  # fmt: skip
                writer.writerow(claim_cells + annotation_cells + review_cells)
    return out.getvalue()


def _as_read(articles: list[ArticleRow]) -> tuple[list[ArticleRow], _RawBatch, _Names]:
    """The batch of rows the reader would have read for these articles, and the articles as it
    assembles them: ids renumbered in order (the database's integers), one annotation per claim
    and annotator, sorted by username; user ids in order of first sight (so not in username
    order); rows of claims and annotations outside the batch among them, as `InIds(loose=True)`
    reads them."""
    names = _Names()
    user_ids: dict[str, int] = {}
    topic_ids: dict[str, int] = {}

    def user(name: str) -> int:
        if name not in user_ids:
            user_ids[name] = len(user_ids) + 1
            names.users[user_ids[name]] = name
        return user_ids[name]

    def topic(label: str | None) -> int | None:
        if label is None:
            return None
        if label not in topic_ids:
            topic_ids[label] = len(topic_ids) + 1
            names.topics[topic_ids[label]] = label
        return topic_ids[label]

    raw = _RawBatch([], [], [(0, 1, 1, 1, "", None, "", "", "[]", "t", None)], [], [], [], [], {})
    user(""), topic("")  # what the loose annotation above refers to
    raw.reviews.append((0, 1, "accepted", None, "", "", "t", None))
    raw.evidence.append((0, "span", 1, 2, "x", "", "", "", "example", "supports"))
    claim_id = annotation_id = comment_id = relation_id = 0
    read: list[ArticleRow] = []
    for number, article in enumerate(articles, 1):
        claims, claim_ids = [], []
        for claim in article.claims:
            claim_id += 1
            claim_ids.append(claim_id)
            annotations, seen = [], set()
            for a in claim.annotations:
                if a.annotator not in seen:
                    seen.add(a.annotator)
                    annotation_id += 1
                    annotations.append(dataclasses.replace(a, id=str(annotation_id)))
                    user(a.annotator)
            by_id = sorted(annotations, key=lambda a: user(a.annotator))
            for a in by_id:
                raw.annotations.append(
                    (claim_id, int(a.id), user(a.annotator), topic(a.topic), a.stance,
                     a.confidence, a.note, a.status, json.dumps(a.labels), a.created_at,
                     _unless_same(a.updated_at, a.created_at))
                )  # fmt: skip
                for e in a.evidence:
                    raw.evidence.append(
                        (int(a.id), e.kind, e.start, e.end, e.exact, e.url, e.title, e.quote,
                         e.evidence_type, e.role)
                    )  # fmt: skip
            comments = []
            for c in claim.comments:
                comment_id += 1
                comments.append(dataclasses.replace(c, id=str(comment_id)))
                raw.comments.append((claim_id, comment_id, user(c.author), c.text, c.created_at))
            review = claim.review
            if review is not None:
                raw.reviews.append(
                    (claim_id, user(review.curator), review.decision, topic(review.topic),
                     review.stance, review.note, review.created_at,
                     _unless_same(review.updated_at, review.created_at))
                )  # fmt: skip
            if claim.group is not None:
                raw.groups[claim_id] = claim.group
            raw.claims.append(
                (number, claim_id, claim.start, claim.end, claim.exact, claim.prefix,
                 claim.suffix, claim.summary, user(claim.created_by), claim.anchor.status,
                 claim.anchor.score, claim.anchor.version, json.dumps(claim.labels),
                 claim.created_at, _unless_same(claim.updated_at, claim.created_at))
            )  # fmt: skip
            claims.append(
                dataclasses.replace(
                    claim, id=str(claim_id), annotations=sorted(annotations, key=_annotator),
                    comments=comments,
                )
            )  # fmt: skip
        relations = []
        for relation in article.relations:
            relation_id += 1
            relations.append(dataclasses.replace(relation, id=str(relation_id)))
            raw.relations.append(
                (relation_id, claim_ids[relation.source], claim_ids[relation.target],
                 relation.kind, user(relation.created_by), relation.created_at)
            )  # fmt: skip
        raw.articles.append(
            (number, article.title, article.text, article.author, article.source_url,
             article.published_on, article.language, article.text_version, article.created_at,
             _unless_same(article.updated_at, article.created_at))
        )  # fmt: skip
        read.append(
            dataclasses.replace(article, id=str(number), claims=claims, relations=relations)
        )
    raw.annotations.append((claim_id + 1, annotation_id + 1, 1, 1, "", 1, "", "", "[]", "t", None))
    raw.reviews.append((claim_id + 1, 1, "rejected", None, "", "", "t", None))
    raw.comments.append((claim_id + 1, comment_id + 1, 1, "", "t"))
    raw.relations.append((relation_id + 1, claim_id + 1, 1, "supports", 1, "t"))
    raw.evidence.append((annotation_id + 1, "span", 1, 2, "x", "", "", "", "example", "supports"))
    raw.evidence.sort(key=lambda row: row[0])  # by annotation, as read
    raw.reviews.sort(key=lambda row: row[0])
    raw.comments.sort(key=lambda row: row[0])
    assert _assemble(raw, _Labels(), names) == read  # the batch is what the reader reads
    return read, raw, names


_annotator = attrgetter("annotator")


def _unless_same(updated: str, created: str) -> str | None:
    return None if updated == created else updated  # as the reader reads it (`as_iso_updated`)


@settings(max_examples=150, deadline=None)
@given(st.lists(article_rows(json_text), max_size=3))
def test_csv_rows_are_the_csv_modules_rows(articles):
    """(Text a database holds: no lone surrogate half, which UTF-8 cannot carry; the cells'
    tests above have them.)"""
    articles, raw, names = _as_read(articles)
    written = b"".join(csv_export.Rows().batch(raw, names)).decode()
    assert written == _csv_reference(articles)
    with patch.object(streaming, "WRITTEN_KEPT", 1):  # the cells' cache emptied at every miss
        rows = csv_export.Rows()
        assert b"".join(rows.batch(raw, names)) == written.encode()
    parsed = list(csv.reader(io.StringIO(written, newline="")))
    assert all(len(row) == len(csv_export.COLUMNS) for row in parsed)
    assert len(parsed) == sum(max(len(c.annotations), 1) for a in articles for c in a.claims)
    # One piece per article with claims.
    assert len(list(csv_export.Rows().batch(raw, names))) == sum(1 for a in articles if a.claims)


# --- W3C ------------------------------------------------------------------------------------


def _w3c_reference_items(article: ArticleRow, iris: w3c._Iris) -> Iterator[dict]:
    """The items as dicts, as the writer built them before its pieces were encoded once."""
    _text, _person = w3c._text, w3c._person
    article_iri = iris.article(article.id)
    targets = [
        {
            "type": "SpecificResource",
            "source": article_iri,
            "selector": w3c._selectors(
                claim.start, claim.end, claim.exact, claim.prefix, claim.suffix
            ),
            "textVersion": claim.anchor.version,
            "anchorStatus": claim.anchor.status,
        }
        for claim in article.claims
    ]
    for claim, target in zip(article.claims, targets, strict=True):
        claim_iri = iris.claim(claim.id)
        highlight = {
            "id": claim_iri, "type": "Annotation", "motivation": "highlighting",
            "created": claim.created_at, "modified": claim.updated_at,
            "creator": _person(claim.created_by), "target": target,
        }  # fmt: skip
        body = [_text(claim.summary, "describing")] if claim.summary else []
        body += [_text(label, "tagging") for label in claim.labels]
        if claim.group is not None:
            group = _text(claim.group["label"], "classifying")
            body.append({**group, "id": iris.group(claim.group["id"])})
        if body:
            highlight["body"] = body
        yield highlight
        for a in claim.annotations:
            body = [_text(a.stance, "classifying"), _text(a.topic, "identifying")]
            body += [_text(label, "tagging") for label in a.labels]
            if a.note:
                body.append(_text(a.note, "commenting"))
            body += [w3c._evidence_body(e, article_iri, article.text) for e in a.evidence]
            item = {
                "id": f"{iris.api}/annotations/{a.id}", "type": "Annotation",
                "motivation": "assessing", "created": a.created_at, "modified": a.updated_at,
                "creator": _person(a.annotator), "status": a.status, "body": body,
                "target": target,
            }  # fmt: skip
            if a.confidence is not None:
                item["confidence"] = a.confidence
            yield item
        review = claim.review
        if review is not None:
            body = [_text(review.decision, "moderating")]
            if review.stance:
                body.append(_text(review.stance, "classifying"))
            if review.topic:
                body.append(_text(review.topic, "identifying"))
            if review.note:
                body.append(_text(review.note, "commenting"))
            yield {
                "id": f"{claim_iri}/review", "type": "Annotation", "motivation": "moderating",
                "created": review.created_at, "modified": review.updated_at,
                "creator": _person(review.curator), "body": body, "target": target,
            }  # fmt: skip
        for comment in claim.comments:
            yield {
                "id": f"{claim_iri}/comments#{comment.id}", "type": "Annotation",
                "motivation": "commenting", "created": comment.created_at,
                "creator": _person(comment.author), "body": _text(comment.text, "commenting"),
                "target": target,
            }  # fmt: skip
    for relation in article.relations:
        yield {
            "id": f"{iris.api}/relations/{relation.id}", "type": "Annotation",
            "motivation": "linking", "created": relation.created_at,
            "creator": _person(relation.created_by),
            "body": [
                {**targets[relation.target], "purpose": "linking"},
                _text(relation.kind, "classifying"),
            ],
            "target": targets[relation.source],
        }  # fmt: skip


BASE_URLS = st.sampled_from(["http://localhost:8000", 'https://a.example/x"y\\/', "http://é.test/"])


@settings(max_examples=150, deadline=None)
@given(st.lists(article_rows(json_text), max_size=3), BASE_URLS)
def test_w3c_items_are_the_reference_items(articles, base_url):
    articles, raw, names = _as_read(articles)
    iris = w3c._Iris(base_url)
    expected = [orjson.dumps(i) for a in articles for i in _w3c_reference_items(a, iris)]
    written = list(_w3c_items(raw, names, base_url))
    assert written == expected
    with patch.object(streaming, "WRITTEN_KEPT", 1):  # the pieces' caches emptied at every miss
        assert list(_w3c_items(raw, names, base_url)) == expected
    assert [json.loads(item) for item in written] == [json.loads(item) for item in expected]
    assert [len(pieces) for pieces in w3c.Items(base_url).batch(raw, names)] == [
        len(list(_w3c_reference_items(article, iris))) for article in articles
    ]


def _w3c_items(raw: _RawBatch, names: _Names, base_url: str) -> Iterator[bytes]:
    return itertools.chain.from_iterable(w3c.Items(base_url).batch(raw, names))


def _w3c_reference_document(spec: ExportSpec, articles: list[ArticleRow]) -> bytes:
    iris = w3c._Iris(spec.base_url)
    collection = f"{iris.api}/corpora/{spec.corpus.slug}/export?format=w3c"
    context = [
        w3c.ANNO_CONTEXT,
        {"aa": f"{iris.api}/ns#", "confidence": "aa:confidence", "status": "aa:status",
         "evidenceType": "aa:evidenceType", "evidenceRole": "aa:evidenceRole"},
    ]  # fmt: skip
    head = {"@context": context, "id": collection, "type": "AnnotationCollection",
            "label": spec.corpus.name}  # fmt: skip
    page = {"id": f"{collection}#page-1", "type": "AnnotationPage", "partOf": collection,
            "startIndex": 0}  # fmt: skip
    items = [orjson.dumps(i) for article in articles for i in _w3c_reference_items(article, iris)]
    opening = orjson.dumps(head)[:-1] + b',"first":' + orjson.dumps(page)[:-1] + b',"items":['
    body = (b"\n" + b",\n".join(items)) if items else b""
    return opening + body + b'\n]},"total":%d}\n' % len(items)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(article_rows(json_text), max_size=4),
    st.sampled_from([1, 300, 1_000, 2_000, 4_000, 10_000, CHUNK_BYTES]),
    BASE_URLS,
)
def test_w3c_document_is_the_same_whatever_the_chunks(articles, chunk_bytes, base_url):
    """The collection around the items, with chunks closing after every item, some, or none."""
    articles, raw, names = _as_read(articles)
    corpus = SimpleNamespace(slug="c-1", name='A "corpus" 🚀')
    spec = ExportSpec(corpus, w3c.FORMAT, ExportFilters(), base_url=base_url)

    def read_batches(corpus, filters, reader_names, **kwargs):  # what the reader reads
        reader_names.users.update(names.users)
        reader_names.topics.update(names.topics)
        return iter([raw])

    with (
        patch.object(w3c, "read_batches", read_batches),
        patch.object(w3c, "CHUNK_BYTES", chunk_bytes),
    ):
        chunks = list(w3c.write(spec))
    document = b"".join(chunks)
    assert document == _w3c_reference_document(spec, articles)
    parsed = json.loads(document)
    assert parsed["total"] == len(parsed["first"]["items"])
    if chunk_bytes == 1:  # a chunk per article with items (the opening with the first), the close
        with_items = sum(1 for pieces in w3c.Items(base_url).batch(raw, names) if pieces)
        assert len(chunks) == (with_items + 1 if with_items else 1)


def test_written_forms_are_made_once_and_kept_bounded():
    made: list[str] = []
    cells = streaming.Written(lambda value: made.append(value) or value.upper())
    assert cells["a"] == "A" and cells["a"] == "A"
    assert made == ["a"]  # looked up the second time
    with patch.object(streaming, "WRITTEN_KEPT", 3):
        for value in "bcdefg":
            assert cells[value] == value.upper()
        assert len(cells) <= 3
