"""Load: 50 simulated reviewers (40 annotators, 10 curators) against gunicorn on PostgreSQL.

1. creates its own database (--database, default aa_load; dropped and created afresh), migrates
   it, collects static files into a temporary folder, and seeds a corpus through the app's own
   importer: --articles articles of about --words words, each with --claims tagged claims
   (two annotations with evidence each), the 50 reviewers and an owner;
2. starts `gunicorn annotator.wsgi` (--workers x --threads, gthread) on 127.0.0.1 and a free
   port, with production settings over plain HTTP (DJANGO_HTTPS=0) and a random secret key;
3. runs locust headless with bench/locustfile.py (-u 50 -r 10 -t 3m by default): each reviewer
   logs in (API token and login form), reads pages, tags claims, and curators review;
4. prints the machine, the gunicorn configuration, and per endpoint: requests, failures,
   throughput and the p50/p90/p99/max latencies; exits 1 on any failed request.

The API token endpoint is throttled to 10 requests a minute per address (against guessing); all
the reviewers log in from 127.0.0.1, so this run raises that rate through the environment
(API_THROTTLE_TOKEN=1000/minute). The per-user API rate keeps its default (6000/minute).

    .venv/bin/pip install -e '.[bench]'        # locust
    .venv/bin/python bench/load.py [--time 3m] [--users 50] [--workers 3 --threads 4]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

SLUG = "load"
THROTTLES = {"API_THROTTLE_TOKEN": "1000/minute"}


def seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    if duration[-1] in units:
        return int(float(duration[:-1]) * units[duration[-1]])
    return int(duration)


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="aa_load", help="this script's own database")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--curators", type=int, default=10, help="of --users")
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--time", default="3m", help="locust's run time, e.g. 90s, 3m")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--articles", type=int, default=30)
    parser.add_argument("--words", type=int, default=1200)
    parser.add_argument("--claims", type=int, default=20, help="seeded claims per article")
    parser.add_argument("--wait", default="1,3", help="think time between actions, seconds")
    args = parser.parse_args()
    if args.time and seconds(args.time) > 1800:
        parser.error("keep a run under 30 minutes")
    annotators = args.users - args.curators
    wait_min, wait_max = args.wait.split(",")

    harness.print_machine()
    url = harness.pg_database_fresh(args.database)
    env = harness.app_env(url, **THROTTLES)
    harness.prepare(env)
    harness.django_setup(env)
    password = secrets.token_urlsafe(12)
    harness.seed_team(
        slug=SLUG,
        annotators=[f"ann{i:02d}" for i in range(1, annotators + 1)],
        curators=[f"cur{i:02d}" for i in range(1, args.curators + 1)],
        password=password,
        articles=args.articles,
        words=args.words,
        claims_per_article=args.claims,
    )
    from django.db import connections

    connections.close_all()
    print(
        f"seeded: {args.articles} articles of ~{args.words} words, {args.claims} claims each "
        f"(2 annotations per claim); {annotators} annotators, {args.curators} curators"
    )
    print(f"throttles raised for this run: {THROTTLES}")

    out = Path(tempfile.mkdtemp(prefix="aa-load-"))
    # gunicorn closes an idle keep-alive connection after 2 s by default; a client reusing it at
    # that instant gets a reset (a browser retries such a request, python-requests does not).
    # Keep connections open longer than a reviewer's pause, as the proxy in front would.
    keep_alive = math.ceil(float(wait_max)) + 5
    with harness.Gunicorn(
        env, workers=args.workers, threads=args.threads, keep_alive=keep_alive
    ) as server:
        print(server.describe())
        print(
            f"locust: {args.users} users ({annotators} annotators, {args.curators} curators), "
            f"spawn rate {args.spawn_rate}/s, {args.time}, think time {wait_min}-{wait_max} s"
        )
        locust_env = {
            **env,
            "LOAD_SLUG": SLUG,
            "LOAD_PASSWORD": password,
            "LOAD_ANNOTATORS": str(annotators),
            "LOAD_CURATORS": str(args.curators),
            "LOAD_WAIT_MIN": wait_min,
            "LOAD_WAIT_MAX": wait_max,
        }
        command = [
            str(harness.BIN / "locust"),
            "-f",
            str(Path(__file__).with_name("locustfile.py")),
            "--headless",
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.spawn_rate),
            "--run-time",
            args.time,
            "--host",
            server.url,
            "--csv",
            str(out / "load"),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ]
        print(f"load average before the run (other work on the machine): {_load()}", flush=True)
        log = (out / "locust.log").open("w")
        locust = subprocess.run(
            command,
            cwd=harness.ROOT,
            env=locust_env,
            timeout=seconds(args.time) + 300,
            stdout=log,  # the summary is re-printed below, from locust's CSV
            stderr=subprocess.STDOUT,
        )
        log.close()
        print(f"load average at the end of the run: {_load()}")
        gunicorn_log = server.log_tail(40)

    print(f"locust's own output: {out / 'locust.log'}; gunicorn's log: {server.log_path}")
    stats = list(csv.DictReader((out / "load_stats.csv").open()))
    failures = list(csv.DictReader((out / "load_failures.csv").open()))
    rows = []
    for row in stats:
        name = row["Name"] if row["Name"] != "Aggregated" else "all requests"
        method = row["Type"] if row["Type"] else ""
        rows.append(
            [
                f"{method} {name}".strip(),
                row["Request Count"],
                row["Failure Count"],
                f"{float(row['Requests/s']):.2f}",
                row["50%"],
                row["90%"],
                row["99%"],
                f"{float(row['Max Response Time']):.0f}",
            ]
        )
    print()
    print(
        harness.table(
            ["endpoint", "requests", "failures", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"],
            rows,
        )
    )
    for failure in failures:
        print(
            f"failure: {failure['Method']} {failure['Name']}: {failure['Error']} "
            f"x{failure['Occurrences']}"
        )
    total = next((r for r in stats if r["Name"] == "Aggregated"), None)
    failed = int(total["Failure Count"]) if total else 1
    if "Internal Server Error" in gunicorn_log or "Traceback" in gunicorn_log:
        print("gunicorn log (tail):\n" + gunicorn_log)
        failed = failed or 1
    if locust.returncode != 0 or failed:
        print(f"\nFAILED: {failed} failed requests (locust exit code {locust.returncode})")
        return 1
    print(f"\nPASSED: {total['Request Count']} requests, no error.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
