"""An annotation's claim has no index of its own (migration 0015): the unique (claim, annotator)
index serves every lookup by claim, on both databases, and the counting triggers survived the
migration."""

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
