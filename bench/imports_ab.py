"""Benchmark: issue 17's imports on two checkouts at once, interleaved, on one database.

    .venv/bin/python bench/imports_ab.py --reference /work/main --db sqlite
    WORKLOAD_PG_DATABASE=mine_ab .venv/bin/python bench/imports_ab.py --reference /work/main \
        --db postgres --rounds 6

`workload.py --reference` runs the two checkouts minutes apart, and on a shared machine the
load changes from one minute to the next. Here both serve at once, each under its own gunicorn
(production settings, 3 workers x 1 thread, one fresh database migrated by this checkout), and
one client alternates: each round imports workload.py's corpus (`--docs` documents of ~800
words, 20 spans each, each span a claim with one annotation) into a new corpus through one
checkout and then the other (the order swapped every round), until the last article is listed;
then the same for the plain texts. A burst of load falls on both alike. The table gives each
one's median and the ratio; the answers' counts must be equal.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import workload  # noqa: E402
from reads_ab import Server  # noqa: E402

TOPIC = "Export controls work"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, help="the other checkout, e.g. /work/main")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--plain-rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3)
    options = parser.parse_args()

    harness.print_machine()
    print("load average before:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if options.db == "postgres":
        url = harness.pg_database_fresh(os.environ.get("WORKLOAD_PG_DATABASE", "aa_imports_ab"))
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='aa-imports-ab-')}/db.sqlite3"
    env = harness.app_env(url, API_THROTTLE_USER="1000000/minute")
    harness.prepare(env, static=False)
    harness.django_setup(env)

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from articles import services

    owner = get_user_model().objects.create(
        username="owner", password=make_password(workload.PASSWORD)
    )
    documents = workload.corpus(options.docs)
    bodies = {
        "spans": workload.jsonl(documents, spans=True, annotator="owner", topic=TOPIC),
        "plain": workload.jsonl(documents, spans=False, annotator="owner", topic=TOPIC),
    }
    roots = {"before": Path(options.reference).resolve(), "after": harness.ROOT}
    made = 0

    def new_corpus() -> str:
        nonlocal made
        made += 1
        slug = f"ab-{made}"
        services.corpus_create(actor=owner, name=slug, slug=slug, topics=[{"label": TOPIC}])
        connection.close()  # (SQLite: no lock held while the servers write)
        return slug

    with (
        Server(roots["before"], env, options.workers) as before,
        Server(roots["after"], env, options.workers) as after,
    ):
        servers = {"before": before, "after": after}
        token = harness.api_token(after.url, "owner", workload.PASSWORD)
        http = requests.Session()
        http.headers["Authorization"] = f"Token {token}"

        def import_until_listed(name: str, body: bytes) -> tuple[float, dict]:
            slug = new_corpus()
            base = f"{servers[name].url}/api/v1"
            started = time.perf_counter()
            response = http.post(
                f"{base}/corpora/{slug}/import",
                data=body,
                headers={"Content-Type": "application/x-ndjson"},
                timeout=600,
            )
            assert response.status_code == 201, response.text[:500]
            listed = http.get(f"{base}/corpora/{slug}/articles?page_size=1", timeout=60).json()
            assert listed["results"], listed
            seconds = time.perf_counter() - started
            answer = response.json()
            return seconds, {k: v for k, v in answer.items() if not k.endswith("_ids")}

        # Warm each checkout's workers (a first request imports the app's modules).
        for name in servers:
            for _ in range(options.workers):
                http.get(f"{servers[name].url}/api/v1/corpora", timeout=60).raise_for_status()
        rows = []
        for kind, rounds in (("spans", options.rounds), ("plain", options.plain_rounds)):
            times: dict[str, list[float]] = {"before": [], "after": []}
            answers: dict[str, dict] = {}
            for round_no in range(rounds):
                order = ("before", "after") if round_no % 2 == 0 else ("after", "before")
                for name in order:
                    seconds, answer = import_until_listed(name, bodies[kind])
                    times[name].append(seconds)
                    answers.setdefault(name, answer)
                    assert answer == answers[name]
                print(
                    f"  {kind} round {round_no + 1}: before {times['before'][-1]:.3f} s, "
                    f"after {times['after'][-1]:.3f} s; load "
                    + " ".join(f"{x:.2f}" for x in os.getloadavg()),
                    flush=True,
                )
            assert answers["before"] == answers["after"], answers
            rows.append(
                (kind, statistics.median(times["before"]), statistics.median(times["after"]))
            )
        print("load average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(
        f"\n{options.db}, {options.docs:,} documents; {options.rounds} rounds with spans, "
        f"{options.plain_rounds} plain, interleaved; gunicorn {options.workers} workers x 1 "
        f"thread each; before = {roots['before']}, after = {roots['after']}\n"
    )
    print("| import until listed (median s)            | before | after | ratio |")
    print("|-------------------------------------------|--------|-------|-------|")
    labels = {"spans": "with 20 spans per document", "plain": "the plain texts"}
    for kind, old, new in rows:
        print(f"| {labels[kind]:<41} | {old:6.3f} | {new:5.3f} | {old / new:4.2f}× |")


if __name__ == "__main__":
    main()
