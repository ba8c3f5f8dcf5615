# ruff: noqa: S608  (SQL built from the models' own table and column names)
"""The import's row writer (articles/imports/rows.py) stores what the ORM stores: every column of
a row it writes holds the same value, of the same type, as the same row saved by Django, on
SQLite (multi-row INSERTs, however the rows are split into statements) and PostgreSQL (binary
COPY, JSON sent as jsonb's own bytes)."""

from __future__ import annotations

import datetime

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from articles.imports import rows
from articles.models import Annotation, Article, Assignment, Claim, Evidence
from articles.side import side_connection

pytestmark = pytest.mark.django_db

TEXT = "Chips are \u201cscarce\u201d \u2014 labs adapt \U0001f680. Caf\u00e9 q\u0307. " * 30
STAMPED = {"created_at", "updated_at", "submitted_at"}


def _stored(model, pk: int) -> dict[str, tuple]:
    """Each column's value as the database holds it: its type and its text."""
    table = model._meta.db_table
    quote = connection.ops.quote_name
    out = {}
    with connection.cursor() as cursor:
        for field in model._meta.concrete_fields:
            column = quote(field.column)
            if connection.vendor == "postgresql":
                sql = f"SELECT pg_typeof({column})::text, {column}::text FROM {table} WHERE id = %s"
            else:
                sql = f"SELECT typeof({column}), quote({column}) FROM {quote(table)} WHERE id = %s"
            cursor.execute(sql, [pk])
            out[field.attname] = cursor.fetchone()
    return out


# How rows are written: by insert_rows on the caller's connection, or (PostgreSQL) prepared as
# the import's planner thread prepares them, ids and COPY stream from a second connection.
HOW = {"ahead": False}


def _written(model, fields: tuple, values: list[tuple]) -> list[int]:
    if not HOW["ahead"]:
        return rows.insert_rows(model, fields, values)
    raw = side_connection(connections[DEFAULT_DB_ALIAS]).get()
    assert raw is not None
    [ids] = rows.reserve_ids([(model, len(values))], side=raw)
    prepared = rows.prepare_rows(model, fields, values, ids=ids, encoder=raw.cursor())
    assert prepared.copy is not None
    rows.write_prepared(prepared)
    return ids


# PostgreSQL also prepares rows ahead (on the planner's thread); SQLite writes them one way.
WAYS = ["insert_rows", "prepared ahead"] if connection.vendor == "postgresql" else ["insert_rows"]


@pytest.fixture(params=WAYS)
def ahead(request, monkeypatch):
    monkeypatch.setitem(HOW, "ahead", request.param == "prepared ahead")


def _same_as_the_orm(model, values: dict, orm_pk: int, *, differ: tuple = ()) -> None:
    """Write `values` with the row writer; compare with the row the ORM saved (`differ`: the
    columns a unique constraint makes different on purpose)."""
    fields = tuple(values)
    [pk] = _written(model, fields, [tuple(values.values())])
    mine, theirs = _stored(model, pk), _stored(model, orm_pk)
    for name in differ:
        assert mine.pop(name)[0] == theirs.pop(name)[0], name
    for name in ("id", *STAMPED):
        if name in mine:
            # The same kind of value (a timestamp written the same way), not the same instant.
            assert mine.pop(name)[0] == theirs.pop(name)[0], name
    assert mine == theirs


def test_rows_are_stored_as_the_orm_stores_them(team, ahead):
    article_values = {
        "corpus_id": team.corpus.pk,
        "created_by_id": team.owner.pk,
        "title": "A title \U0001f680",
        "text": TEXT,
        "author": "A. Writer",
        "source_url": "https://example.org/a",
        "published_on": datetime.date(2024, 5, 1),
        "language": "en",
        "text_sha256": "ab" * 32,
    }
    article = Article.objects.create(**article_values)
    _same_as_the_orm(Article, article_values, article.pk)
    start = TEXT.index("labs")
    claim_values = {
        "article_id": article.pk,
        "start": start,
        "end": start + 4,
        "exact": "labs",
        "prefix": TEXT[start - 12 : start],
        "suffix": TEXT[start + 4 : start + 20],
        "summary": "Labs \u2014 adapt.",
        "labels": ["Claim", "Premise \u00e9"],
        "created_by_id": team.annotator.pk,
        "anchor_status": "exact",
        "anchor_score": 1.0,
    }
    claim = Claim.objects.create(**claim_values)
    _same_as_the_orm(Claim, claim_values, claim.pk)
    orphan_values = {**claim_values, "start": None, "end": None, "anchor_status": "orphaned"}
    orphan_values["anchor_score"] = 0.0
    orphan = Claim.objects.create(**orphan_values)
    _same_as_the_orm(Claim, orphan_values, orphan.pk)
    annotation_values = {
        "claim_id": claim.pk,
        "annotator_id": team.annotator.pk,
        "topic_id": team.topic.pk,
        "stance": "support",
        "labels": [],
        "confidence": 4,
        "note": "A note\non two lines.",
        "status": "submitted",
    }
    annotation = Annotation.objects.create(**annotation_values)
    mine = {**annotation_values, "annotator_id": team.annotator2.pk}
    _same_as_the_orm(Annotation, mine, annotation.pk, differ=("annotator_id",))
    evidence_values = {
        "annotation_id": annotation.pk,
        "position": 1,
        "kind": "source",
        "evidence_type": "study",
        "role": "undermines",
        "start": None,
        "end": None,
        "exact": "",
        "url": "https://example.org/s",
        "title": "S",
        "quote": "Quoted.",
    }
    evidence = Evidence.objects.create(**evidence_values)
    _same_as_the_orm(Evidence, evidence_values, evidence.pk)
    assignment_values = {
        "article_id": article.pk,
        "annotator_id": team.annotator.pk,
        "state": "submitted",
        "submitted_at": timezone.now(),
    }
    assignment = Assignment.objects.create(**assignment_values)
    mine = {**assignment_values, "annotator_id": team.annotator2.pk}
    _same_as_the_orm(Assignment, mine, assignment.pk, differ=("annotator_id",))


def test_ids_follow_in_the_rows_order_and_after_the_tables_own(team):
    before = Claim.objects.order_by("-id").values_list("id", flat=True).first() or 0
    values = [(team.article.pk, i, i + 1, team.article.text[i], team.owner.pk) for i in range(5)]
    ids = rows.insert_rows(Claim, ("article_id", "start", "end", "exact", "created_by_id"), values)
    assert ids == sorted(ids) and min(ids) > before
    stored = dict(Claim.objects.filter(pk__in=ids).values_list("id", "start"))
    assert [stored[pk] for pk in ids] == [0, 1, 2, 3, 4]


HOSTILE = [
    'quotes \' " `, a backslash \\ and \\" together',
    "control characters \x01\x1f\t\r\n and DEL \x7f",
    "emoji \U0001f680\U0001f9ea, astral \U0001d11e, combining q\u0307",
    "separators \u2028 and \u2029, a BOM \ufeff",
    "long " + "x\u00e9\U0001f680" * 20_000,
    "",
    "%s %% ? :name $1",
]


@pytest.mark.parametrize("limit", [None, 30])
def test_rows_split_over_statements_keep_their_values_and_order(team, monkeypatch, limit, ahead):
    """SQLite writes a few rows per statement (here 2, or as few as 30 parameters allow): every
    row keeps its values, hostile ones included, and its id, in order; PostgreSQL the same."""
    monkeypatch.setattr(rows, "SQLITE_ROWS_PER_STATEMENT", 2)
    if limit is not None:
        monkeypatch.setattr(rows, "_sqlite_variable_limit", lambda: limit)
    text = team.article.text
    values = [
        (
            team.article.pk,
            i,
            i + 1,
            text[i],
            HOSTILE[i % len(HOSTILE)],
            [HOSTILE[(i + 1) % len(HOSTILE)][:50], "\U0001f680"] if i % 2 else [],
            team.owner.pk,
        )
        for i in range(len(HOSTILE) + 2)
    ]
    fields = ("article_id", "start", "end", "exact", "summary", "labels", "created_by_id")
    ids = _written(Claim, fields, values)
    assert ids == sorted(ids) and len(set(ids)) == len(values)
    stored = {
        row[0]: row[1:] for row in Claim.objects.filter(pk__in=ids).values_list("id", *fields)
    }
    assert [stored[pk] for pk in ids] == values
