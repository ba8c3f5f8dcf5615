"""Benchmark: issue 17's export of everything (JSONL) on two checkouts at once, interleaved.

    .venv/bin/python bench/export_ab.py --reference /work/main \
        --database-url sqlite:////tmp/export-ab/db.sqlite3
    .venv/bin/python bench/export_ab.py --reference /work/main \
        --database-url postgres://postgres@127.0.0.1:5432/export_ab

What `workload.py` times as "export of everything": `GET /corpora/spans/export?format=jsonl`
with a token, through gunicorn (gthread, `--workers` x 1 thread, production settings), the body
read by `requests` in 256 KiB pieces. Here both checkouts serve the same database at once, each
under its own gunicorn, and one client alternates between them (`--rounds` times, the order
flipped every round), so a burst of load on the shared machine falls on both alike. Each body's
SHA-256 is compared: the two must write the same bytes. When the database has no corpus "spans"
it is migrated and seeded first (workload.py's `--docs` documents, 20 spans each, imported by
the app as the user "owner"); a PostgreSQL database is created if missing, never dropped.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import reads_ab  # noqa: E402
import workload  # noqa: E402

PASSWORD = workload.PASSWORD


def ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg
    from psycopg import sql

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def seed_if_missing(env: dict[str, str], docs: int) -> None:
    harness.prepare(env, static=False)
    harness.django_setup(env)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from articles import services
    from articles.imports import import_file
    from articles.models import Corpus

    if Corpus.objects.filter(slug="spans").exists():
        return
    print(f"seeding {docs} documents with 20 spans each ...", flush=True)
    owner, _ = get_user_model().objects.get_or_create(
        username="owner", defaults={"password": make_password(PASSWORD)}
    )
    topic = "Export controls work"
    services.corpus_create(actor=owner, name="spans", slug="spans", topics=[{"label": topic}])
    body = workload.jsonl(workload.corpus(docs), spans=True, annotator="owner", topic=topic)
    corpus = Corpus.objects.get(slug="spans")
    import_file(actor=owner, corpus=corpus, role="owner", name="w.jsonl", data=body)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, help="the other checkout, e.g. /work/main")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--docs", type=int, default=1000, help="documents, when seeding")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--format", default="jsonl")
    options = parser.parse_args()

    ensure_database(options.database_url)
    env = harness.app_env(options.database_url, API_THROTTLE_USER="1000000/minute")
    seed_if_missing(env, options.docs)
    harness.print_machine()
    loads = [" ".join(f"{x:.2f}" for x in os.getloadavg())]
    roots = {"before": Path(options.reference).resolve(), "after": harness.ROOT}
    times: dict[str, list[float]] = {"before": [], "after": []}
    digests: dict[str, set[str]] = {"before": set(), "after": set()}
    size = 0
    with (
        reads_ab.Server(roots["before"], env, options.workers) as before,
        reads_ab.Server(roots["after"], env, options.workers) as after,
    ):
        servers = {"before": before, "after": after}
        token = harness.api_token(after.url, "owner", PASSWORD)
        http = requests.Session()
        http.headers["Authorization"] = f"Token {token}"

        def once(name: str) -> float:
            nonlocal size
            url = f"{servers[name].url}/api/v1/corpora/spans/export"
            digest = hashlib.sha256()
            size = 0
            started = time.perf_counter()
            with http.get(url, params={"format": options.format}, stream=True, timeout=600) as r:
                assert r.status_code == 200, r.status_code
                for chunk in r.iter_content(256 * 1024):
                    size += len(chunk)
                    digest.update(chunk)
            taken = time.perf_counter() - started
            digests[name].add(digest.hexdigest())
            return taken

        for name in servers:  # every worker's first export (imports, connections)
            for _ in range(options.workers):
                once(name)
        for round_no in range(options.rounds):
            for name in ("before", "after") if round_no % 2 == 0 else ("after", "before"):
                times[name].append(once(name))
        loads.append(" ".join(f"{x:.2f}" for x in os.getloadavg()))
    same = digests["before"] == digests["after"] and len(digests["after"]) == 1
    print(
        f"\n{options.format} export of the corpus 'spans' ({size / 1e6:.1f} MB), "
        f"{options.rounds} rounds, interleaved; gunicorn {options.workers} workers x 1 thread "
        f"each; {options.database_url.split(':')[0]}; load average before {loads[0]}, "
        f"after {loads[1]}; same bytes: {'yes' if same else 'NO'}\n"
    )
    print("| checkout | median s | fastest s | slowest s |")
    print("|---|---:|---:|---:|")
    for name in ("before", "after"):
        values = times[name]
        print(
            f"| {name} ({roots[name]}) | {statistics.median(values):.3f} | {min(values):.3f} | "
            f"{max(values):.3f} |"
        )
    ratio = statistics.median(times["before"]) / statistics.median(times["after"])
    print(f"\nspeed-up (median before / median after): {ratio:.2f}x")


if __name__ == "__main__":
    main()
