"""Indexes written per row, fewer (migrations 0015, 0016): an annotation's claim has no index of
its own (the unique (claim, annotator) index serves every lookup by claim), a claim's
`deleted_by` is indexed only where set (and still serves the lookup a user's deletion makes), on
both databases, and the counting triggers survived the migrations."""

import pytest
from django.db import connection

from articles.models import Annotation

pytestmark = pytest.mark.django_db


def test_a_lookup_by_claim_uses_the_unique_index_and_no_other_is_left():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: ask for the index
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'articles_annotation'"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = 'articles_annotation'"
            )
        indexes = {name for (name,) in cursor.fetchall()}
    assert not any("claim_id" in name for name in indexes), indexes
    plan = Annotation.objects.filter(claim_id=7).explain()
    unique = "annotation_one_per_user" if connection.vendor == "postgresql" else "sqlite_autoindex"
    assert unique in plan, plan


def test_the_counting_triggers_on_annotations_are_still_there():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger "
                "WHERE tgrelid = 'articles_annotation'::regclass AND NOT tgisinternal"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'articles_annotation'"
            )
        assert cursor.fetchone()[0] == 3  # insert, update, delete


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return " ".join(str(row) for row in cursor.fetchall())


def test_who_trashed_a_claim_is_found_by_a_partial_index_that_live_claims_do_not_fill():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'articles_claim'"
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = 'articles_claim'"
            )
        indexes = dict(cursor.fetchall())
    on_deleted_by = {name: sql for name, sql in indexes.items() if "deleted_by_id" in (sql or "")}
    assert list(on_deleted_by) == ["claim_deleted_by"], indexes
    assert "IS NOT NULL" in on_deleted_by["claim_deleted_by"]
    # What Django's PROTECT check asks when a user is deleted:
    plan = _plan("SELECT id FROM articles_claim WHERE deleted_by_id IN (7)")
    assert "claim_deleted_by" in plan, plan


def test_the_counting_triggers_on_claims_are_still_there():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger "
                "WHERE tgrelid = 'articles_claim'::regclass AND NOT tgisinternal"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'articles_claim'"
            )
        assert cursor.fetchone()[0] == 3  # insert, update, delete
