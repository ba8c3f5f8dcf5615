# ruff: noqa: S608  (SQL built from this module's constant table and field names only)
"""Per-article and per-corpus counts of live work, kept by the database itself.

Why triggers and not updates in the services: every writer changes these counts, and there are
many (services, the bulk claims endpoint, the import's row writer, trash, restore and purge,
merges, text versions, Django's cascades, the admin, test factories, a future script). A
counter a writer has to remember is a counter someone forgets; a trigger cannot be bypassed by
any of them. Measured (bench/README.md, "Counts"): on PostgreSQL the triggers are
statement-level with transition tables, so a COPY of 100,000 claims updates each article's
counters in one statement; on SQLite (one writer at a time) they are row-level. The one
exception is asked for in so many words: a bulk writer of new articles (the import) may have
the triggers stand aside and count its articles at once (`deferred`).

How they stay right under concurrency (PostgreSQL, READ COMMITTED): every change is SQL
arithmetic on the counter row (`x = x + delta`), never a value read by Python and written back;
and a trigger first locks the ArticleCounts rows it will change (in article order, then the
CorpusCounts rows, always in that order: no deadlock between two of them) and only then, in a
new statement with a new snapshot, counts what it needs ("was this claim tagged before?"), so
it sees what a concurrent writer of the same article committed.

What is counted (`ArticleCounts`): live claims (orphans included), annotations of live claims,
live claims with a review, live claims with at least one annotation, assignments, submitted
assignments. `CorpusCounts`: live articles, the sum of the ArticleCounts of live articles, and
`articles_submitted`, the live articles whose count of submitted assignments is not 0 (the
corpus page's "submitted by someone"), kept where the sums are: when an article's counter row
changes, or the article enters or leaves the live ones, the corpus's count moves by the change
of (assignments_submitted > 0).
`MemberCounts` (one row per membership, articles/member_counters.py): a member's own figures,
kept by the same triggers when that table exists; what a blind annotator may see is derived
from these (`selectors._counted_for_user`), never from others' work on articles they have not
submitted. Lock order: ArticleCounts, then MemberCounts, then CorpusCounts rows.

`recount()` recomputes everything from the rows (`manage.py recount_corpora` repairs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef

from . import member_counters as mc
from .models import (
    COUNTED_FIELDS,
    Annotation,
    Article,
    ArticleCounts,
    Assignment,
    AssignmentState,
    Claim,
    CorpusCounts,
    MemberCounts,
    Review,
)

AC = "articles_articlecounts"
CC = "articles_corpuscounts"
FIELDS = COUNTED_FIELDS
SUBMITTED = "articles_submitted"
OPEN = "articles_open"
# CorpusCounts' columns, in the order of `Created.corpora`'s lists.
CORPUS_FIELDS = ("articles", *FIELDS, SUBMITTED, OPEN)


def _corpus_sums(submitted: bool = True, open_: bool = True) -> dict[str, str]:
    """CorpusCounts' columns that add up a value of each live article's ArticleCounts row, with
    that value as SQL for a row named `{0}`: its fields, whether it has a submission, and
    whether it has an assignment not submitted. Without `submitted` (`open_`), the columns
    before `articles_submitted` (`articles_open`) existed (the migrations before it install
    the triggers of this module as it stands)."""
    sums = {f: f"{{0}}.{f}" for f in FIELDS}
    if submitted:
        sums[SUBMITTED] = "(CASE WHEN {0}.assignments_submitted > 0 THEN 1 ELSE 0 END)"
    if open_:
        sums[OPEN] = "(CASE WHEN {0}.assignments > {0}.assignments_submitted THEN 1 ELSE 0 END)"
    return sums


def _has_submission(counted: Sequence[int]) -> int:
    """The `articles_submitted` share of an article with these ArticleCounts (FIELDS order)."""
    return int(counted[FIELDS.index("assignments_submitted")] > 0)


def _is_open(counted: Sequence[int]) -> int:
    """The `articles_open` share of an article with these ArticleCounts (FIELDS order): it has
    an assignment in the state "assigned"."""
    return int(
        counted[FIELDS.index("assignments")] > counted[FIELDS.index("assignments_submitted")]
    )


# While a bulk writer of new articles counts them itself (`deferred`), PostgreSQL's trigger
# functions return at once when this setting, local to the writer's transaction, is on.
DEFERRED_SETTING = "aa.counts_deferred"

# --- PostgreSQL: statement-level triggers with transition tables ------------------------------

# Where a function takes its MemberCounts block (articles/member_counters.py) when that table
# exists: `{MEMBERS_MARK}<name>` on a line of its own.
MEMBERS_MARK = "  -- members: "

_PG_UNLESS_DEFERRED = (
    f"  IF current_setting('{DEFERRED_SETTING}', true) = 'on' THEN RETURN NULL; END IF;\n"
)

# Applies moves of claims (claim id, article id, +1 / -1 for a live claim arriving / leaving an
# article's count). `fresh`: the claims are new (no annotation or review can point at them yet).
_PG_APPLY_CLAIMS = f"""
CREATE OR REPLACE FUNCTION aa_counts_apply_claims(ids bigint[], arts bigint[], signs int[],
                                                  fresh boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM {AC} WHERE article_id = ANY(arts) ORDER BY article_id FOR UPDATE;
  IF fresh THEN
    UPDATE {AC} ac SET claims = ac.claims + d.n
    FROM (SELECT a AS article_id, SUM(s) AS n FROM unnest(arts, signs) AS m(a, s) GROUP BY a) d
    WHERE ac.article_id = d.article_id AND d.n <> 0;
  ELSE
{MEMBERS_MARK}claims
    UPDATE {AC} ac SET claims = ac.claims + d.n, annotations = ac.annotations + d.ann,
        reviewed = ac.reviewed + d.rev, claims_tagged = ac.claims_tagged + d.tagged
    FROM (SELECT m.a AS article_id, SUM(m.s) AS n, SUM(m.s * t.n) AS ann,
                 SUM(m.s * (EXISTS (SELECT 1 FROM articles_review r
                                    WHERE r.claim_id = m.c))::int) AS rev,
                 SUM(m.s * (t.n > 0)::int) AS tagged
          FROM unnest(ids, arts, signs) AS m(c, a, s)
          CROSS JOIN LATERAL (SELECT count(*) AS n FROM articles_annotation x
                              WHERE x.claim_id = m.c) t
          GROUP BY m.a) d
    WHERE ac.article_id = d.article_id;
  END IF;
END $$;
"""

_PG_CLAIM = f"""
CREATE OR REPLACE FUNCTION aa_counts_claim() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[]; arts bigint[]; signs int[];
BEGIN
{_PG_UNLESS_DEFERRED}  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(id), array_agg(article_id), array_agg(1) INTO ids, arts, signs
    FROM new_rows WHERE deleted_at IS NULL;
    IF ids IS NOT NULL THEN PERFORM aa_counts_apply_claims(ids, arts, signs, true); END IF;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(id), array_agg(article_id), array_agg(-1) INTO ids, arts, signs
    FROM old_rows WHERE deleted_at IS NULL;
    IF ids IS NOT NULL THEN PERFORM aa_counts_apply_claims(ids, arts, signs, false); END IF;
  ELSE
    SELECT array_agg(c), array_agg(a), array_agg(s) INTO ids, arts, signs FROM (
      SELECT o.id AS c, o.article_id AS a, -1 AS s FROM old_rows o JOIN new_rows n USING (id)
      WHERE o.deleted_at IS NULL AND (n.deleted_at IS NOT NULL OR n.article_id <> o.article_id)
      UNION ALL
      SELECT n.id, n.article_id, 1 FROM old_rows o JOIN new_rows n USING (id)
      WHERE n.deleted_at IS NULL AND (o.deleted_at IS NOT NULL OR n.article_id <> o.article_id)
    ) moved;
    IF ids IS NOT NULL THEN PERFORM aa_counts_apply_claims(ids, arts, signs, false); END IF;
  END IF;
  RETURN NULL;
END $$;
"""


# Annotations' and reviews' shared start: which claims rows arrived on (+1) or left (-1), into
# `ids` and `signs` (nothing to do when none), then the counter rows of those claims' articles
# locked in article order before anything is counted (see the module's docstring). With `who`
# (the annotations' annotator column) their annotators go into `users` too, and a row moving
# from one annotator to another counts as leaving and arriving.
def _claim_rows_moved(who: str | None = None) -> str:
    into, users = ("ids, signs", "")
    changed = "o.claim_id <> n.claim_id"
    old, new = "", ""
    if who is not None:
        into, users = "ids, signs, users", ", array_agg(u)"
        changed += f" OR o.{who} <> n.{who}"
        old, new = f", o.{who} AS u", f", n.{who}"
    mine = "" if who is None else f", {who} AS u"
    return f"""\
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(c), array_agg(s){users} INTO {into}
    FROM (SELECT claim_id AS c, 1 AS s{mine} FROM new_rows) moved;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(c), array_agg(s){users} INTO {into}
    FROM (SELECT claim_id AS c, -1 AS s{mine} FROM old_rows) moved;
  ELSE
    SELECT array_agg(c), array_agg(s){users} INTO {into} FROM (
      SELECT o.claim_id AS c, -1 AS s{old} FROM old_rows o JOIN new_rows n USING (id)
      WHERE {changed}
      UNION ALL
      SELECT n.claim_id, 1{new} FROM old_rows o JOIN new_rows n USING (id)
      WHERE {changed}
    ) moved;
  END IF;
  IF ids IS NULL THEN RETURN NULL; END IF;
  PERFORM 1 FROM {AC} WHERE article_id IN (
      SELECT article_id FROM articles_claim WHERE id = ANY(ids) AND deleted_at IS NULL)
    ORDER BY article_id FOR UPDATE;
"""


# Annotations arriving on (+1) or leaving (-1) claims.
_PG_ANNOTATION = f"""
CREATE OR REPLACE FUNCTION aa_counts_annotation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[]; signs int[]; users bigint[];
BEGIN
{_PG_UNLESS_DEFERRED}{_claim_rows_moved("annotator_id")}{MEMBERS_MARK}annotation
  UPDATE {AC} ac SET annotations = ac.annotations + d.n,
      claims_tagged = ac.claims_tagged + d.tagged
  FROM (SELECT c.article_id, SUM(m.delta) AS n,
               SUM((t.n > 0)::int - ((t.n - m.delta) > 0)::int) AS tagged
        FROM (SELECT c, SUM(s) AS delta FROM unnest(ids, signs) AS u(c, s) GROUP BY c) m
        JOIN articles_claim c ON c.id = m.c AND c.deleted_at IS NULL
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM articles_annotation x
                            WHERE x.claim_id = m.c) t
        GROUP BY c.article_id) d
  WHERE ac.article_id = d.article_id AND (d.n <> 0 OR d.tagged <> 0);
  RETURN NULL;
END $$;
"""

_PG_REVIEW = f"""
CREATE OR REPLACE FUNCTION aa_counts_review() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[]; signs int[];
BEGIN
{_PG_UNLESS_DEFERRED}{_claim_rows_moved()}  UPDATE {AC} ac SET reviewed = ac.reviewed + d.n
  FROM (SELECT c.article_id, SUM(m.s) AS n FROM unnest(ids, signs) AS m(c, s)
        JOIN articles_claim c ON c.id = m.c AND c.deleted_at IS NULL GROUP BY c.article_id) d
  WHERE ac.article_id = d.article_id AND d.n <> 0;
  RETURN NULL;
END $$;
"""

_PG_ASSIGNMENT = f"""
CREATE OR REPLACE FUNCTION aa_counts_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE arts bigint[]; users bigint[]; signs int[]; subs int[];
BEGIN
{_PG_UNLESS_DEFERRED}  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(article_id), array_agg(annotator_id), array_agg(1),
           array_agg((state = 'submitted')::int)
    INTO arts, users, signs, subs FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(article_id), array_agg(annotator_id), array_agg(-1),
           array_agg(-(state = 'submitted')::int)
    INTO arts, users, signs, subs FROM old_rows;
  ELSE
    SELECT array_agg(a), array_agg(u), array_agg(s), array_agg(sub)
    INTO arts, users, signs, subs FROM (
      SELECT o.article_id AS a, o.annotator_id AS u, -1 AS s,
             -(o.state = 'submitted')::int AS sub
      FROM old_rows o JOIN new_rows n USING (id)
      WHERE o.article_id <> n.article_id OR o.state <> n.state
        OR o.annotator_id <> n.annotator_id
      UNION ALL
      SELECT n.article_id, n.annotator_id, 1, (n.state = 'submitted')::int
      FROM old_rows o JOIN new_rows n USING (id)
      WHERE o.article_id <> n.article_id OR o.state <> n.state
        OR o.annotator_id <> n.annotator_id
    ) moved;
  END IF;
  IF arts IS NULL THEN RETURN NULL; END IF;
  PERFORM 1 FROM {AC} WHERE article_id = ANY(arts) ORDER BY article_id FOR UPDATE;
{MEMBERS_MARK}assignment
  UPDATE {AC} ac SET assignments = ac.assignments + d.n,
      assignments_submitted = ac.assignments_submitted + d.sub
  FROM (SELECT a AS article_id, SUM(s) AS n, SUM(sub) AS sub
        FROM unnest(arts, signs, subs) AS m(a, s, sub) GROUP BY a) d
  WHERE ac.article_id = d.article_id AND (d.n <> 0 OR d.sub <> 0);
  RETURN NULL;
END $$;
"""


# Articles: their counter row, and the corpus's when they enter or leave the live ones.
def _pg_article(sums: dict[str, str]) -> str:
    shares = ", ".join(f"SUM(m.s * COALESCE({v.format('ac')}, 0)) AS {f}" for f, v in sums.items())
    return f"""
CREATE OR REPLACE FUNCTION aa_counts_article() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE arts bigint[]; corps bigint[]; signs int[];
BEGIN
{_PG_UNLESS_DEFERRED}  IF TG_OP = 'INSERT' THEN
    INSERT INTO {AC} (article_id, {", ".join(FIELDS)})
    SELECT id, {", ".join("0" for _ in FIELDS)} FROM new_rows;
    SELECT array_agg(id), array_agg(corpus_id), array_agg(1) INTO arts, corps, signs
    FROM new_rows WHERE deleted_at IS NULL;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(id), array_agg(corpus_id), array_agg(-1) INTO arts, corps, signs
    FROM old_rows WHERE deleted_at IS NULL;
  ELSE
    SELECT array_agg(a), array_agg(c), array_agg(s) INTO arts, corps, signs FROM (
      SELECT o.id AS a, o.corpus_id AS c, -1 AS s FROM old_rows o JOIN new_rows n USING (id)
      WHERE o.deleted_at IS NULL AND (n.deleted_at IS NOT NULL OR n.corpus_id <> o.corpus_id)
      UNION ALL
      SELECT n.id, n.corpus_id, 1 FROM old_rows o JOIN new_rows n USING (id)
      WHERE n.deleted_at IS NULL AND (o.deleted_at IS NOT NULL OR n.corpus_id <> o.corpus_id)
    ) moved;
  END IF;
  IF arts IS NULL THEN RETURN NULL; END IF;
  PERFORM 1 FROM {AC} WHERE article_id = ANY(arts) ORDER BY article_id FOR UPDATE;
{MEMBERS_MARK}article
  PERFORM 1 FROM {CC} WHERE corpus_id = ANY(corps) ORDER BY corpus_id FOR UPDATE;
  UPDATE {CC} cc SET articles = cc.articles + d.n,
      {", ".join(f"{f} = cc.{f} + d.{f}" for f in sums)}
  FROM (SELECT m.c AS corpus_id, SUM(m.s) AS n,
               {shares}
        FROM unnest(arts, corps, signs) AS m(a, c, s)
        LEFT JOIN {AC} ac ON ac.article_id = m.a GROUP BY m.c) d
  WHERE cc.corpus_id = d.corpus_id;
  RETURN NULL;
END $$;
"""


# An article's counters changed: its corpus's change as much, if the article is live.
def _pg_articlecounts(sums: dict[str, str]) -> str:
    changed = " OR ".join(f"d.{f} <> 0" for f in sums)
    moved = ", ".join(f"SUM({v.format('n')} - {v.format('o')}) AS {f}" for f, v in sums.items())
    return f"""
CREATE OR REPLACE FUNCTION aa_counts_articlecounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_PG_UNLESS_DEFERRED}  IF TG_OP = 'INSERT' THEN
{MEMBERS_MARK}fanout INSERT
    UPDATE {CC} cc SET {", ".join(f"{f} = cc.{f} + d.{f}" for f in sums)}
    FROM (SELECT a.corpus_id, {", ".join(f"SUM({v.format('n')}) AS {f}" for f, v in sums.items())}
          FROM new_rows n JOIN articles_article a ON a.id = n.article_id
          WHERE a.deleted_at IS NULL GROUP BY a.corpus_id) d
    WHERE cc.corpus_id = d.corpus_id AND ({changed});
  ELSIF TG_OP = 'DELETE' THEN
{MEMBERS_MARK}fanout DELETE
    UPDATE {CC} cc SET {", ".join(f"{f} = cc.{f} - d.{f}" for f in sums)}
    FROM (SELECT a.corpus_id, {", ".join(f"SUM({v.format('o')}) AS {f}" for f, v in sums.items())}
          FROM old_rows o JOIN articles_article a ON a.id = o.article_id
          WHERE a.deleted_at IS NULL GROUP BY a.corpus_id) d
    WHERE cc.corpus_id = d.corpus_id;
  ELSE
{MEMBERS_MARK}fanout UPDATE
    UPDATE {CC} cc SET {", ".join(f"{f} = cc.{f} + d.{f}" for f in sums)}
    FROM (SELECT a.corpus_id, {moved}
          FROM new_rows n JOIN old_rows o USING (article_id)
          JOIN articles_article a ON a.id = n.article_id
          WHERE a.deleted_at IS NULL GROUP BY a.corpus_id) d
    WHERE cc.corpus_id = d.corpus_id AND ({changed});
  END IF;
  RETURN NULL;
END $$;
"""


def _pg_corpus(sums: dict[str, str]) -> str:
    return f"""
CREATE OR REPLACE FUNCTION aa_counts_corpus() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {CC} (corpus_id, articles, {", ".join(sums)})
  SELECT id, 0, {", ".join("0" for _ in sums)} FROM new_rows;
  RETURN NULL;
END $$;
"""


_PG_TABLES = {
    "articles_corpus": ("aa_counts_corpus", ("INSERT",)),
    "articles_article": ("aa_counts_article", ("INSERT", "UPDATE", "DELETE")),
    AC: ("aa_counts_articlecounts", ("INSERT", "UPDATE", "DELETE")),
    "articles_claim": ("aa_counts_claim", ("INSERT", "UPDATE", "DELETE")),
    "articles_annotation": ("aa_counts_annotation", ("INSERT", "UPDATE", "DELETE")),
    "articles_review": ("aa_counts_review", ("INSERT", "UPDATE", "DELETE")),
    "articles_assignment": ("aa_counts_assignment", ("INSERT", "UPDATE", "DELETE")),
}


_PG_MEMBER_TABLES = {
    "articles_membership": ("aa_counts_membership", ("INSERT", "UPDATE")),
}


def _pg_members(sql: str, members: bool) -> str:
    """The function with its MemberCounts blocks in place of its marks (or none)."""
    blocks = {
        "claims": mc.PG_CLAIMS,
        "annotation": mc.PG_ANNOTATION,
        "assignment": mc.PG_ASSIGNMENT,
        "article": mc.PG_ARTICLE,
        **{f"fanout {op}": mc.pg_fanout(mc.pg_fanout_delta(op)) for op in _OPS},
    }
    for name, block in blocks.items():
        sql = sql.replace(f"{MEMBERS_MARK}{name}\n", block if members else "")
    return sql


_OPS = ("INSERT", "UPDATE", "DELETE")


def _pg_statements(members: bool, submitted: bool = True, open_: bool = True) -> list[str]:
    """The trigger functions and triggers; with `members`, those of MemberCounts too; with
    `submitted` (`open_`), those that keep CorpusCounts.articles_submitted (articles_open; see
    `_corpus_sums`)."""
    sums = _corpus_sums(submitted, open_)
    functions = [
        _PG_APPLY_CLAIMS,
        _PG_CLAIM,
        _PG_ANNOTATION,
        _PG_REVIEW,
        _PG_ASSIGNMENT,
        _pg_article(sums),
        _pg_articlecounts(sums),
        _pg_corpus(sums),
    ]
    statements = [_pg_members(sql, members) for sql in functions]
    tables = dict(_PG_TABLES)
    if members:
        statements.append(mc.pg_membership(_PG_UNLESS_DEFERRED))
        tables.update(_PG_MEMBER_TABLES)
    for table, (function, events) in tables.items():
        for event in events:
            referencing = {
                "INSERT": "NEW TABLE AS new_rows",
                "DELETE": "OLD TABLE AS old_rows",
                "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            }[event]
            name = f"{table}_{event.lower()}_counts"
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    return statements


# --- SQLite: row-level triggers (one writer at a time: no race to guard against) --------------


def _sqlite_add(article: str, sets: dict[str, str], where: str = "1") -> str:
    """UPDATE the counters of `article` (an SQL expression) by `sets` ({field: delta})."""
    assignments = ", ".join(f"{f} = {f} + ({delta})" for f, delta in sets.items())
    return f"UPDATE {AC} SET {assignments} WHERE article_id = ({article}) AND ({where});"


def _claim_contribution(row: str, sign: str) -> dict[str, str]:
    n = f"(SELECT COUNT(*) FROM articles_annotation WHERE claim_id = {row}.id)"
    return {
        "claims": f"{sign}1",
        "annotations": f"{sign}{n}",
        "reviewed": f"{sign}(EXISTS (SELECT 1 FROM articles_review WHERE claim_id = {row}.id))",
        "claims_tagged": f"{sign}({n} > 0)",
    }


def _live_claim_article(claim: str) -> str:
    return f"SELECT article_id FROM articles_claim WHERE id = {claim} AND deleted_at IS NULL"


def _sqlite_statements(members: bool, submitted: bool = True, open_: bool = True) -> list[str]:
    """The triggers; with `members`, their MemberCounts statements too (each before the
    statement whose own triggers fan out, as on PostgreSQL: see member_counters); with
    `submitted` (`open_`), those that keep CorpusCounts.articles_submitted (articles_open; see
    `_corpus_sums`)."""

    def m(sql: str) -> str:
        return sql if members else ""

    sums = _corpus_sums(submitted, open_)
    fields = ", ".join(FIELDS)
    zeros = ", ".join("0" for _ in FIELDS)
    per_article_to_corpus = ", ".join(
        f"{f} = {f} + ({v.format('NEW')} - {v.format('OLD')})" for f, v in sums.items()
    )

    def kept(row: str, sign: str) -> str:  # the corpus's sums with an article's counters
        return ", ".join(
            f"{f} = {f} {sign} COALESCE((SELECT {v.format(AC)} FROM {AC} "
            f"WHERE article_id = {row}.id), 0)"
            for f, v in sums.items()
        )

    live_corpus = "SELECT corpus_id FROM articles_article WHERE id = {0} AND deleted_at IS NULL"

    def annotation_moves(row: str, sign: str, where: str = "1") -> str:
        # After the row arrived (+) or left (-): tagged changes when the claim's count is now
        # 1 (was 0) or 0 (was 1).
        n = f"(SELECT COUNT(*) FROM articles_annotation WHERE claim_id = {row}.claim_id)"
        tagged = f"({n} = 1)" if sign == "+" else f"-({n} = 0)"
        return m(mc.sqlite_annotation(row, sign)) + _sqlite_add(
            _live_claim_article(f"{row}.claim_id"),
            {"annotations": f"{sign}1", "claims_tagged": tagged},
            where,
        )

    def review_moves(row: str, sign: str) -> str:
        return _sqlite_add(_live_claim_article(f"{row}.claim_id"), {"reviewed": f"{sign}1"})

    def assignment_moves(row: str, sign: str) -> str:
        return _sqlite_add(
            f"{row}.article_id",
            {
                "assignments": f"{sign}1",
                "assignments_submitted": f"{sign}({row}.state = 'submitted')",
            },
        )

    def article_moves(row: str, sign: str) -> str:  # a live article leaving its corpus
        return m(mc.sqlite_article(row, sign)) + (
            f"UPDATE {CC} SET articles = articles {sign} 1, {kept(row, sign)} "
            f"WHERE corpus_id = {row}.corpus_id;"
        )

    triggers = {
        "corpus_insert": (
            "AFTER INSERT ON articles_corpus",
            f"INSERT INTO {CC} (corpus_id, articles, {', '.join(sums)}) "
            f"VALUES (NEW.id, 0, {', '.join('0' for _ in sums)});",
        ),
        "article_insert": (
            "AFTER INSERT ON articles_article",
            f"INSERT INTO {AC} (article_id, {fields}) VALUES (NEW.id, {zeros});"
            f"UPDATE {CC} SET articles = articles + 1 "
            "WHERE corpus_id = NEW.corpus_id AND NEW.deleted_at IS NULL;",
        ),
        "article_update": (
            "AFTER UPDATE OF deleted_at, corpus_id ON articles_article "
            "WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) "
            "OR OLD.corpus_id <> NEW.corpus_id",
            # The old live article leaves, the new live one arrives.
            "SELECT 1 WHERE 0;"
            + m(mc.sqlite_article("OLD", "-") + mc.sqlite_article("NEW", "+"))
            + f"UPDATE {CC} SET articles = articles - 1, {kept('OLD', '-')}"
            + " WHERE corpus_id = OLD.corpus_id AND OLD.deleted_at IS NULL;"
            + f"UPDATE {CC} SET articles = articles + 1, {kept('NEW', '+')}"
            + " WHERE corpus_id = NEW.corpus_id AND NEW.deleted_at IS NULL;",
        ),
        "article_delete": (
            "AFTER DELETE ON articles_article WHEN OLD.deleted_at IS NULL",
            article_moves("OLD", "-"),
        ),
        "articlecounts_insert": (
            f"AFTER INSERT ON {AC}",
            m(mc.sqlite_fanout("NEW", {f: f"NEW.{f}" for f in mc.SUMMED}))
            + f"UPDATE {CC} SET "
            + ", ".join(f"{f} = {f} + {v.format('NEW')}" for f, v in sums.items())
            + f" WHERE corpus_id = ({live_corpus.format('NEW.article_id')});",
        ),
        "articlecounts_update": (
            f"AFTER UPDATE ON {AC}",
            m(
                mc.sqlite_fanout(
                    "NEW",
                    {f: f"NEW.{f} - OLD.{f}" for f in mc.SUMMED},
                    " OR ".join(f"NEW.{f} <> OLD.{f}" for f in mc.SUMMED),
                )
            )
            + f"UPDATE {CC} SET {per_article_to_corpus}"
            f" WHERE corpus_id = ({live_corpus.format('NEW.article_id')});",
        ),
        "articlecounts_delete": (
            f"AFTER DELETE ON {AC}",
            m(mc.sqlite_fanout("OLD", {f: f"-OLD.{f}" for f in mc.SUMMED}))
            + f"UPDATE {CC} SET "
            + ", ".join(f"{f} = {f} - {v.format('OLD')}" for f, v in sums.items())
            + f" WHERE corpus_id = ({live_corpus.format('OLD.article_id')});",
        ),
        "claim_insert": (
            "AFTER INSERT ON articles_claim WHEN NEW.deleted_at IS NULL",
            _sqlite_add("NEW.article_id", _claim_contribution("NEW", "+")),
        ),
        "claim_update": (
            "AFTER UPDATE OF deleted_at, article_id ON articles_claim "
            "WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) "
            "OR OLD.article_id <> NEW.article_id",
            m(
                mc.sqlite_claim("OLD", "-", "OLD.deleted_at IS NULL")
                + mc.sqlite_claim("NEW", "+", "NEW.deleted_at IS NULL")
            )
            + _sqlite_add(
                "OLD.article_id", _claim_contribution("OLD", "-"), "OLD.deleted_at IS NULL"
            )
            + _sqlite_add(
                "NEW.article_id", _claim_contribution("NEW", "+"), "NEW.deleted_at IS NULL"
            ),
        ),
        "claim_delete": (
            "AFTER DELETE ON articles_claim WHEN OLD.deleted_at IS NULL",
            m(mc.sqlite_claim("OLD", "-", "1"))
            + _sqlite_add("OLD.article_id", _claim_contribution("OLD", "-")),
        ),
        "annotation_insert": ("AFTER INSERT ON articles_annotation", annotation_moves("NEW", "+")),
        "annotation_delete": ("AFTER DELETE ON articles_annotation", annotation_moves("OLD", "-")),
        "annotation_update": (
            "AFTER UPDATE OF claim_id, annotator_id ON articles_annotation "
            "WHEN OLD.claim_id <> NEW.claim_id OR OLD.annotator_id <> NEW.annotator_id",
            # A new annotator on the same claim changes no article's counts.
            annotation_moves("OLD", "-", "OLD.claim_id <> NEW.claim_id")
            + annotation_moves("NEW", "+", "OLD.claim_id <> NEW.claim_id"),
        ),
        "review_insert": ("AFTER INSERT ON articles_review", review_moves("NEW", "+")),
        "review_delete": ("AFTER DELETE ON articles_review", review_moves("OLD", "-")),
        "review_update": (
            "AFTER UPDATE OF claim_id ON articles_review WHEN OLD.claim_id <> NEW.claim_id",
            review_moves("OLD", "-") + review_moves("NEW", "+"),
        ),
        "assignment_insert": (
            "AFTER INSERT ON articles_assignment",
            m(mc.sqlite_assignment("NEW", "+")) + assignment_moves("NEW", "+"),
        ),
        "assignment_delete": (
            "AFTER DELETE ON articles_assignment",
            m(mc.sqlite_assignment("OLD", "-")) + assignment_moves("OLD", "-"),
        ),
        "assignment_update": (
            "AFTER UPDATE OF state, article_id, annotator_id ON articles_assignment "
            "WHEN OLD.state <> NEW.state OR OLD.article_id <> NEW.article_id "
            "OR OLD.annotator_id <> NEW.annotator_id",
            # Every member's figures before the article's counters (and their fan-out) move.
            m(mc.sqlite_assignment("OLD", "-") + mc.sqlite_assignment("NEW", "+"))
            + assignment_moves("OLD", "-")
            + assignment_moves("NEW", "+"),
        ),
    }
    if members:
        triggers.update(mc.SQLITE_MEMBERSHIP)
    statements = []
    for name, (when, body) in triggers.items():
        statements.append(f"DROP TRIGGER IF EXISTS aa_counts_{name}")
        body = body.replace("SELECT 1 WHERE 0;", "")
        event, _, condition = when.partition(" WHEN ")
        condition = f" WHEN {condition}" if condition else ""
        statements.append(
            f"CREATE TRIGGER aa_counts_{name} {event} FOR EACH ROW{condition} BEGIN {body} END"
        )
    return statements


def install_triggers(
    schema_editor=None,
    *,
    members: bool | None = None,
    submitted: bool | None = None,
    open_: bool | None = None,
) -> None:
    """Create (or replace) the counting triggers on this database; those of MemberCounts too
    when its table exists (`members` None), or as told (the migrations that add it and take it
    away: earlier ones run before it exists); those of CorpusCounts.articles_submitted and
    articles_open likewise when that column exists (`submitted`, `open_` None), or as told."""
    vendor = connection.vendor if schema_editor is None else schema_editor.connection.vendor
    conn = connection if schema_editor is None else schema_editor.connection
    if vendor not in ("postgresql", "sqlite"):
        return  # another database: the counters are not kept; recount() after writes
    with conn.cursor() as cursor:
        if members is None:
            members = mc.MC in conn.introspection.table_names(cursor)
        if submitted is None or open_ is None:
            columns = {c.name for c in conn.introspection.get_table_description(cursor, CC)}
            submitted = SUBMITTED in columns if submitted is None else submitted
            open_ = OPEN in columns if open_ is None else open_
        if vendor == "postgresql":
            statements = _pg_statements(members, submitted, open_)
        else:
            statements = _sqlite_statements(members, submitted, open_)
        if not members:  # going back: the membership triggers go
            statements = [*_drop_member_triggers(vendor), *statements]
        for statement in statements:
            cursor.execute(statement)


def _drop_member_triggers(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            *(
                f"DROP TRIGGER IF EXISTS {table}_{event.lower()}_counts ON {table}"
                for table, (_function, events) in _PG_MEMBER_TABLES.items()
                for event in events
            ),
            *(
                f"DROP FUNCTION IF EXISTS {function}()"
                for function, _ in _PG_MEMBER_TABLES.values()
            ),
        ]
    return [f"DROP TRIGGER IF EXISTS aa_counts_{name}" for name in mc.SQLITE_MEMBERSHIP]


def drop_triggers(schema_editor=None) -> None:
    """Remove the counting triggers (the migration's way back)."""
    conn = connection if schema_editor is None else schema_editor.connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            for table, (_function, events) in {**_PG_TABLES, **_PG_MEMBER_TABLES}.items():
                for event in events:
                    cursor.execute(
                        f"DROP TRIGGER IF EXISTS {table}_{event.lower()}_counts ON {table}"
                    )
        elif conn.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'aa_counts_%'"
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def fill(schema_editor=None) -> None:
    """Counters for every existing article and corpus, counted from the rows in SQL (the
    migration that adds them; before the triggers exist; `fill_submitted` the column added
    later)."""
    conn = connection if schema_editor is None else schema_editor.connection
    live = "c.article_id = a.id AND c.deleted_at IS NULL"
    article_sql = f"""
        INSERT INTO {AC} (article_id, {", ".join(FIELDS)})
        SELECT a.id,
          (SELECT COUNT(*) FROM articles_claim c WHERE {live}),
          (SELECT COUNT(*) FROM articles_annotation x JOIN articles_claim c ON c.id = x.claim_id
           WHERE {live}),
          (SELECT COUNT(*) FROM articles_review r JOIN articles_claim c ON c.id = r.claim_id
           WHERE {live}),
          (SELECT COUNT(*) FROM articles_claim c WHERE {live}
           AND EXISTS (SELECT 1 FROM articles_annotation x WHERE x.claim_id = c.id)),
          (SELECT COUNT(*) FROM articles_assignment s WHERE s.article_id = a.id),
          (SELECT COUNT(*) FROM articles_assignment s WHERE s.article_id = a.id
           AND s.state = 'submitted')
        FROM articles_article a"""
    sums = ", ".join(
        f"(SELECT COALESCE(SUM(ac.{f}), 0) FROM {AC} ac JOIN articles_article a "
        f"ON a.id = ac.article_id WHERE a.corpus_id = co.id AND a.deleted_at IS NULL)"
        for f in FIELDS
    )
    corpus_sql = f"""
        INSERT INTO {CC} (corpus_id, articles, {", ".join(FIELDS)})
        SELECT co.id, (SELECT COUNT(*) FROM articles_article a
                       WHERE a.corpus_id = co.id AND a.deleted_at IS NULL), {sums}
        FROM articles_corpus co"""
    with conn.cursor() as cursor:
        cursor.execute(article_sql)
        cursor.execute(corpus_sql)


def fill_submitted(schema_editor=None) -> None:
    """CorpusCounts.articles_submitted of every corpus, counted from the rows in SQL (the
    migration that adds the column, after its triggers: a write committed later is theirs)."""
    _fill_articles_with(schema_editor, SUBMITTED, "submitted")


def fill_open(schema_editor=None) -> None:
    """CorpusCounts.articles_open of every corpus, likewise (the migration that adds it)."""
    _fill_articles_with(schema_editor, OPEN, "assigned")


def _fill_articles_with(schema_editor, column: str, state: str) -> None:
    """Set CorpusCounts `column` to the corpus's live articles with an assignment in `state`
    (one of this module's columns, one of AssignmentState's values)."""
    conn = connection if schema_editor is None else schema_editor.connection
    with conn.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {CC} SET {column} = (
                SELECT COUNT(*) FROM articles_article a
                WHERE a.corpus_id = {CC}.corpus_id AND a.deleted_at IS NULL
                AND EXISTS (SELECT 1 FROM articles_assignment s
                            WHERE s.article_id = a.id AND s.state = %s))""",
            [state],
        )


# --- New articles counted at once -----------------------------------------------------------


# The SQLite triggers a bulk writer of new articles fires, which `deferred` takes away for the
# length of its transaction (the article's creates its counter row: the writer counts that too).
_SQLITE_INSERTS = (
    "aa_counts_membership_insert",
    "aa_counts_article_insert",
    "aa_counts_articlecounts_insert",
    "aa_counts_claim_insert",
    "aa_counts_annotation_insert",
    "aa_counts_review_insert",
    "aa_counts_assignment_insert",
)


class Created(list):
    """The ids of the articles a `deferred` block created (it appends them), and what it counted
    itself of some of them (`count_written`): their corpora's and members' shares, added to
    their counter rows when the block ends."""

    def __init__(self) -> None:
        super().__init__()
        self.counted: set[int] = set()
        self.corpora: dict[int, list[int]] = {}  # corpus: values of CORPUS_FIELDS
        self.members: dict[tuple[int, int], list[int]] = {}  # (corpus, user): MEMBER_FIELDS


@dataclass(frozen=True, slots=True)
class Written:
    """A new live article and what its writer wrote into it: its ArticleCounts values
    (COUNTED_FIELDS, in order), the users whose assignment to it is submitted (it has no other
    assignments), and how many annotations each annotator has on its claims (all live)."""

    article_id: int
    corpus_id: int
    counted: tuple[int, ...]
    submitted: frozenset[int]
    annotations: dict[int, int]


def count_written(created: Created, written: list[Written]) -> None:
    """Inside `deferred`, for a writer that knows what it wrote: the counter rows of these new
    articles inserted now (one statement), their corpora's and members' shares kept in `created`
    and added when the block ends; no read of their rows. Each article is appended to
    `created`. Exact only if nothing else writes into these articles inside the block (the
    import writes them whole, then leaves them)."""
    if connection.vendor not in ("postgresql", "sqlite"):  # no counters kept there
        created += [w.article_id for w in written]
        return
    if not written:
        return
    rows = [(w.article_id, *w.counted) for w in written]
    columns = ", ".join(("article_id", *FIELDS))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join("%s::bigint[]" for _ in columns.split(", "))
            cursor.execute(
                f"INSERT INTO {AC} ({columns}) SELECT * FROM unnest({arrays})",
                [list(column) for column in zip(*rows, strict=True)],
            )
        else:
            picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(FIELDS) + 1))
            cursor.execute(
                f"INSERT INTO {AC} ({columns}) SELECT {picks} FROM json_each(%s)",
                [json.dumps(rows)],
            )
    for w in written:
        _add_live_article(created.corpora, w.corpus_id, w.counted)
        mc.add_new_article(
            created.members,
            w.corpus_id,
            True,
            w.counted,
            [(user, True) for user in sorted(w.submitted)],
            w.annotations.items(),
        )
        created.counted.add(w.article_id)
        created.append(w.article_id)


def _add_live_article(corpora: dict[int, list[int]], corpus: int, counted: Sequence[int]) -> None:
    """Add a live article with these ArticleCounts (FIELDS order) to its corpus's share."""
    totals = corpora.setdefault(corpus, [0] * len(CORPUS_FIELDS))
    for index, value in enumerate((1, *counted, _has_submission(counted), _is_open(counted))):
        totals[index] += value


@contextmanager
def deferred() -> Iterator[Created]:
    """Inside a transaction, for a bulk writer of *new* articles (the import): the counting
    triggers stand aside while the block runs, and the block appends to the list it is given the
    id of every article it creates. On leaving, those articles' counters are counted from their
    rows, one statement for the article rows and one for their corpora, and the triggers count
    again; a writer that knows what it wrote counts its articles itself instead (count_written:
    no read of their rows, the counter rows written with each chunk). The block may write only
    the new articles and rows that point into them (claims, annotations, reviews,
    assignments...): any other write to a counted table inside it would go uncounted.

    PostgreSQL: a setting local to the transaction, which every trigger function reads first
    (its triggers fire once per statement: reading it costs nothing). SQLite fires its triggers
    once per row, and a trigger that does nothing still cost 5-6 µs a row, 40 % of inserting a
    claim (bench/README.md, "The import with spans"); there the insert triggers are dropped
    inside the writer's transaction and created again before it ends. SQLite's schema changes
    are part of the transaction: no other connection ever sees the triggers gone (SQLite has
    one writer at a time, and readers see the last commit), and a rollback or a crash restores
    them with everything else. Either way the block runs in a savepoint: an error rolls back its
    rows and the pause alike, so the counters stay what they were.
    """
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        yield Created()  # no triggers there: nothing to pause, recount() after writes
        return
    with transaction.atomic(), connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(
                "SELECT current_setting(%s, true), set_config(%s, 'on', true)",
                [DEFERRED_SETTING, DEFERRED_SETTING],
            )
            before = cursor.fetchone()[0] or ""  # a deferred() around this one stays on
        else:
            marks = ", ".join("%s" for _ in _SQLITE_INSERTS)
            cursor.execute(
                f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})",
                list(_SQLITE_INSERTS),
            )
            dropped = {name for (name,) in cursor.fetchall()}
            for name in sorted(dropped):
                cursor.execute(f"DROP TRIGGER {name}")
        created = Created()
        yield created
        corpora, figures = created.corpora, created.members
        uncounted = [pk for pk in created if pk not in created.counted]
        if uncounted:
            _count_new_articles(cursor, uncounted, corpora, figures)
        # Members' rows before the corpora's, as the triggers lock them.
        mc.add_figures(cursor, vendor, figures)
        sets = ", ".join(f"{f} = {f} + %s" for f in CORPUS_FIELDS)
        for corpus in sorted(corpora):  # in corpus order, as the triggers lock them
            cursor.execute(
                f"UPDATE {CC} SET {sets} WHERE corpus_id = %s", [*corpora[corpus], corpus]
            )
        if vendor == "postgresql" or "aa_counts_membership_insert" in dropped:
            mc.insert_missing(cursor)
        if vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, %s, true)", [DEFERRED_SETTING, before])
        else:
            members = "aa_counts_membership_insert" in dropped
            for statement in _sqlite_statements(members):
                name = statement.split()[2]
                if statement.startswith("CREATE TRIGGER ") and name in dropped:
                    cursor.execute(statement)


def _count_new_articles(
    cursor,
    article_ids: list[int],
    corpora: dict[int, list[int]],
    members: dict[tuple[int, int], list[int]],
) -> None:
    """Insert the counter rows of these new articles, counted from their rows, and add the live
    ones' shares to `corpora` ({corpus: values of CORPUS_FIELDS}) and `members` (see
    member_counters.add_figures), the triggers standing aside."""
    param: list[int] | str
    if connection.vendor == "postgresql":
        ids, param = "(SELECT unnest(%s::bigint[]))", article_ids
    else:
        ids, param = "(SELECT value FROM json_each(%s))", json.dumps(article_ids)
    live_claims = f"cl.article_id IN {ids} AND cl.deleted_at IS NULL"
    cursor.execute(
        f"""
        INSERT INTO {AC} (article_id, {", ".join(FIELDS)})
        SELECT a.id, COALESCE(c.n, 0), COALESCE(x.n, 0), COALESCE(r.n, 0), COALESCE(x.tagged, 0),
               COALESCE(s.n, 0), COALESCE(s.submitted, 0)
        FROM articles_article a
        LEFT JOIN (SELECT cl.article_id, COUNT(*) AS n FROM articles_claim cl
                   WHERE {live_claims} GROUP BY cl.article_id) c ON c.article_id = a.id
        LEFT JOIN (SELECT cl.article_id, COUNT(*) AS n, COUNT(DISTINCT x.claim_id) AS tagged
                   FROM articles_annotation x JOIN articles_claim cl ON cl.id = x.claim_id
                   WHERE {live_claims} GROUP BY cl.article_id) x ON x.article_id = a.id
        LEFT JOIN (SELECT cl.article_id, COUNT(*) AS n
                   FROM articles_review r JOIN articles_claim cl ON cl.id = r.claim_id
                   WHERE {live_claims} GROUP BY cl.article_id) r ON r.article_id = a.id
        LEFT JOIN (SELECT article_id, COUNT(*) AS n,
                          SUM(CASE WHEN state = 'submitted' THEN 1 ELSE 0 END) AS submitted
                   FROM articles_assignment WHERE article_id IN {ids}
                   GROUP BY article_id) s ON s.article_id = a.id
        WHERE a.id IN {ids}""",
        [param] * 5,
    )
    # The corpora's and members' shares added up here from plain reads of the new rows (one
    # table at a time; see member_counters.count_new_articles for why), then added to their
    # counter rows by SQL arithmetic.
    cursor.execute(
        f"SELECT id, corpus_id, deleted_at IS NULL FROM articles_article WHERE id IN {ids}",
        [param],
    )
    articles = {pk: (corpus, bool(live)) for pk, corpus, live in cursor.fetchall()}
    cursor.execute(
        f"SELECT article_id, {', '.join(FIELDS)} FROM {AC} WHERE article_id IN {ids}", [param]
    )
    counted = {row[0]: row[1:] for row in cursor.fetchall()}
    mc.count_new_articles(cursor, ids, param, articles, counted, members)
    for pk, (corpus, live) in articles.items():
        if live:
            _add_live_article(corpora, corpus, counted.get(pk, (0,) * len(FIELDS)))


# --- Recounting from the rows ----------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    table: str  # "article", "corpus" or "member" (key: the membership)
    key: int
    field: str
    kept: int | None  # None: the row was missing
    counted: int


def _expected_articles(article_ids: Iterable[int] | None) -> dict[int, dict[str, int]]:
    articles = Article.objects.all()
    if article_ids is not None:
        articles = articles.filter(pk__in=list(article_ids))
    ids = list(articles.values_list("pk", flat=True))
    expected = {pk: dict.fromkeys(FIELDS, 0) for pk in ids}

    def grouped(queryset, key: str, field: str) -> None:
        for pk, n in queryset.order_by().values(key).annotate(n=Count("*")).values_list(key, "n"):
            if pk in expected:
                expected[pk][field] = n

    scope = {"article__in": articles} if article_ids is not None else {}
    claim_scope = {"claim__article__in": articles} if article_ids is not None else {}
    live = Claim.objects.alive().filter(**scope)
    grouped(live, "article_id", "claims")
    grouped(
        Annotation.objects.filter(claim__deleted_at__isnull=True, **claim_scope),
        "claim__article_id",
        "annotations",
    )
    grouped(
        Review.objects.filter(claim__deleted_at__isnull=True, **claim_scope),
        "claim__article_id",
        "reviewed",
    )
    grouped(
        live.filter(Exists(Annotation.objects.filter(claim=OuterRef("pk")))),
        "article_id",
        "claims_tagged",
    )
    assignments = Assignment.objects.filter(**scope)
    grouped(assignments, "article_id", "assignments")
    grouped(
        assignments.filter(state=AssignmentState.SUBMITTED), "article_id", "assignments_submitted"
    )
    return expected


def _expected_members(corpus_ids: list[int]) -> dict[int, dict[str, int]]:
    """The MemberCounts of these corpora's memberships, counted from the rows (the sums from
    the articles' counters as they stand: recount repairs those first)."""
    if not corpus_ids:
        return {}
    marks = ", ".join("%s" for _ in corpus_ids)
    source = f"(SELECT id, corpus_id, user_id FROM {mc.MEMBERS} WHERE corpus_id IN ({marks}))"
    with connection.cursor() as cursor:
        cursor.execute(mc.from_rows(source), corpus_ids)
        return {
            row[0]: dict(zip(mc.MEMBER_FIELDS, (int(v) for v in row[1:]), strict=True))
            for row in cursor.fetchall()
        }


def recount(corpus_ids: Iterable[int] | None = None, *, repair: bool = True) -> list[Difference]:
    """Count every corpus's (or these corpora's) live work from the rows, compare with the
    counters kept, and (with `repair`) set the counters to what was counted. Returns the
    differences found (none when the triggers did their work)."""
    from .models import Corpus

    corpora = Corpus.objects.all()
    if corpus_ids is not None:
        corpora = corpora.filter(pk__in=list(corpus_ids))
    corpus_list = list(corpora.values_list("pk", flat=True))
    differences: list[Difference] = []
    with transaction.atomic():
        article_rows = Article.objects.filter(corpus_id__in=corpus_list)
        live_of = dict(article_rows.values_list("pk", "deleted_at"))
        corpus_of = dict(article_rows.values_list("pk", "corpus_id"))
        expected = _expected_articles(None if corpus_ids is None else list(corpus_of))
        kept: dict[int, dict[str, Any]] = {
            row["article_id"]: dict(row)
            for row in ArticleCounts.objects.filter(article_id__in=list(corpus_of)).values()
        }
        differences += _differences("article", expected, kept, FIELDS)
        # The live articles' shares, added up as a bulk writer's are (`_add_live_article`).
        shares: dict[int, list[int]] = {pk: [0] * len(CORPUS_FIELDS) for pk in corpus_list}
        for pk, counted in expected.items():
            if live_of.get(pk) is None and pk in corpus_of:
                _add_live_article(shares, corpus_of[pk], [counted[f] for f in FIELDS])
        corpus_expected = {
            pk: dict(zip(CORPUS_FIELDS, values, strict=True)) for pk, values in shares.items()
        }
        corpus_kept: dict[int, dict[str, Any]] = {
            row["corpus_id"]: dict(row)
            for row in CorpusCounts.objects.filter(corpus_id__in=corpus_list).values()
        }
        differences += _differences("corpus", corpus_expected, corpus_kept)
        if repair and differences:
            wrong_articles = {d.key for d in differences if d.table == "article"}
            for pk in wrong_articles:
                ArticleCounts.objects.update_or_create(article_id=pk, defaults=expected[pk])
            # Last, so that the article rows' own triggers cannot leave the corpus wrong.
            for pk, counted in corpus_expected.items():
                CorpusCounts.objects.update_or_create(corpus_id=pk, defaults=counted)
        # Members after the articles too (their triggers fan out to members); counted now.
        member_expected = _expected_members(corpus_list)
        member_kept: dict[int, dict[str, Any]] = {
            row["membership_id"]: dict(row)
            for row in MemberCounts.objects.filter(membership_id__in=list(member_expected)).values()
        }
        wrong = _differences("member", member_expected, member_kept)
        differences += wrong
        wrong_members = {difference.key for difference in wrong}
        if repair:
            for pk in wrong_members:
                MemberCounts.objects.update_or_create(
                    membership_id=pk, defaults=member_expected[pk]
                )
    return differences


def _differences(
    table: str,
    expected: dict[int, dict[str, int]],
    kept: dict[int, dict[str, Any]],
    fields: Sequence[str] | None = None,
) -> list[Difference]:
    """Where the rows kept ({key: row}) differ from the counts expected ({key: counts}), field by
    field (`fields`, or every field counted); a missing row differs in every field."""
    found = []
    for key, counted in expected.items():
        row = kept.get(key)
        for field in fields or counted:
            if row is None or row[field] != counted[field]:
                was = None if row is None else row[field]
                found.append(Difference(table, key, field, was, counted[field]))
    return found


def counts_of_member(corpus_id: int, user_id: int) -> dict[str, int]:
    """The counters kept for one member (for tests)."""
    row: dict[str, Any] = dict(
        MemberCounts.objects.filter(membership__corpus_id=corpus_id, membership__user_id=user_id)
        .values(*mc.MEMBER_FIELDS)
        .first()
        or {}
    )
    return {k: int(v) for k, v in row.items()}


def counts_of_corpus(corpus_id: int) -> dict[str, int]:
    """The counters kept for one corpus (for tests and the recount command)."""
    row: dict[str, Any] = dict(
        CorpusCounts.objects.filter(corpus_id=corpus_id).values().first() or {}
    )
    return {k: int(v) for k, v in row.items() if k != "corpus_id"}
