"""The CSV and W3C writers against their reference: rows made in memory (no database) with
hostile text everywhere, written by the writers' fast paths (cells quoted by hand, W3C items
joined from pre-encoded pieces) and by the straightforward way they were written before (the csv
module cell by cell, orjson on one dict per item), which must give the same bytes."""

from __future__ import annotations

import csv
import io
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from articles.exports import csv as csv_export
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
from articles.spreadsheet import FORMULA_STARTS, neutralise

# What a cell's quoting and neutralising turn on, and what they must leave alone: the csv
# module's specials, every formula start, NUL, a lone surrogate half, line separators that are
# not CSV's, an astral emoji, a combining mark, right-to-left text.
HOSTILE = [",", '"', "\r", "\n", " ", "'", "|", "\\", ";", "\0", "\x0b", "\x85", "\u2028"]
HOSTILE += [*FORMULA_STARTS, "a", "é", "\ud800", "🚀", "\u0307", "ש", "研"]

hostile_text = st.text(alphabet=st.sampled_from(HOSTILE), max_size=6) | st.text(max_size=6)
timestamps = st.sampled_from(["2026-01-02T03:04:05.123456Z", "2026-01-02T03:04:05Z"])
ids = st.integers(min_value=1, max_value=10**12).map(str)
words = st.sampled_from(["support", "oppose", "neutral", "draft", "submitted", ""])
labels = st.lists(hostile_text, max_size=3)


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
def evidence_rows(draw):
    if draw(st.booleans()):
        start = draw(st.none() | st.integers(0, 40))
        return SpanEvidenceRow(
            "span",
            start,
            None if start is None else start + draw(st.integers(1, 10)),
            draw(hostile_text),
            draw(st.sampled_from(["example", "study"])),
            draw(st.sampled_from(["supports", "undermines"])),
        )
    return SourceEvidenceRow(
        "source",
        draw(st.sampled_from(["", 'https://example.org/a?b=1&c="2"'])),
        draw(hostile_text),
        draw(hostile_text),
        "statistic",
        "supports",
    )


@st.composite
def annotation_rows(draw):
    return AnnotationRow(
        id=draw(ids),
        annotator=draw(hostile_text),
        topic=draw(hostile_text),
        stance=draw(words),
        labels=draw(labels),
        confidence=draw(st.none() | st.integers(1, 5)),
        note=draw(hostile_text),
        status=draw(words),
        created_at=draw(timestamps),
        updated_at=draw(timestamps),
        evidence=draw(st.lists(evidence_rows(), max_size=2)),
    )


@st.composite
def claim_rows(draw):
    start = draw(st.none() | st.integers(0, 40))
    review = draw(
        st.none()
        | st.builds(
            ReviewRow,
            curator=hostile_text,
            decision=st.sampled_from(["accepted", "rejected"]),
            topic=st.none() | hostile_text,
            stance=words,
            note=hostile_text,
            created_at=timestamps,
            updated_at=timestamps,
        )
    )
    return ClaimRow(
        id=draw(ids),
        start=start,
        end=None if start is None else start + draw(st.integers(1, 10)),
        exact=draw(hostile_text),
        prefix=draw(hostile_text),
        suffix=draw(hostile_text),
        summary=draw(hostile_text),
        labels=draw(labels),
        created_by=draw(hostile_text),
        created_at=draw(timestamps),
        updated_at=draw(timestamps),
        anchor=AnchorRow(
            status=draw(st.sampled_from(["exact", "moved", "fuzzy", "orphaned"])),
            score=draw(st.sampled_from([1.0, 0.1, 0.0, 2 / 3, 1e-05, 0.95])),
            version=draw(st.integers(1, 3)),
        ),
        annotations=draw(st.lists(annotation_rows(), max_size=3)),
        review=review,
        comments=draw(
            st.lists(st.builds(CommentRow, ids, hostile_text, hostile_text, timestamps), max_size=2)
        ),
        group=draw(st.none() | st.fixed_dictionaries({"id": ids, "label": hostile_text})),
    )


@st.composite
def article_rows(draw):
    claims = draw(st.lists(claim_rows(), max_size=4))
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
                    hostile_text,
                    timestamps,
                ),
                max_size=3,
            )
        )
    return ArticleRow(
        id=draw(ids),
        title=draw(hostile_text),
        text=draw(st.text(alphabet=st.sampled_from(HOSTILE), min_size=50, max_size=80)),
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


@settings(max_examples=150, deadline=None)
@given(st.lists(article_rows(), max_size=3))
def test_csv_rows_are_the_csv_modules_rows(articles):
    written = "".join(csv_export.rows(articles))
    assert written == _csv_reference(articles)
    parsed = list(csv.reader(io.StringIO(written, newline="")))
    assert all(len(row) == len(csv_export.COLUMNS) for row in parsed)
    assert len(parsed) == sum(max(len(c.annotations), 1) for a in articles for c in a.claims)
