"""Indexes written per row, fewer (migrations 0015, 0016, 0018): an annotation's claim has no
index of its own (the unique (claim, annotator) index serves every lookup by claim), a claim's
`deleted_by` is indexed only where set (and still serves the lookup a user's deletion makes), an
assignment has one index by (annotator, state, article) in place of two by annotator and by
article (the dashboard's next article reads it), on both databases, and the counting triggers
survived the migrations."""

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


def _plan(sql: str, params: tuple = ()) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # small tables: ask for the index
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
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


def _columns(definition: str) -> list[str]:
    """An index's columns, in order, from its CREATE INDEX statement."""
    inside = definition.replace('"', "").rsplit("(", 1)[-1].split(")")[0]
    return [column.strip() for column in inside.split(",")]


def test_an_assignment_has_one_index_by_member_state_and_article_and_none_by_one_column():
    indexes = {name: _columns(sql) for name, sql in _indexes("articles_assignment").items() if sql}
    assert indexes["assignment_mine"] == ["annotator_id", "state", "article_id"], indexes
    leading = sorted(columns[0] for columns in indexes.values())
    assert leading.count("annotator_id") == 1, indexes  # the new index only
    assert ["article_id"] not in indexes.values(), indexes
    # Django's PROTECT check when a user is deleted, and the CASCADE when an article is:
    assert "assignment_mine" in _plan(
        "SELECT id FROM articles_assignment WHERE annotator_id IN (7)"
    )
    unique = "assignment_unique" if connection.vendor == "postgresql" else "sqlite_autoindex"
    assert unique in _plan("SELECT id FROM articles_assignment WHERE article_id IN (7)")


def test_the_dashboards_next_open_article_is_read_through_the_members_index():
    from articles import selectors
    from tests.factories import UserFactory

    user = UserFactory()
    query = selectors.corpora_for_dashboard(user).query
    sql, params = query.get_compiler(using=connection.alias).as_sql()
    plan = _plan(sql, params)
    assert "assignment_mine" in plan, plan


@pytest.mark.parametrize("table", ["articles_annotation", "articles_claim", "articles_assignment"])
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
