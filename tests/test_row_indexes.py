"""Indexes written per row, fewer (migrations 0015, 0016): an annotation's claim has no index of
its own (the unique (claim, annotator) index serves every lookup by claim), a claim's
`deleted_by` is indexed only where set (and still serves the lookup a user's deletion makes), on
both databases, and the counting triggers survived the migrations."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexes(table: str) -> dict[str, str]:
    """The table's indexes: name -> definition (SQLite's automatic ones have none)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table]
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s",
                [table],
            )
        return {name: sql or "" for name, sql in cursor.fetchall()}


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # small tables: ask for the index
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return " ".join(str(row) for row in cursor.fetchall())


def test_a_lookup_by_claim_uses_the_unique_index_and_no_other_is_left():
    indexes = _indexes("articles_annotation")
    assert not any("claim_id" in name for name in indexes), indexes
    plan = _plan("SELECT id FROM articles_annotation WHERE claim_id = 7")
    unique = "annotation_one_per_user" if connection.vendor == "postgresql" else "sqlite_autoindex"
    assert unique in plan, plan


def test_who_trashed_a_claim_is_found_by_a_partial_index_that_live_claims_do_not_fill():
    indexes = _indexes("articles_claim")
    on_deleted_by = {name: sql for name, sql in indexes.items() if "deleted_by_id" in sql}
    assert list(on_deleted_by) == ["claim_deleted_by"], indexes
    assert "IS NOT NULL" in on_deleted_by["claim_deleted_by"]
    # What Django's PROTECT check asks when a user is deleted:
    plan = _plan("SELECT id FROM articles_claim WHERE deleted_by_id IN (7)")
    assert "claim_deleted_by" in plan, plan


@pytest.mark.parametrize("table", ["articles_annotation", "articles_claim"])
def test_the_counting_triggers_are_still_there(table):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [table],
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [table],
            )
        assert cursor.fetchone()[0] == 3  # insert, update, delete
