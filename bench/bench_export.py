"""Benchmark: streamed corpus export (five formats) against PostgreSQL's own COPY, and import.

Seeds its own PostgreSQL database (`aa_bench_export`, created when missing; `--reseed` starts
afresh) with two corpora built by INSERT ... SELECT generate_series (about a minute):

- `bench-100k`:  2,000 articles x 25 claims x 2 annotations =   100,000 annotations
- `bench-1m`:   20,000 articles x 25 claims x 2 annotations = 1,000,000 annotations

plus evidence (1 annotation in 4: spans and outside sources), relations (12 per article),
reviews (1 claim in 5) and comments (1 claim in 10). Article texts are ~2,600 characters with
emoji, CJK and accented letters.

Then, each in a fresh subprocess (so that its peak RSS is the export's own), for both corpora:
- every export format, through the real API view (`CorpusExportView`, production settings),
  reading the whole stream: time, bytes, annotations/s, MB/s, time to the first chunk, and the
  process's peak RSS and its growth over the RSS just before the export started;
- `COPY (SELECT ... the CSV export's rows ...) TO STDOUT (FORMAT csv)` read through psycopg,
  the same rows (one per annotation, joined to claim, article, users, topic and review) in the
  same order, and one COPY per table of the rows the JSONL export reads, through psycopg;
- one `psql` process running `COPY ... TO STDOUT` of every table the JSONL export reads (whole
  rows of the corpus's id range in each), less the start-up of the same `psql` running
  `SELECT 1` (issue 17's reference);
and finally the JSONL import of a 200-article slice (10,000 annotations) into a new corpus.
Prints the machine, the data size and a Markdown table with ratios against COPY.

    .venv/bin/python bench/bench_export.py [--reseed] [--formats jsonl,csv]
        [--sizes 100k,1m,workload] [--reference OTHER_CHECKOUT] [--profile] [--no-import]
        [--http RUNS]

`--sizes workload` adds issue 17's corpus (1,000 documents of about 800 words, 20 spans each,
imported by the app); `--http RUNS` also times each export through gunicorn, alternating with
the reference's.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import re
import resource
import secrets
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the interpreter running this script (the project's venv)
SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
# BENCH_EXPORT_DATABASE names another database, for runs side by side on one server.
DATABASE = os.environ.get("BENCH_EXPORT_DATABASE", "aa_bench_export")
FORMATS = ("jsonl", "w3c", "brat", "csv", "aif")
CORPORA = {"100k": ("bench-100k", 2_000), "1m": ("bench-1m", 20_000)}
# Issue 17's corpus ("export of everything": 1,000 documents of about 800 words, 20 spans each
# with one annotation; 19.9 MB of JSONL), seeded through the app's import (`--sizes workload`).
WORKLOAD = ("bench-workload", 1_000)
SIZES = {**CORPORA, "workload": WORKLOAD}
CLAIMS_PER_ARTICLE = 25
CLAIM_STEP = 100  # a claim every 100 code points ...
CLAIM_LENGTH = 60  # ... 60 code points long
ANNOTATORS = 20
IMPORT_SLICE = 200  # articles

PARAGRAPH = (
    "Restricting chip exports is shortsighted, say the critics 🚀. The lab trained its model "
    "on low-end chips bought in Zürich and 北京 before the rules changed. Officials in 東京 "
    "expect a naïve reading of the data to mislead. Prices rose by 12% in a single quarter "
    "while the café owners next door shrugged. "
)
TEXT = unicodedata.normalize("NFC", (PARAGRAPH * 10)[:2600])

COPY_SQL = """
COPY (
  SELECT ar.id, ar.title, c.id, c.start, c."end", c.exact, c.summary, c.labels,
         cu.username, a.id, au.username, t.label, a.stance, a.labels, a.confidence, a.note,
         a.status, a.created_at, a.updated_at, r.decision, rt.label, r.stance, ru.username,
         r.note
  FROM articles_annotation a
  JOIN articles_claim c ON c.id = a.claim_id
  JOIN articles_article ar ON ar.id = c.article_id
  JOIN auth_user au ON au.id = a.annotator_id
  JOIN auth_user cu ON cu.id = c.created_by_id
  JOIN articles_topic t ON t.id = a.topic_id
  LEFT JOIN articles_review r ON r.claim_id = c.id
  LEFT JOIN articles_topic rt ON rt.id = r.topic_id
  LEFT JOIN auth_user ru ON ru.id = r.curator_id
  WHERE ar.corpus_id = {corpus} AND ar.deleted_at IS NULL AND c.deleted_at IS NULL
  ORDER BY ar.id, c.start, c."end" DESC, c.id, au.username
) TO STDOUT WITH (FORMAT csv)
"""


# The same rows the export reads, table by table: everything a JSONL line carries.
_CORPUS_ARTICLES = (
    "SELECT id FROM articles_article WHERE corpus_id = {corpus} AND deleted_at IS NULL"
)
_CORPUS_CLAIMS = (
    "SELECT id FROM articles_claim WHERE deleted_at IS NULL AND article_id IN ("
    + _CORPUS_ARTICLES
    + ")"
)
TABLE_COPIES = [
    "SELECT id, title, text, author, source_url, published_on, language, created_at, updated_at "
    "FROM articles_article WHERE id IN (" + _CORPUS_ARTICLES + ") ORDER BY id",
    'SELECT article_id, id, start, "end", exact, prefix, suffix, summary, labels, created_by_id, '
    "created_at, updated_at FROM articles_claim WHERE id IN (" + _CORPUS_CLAIMS + ") "
    'ORDER BY article_id, start, "end" DESC, id',
    "SELECT claim_id, id, annotator_id, topic_id, stance, labels, confidence, note, status, "
    "created_at, updated_at FROM articles_annotation WHERE claim_id IN (" + _CORPUS_CLAIMS + ") "
    "ORDER BY claim_id, annotator_id",
    'SELECT e.annotation_id, e.kind, e.start, e."end", e.exact, e.url, e.title, e.quote, '
    "e.evidence_type, e.role FROM articles_evidence e JOIN articles_annotation n ON n.id = "
    "e.annotation_id WHERE n.claim_id IN (" + _CORPUS_CLAIMS + ") ORDER BY e.annotation_id, "
    "e.position",
    "SELECT claim_id, curator_id, decision, topic_id, stance, note, created_at, updated_at "
    "FROM articles_review WHERE claim_id IN (" + _CORPUS_CLAIMS + ")",
    "SELECT claim_id, id, author_id, text, created_at FROM articles_comment WHERE claim_id IN ("
    + _CORPUS_CLAIMS
    + ") ORDER BY claim_id, created_at",
    "SELECT id, source_claim_id, target_claim_id, kind, created_by_id, created_at FROM "
    "articles_relation WHERE source_claim_id IN (" + _CORPUS_CLAIMS + ") ORDER BY id",
]


def database_url() -> str:
    return f"{SERVER}/{DATABASE}"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url(),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="annotator.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


# --- Seeding (SQL only: fast) ----------------------------------------------------------------


def ensure_database(reseed: bool) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if exists and reseed:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=child_env(),
        check=True,
    )


def seed(conn, slug: str, articles: int) -> bool:
    """One corpus of `articles` articles, 25 claims each, 2 annotations per claim (unless it is
    there already); returns whether it seeded."""
    if conn.execute("SELECT 1 FROM articles_corpus WHERE slug = %s", [slug]).fetchone():
        return False
    started = time.perf_counter()
    conn.execute("SET synchronous_commit = off")
    owner = conn.execute("SELECT id FROM auth_user WHERE username = 'bench_owner'").fetchone()[0]
    curator = conn.execute("SELECT id FROM auth_user WHERE username = 'bench_curator'").fetchone()
    annotators = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM auth_user WHERE username LIKE 'bench_annotator_%%' ORDER BY username"
        )
    ]
    corpus = conn.execute(
        "INSERT INTO articles_corpus (slug, name, description, blind, claim_labels, "
        "created_by_id, created_at, updated_at, version) VALUES "
        "(%s, %s, '', false, '[]', %s, now(), now(), 1) RETURNING id",
        [slug, f"Benchmark {slug}", owner],
    ).fetchone()[0]
    topic = conn.execute(
        "INSERT INTO articles_topic (corpus_id, label, description, position, created_at, "
        "version) VALUES (%s, 'US export controls on AI chips are effective', '', 0, now(), 1) "
        "RETURNING id",
        [corpus],
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO articles_membership (corpus_id, user_id, role, created_at) "
        "SELECT %s, id, CASE WHEN id = %s THEN 'owner' WHEN id = %s THEN 'curator' "
        "ELSE 'annotator' END, now() FROM auth_user WHERE username LIKE 'bench_%%'",
        [corpus, owner, curator[0]],
    )
    sha = hashlib.sha256(TEXT.encode()).hexdigest()
    conn.execute(
        "INSERT INTO articles_article (corpus_id, title, text, author, source_url, language, "
        "text_sha256, created_by_id, created_at, updated_at, version, text_version) "
        "SELECT %s, 'Op-ed number ' || g || ': chips, controls and 北京', %s, 'A. Writer', "
        "'https://example.org/op-ed/' || g, 'en', %s, %s, now(), now(), 1, 1 "
        "FROM generate_series(1, %s) g",
        [corpus, TEXT, sha, owner, articles],
    )
    conn.execute(
        'INSERT INTO articles_claim (article_id, start, "end", exact, prefix, suffix, summary, '
        "labels, created_by_id, created_at, updated_at, version, anchor_status, anchor_score, "
        "anchor_version) "
        "SELECT a.id, k * %(step)s, k * %(step)s + %(len)s, "
        "substr(a.text, k * %(step)s + 1, %(len)s), "
        "substr(a.text, greatest(1, k * %(step)s + 1 - 32), least(32, k * %(step)s)), "
        "substr(a.text, k * %(step)s + %(len)s + 1, 32), "
        "CASE WHEN k %% 7 = 0 THEN 'A paraphrase of claim ' || k ELSE '' END, "
        "CASE WHEN k = 0 THEN '[\"MajorClaim\"]'::jsonb ELSE '[\"Claim\"]'::jsonb END, "
        "%(owner)s, now(), now(), 1, 'exact', 1.0, 1 "
        "FROM articles_article a CROSS JOIN generate_series(0, %(claims)s - 1) k "
        "WHERE a.corpus_id = %(corpus)s ORDER BY a.id, k",
        {
            "step": CLAIM_STEP,
            "len": CLAIM_LENGTH,
            "owner": owner,
            "claims": CLAIMS_PER_ARTICLE,
            "corpus": corpus,
        },
    )
    conn.execute(
        "INSERT INTO articles_annotation (claim_id, annotator_id, topic_id, stance, labels, "
        "confidence, note, status, created_at, updated_at, version, second_look) "
        "SELECT c.id, (%(users)s::bigint[])[1 + ((c.id + j) %% %(n)s)], %(topic)s, "
        "(ARRAY['support','oppose','neutral'])[1 + ((c.id + j) %% 3)], '[\"economics\"]', "
        "1 + (c.id %% 5), CASE WHEN j = 0 THEN '=note ' || c.id ELSE '' END, "
        "CASE WHEN c.id %% 2 = 0 THEN 'submitted' ELSE 'draft' END, now(), now(), 1, false "
        "FROM articles_claim c JOIN articles_article a ON a.id = c.article_id "
        "CROSS JOIN generate_series(0, 1) j WHERE a.corpus_id = %(corpus)s ORDER BY c.id, j",
        {"users": annotators, "n": len(annotators), "topic": topic, "corpus": corpus},
    )
    conn.execute(
        'INSERT INTO articles_evidence (annotation_id, kind, start, "end", exact, url, title, '
        "quote, evidence_type, role, position, anchor_status, anchor_score, anchor_version) "
        "SELECT an.id, 'span', c.start + 65, c.start + 95, substr(a.text, c.start + 66, 30), "
        "'', '', '', 'example', 'supports', 0, 'exact', 1.0, 1 "
        "FROM articles_annotation an JOIN articles_claim c ON c.id = an.claim_id "
        "JOIN articles_article a ON a.id = c.article_id "
        "WHERE a.corpus_id = %(corpus)s AND an.id %% 8 = 0 "
        "UNION ALL "
        "SELECT an.id, 'source', NULL, NULL, '', 'https://example.org/report/' || an.id, "
        "'A report', 'Prices rose by 12%%', 'statistic', 'undermines', 0, 'exact', 1.0, 1 "
        "FROM articles_annotation an JOIN articles_claim c ON c.id = an.claim_id "
        "JOIN articles_article a ON a.id = c.article_id "
        "WHERE a.corpus_id = %(corpus)s AND an.id %% 8 = 4",
        {"corpus": corpus},
    )
    conn.execute(
        "INSERT INTO articles_relation (source_claim_id, target_claim_id, kind, created_by_id, "
        "created_at) "
        "SELECT c1.id, c2.id, (ARRAY['supports','attacks','rephrases'])[1 + (c1.start / %s) %% 3], "
        "%s, now() FROM articles_claim c1 "
        "JOIN articles_claim c2 ON c2.article_id = c1.article_id AND c2.start = c1.start - %s "
        "JOIN articles_article a ON a.id = c1.article_id "
        "WHERE a.corpus_id = %s AND (c1.start / %s) %% 2 = 1",
        [CLAIM_STEP, owner, CLAIM_STEP, corpus, CLAIM_STEP],
    )
    conn.execute(
        "INSERT INTO articles_review (claim_id, curator_id, decision, topic_id, stance, note, "
        "created_at, updated_at, version) "
        "SELECT c.id, %s, CASE WHEN c.id %% 2 = 0 THEN 'accepted' ELSE 'rejected' END, "
        "CASE WHEN c.id %% 2 = 0 THEN %s END, CASE WHEN c.id %% 2 = 0 THEN 'oppose' ELSE '' END, "
        "'', now(), now(), 1 FROM articles_claim c JOIN articles_article a ON a.id = c.article_id "
        "WHERE a.corpus_id = %s AND (c.start / %s) %% 5 = 0",
        [curator[0], topic, corpus, CLAIM_STEP],
    )
    conn.execute(
        "INSERT INTO articles_comment (claim_id, author_id, text, created_at) "
        "SELECT c.id, %s, 'I read this one as opposing; see paragraph ' || c.id, now() "
        "FROM articles_claim c JOIN articles_article a ON a.id = c.article_id "
        "WHERE a.corpus_id = %s AND (c.start / %s) %% 10 = 3",
        [curator[0], corpus, CLAIM_STEP],
    )
    conn.execute(
        "INSERT INTO articles_claimgroup (corpus_id, label, description, created_by_id, "
        "created_at, updated_at, version) "
        "SELECT %s, 'Export controls work, group ' || g, '', %s, now(), now(), 1 "
        "FROM generate_series(0, (%s - 1) / 10) g ORDER BY g",
        [corpus, owner, articles],
    )
    conn.execute(
        "INSERT INTO articles_claimgroupmember (group_id, claim_id, added_by_id, added_at) "
        "SELECT g.id, c.id, %(owner)s, now() FROM articles_claim c "
        "JOIN articles_article a ON a.id = c.article_id "
        "JOIN articles_claimgroup g ON g.corpus_id = %(corpus)s "
        "AND g.label = 'Export controls work, group ' || ((a.id - %(first)s) / 10) "
        "WHERE a.corpus_id = %(corpus)s AND c.start = 0",
        {
            "owner": owner,
            "corpus": corpus,
            "first": conn.execute(
                "SELECT min(id) FROM articles_article WHERE corpus_id = %s", [corpus]
            ).fetchone()[0],
        },
    )
    conn.commit()
    print(f"seeded {slug} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return True


def seed_all(reseed: bool, sizes: list[str]) -> None:
    """Seed the corpora of `sizes` that are missing (the import's slice always needs 100k)."""
    import psycopg

    ensure_database(reseed)
    with psycopg.connect(database_url()) as conn:
        conn.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) "
            "SELECT '!', false, name, '', '', name || '@example.org', false, true, now() "
            "FROM unnest(%s::text[]) name ON CONFLICT (username) DO NOTHING",
            [
                ["bench_owner", "bench_curator"]
                + [f"bench_annotator_{i:02}" for i in range(ANNOTATORS)]
            ],
        )
        conn.commit()
        seeded = [
            seed(conn, slug, articles)
            for size, (slug, articles) in CORPORA.items()
            if size in sizes
        ]
        workload_missing = (
            "workload" in sizes
            and not conn.execute(
                "SELECT 1 FROM articles_corpus WHERE slug = %s", [WORKLOAD[0]]
            ).fetchone()
        )
    if workload_missing:
        run_child("seed_workload", WORKLOAD[0], str(WORKLOAD[1]))
        seeded.append(True)
    if any(seeded):
        with psycopg.connect(database_url(), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")


# --- Children: one measurement per process ---------------------------------------------------


def child_export(slug: str, export_format: str, check: str = "count") -> dict:
    """One export through the API view, read to its end. `check="count"` (the timed runs) only
    counts the bytes, as the COPY references' readers do; `"sha256"` also hashes them (the
    run that checks the bytes: 0.05 s of this process's CPU per 68 MB, which the timed runs
    would otherwise pay on the export's thread)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIRequestFactory, force_authenticate

    from articles.api.transfer import CorpusExportView

    owner = get_user_model().objects.get(username="bench_owner")
    request = APIRequestFactory().get(
        f"/api/v1/corpora/{slug}/export", {"format": export_format}, HTTP_HOST="localhost"
    )
    force_authenticate(request, user=owner)
    view = CorpusExportView.as_view()
    backend = _backend_cpu_reader()
    baseline = rss_kib()
    digest = hashlib.sha256() if check == "sha256" else None
    backend_before, cpu_before = backend(), time.process_time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    response = view(request, slug=slug)
    assert response.status_code == 200, response.status_code
    first = None
    size = 0
    for chunk in response.streaming_content:
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk)
        if digest is not None:
            digest.update(chunk)
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "bytes": size,
        "first_chunk": first,
        "baseline_kib": baseline,
        "peak_kib": peak_rss_kib(),
        "sha256": digest.hexdigest() if digest is not None else None,
        # CPU seconds of this process (the export's threads; hashing when asked) and of its
        # PostgreSQL backend: what the machine's load does not change much.
        "cpu": time.process_time() - cpu_before,
        "backend_cpu": backend() - backend_before,
        # The export's second process (exports.parallel), reaped by now: its CPU and peak RSS.
        "child_cpu": _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - _cpu(children_before),
        "child_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def _cpu(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def _backend_cpu_reader():
    """A function answering the CPU seconds used so far by this process's PostgreSQL backend
    (read from /proc: the server runs on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    ticks = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    return used


def child_set_password(username: str, password: str) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    user.set_password(password)
    user.save(update_fields=["password"])
    return {}


def http_exports(slug: str, export_format: str, runs: int, reference: Path | None) -> list[str]:
    """The export through HTTP: gunicorn (one worker, production settings) on this checkout and
    on the reference, on this database, each asked `runs` times in turn (alternating, so that
    both see the same moments of a shared machine); the median and the fastest of each."""
    import contextlib
    import statistics

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import harness
    import requests

    password = secrets.token_urlsafe(12)
    run_child("set_password", "bench_owner", password)
    checkouts = [("this checkout", ROOT)] + (
        [("reference", reference.resolve())] if reference else []
    )
    sessions = {}
    with contextlib.ExitStack() as stack:
        for name, root in checkouts:
            harness.ROOT = root  # the checkout gunicorn runs
            env = harness.app_env(database_url(), API_THROTTLE_USER="1000000/minute")
            server = stack.enter_context(harness.Gunicorn(env, workers=1, threads=1, timeout=600))
            session = requests.Session()
            token = harness.api_token(server.url, "bench_owner", password)
            session.headers["Authorization"] = f"Token {token}"
            sessions[name] = (f"{server.url}/api/v1/corpora/{slug}/export", session)

        def once(name: str) -> float:
            url, session = sessions[name]
            started = time.perf_counter()
            with session.get(url, params={"format": export_format}, stream=True, timeout=600) as r:
                r.raise_for_status()
                for _ in r.iter_content(256 * 1024):
                    pass
            return time.perf_counter() - started

        first = {name: once(name) for name in sessions}  # each worker's first export
        seconds: dict[str, list[float]] = {name: [] for name in sessions}
        for turn in range(runs):
            for name in list(sessions)[:: 1 if turn % 2 else -1]:
                seconds[name].append(once(name))
    lines = [
        f"{slug} {export_format} through HTTP, {name}: first {first[name]:.3f} s, median "
        f"{statistics.median(taken):.3f} s, fastest {min(taken):.3f} s ({runs} runs)"
        for name, taken in seconds.items()
    ]
    if reference:
        ratio = statistics.median(seconds["this checkout"]) / statistics.median(
            seconds["reference"]
        )
        lines.append(f"{slug} {export_format} through HTTP: median time / reference's: {ratio:.2f}")
    return lines


def child_seed_workload(slug: str, documents: str) -> dict:
    """Issue 17's corpus (bench/workload.py's documents) imported by the app into `slug`."""
    import django

    django.setup()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import workload
    from django.contrib.auth import get_user_model

    from articles import services
    from articles.imports import import_file
    from articles.models import Corpus

    owner = get_user_model().objects.get(username="bench_owner")
    topic = "Export controls work"
    services.corpus_create(actor=owner, name=slug, slug=slug, topics=[{"label": topic}])
    body = workload.jsonl(
        workload.corpus(int(documents)), spans=True, annotator="bench_owner", topic=topic
    )
    corpus = Corpus.objects.get(slug=slug)
    result = import_file(actor=owner, corpus=corpus, role="owner", name="w.jsonl", data=body)
    return {"articles": result.articles, "annotations": result.annotations}


def child_copy(slug: str, kind: str) -> dict:
    """COPY ... TO STDOUT (FORMAT csv): `flat`, the CSV export's rows in one joined query, or
    `tables`, every row the JSONL export reads, one COPY per table."""
    import psycopg

    with psycopg.connect(database_url()) as conn:
        corpus = conn.execute("SELECT id FROM articles_corpus WHERE slug = %s", [slug]).fetchone()
        corpus_id = int(corpus[0])
        queries = (
            [COPY_SQL.format(corpus=corpus_id)]
            if kind == "flat"
            else [
                f"COPY ({q.format(corpus=corpus_id)}) TO STDOUT WITH (FORMAT csv)"
                for q in TABLE_COPIES
            ]
        )
        baseline = rss_kib()
        started = time.perf_counter()
        size, first = 0, None
        for query in queries:
            with conn.cursor() as cursor, cursor.copy(query) as copy:
                for block in copy:
                    if first is None:
                        first = time.perf_counter() - started
                    size += len(block)
        elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "bytes": size,
        "first_chunk": first,
        "baseline_kib": baseline,
        "peak_kib": peak_rss_kib(),
    }


# Every table the JSONL export reads, whole rows (`SELECT *`), for the psql reference: each
# corpus was seeded in bulk, so its rows fill one id range per table (`corpus_ranges`).
PSQL_TABLES = (
    "articles_article",
    "articles_claim",
    "articles_claimgroupmember",
    "articles_claimgroup",
    "articles_annotation",
    "articles_evidence",
    "articles_review",
    "articles_comment",
    "articles_relation",
    "articles_topic",
    "auth_user",
)
_CORPUS_ROWS = {
    "articles_article": "corpus_id = {corpus}",
    "articles_claim": "article_id IN (SELECT id FROM articles_article WHERE corpus_id = {corpus})",
    "articles_claimgroupmember": "group_id IN (SELECT id FROM articles_claimgroup "
    "WHERE corpus_id = {corpus})",
    "articles_claimgroup": "corpus_id = {corpus}",
    "articles_annotation": "claim_id IN (SELECT c.id FROM articles_claim c JOIN articles_article "
    "a ON a.id = c.article_id WHERE a.corpus_id = {corpus})",
    "articles_evidence": "annotation_id IN (SELECT n.id FROM articles_annotation n JOIN "
    "articles_claim c ON c.id = n.claim_id JOIN articles_article a ON a.id = c.article_id "
    "WHERE a.corpus_id = {corpus})",
    "articles_review": "claim_id IN (SELECT c.id FROM articles_claim c JOIN articles_article "
    "a ON a.id = c.article_id WHERE a.corpus_id = {corpus})",
    "articles_comment": "claim_id IN (SELECT c.id FROM articles_claim c JOIN articles_article "
    "a ON a.id = c.article_id WHERE a.corpus_id = {corpus})",
    "articles_relation": "source_claim_id IN (SELECT c.id FROM articles_claim c JOIN "
    "articles_article a ON a.id = c.article_id WHERE a.corpus_id = {corpus})",
    "articles_topic": "corpus_id = {corpus}",
}


def corpus_ranges(slug: str) -> dict[str, tuple[int, int, int]]:
    """Each table's id range for the corpus, with its row count; a range must hold the corpus's
    rows and nothing else (checked), so that copying it copies exactly what the export reads."""
    import psycopg

    ranges = {}
    with psycopg.connect(database_url()) as conn:
        corpus = conn.execute("SELECT id FROM articles_corpus WHERE slug = %s", [slug]).fetchone()
        for table, where in _CORPUS_ROWS.items():
            low, high, count = conn.execute(
                f"SELECT min(id), max(id), count(*) FROM {table} "
                f"WHERE {where.format(corpus=corpus[0])}"
            ).fetchone()
            in_range = conn.execute(
                f"SELECT count(*) FROM {table} WHERE id BETWEEN %s AND %s", [low, high]
            ).fetchone()[0]
            if in_range != count:
                raise SystemExit(f"{table}: the corpus's rows are not one id range; --reseed")
            ranges[table] = (low, high, count)
    return ranges


def psql_copy_script(ranges: dict[str, tuple[int, int, int]]) -> str:
    lines = []
    for table in PSQL_TABLES:
        if table in ranges:
            low, high, count = ranges[table]
            if not count:
                continue  # nothing of the corpus in it (the corpus has no evidence)
            lines.append(
                f"COPY (SELECT * FROM {table} WHERE id BETWEEN {low} AND {high}) TO STDOUT;"
            )
        else:  # the users: every one (a corpus names them by id)
            lines.append(f"COPY {table} TO STDOUT;")
    return "\n".join(lines) + "\n"


def psql_run(script: str) -> tuple[float, int]:
    """Run `script` in one psql process; its wall time and the bytes it wrote (read from a pipe
    in large blocks, as a client would)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database_url(), "-f", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(script.encode())
    process.stdin.close()
    size = 0
    while block := process.stdout.read(1 << 20):
        size += len(block)
    if process.wait() != 0:
        raise SystemExit(f"psql failed on:\n{script}")
    return time.perf_counter() - started, size


def psql_copy(slug: str, repeat: int) -> dict:
    """PostgreSQL's own COPY of every table the export reads, in one psql process, less that
    process's start-up (`psql -c 'select 1'`, measured beside it): the fastest of `repeat` runs
    of each."""
    script = psql_copy_script(corpus_ranges(slug))
    startup = min(psql_run("SELECT 1;\n")[0] for _ in range(max(repeat, 3)))
    runs = [psql_run(script) for _ in range(max(repeat, 1))]
    seconds, size = min(runs)
    return {
        "seconds": seconds - startup,
        "raw_seconds": seconds,
        "startup_seconds": startup,
        "bytes": size,
        "first_chunk": None,
        "baseline_kib": 0,
        "peak_kib": 0,
    }


def child_import(slug: str) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from articles import exports, imports, services
    from articles.models import Article, Corpus, Membership, Role

    owner = get_user_model().objects.get(username="bench_owner")
    source = Corpus.objects.get(slug=slug)
    ids = list(
        Article.objects.filter(corpus=source)
        .order_by("id")
        .values_list("id", flat=True)[:IMPORT_SLICE]
    )
    spec = exports.parse_export_params(
        source, {"format": ["jsonl"], "article": [",".join(map(str, ids))]}
    )
    data = b"".join(exports.stream(spec))
    Corpus.objects.filter(slug="bench-import").delete()
    target = services.corpus_create(actor=owner, name="Import target", slug="bench-import")
    # The import names people who must be members (annotators, the curator) of the target.
    Membership.objects.bulk_create(
        Membership(corpus=target, user=member.user, role=member.role)
        for member in Membership.objects.filter(corpus=source).exclude(user=owner)
    )
    baseline = rss_kib()
    started = time.perf_counter()
    result = imports.import_file(
        actor=owner, corpus=target, role=Role.OWNER, name="slice.jsonl", data=data
    )
    elapsed = time.perf_counter() - started
    Corpus.objects.filter(pk=target.pk).delete()
    return {
        "seconds": elapsed,
        "bytes": len(data),
        "lines": result.articles,
        "annotations": result.annotations,
        "claims": result.claims,
        "baseline_kib": baseline,
        "peak_kib": peak_rss_kib(),
    }


def child_profile(slug: str, export_format: str) -> dict:
    """Where an export's time goes, in one process without the API view: the reader's queries
    alone (on this thread, each query timed), the rows read and assembled into `ArticleRow`s
    (no writing), the whole export, and cProfile's top functions of the whole export (the
    writer's thread; the reader thread's share shows as waits on its queue)."""
    import cProfile
    import io
    import pstats

    import django

    django.setup()
    from django.db import connection

    from articles import exports
    from articles.exports import reader as reader_module
    from articles.exports.sql import runner
    from articles.models import Corpus

    corpus = Corpus.objects.get(slug=slug)
    spec = exports.parse_export_params(corpus, {"format": [export_format]})
    timings: dict[str, float] = {}

    def timed(name, work):
        started = time.perf_counter()
        result = work()
        timings[name] = time.perf_counter() - started
        return result

    def queries_only():
        connection.ensure_connection()
        connection.force_debug_cursor = True
        connection.queries_log.clear()
        run = runner(connection)
        rows = 0
        for raw in reader_module._read_batches(
            corpus,
            spec.filters,
            reader_module._Names(),
            run,
            spec.format.parts,
            reader_module.ARTICLES_PER_BATCH,
            reader_module.BYTES_PER_BATCH,
        ):
            rows += sum(len(getattr(raw, field.name)) for field in dataclasses.fields(raw))
        by_kind: dict[str, float] = {}
        for query in connection.queries_log:
            found = re.search(r'FROM "(\w+)"', query["sql"])
            table = found.group(1) if found else "?"
            by_kind[table] = by_kind.get(table, 0.0) + float(query["time"])
        connection.force_debug_cursor = False
        return rows, by_kind, len(connection.queries_log)

    def assembled():
        count = 0
        for _ in exports.read_articles(corpus, spec.filters, parts=spec.format.parts):
            count += 1
        return count

    def whole():
        return sum(len(chunk) for chunk in exports.stream(spec))

    rows, by_table, queries = timed("queries alone (no thread)", queries_only)
    timed("read and assembled (no writing)", assembled)
    size = timed("whole export", whole)
    profiler = cProfile.Profile()
    profiler.enable()
    whole()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    return {
        "timings": timings,
        "rows": rows,
        "queries": queries,
        "query_seconds_by_table": by_table,
        "bytes": size,
        "profile": out.getvalue(),
    }


DATABASE_WENT_AWAY = ("shutting down", "terminating connection", "connection failed")


def run_child(*args: str, attempts: int = 3, root: Path = ROOT) -> dict:
    """Measure in a fresh process, on the code of the checkout `root` (this one, or the
    reference of `--reference`). PostgreSQL is shared on a development machine (someone may
    restart it): a run that lost its connection is retried after a pause."""
    for attempt in range(1, attempts + 1):
        completed = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "--child", *args],
            cwd=root,
            env=child_env(),
            capture_output=True,
            text=True,
        )
        if completed.returncode == 0:
            return json.loads(completed.stdout.strip().splitlines()[-1])
        lost = any(text in completed.stderr for text in DATABASE_WENT_AWAY)
        if not lost or attempt == attempts:
            raise SystemExit(f"child {args} failed:\n{completed.stderr[-3000:]}")
        print(f"  {args}: the database went away; retrying in 15 s", file=sys.stderr)
        time.sleep(15)
    raise AssertionError("unreachable")


def best_of(repeat: int, *args: str, root: Path = ROOT) -> dict:
    """The fastest of `repeat` runs (the machine is shared: the minimum is the least noisy),
    with the highest peak memory seen. An export is then run once more, untimed, to hash its
    bytes (`child_export`)."""
    results = [run_child(*args, root=root) for _ in range(max(repeat, 1))]
    best = min(results, key=lambda r: r["seconds"])
    best = {**best, "peak_kib": max(r["peak_kib"] for r in results)}
    if args[0] == "export":
        best["sha256"] = run_child(*args, "sha256", root=root)["sha256"]
    return best


# --- Report ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ram = next(
        int(line.split()[1]) / 1024 / 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    import psycopg

    with psycopg.connect(database_url()) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram:.1f} GiB RAM; Python {platform.python_version()}, "
        f"PostgreSQL {version} on the same machine"
    )


def data_size() -> list[str]:
    import psycopg

    lines = []
    with psycopg.connect(database_url()) as conn:
        for _, (slug, _) in SIZES.items():
            row = conn.execute(
                "SELECT (SELECT count(*) FROM articles_article a JOIN articles_corpus k "
                "ON k.id = a.corpus_id WHERE k.slug = %(s)s), "
                "(SELECT count(*) FROM articles_claim c JOIN articles_article a ON a.id = "
                "c.article_id JOIN articles_corpus k ON k.id = a.corpus_id WHERE k.slug = %(s)s), "
                "(SELECT count(*) FROM articles_annotation n JOIN articles_claim c ON c.id = "
                "n.claim_id JOIN articles_article a ON a.id = c.article_id JOIN articles_corpus k "
                "ON k.id = a.corpus_id WHERE k.slug = %(s)s), "
                "(SELECT count(*) FROM articles_evidence e JOIN articles_annotation n ON n.id = "
                "e.annotation_id JOIN articles_claim c ON c.id = n.claim_id JOIN articles_article "
                "a ON a.id = c.article_id JOIN articles_corpus k ON k.id = a.corpus_id "
                "WHERE k.slug = %(s)s), "
                "(SELECT count(*) FROM articles_relation r JOIN articles_claim c ON c.id = "
                "r.source_claim_id JOIN articles_article a ON a.id = c.article_id JOIN "
                "articles_corpus k ON k.id = a.corpus_id WHERE k.slug = %(s)s)",
                {"s": slug},
            ).fetchone()
            lines.append(
                f"{slug}: {row[0]:,} articles, {row[1]:,} claims, {row[2]:,} annotations, "
                f"{row[3]:,} evidence, {row[4]:,} relations"
            )
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        lines.append(f"database size: {size.fetchone()[0]}")
    return lines


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def annotations_in(slug: str) -> int:
    import psycopg

    with psycopg.connect(database_url()) as conn:
        return conn.execute(
            "SELECT count(*) FROM articles_annotation n JOIN articles_claim c ON c.id = "
            "n.claim_id JOIN articles_article a ON a.id = c.article_id JOIN articles_corpus k "
            "ON k.id = a.corpus_id WHERE k.slug = %s",
            [slug],
        ).fetchone()[0]


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells):
        return "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(r) for r in rows]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument(
        "--sizes", default="100k,1m", help="100k, 1m and/or workload (issue 17's 1,000 documents)"
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs per measurement; the fastest is kept"
    )
    parser.add_argument(
        "--reference",
        type=Path,
        help="another checkout whose exports are measured in the same run (before/after)",
    )
    parser.add_argument("--no-import", action="store_true", help="skip the import measurement")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only profile each format at each size: where the time goes (no table)",
    )
    parser.add_argument(
        "--http",
        type=int,
        default=0,
        metavar="RUNS",
        help="also time each export through gunicorn, RUNS times, alternating with --reference",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.child:
        sys.path.insert(0, os.getcwd())  # the checkout measured (run_child's root)
        kind, *rest = options.child
        result = {
            "export": child_export,
            "seed_workload": child_seed_workload,
            "set_password": child_set_password,
            "copy": child_copy,
            "import": child_import,
            "profile": child_profile,
        }[kind](*rest)
        print(json.dumps(result))
        return

    formats = [f for f in options.formats.split(",") if f]
    sizes = [s for s in options.sizes.split(",") if s]
    started = time.perf_counter()
    seed_all(options.reseed, sizes if options.no_import else [*sizes, "100k"])
    print(f"seeding/checking took {time.perf_counter() - started:.0f} s", file=sys.stderr)

    if options.profile:
        for size in sizes:
            for export_format in formats:
                found = run_child("profile", SIZES[size][0], export_format)
                print(
                    f"\n## {size} {export_format}: {found['bytes']:,} bytes, load {load_average()}"
                )
                for name, seconds in found["timings"].items():
                    print(f"  {name}: {seconds:.3f} s")
                print(f"  {found['queries']} queries, {found['rows']:,} rows; seconds by table:")
                for table, seconds in sorted(
                    found["query_seconds_by_table"].items(), key=lambda item: -item[1]
                ):
                    print(f"    {table}: {seconds:.3f}")
                print(found["profile"])
        return

    rows = []
    loads = []
    cpu_lines = []
    for size in sizes:
        slug, _ = SIZES[size]
        annotations = annotations_in(slug)
        loads.append(f"{size} before: {load_average()}")
        psql = psql_copy(slug, options.repeat)
        print(
            f"  {size} psql: {psql['raw_seconds']:.2f} s less start-up "
            f"{psql['startup_seconds'] * 1000:.0f} ms",
            file=sys.stderr,
        )
        measured = [
            ("COPY flat rows (psycopg)", best_of(options.repeat, "copy", slug, "flat")),
            ("COPY every table (psycopg)", best_of(options.repeat, "copy", slug, "tables")),
            ("COPY every table (one psql)", psql),
        ]
        for export_format in formats:
            if options.reference:
                print(f"{slug}: {export_format} (reference) ...", file=sys.stderr)
                measured.append(
                    (
                        f"{export_format} (reference)",
                        best_of(
                            options.repeat,
                            "export",
                            slug,
                            export_format,
                            root=options.reference.resolve(),
                        ),
                    )
                )
            print(f"{slug}: {export_format} ...", file=sys.stderr)
            measured.append((export_format, best_of(options.repeat, "export", slug, export_format)))
        loads.append(f"{size} after: {load_average()}")
        for name, result in measured:
            if "cpu" in result:
                cpu_lines.append(
                    f"{size} {name}: {result['cpu']:.2f} s in Python (the export's process), "
                    f"{result['backend_cpu']:.2f} s in its PostgreSQL backend, "
                    + (
                        f"{result['child_cpu']:.2f} s and {result['child_peak_kib'] // 1024} MiB "
                        "peak RSS in its second process, "
                        if result.get("child_cpu")
                        else ""
                    )
                    + f"sha256 {result['sha256'][:16]}"
                )
        if options.reference:
            exported = dict(measured)
            for export_format in formats:
                same = (
                    exported[export_format]["sha256"]
                    == (exported[f"{export_format} (reference)"]["sha256"])
                )
                cpu_lines.append(
                    f"{size} {export_format}: the same bytes as the reference: "
                    f"{'yes' if same else 'NO'}"
                )
        flat_rate = annotations / measured[0][1]["seconds"]
        tables_rate = annotations / measured[1][1]["seconds"]
        psql_rate = annotations / psql["seconds"]
        for name, result in measured:
            rate = annotations / result["seconds"]
            print(f"  {size} {name}: {result['seconds']:.2f} s", file=sys.stderr)
            memory = result is not psql
            rows.append(
                [
                    size,
                    name,
                    f"{result['seconds']:.2f}",
                    f"{result['bytes'] / 1e6:,.0f}",
                    f"{rate:,.0f}",
                    f"{result['bytes'] / 1e6 / result['seconds']:.1f}",
                    f"{rate / flat_rate:.2f}",
                    f"{rate / tables_rate:.2f}",
                    f"{rate / psql_rate:.2f}",
                    f"{result['first_chunk'] * 1000:,.0f}" if result["first_chunk"] else "–",
                    f"{result['peak_kib'] / 1024:,.0f}" if memory else "–",
                    f"{(result['peak_kib'] - result['baseline_kib']) / 1024:,.0f}"
                    if memory
                    else "–",
                ]
            )
        rows.append(
            [size, "(psql start-up, subtracted)", f"{psql['startup_seconds']:.2f}"] + [""] * 9
        )
    http_lines = []
    if options.http:
        for size in sizes:
            for export_format in formats:
                http_lines += http_exports(
                    SIZES[size][0], export_format, options.http, options.reference
                )
        loads.append(f"after HTTP: {load_average()}")
    imported = None if options.no_import else run_child("import", CORPORA["100k"][0])

    print()
    print("machine:", machine())
    for line in data_size():
        print(line)
    print()
    print(
        markdown_table(
            [
                "corpus",
                "format",
                "s",
                "MB",
                "annotations/s",
                "MB/s",
                "x COPY flat",
                "x COPY tables (psycopg)",
                "x COPY tables (psql)",
                "first chunk ms",
                "peak RSS MiB",
                "RSS growth MiB",
            ],
            rows,
        )
    )
    print()
    print("load average (1, 5, 15 min):", "; ".join(loads))
    print()
    print("CPU of the fastest run of each (less sensitive to the machine's load than seconds):")
    for line in cpu_lines:
        print("  " + line)
    if http_lines:
        print()
        for line in http_lines:
            print(line)
    if imported is None:
        return
    print()
    print(
        f"import (JSONL, {imported['lines']} articles, {imported['claims']:,} claims, "
        f"{imported['annotations']:,} annotations, {imported['bytes'] / 1e6:.1f} MB): "
        f"{imported['seconds']:.1f} s, {imported['lines'] / imported['seconds']:,.0f} lines/s, "
        f"{imported['annotations'] / imported['seconds']:,.0f} annotations/s, "
        f"peak RSS {imported['peak_kib'] / 1024:,.0f} MiB "
        f"(+{(imported['peak_kib'] - imported['baseline_kib']) / 1024:,.0f})"
    )


if __name__ == "__main__":
    main()
