"""Benchmark: replacing an article's text through the service, as PUT …/text does.

The re-anchoring benchmark's speed case (bench_reanchor.py: a 200 kB article, 1,000 spans, 20
newsroom edits) stored in a throwaway database: the 1,000 spans are claims, each tagged by one
annotator, one claim in ten citing another span as evidence. Measured side by side, each the
median of ``--runs``:

- the engine alone on the same texts and spans (the reference: no database);
- ``article_text_replace``: locking, reading the claims and evidence, re-anchoring, writing
  every row back, second looks, reviews back to the queue, notices, the audit, in one
  transaction (rolled back after each run, so every run starts from the same version);

and prints the outcome by status. Runs on a temporary SQLite file, or on a fresh PostgreSQL
database when DATABASE_URL points at PostgreSQL.

    .venv/bin/python bench/bench_text_replace.py [--runs 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \
        .venv/bin/python bench/bench_text_replace.py
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres", "postgresql", "pgsql")):
        folder = tempfile.mkdtemp(prefix="bench-text-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.DEBUG = False
    cleanup = None
    if connection.vendor == "postgresql":
        name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)

        def cleanup():
            connection.creation.destroy_test_db(name, verbosity=0)

    else:
        call_command("migrate", verbosity=0, interactive=False)
    return connection, cleanup


ARTICLE_SIZE = 200_000  # code points, as in bench_reanchor.py
SPAN_COUNT = 1_000
EDIT_COUNT = 20


def row(cells: list[object]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def machine() -> str:
    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, load average {load:.1f}; Python {sys.version.split()[0]}"
    )


class _Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    connection, cleanup = _setup_django()
    try:
        run(args.runs, connection)
    finally:
        if cleanup:
            cleanup()


def run(runs: int, connection) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from reanchor_cases import Prose, edit, spans

    from articles import services
    from articles.models import (
        Annotation,
        Article,
        Claim,
        Corpus,
        Evidence,
        Membership,
        Role,
        Topic,
    )
    from articles.reanchor import Reanchorer

    # bench_reanchor.py's speed case (that script also needs its comparison libraries).
    rng = random.Random(20)
    prose = Prose()
    old = prose.article(rng, ARTICLE_SIZE)
    spans = spans(old, rng, SPAN_COUNT)
    new = edit(old, rng, prose, EDIT_COUNT).text
    users = get_user_model()
    owner = users.objects.create_user("owner", password="x")
    anna = users.objects.create_user("anna", password="x")
    corpus = Corpus.objects.create(slug="bench", name="Bench", created_by=owner)
    Membership.objects.create(corpus=corpus, user=owner, role=Role.OWNER)
    Membership.objects.create(corpus=corpus, user=anna, role=Role.ANNOTATOR)
    topic = Topic.objects.create(corpus=corpus, label="Controls work")
    article = Article.objects.create(
        corpus=corpus,
        title="200 kB",
        text=old,
        text_sha256=services.text_sha256(old),
        created_by=owner,
    )
    claims = Claim.objects.bulk_create(
        Claim(
            article=article,
            start=s.start,
            end=s.end,
            exact=s.exact,
            prefix=s.prefix,
            suffix=s.suffix,
            created_by=anna,
        )
        for s in spans
    )
    annotations = Annotation.objects.bulk_create(
        Annotation(claim=c, annotator=anna, topic=topic, stance="support") for c in claims
    )
    Evidence.objects.bulk_create(
        Evidence(
            annotation=annotations[i],
            kind="span",
            start=spans[i + 1].start,
            end=spans[i + 1].end,
            exact=spans[i + 1].exact,
        )
        for i in range(0, len(spans) - 1, 10)
    )

    engine_times = []
    for _ in range(runs):
        began = time.perf_counter()
        Reanchorer(old, new).anchor_all(spans)
        engine_times.append(time.perf_counter() - began)

    service_times = []
    outcome = None
    for _ in range(runs):
        try:
            with transaction.atomic():
                began = time.perf_counter()
                change = services.article_text_replace(
                    actor=owner, article=article, role=Role.OWNER, text=new, version=None
                )
                service_times.append(time.perf_counter() - began)
                outcome = change.counts()
                raise _Rollback
        except _Rollback:
            pass
    assert outcome is not None

    print(f"machine: {machine()}; database: {connection.vendor}\n")
    print(
        f"{SPAN_COUNT:,} claims (each tagged, {len(range(0, len(spans) - 1, 10))} evidence "
        f"spans) on a {len(old):,}-code-point article after {EDIT_COUNT} edits; "
        f"median of {runs} runs\n"
    )
    print(row(["what", "seconds", "ratio to the engine alone"]))
    print(row(["---", "---:", "---:"]))
    engine = statistics.median(engine_times)
    service = statistics.median(service_times)
    print(row(["engine alone (reference)", f"{engine:.3f}", "1.00"]))
    print(row(["article_text_replace (DB, one transaction)", f"{service:.3f}",
               f"{service / engine:.2f}"]))  # fmt: skip
    print()
    print(row(["spans", "kept", "moved", "fuzzy", "orphaned"]))
    print(row(["---", "---:", "---:", "---:", "---:"]))
    for kind in ("claims", "evidence"):
        counts = outcome[kind]
        print(row([kind, counts["kept"], counts["moved"], counts["fuzzy"], counts["orphaned"]]))


if __name__ == "__main__":
    main()
