"""The export's timestamps (`sql.IsoText`): on PostgreSQL the reader loads them as their binary
bytes and writes the text itself (`sql.ISO_TEXT`), which must be what the database's `to_char`
wrote before; SQLite's text passes through unchanged."""

from __future__ import annotations

import pytest
from django.db import connection

from articles.exports import sql

pytestmark = pytest.mark.django_db

FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'

# Before and after PostgreSQL's epoch (2000-01-01) and Unix's, the ends of the range Django can
# write, leap days, whole seconds, one microsecond, and an offset other than UTC.
STAMPS = [
    "0001-01-01 00:00:00+00",
    "1969-12-31 23:59:59.999999+00",
    "1970-01-01 00:00:00+00",
    "1999-12-31 23:59:59.999999+00",
    "2000-01-01 00:00:00+00",
    "2000-01-01 00:00:00.000001+00",
    "2000-02-29 12:34:56.000001+00",
    "2024-02-29 23:59:59.5+00",
    "2026-03-29 01:30:00+02",
    "2026-12-07 11:34:52.123456+00",
    "9999-12-31 23:59:59.999999+00",
]


def _run(query: str, params: tuple) -> list[tuple]:
    run = sql.runner(connection)
    return run(sql.Bound(query, params))


if connection.vendor == "postgresql":

    def test_postgresql_timestamps_are_written_as_to_char_wrote_them():
        rows = _run(
            "SELECT v::timestamptz, to_char(v::timestamptz AT TIME ZONE 'UTC', %s)"
            " FROM unnest(%s::text[]) AS v",
            (FORMAT, [*STAMPS, "infinity", "-infinity"]),
        )
        assert len(rows) == len(STAMPS) + 2
        for raw, expected in rows:
            assert isinstance(raw, bytes) and len(raw) == 8  # loaded as the binary bytes
            assert sql.ISO_TEXT[raw] == expected  # None for the infinities, as to_char
        assert [text for _, text in rows][-2:] == [None, None]

    def test_the_texts_kept_are_bounded_and_stay_right_when_emptied(monkeypatch):
        texts = sql._IsoTexts()
        monkeypatch.setattr(sql._IsoTexts, "KEPT", 3)
        rows = _run(
            "SELECT v::timestamptz, to_char(v::timestamptz AT TIME ZONE 'UTC', %s)"
            " FROM unnest(%s::text[]) AS v",
            (FORMAT, STAMPS),
        )
        for _ in range(2):
            for raw, expected in rows:
                assert texts[raw] == expected
                assert len(texts) <= 3

else:

    def test_sqlite_timestamps_pass_through_as_sqlite_wrote_them():
        rows = _run(
            "SELECT replace(v, ' ', 'T') || 'Z' FROM (SELECT '2026-12-07 11:34:52.123456' AS v)",
            (),
        )
        (text,) = rows[0]
        assert sql.ISO_TEXT[text] == "2026-12-07T11:34:52.123456Z"
        assert sql.ISO_TEXT[text] is text


def test_a_stamp_left_unread_stays_none():
    """A part the format does not write (CSV's "context") is read as NULL: no text."""
    assert sql.ISO_TEXT[None] is None
    assert sql._IsoTexts()[None] is None
