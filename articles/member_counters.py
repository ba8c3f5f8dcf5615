# ruff: noqa: S608  (SQL built from this module's constant table and field names only)
"""A member's own figures (`MemberCounts`, one row per membership), kept by the triggers of
articles/counters.py: the SQL those triggers add when the table exists.

What is kept, for a member (corpus, user): `assigned` and `submitted`, their assignments to live
articles of the corpus (all; submitted); `tags`, their annotations of live claims of the
corpus's articles that they have not submitted; `sub_<field>` (MEMBER_SUMMED_FIELDS), the sum of
that ArticleCounts field over the live articles they submitted. The selectors read these
instead of counting the member's rows (a member with 100,000 assignments).

Who changes them (each trigger adds the change its own statement makes, against the rows as
they are when it runs):
- an assignment arriving, leaving or changing state: its member's four kinds of figures, the
  sums by the article's counters *before* the same statement changes them (so this runs
  before the trigger's ArticleCounts update);
- an article's counters changing (`fan-out`): every member who submitted that live article
  gets the change in their sums (this sees the assignments as the statement left them);
- an article entering or leaving the live ones: the figures of everyone assigned to it;
- a claim entering or leaving the live ones, an annotation arriving or leaving: `tags` of the
  annotators who have not submitted the article;
- a membership created: its row, counted from the member's rows.
An article moved to another corpus (the app never does it) moves its assignments' figures but
not its annotators' `tags`: `recount()` repairs that.

Locks (PostgreSQL): ArticleCounts rows first (the triggers of counters.py), then every
MemberCounts row the statement and its fan-out will change, in one statement in membership
order, then CorpusCounts rows. Locking the fan-out's rows with the statement's own (rather than
when the fan-out runs) keeps two writers that each change the other's sums from deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .models import MEMBER_SUMMED_FIELDS

AC = "articles_articlecounts"
MC = "articles_membercounts"
MEMBERS = "articles_membership"
SUMMED = MEMBER_SUMMED_FIELDS
MEMBER_FIELDS = ("assigned", "submitted", "tags", *(f"sub_{f}" for f in SUMMED))


def from_rows(source: str) -> str:
    """SELECT (membership_id, *MEMBER_FIELDS) counted from the rows, for the memberships in
    `source` (an SQL relation with id, corpus_id, user_id)."""
    assignments = (
        "SELECT {what} FROM articles_assignment s JOIN articles_article a ON a.id = s.article_id"
        "{join} WHERE s.annotator_id = m.user_id AND a.corpus_id = m.corpus_id"
        " AND a.deleted_at IS NULL{where}"
    )
    submitted = " AND s.state = 'submitted'"
    sums = ", ".join(
        "("
        + assignments.format(
            what=f"COALESCE(SUM(ac.{f}), 0)",
            join=f" JOIN {AC} ac ON ac.article_id = s.article_id",
            where=submitted,
        )
        + ")"
        for f in SUMMED
    )
    return f"""
        SELECT m.id,
          ({assignments.format(what="COUNT(*)", join="", where="")}),
          ({assignments.format(what="COUNT(*)", join="", where=submitted)}),
          (SELECT COUNT(*) FROM articles_annotation x JOIN articles_claim c ON c.id = x.claim_id
           JOIN articles_article a ON a.id = c.article_id
           WHERE x.annotator_id = m.user_id AND c.deleted_at IS NULL AND a.corpus_id = m.corpus_id
           AND NOT EXISTS (SELECT 1 FROM articles_assignment s WHERE s.article_id = c.article_id
                           AND s.annotator_id = m.user_id AND s.state = 'submitted')),
          {sums}
        FROM {source} m"""


def insert_from_rows(source: str) -> str:
    return f"INSERT INTO {MC} (membership_id, {', '.join(MEMBER_FIELDS)}) {from_rows(source)}"


def _not_submitted(article: str, user: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM articles_assignment s WHERE s.article_id = {article} "
        f"AND s.annotator_id = {user} AND s.state = 'submitted')"
    )


# --- PostgreSQL: blocks spliced into counters.py's statement-level trigger functions ----------


def _pg_submitters(articles: str) -> str:
    """Memberships of those who submitted these articles (an SQL set of article ids)."""
    return (
        f"SELECT m.id FROM articles_assignment s JOIN articles_article ar ON ar.id = s.article_id "
        f"JOIN {MEMBERS} m ON m.corpus_id = ar.corpus_id AND m.user_id = s.annotator_id "
        f"WHERE s.article_id IN ({articles}) AND s.state = 'submitted'"
    )


def _pg_lock(memberships: str) -> str:
    return (
        f"  PERFORM 1 FROM {MC} WHERE membership_id IN ({memberships})\n"
        f"    ORDER BY membership_id FOR UPDATE;\n"
    )


# aa_counts_assignment: arts, users, signs (+1 arriving, -1 leaving) and subs (signed, when
# submitted); after the ArticleCounts rows are locked, before they change.
PG_ASSIGNMENT = (
    _pg_lock(
        f"SELECT m.id FROM unnest(arts, users) AS u(a, usr) "
        f"JOIN articles_article ar ON ar.id = u.a "
        f"JOIN {MEMBERS} m ON m.corpus_id = ar.corpus_id AND m.user_id = u.usr "
        f"UNION {_pg_submitters('SELECT unnest(arts)')}"
    )
    + f"""  UPDATE {MC} mc SET assigned = mc.assigned + d.n, submitted = mc.submitted + d.sub,
      tags = mc.tags - d.tags, {", ".join(f"sub_{f} = mc.sub_{f} + d.{f}" for f in SUMMED)}
  FROM (SELECT m.id AS membership_id, SUM(u.sg * (ar.deleted_at IS NULL)::int) AS n,
               SUM(u.sub * (ar.deleted_at IS NULL)::int) AS sub, SUM(u.sub * t.n) AS tags,
               {", ".join(f"SUM(u.sub * (ar.deleted_at IS NULL)::int * COALESCE(ac.{f}, 0)) AS {f}" for f in SUMMED)}
        FROM unnest(arts, users, signs, subs) AS u(a, usr, sg, sub)
        JOIN articles_article ar ON ar.id = u.a
        JOIN {MEMBERS} m ON m.corpus_id = ar.corpus_id AND m.user_id = u.usr
        LEFT JOIN {AC} ac ON ac.article_id = u.a
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM articles_claim c
                            JOIN articles_annotation x ON x.claim_id = c.id
                            AND x.annotator_id = u.usr
                            WHERE c.article_id = u.a AND c.deleted_at IS NULL AND u.sub <> 0) t
        GROUP BY m.id) d
  WHERE mc.membership_id = d.membership_id;
"""  # noqa: E501
)

# aa_counts_article: arts, corps, signs (live articles leaving -1 / arriving +1 a corpus); after
# the ArticleCounts rows are locked, before the CorpusCounts rows.
PG_ARTICLE = (
    _pg_lock(
        f"SELECT m.id FROM unnest(arts, corps) AS u(a, c) "
        f"JOIN articles_assignment s ON s.article_id = u.a "
        f"JOIN {MEMBERS} m ON m.corpus_id = u.c AND m.user_id = s.annotator_id"
    )
    + f"""  UPDATE {MC} mc SET assigned = mc.assigned + d.n, submitted = mc.submitted + d.sub,
      {", ".join(f"sub_{f} = mc.sub_{f} + d.{f}" for f in SUMMED)}
  FROM (SELECT m.id AS membership_id, SUM(u.sg) AS n,
               SUM(u.sg * (s.state = 'submitted')::int) AS sub,
               {", ".join(f"SUM(u.sg * (s.state = 'submitted')::int * COALESCE(ac.{f}, 0)) AS {f}" for f in SUMMED)}
        FROM unnest(arts, corps, signs) AS u(a, c, sg)
        JOIN articles_assignment s ON s.article_id = u.a
        JOIN {MEMBERS} m ON m.corpus_id = u.c AND m.user_id = s.annotator_id
        LEFT JOIN {AC} ac ON ac.article_id = u.a GROUP BY m.id) d
  WHERE mc.membership_id = d.membership_id;
"""  # noqa: E501
)

# aa_counts_apply_claims (claims that were live before or after: ids, arts, signs); after the
# ArticleCounts rows are locked, before they change.
PG_CLAIMS = (
    _pg_lock(
        f"SELECT m.id FROM unnest(ids, arts) AS u(c, a) "
        f"JOIN articles_annotation x ON x.claim_id = u.c "
        f"JOIN articles_article ar ON ar.id = u.a "
        f"JOIN {MEMBERS} m ON m.corpus_id = ar.corpus_id AND m.user_id = x.annotator_id "
        f"UNION {_pg_submitters('SELECT unnest(arts)')}"
    )
    + f"""  UPDATE {MC} mc SET tags = mc.tags + d.n
  FROM (SELECT m.id AS membership_id, SUM(u.sg) AS n
        FROM unnest(ids, arts, signs) AS u(c, a, sg)
        JOIN articles_annotation x ON x.claim_id = u.c
        JOIN articles_article ar ON ar.id = u.a
        JOIN {MEMBERS} m ON m.corpus_id = ar.corpus_id AND m.user_id = x.annotator_id
        WHERE {_not_submitted("u.a", "x.annotator_id")}
        GROUP BY m.id) d
  WHERE mc.membership_id = d.membership_id AND d.n <> 0;
"""
)

# aa_counts_annotation (annotations arriving on / leaving claims: ids, users, signs); after the
# ArticleCounts rows are locked, before they change.
_LIVE_CLAIM_OF = (
    "JOIN articles_claim cl ON cl.id = u.c AND cl.deleted_at IS NULL "
    "JOIN articles_article ar ON ar.id = cl.article_id "
    f"JOIN {MEMBERS} m ON m.corpus_id = ar.corpus_id AND m.user_id = u.usr"
)
PG_ANNOTATION = (
    _pg_lock(
        f"SELECT m.id FROM unnest(ids, users) AS u(c, usr) {_LIVE_CLAIM_OF} "
        "UNION "
        + _pg_submitters(
            "SELECT article_id FROM articles_claim WHERE id = ANY(ids) AND deleted_at IS NULL"
        )
    )
    + f"""  UPDATE {MC} mc SET tags = mc.tags + d.n
  FROM (SELECT m.id AS membership_id, SUM(u.sg) AS n
        FROM unnest(ids, users, signs) AS u(c, usr, sg) {_LIVE_CLAIM_OF}
        WHERE {_not_submitted("cl.article_id", "u.usr")}
        GROUP BY m.id) d
  WHERE mc.membership_id = d.membership_id AND d.n <> 0;
"""
)


def pg_fanout(delta: str) -> str:
    """aa_counts_articlecounts: the change of each article's counters (`delta`, an SQL relation
    of article_id and the SUMMED fields) to the sums of the members who submitted it, if live;
    before the CorpusCounts rows."""
    targets = (
        f"FROM ({delta}) d JOIN articles_article ar ON ar.id = d.article_id "
        f"AND ar.deleted_at IS NULL "
        f"JOIN articles_assignment s ON s.article_id = d.article_id AND s.state = 'submitted' "
        f"JOIN {MEMBERS} m ON m.corpus_id = ar.corpus_id AND m.user_id = s.annotator_id"
    )
    return _pg_lock(f"SELECT m.id {targets}") + (
        f"  UPDATE {MC} mc SET {', '.join(f'sub_{f} = mc.sub_{f} + t.{f}' for f in SUMMED)}\n"
        f"  FROM (SELECT m.id AS membership_id, {', '.join(f'SUM(d.{f}) AS {f}' for f in SUMMED)}"
        f" {targets} GROUP BY m.id) t\n"
        f"  WHERE mc.membership_id = t.membership_id;\n"
    )


def pg_fanout_delta(op: str) -> str:
    if op == "INSERT":
        return f"SELECT article_id, {', '.join(SUMMED)} FROM new_rows"
    if op == "DELETE":
        return f"SELECT article_id, {', '.join(f'-{f} AS {f}' for f in SUMMED)} FROM old_rows"
    return (
        f"SELECT n.article_id, {', '.join(f'n.{f} - o.{f} AS {f}' for f in SUMMED)} "
        f"FROM new_rows n JOIN old_rows o USING (article_id) "
        f"WHERE {' OR '.join(f'n.{f} <> o.{f}' for f in SUMMED)}"
    )


_CHANGED_MEMBERSHIPS = (
    "(SELECT n.id, n.corpus_id, n.user_id FROM old_rows o JOIN new_rows n USING (id) "
    "WHERE o.corpus_id <> n.corpus_id OR o.user_id <> n.user_id)"
)


def pg_membership(unless_deferred: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION aa_counts_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{unless_deferred}  IF TG_OP = 'INSERT' THEN
    {insert_from_rows("new_rows")};
  ELSE
    DELETE FROM {MC} WHERE membership_id IN (SELECT id FROM {_CHANGED_MEMBERSHIPS} changed);
    {insert_from_rows(_CHANGED_MEMBERSHIPS)};
  END IF;
  RETURN NULL;
END $$;
"""


# --- SQLite: statements added to counters.py's row-level triggers ------------------------------

_LIVE = "(SELECT a.deleted_at IS NULL FROM articles_article a WHERE a.id = {row}.article_id)"


def sqlite_assignment(row: str, sign: str) -> str:
    """An assignment row arriving (+) or leaving (-); before the ArticleCounts update."""
    live = _LIVE.format(row=row)
    counted = f"({row}.state = 'submitted' AND {live})"
    other = "-" if sign == "+" else "+"
    mine = (
        "(SELECT COUNT(*) FROM articles_claim c JOIN articles_annotation x ON x.claim_id = c.id "
        f"WHERE c.article_id = {row}.article_id AND c.deleted_at IS NULL "
        f"AND x.annotator_id = {row}.annotator_id)"
    )
    sums = ", ".join(
        f"sub_{f} = sub_{f} {sign} {counted} * "
        f"COALESCE((SELECT {f} FROM {AC} WHERE article_id = {row}.article_id), 0)"
        for f in SUMMED
    )
    return (
        f"UPDATE {MC} SET assigned = assigned {sign} {live}, submitted = submitted {sign} "
        f"{counted}, tags = tags {other} ({row}.state = 'submitted') * {mine}, {sums} "
        f"WHERE membership_id = (SELECT m.id FROM {MEMBERS} m JOIN articles_article a "
        f"ON a.corpus_id = m.corpus_id WHERE a.id = {row}.article_id "
        f"AND m.user_id = {row}.annotator_id);"
    )


def sqlite_fanout(row: str, deltas: dict[str, str], where: str = "1") -> str:
    """An article's counters changed by `deltas` ({field: SQL}): the sums of those who
    submitted it, if live; before the CorpusCounts update."""
    sets = ", ".join(f"sub_{f} = sub_{f} + ({deltas[f]})" for f in SUMMED)
    return (
        f"UPDATE {MC} SET {sets} WHERE membership_id IN (SELECT m.id FROM articles_assignment s "
        f"JOIN articles_article a ON a.id = s.article_id "
        f"JOIN {MEMBERS} m ON m.corpus_id = a.corpus_id AND m.user_id = s.annotator_id "
        f"WHERE s.article_id = {row}.article_id AND s.state = 'submitted' "
        f"AND a.deleted_at IS NULL) AND ({where});"
    )


def sqlite_article(row: str, sign: str) -> str:
    """A live article leaving (-) or arriving in (+) its corpus: the figures of everyone
    assigned to it; before the CorpusCounts update."""
    state = (
        f"(SELECT s.state = 'submitted' FROM articles_assignment s JOIN {MEMBERS} m "
        f"ON m.user_id = s.annotator_id WHERE m.id = {MC}.membership_id "
        f"AND s.article_id = {row}.id)"
    )
    sums = ", ".join(
        f"sub_{f} = sub_{f} {sign} {state} * "
        f"COALESCE((SELECT {f} FROM {AC} WHERE article_id = {row}.id), 0)"
        for f in SUMMED
    )
    return (
        f"UPDATE {MC} SET assigned = assigned {sign} 1, submitted = submitted {sign} {state}, "
        f"{sums} WHERE membership_id IN (SELECT m.id FROM articles_assignment s "
        f"JOIN {MEMBERS} m ON m.user_id = s.annotator_id AND m.corpus_id = {row}.corpus_id "
        f"WHERE s.article_id = {row}.id) AND {row}.deleted_at IS NULL;"
    )


def sqlite_claim(row: str, sign: str, where: str) -> str:
    """A claim leaving (-) or arriving among (+) the live ones: its annotators' tags."""
    return (
        f"UPDATE {MC} SET tags = tags {sign} 1 WHERE membership_id IN (SELECT m.id "
        f"FROM articles_annotation x JOIN articles_article a ON a.id = {row}.article_id "
        f"JOIN {MEMBERS} m ON m.corpus_id = a.corpus_id AND m.user_id = x.annotator_id "
        f"WHERE x.claim_id = {row}.id "
        f"AND {_not_submitted(f'{row}.article_id', 'x.annotator_id')}) AND ({where});"
    )


def sqlite_annotation(row: str, sign: str) -> str:
    """An annotation arriving (+) or leaving (-): its annotator's tags."""
    return (
        f"UPDATE {MC} SET tags = tags {sign} 1 WHERE membership_id = (SELECT m.id "
        f"FROM articles_claim c JOIN articles_article a ON a.id = c.article_id "
        f"JOIN {MEMBERS} m ON m.corpus_id = a.corpus_id AND m.user_id = {row}.annotator_id "
        f"WHERE c.id = {row}.claim_id AND c.deleted_at IS NULL "
        f"AND {_not_submitted('c.article_id', f'{row}.annotator_id')});"
    )


_NEW_MEMBERSHIP = "(SELECT NEW.id AS id, NEW.corpus_id AS corpus_id, NEW.user_id AS user_id)"
SQLITE_MEMBERSHIP = {
    "membership_insert": (f"AFTER INSERT ON {MEMBERS}", insert_from_rows(_NEW_MEMBERSHIP) + ";"),
    "membership_update": (
        f"AFTER UPDATE OF corpus_id, user_id ON {MEMBERS} "
        "WHEN OLD.corpus_id <> NEW.corpus_id OR OLD.user_id <> NEW.user_id",
        f"DELETE FROM {MC} WHERE membership_id = NEW.id;" + insert_from_rows(_NEW_MEMBERSHIP) + ";",
    ),
}


# --- New articles counted at once (counters.deferred) ------------------------------------------


def count_new_articles(
    cursor,
    ids: str,
    param,
    articles: dict[int, tuple[int, bool]],
    counted: dict[int, tuple],
    figures: dict[tuple[int, int], list[int]],
) -> None:
    """Add the new articles (`ids`, an SQL set taking `param` once; `articles`: their corpus and
    whether live; `counted`: their ArticleCounts rows, COUNTED_FIELDS in order) to `figures`,
    {(corpus, user): MEMBER_FIELDS}, which add_figures then adds to the members' rows.

    Read as plain rows, one table (or the claims with their annotations) at a time, and added up
    here: right after a bulk write the planner has no statistics of the new rows, and a join of
    the new claims' annotations with the members and their assignments in one statement went
    wrong (nested loops over an annotator's every annotation: 20 s for 3,000 articles, where
    these reads take milliseconds). Nobody else can see or change the new articles' rows before
    the writer commits, so figures added from them are exact."""

    def rows(sql: str) -> list[tuple]:
        cursor.execute(sql.replace("{ids}", ids), [param])
        return cursor.fetchall()

    assignments: dict[int, list[tuple[int, bool]]] = {}
    for article, user, state in rows(
        "SELECT article_id, annotator_id, state FROM articles_assignment WHERE article_id IN {ids}"
    ):
        assignments.setdefault(article, []).append((user, state == "submitted"))
    annotations: dict[int, list[tuple[int, int]]] = {}
    for article, user, n in rows(
        "SELECT c.article_id, x.annotator_id, COUNT(*) FROM articles_annotation x "
        "JOIN articles_claim c ON c.id = x.claim_id "
        "WHERE c.article_id IN {ids} AND c.deleted_at IS NULL GROUP BY c.article_id, x.annotator_id"
    ):
        annotations.setdefault(article, []).append((user, n))
    for article, (corpus, live) in articles.items():
        add_new_article(
            figures,
            corpus,
            live,
            counted.get(article, ()),
            assignments.get(article, ()),
            annotations.get(article, ()),
        )


def add_new_article(
    figures: dict[tuple[int, int], list[int]],
    corpus: int,
    live: bool,
    counted: Sequence[int],
    assignments: Iterable[tuple[int, bool]],
    annotations: Iterable[tuple[int, int]],
) -> None:
    """One new article's share of its members' figures, added to `figures`: `counted`, its
    ArticleCounts values (COUNTED_FIELDS); `assignments`, (user, submitted); `annotations`,
    (annotator, how many) on its live claims."""
    sums = counted[1:]  # every field but claims
    submitters = set()

    def of(user: int) -> list[int]:
        return figures.setdefault((corpus, user), [0] * len(MEMBER_FIELDS))

    for user, submitted in assignments:
        if submitted:
            submitters.add(user)
        if not live:
            continue
        mine = of(user)
        mine[0] += 1
        if submitted:
            mine[1] += 1
            for index, value in enumerate(sums):
                mine[3 + index] += value
    for user, n in annotations:
        if user not in submitters:
            of(user)[2] += n


def add_figures(cursor, vendor: str, figures: dict[tuple[int, int], list[int]]) -> None:
    """Add `figures` ({(corpus, user): MEMBER_FIELDS}) to the members' rows: the rows locked
    in membership order and changed by SQL arithmetic, as everywhere else."""
    if not figures:
        return
    corpora = sorted({corpus for corpus, _user in figures})
    marks = ", ".join("%s" for _ in corpora)
    cursor.execute(
        f"SELECT id, corpus_id, user_id FROM {MEMBERS} WHERE corpus_id IN ({marks})", corpora
    )
    membership = {(corpus, user): pk for pk, corpus, user in cursor.fetchall()}
    changes = sorted(
        (membership[key], values)
        for key, values in figures.items()
        if key in membership and any(values)
    )
    if not changes:
        return
    if vendor == "postgresql":
        cursor.execute(
            f"SELECT 1 FROM {MC} WHERE membership_id = ANY(%s) ORDER BY membership_id FOR UPDATE",
            [[pk for pk, _values in changes]],
        )
    sets = ", ".join(f"{f} = {f} + %s" for f in MEMBER_FIELDS)
    cursor.executemany(
        f"UPDATE {MC} SET {sets} WHERE membership_id = %s",
        [[*values, pk] for pk, values in changes],
    )


def insert_missing(cursor) -> None:
    """Rows for the memberships that have none (created while the triggers stood aside)."""
    cursor.execute(
        insert_from_rows(
            f"(SELECT id, corpus_id, user_id FROM {MEMBERS} mm "
            f"WHERE NOT EXISTS (SELECT 1 FROM {MC} WHERE membership_id = mm.id))"
        )
    )
