"""Load: 50 simulated reviewers (40 annotators, 10 curators) against gunicorn on PostgreSQL, with
the server's CPU milliseconds per request by endpoint; before and after in one run.

1. creates its own database (--database, default aa_load; dropped and created afresh), migrates
   it, collects static files into a temporary folder, and seeds a corpus through the app's own
   importer: --articles articles of about --words words, each with --claims tagged claims
   (two annotations with evidence each), the 50 reviewers and an owner;
2. starts `gunicorn annotator.wsgi` (--workers x --threads, gthread) on 127.0.0.1 and a free
   port, with production settings over plain HTTP (DJANGO_HTTPS=0) and a random secret key, and
   the hooks of bench/worker_probe.py (CPU of the worker thread and of its PostgreSQL backend,
   per request, keyed by route and by locust's name for the request);
3. runs locust headless with bench/locustfile.py (-u 50 -r 10 -t 3m by default): each reviewer
   logs in (API token and login form), reads pages, tags claims, and curators review;
4. prints the machine, the gunicorn configuration, the load average, and per endpoint: requests,
   failures, throughput, p50/p90/p99 latencies and the server's CPU ms per request (the app's
   thread, the database backend, their sum); exits 1 on any failed request.

`--reference CHECKOUT` first runs the same load on another checkout (e.g. a `git worktree` of a
commit before a change; its own database `<database>_ref`), then on this one, and prints the
ratios per endpoint. Each run is a subprocess of this script (Django's settings are per process).

The API token endpoint is throttled to 10 requests a minute per address (against guessing); all
the reviewers log in from 127.0.0.1, so this run raises that rate through the environment
(API_THROTTLE_TOKEN=1000/minute). The per-user API rate keeps its default (6000/minute).

    .venv/bin/pip install -e '.[bench]'        # locust
    .venv/bin/python bench/load.py [--time 3m] [--users 50] [--workers 3 --threads 4]
    .venv/bin/python bench/load.py --time 90s --reference /tmp/aa-ref      # before/after
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import worker_probe  # noqa: E402

SLUG = "load"
THROTTLES = {"API_THROTTLE_TOKEN": "1000/minute"}
SLOW_MS = 100  # the bound on an endpoint's median, on a quiet machine


def seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    if duration[-1] in units:
        return int(float(duration[:-1]) * units[duration[-1]])
    return int(duration)


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _process_cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (/proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def checkout_label(root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    )
    label = done.stdout.strip() or str(root)
    return label if len(label) <= 70 else label[:67] + "..."


# --- One run (a subprocess) -----------------------------------------------------------------


def server_cpu(records: list[dict], method: str | None) -> dict:
    """CPU per request of one locust name: the app's thread, the database's backend (where
    measured) and their sum. A redirect the client follows (the login form's POST, then GET /)
    carries the same name: its CPU counts towards the request that caused it, as its time does
    in locust's latency, so the means divide by the requests of the row's own method."""
    own = [r for r in records if method is None or r["method"] == method] or records
    count = len(own)
    db = [r["db_ms"] for r in records if r["db_ms"] is not None]
    per_request = sorted(r["cpu_ms"] + (r["db_ms"] or 0.0) for r in own)
    return {
        "recorded": len(records),
        "app_ms": sum(r["cpu_ms"] for r in records) / count if count else None,
        "db_ms": sum(db) / count if db else None,
        "db_recorded": len(db),
        "cpu_ms": sum(r["cpu_ms"] + (r["db_ms"] or 0.0) for r in records) / count
        if count
        else None,
        "cpu_p50_ms": harness.percentile(per_request, 0.5) if per_request else None,
        "routes": sorted({r["route"] for r in records}),
    }


def profile_endpoints(rows: list[dict], records: list[dict], *, top: int, repeat: int) -> dict:
    """cProfile of the `top` costliest GET endpoints (CPU ms per request, logins aside), each
    replayed `repeat` times in process through Django's test client on one path the load
    requested, as a reviewer of the seeded team (an annotator, or a curator where the
    annotator is refused); the API with an API token, the pages with a session."""
    import cProfile

    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from knox.models import get_token_model

    users = [get_user_model().objects.get(username=name) for name in ("ann01", "cur01")]
    paths = {}
    for record in records:
        if record["method"] == "GET" and record.get("status") == 200:
            paths.setdefault(record["name"], record["path"])
    candidates = [
        r
        for r in rows
        if r["method"] == "GET" and r["name"] in paths and r["cpu_ms"] and "login" not in r["name"]
    ]
    candidates.sort(key=lambda r: r["cpu_ms"], reverse=True)
    profiles = {}
    for row in candidates[:top]:
        path = paths[row["name"]]
        for user in users:
            client = Client(HTTP_HOST="127.0.0.1")
            headers = {}
            if path.startswith("/api/"):
                headers["HTTP_AUTHORIZATION"] = (
                    f"Token {get_token_model().objects.create(user=user)[1]}"
                )
            else:
                client.force_login(user)
            if row["name"].endswith("(htmx)"):
                headers["HTTP_HX_REQUEST"] = "true"
            if client.get(path, **headers).status_code == 200:  # also warms caches
                break
        else:
            continue
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            client.get(path, **headers)
        count = len(queries)  # now: the next request's start clears the log it reads
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeat):
            client.get(path, **headers)
        profiler.disable()
        profiles[row["name"]] = (
            f"{path} as {user.username}: {count} queries per request; ms per request under "
            f"the profiler ({repeat} requests)\n{_profile_lines(profiler, repeat)}"
        )
    return profiles


# Frames every request passes through (the test client, the handler, the middleware chain):
# they head every cumulative listing and say nothing about the endpoint.
_WRAPPERS = (
    "django/test/",
    "django/core/handlers/",
    "django/utils/deprecation.py",
    "middleware",
    "django/contrib/auth/decorators.py",
    "django/views/decorators/",
    "django/views/generic/base.py",
    "replica.py",
)


def _profile_lines(profiler, repeat: int, top: int = 25) -> str:
    """The profile's top functions by cumulative time, wrappers left out, paths shortened."""
    import pstats

    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in stats.items():
        if any(w in filename for w in _WRAPPERS) or filename == "~":
            continue
        short = filename.split("site-packages/")[-1]
        for root in (str(harness.ROOT) + "/", str(Path(__file__).resolve().parent.parent) + "/"):
            short = short.removeprefix(root)
        rows.append((cumulative, own, calls, f"{short}:{line} {function}"))
    rows.sort(reverse=True)
    lines = [f"{'calls/req':>9} {'own ms':>8} {'cum ms':>8}  function"]
    for cumulative, own, calls, name in rows[:top]:
        lines.append(
            f"{calls / repeat:9.1f} {own * 1000 / repeat:8.2f} {cumulative * 1000 / repeat:8.2f}"
            f"  {name}"
        )
    return "\n".join(lines)


def run_one(args: argparse.Namespace) -> dict:
    reference = bool(args.root)
    if reference:
        harness.ROOT = Path(args.root).resolve()
    annotators = args.users - args.curators
    wait_min, wait_max = args.wait.split(",")
    database = args.database + ("_ref" if reference else "")
    url = harness.pg_database_fresh(database)
    extra = dict(THROTTLES)
    if reference:  # its own collected files: its static folder may differ from this checkout's
        extra["DJANGO_STATIC_ROOT"] = str(Path(tempfile.gettempdir()) / "aa-bench-static-ref")
    env = harness.app_env(url, **extra)
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
    print(f"[{database}] seeded; checkout {harness.ROOT}", flush=True)

    out = Path(tempfile.mkdtemp(prefix="aa-load-"))
    env["AA_WORKER_PROBE"] = str(out / "timing")
    # gunicorn closes an idle keep-alive connection after 2 s by default; a client reusing it at
    # that instant gets a reset (a browser retries such a request, python-requests does not).
    # Keep connections open longer than a reviewer's pause, as the proxy in front would.
    keep_alive = math.ceil(float(wait_max)) + 5
    result: dict = {
        "checkout": checkout_label(harness.ROOT),
        "database": database,
        "reference": reference,
    }
    with harness.Gunicorn(
        env,
        workers=args.workers,
        threads=args.threads,
        keep_alive=keep_alive,
        config=Path(worker_probe.__file__),
    ) as server:
        result["server"] = server.describe()
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
        result["load_before"] = _load()
        workers = server.worker_pids()
        workers_cpu = _process_cpu_s(workers)
        started = time.monotonic()
        print(f"[{database}] locust running ({args.time}); load average {_load()}", flush=True)
        with (out / "locust.log").open("w") as log:
            locust = subprocess.run(
                command,
                cwd=harness.ROOT,
                env=locust_env,
                timeout=seconds(args.time) + 300,
                stdout=log,  # the summary is re-printed by the parent, from locust's CSV
                stderr=subprocess.STDOUT,
            )
        result["seconds"] = time.monotonic() - started
        result["workers_cpu_s"] = _process_cpu_s(workers) - workers_cpu
        result["load_after"] = _load()
        gunicorn_log = server.log_tail(40)
    result["locust_exit"] = locust.returncode
    result["logs"] = f"locust: {out / 'locust.log'}; gunicorn: {server.log_path}"

    records = worker_probe.read(out / "timing")
    by_name: dict[str, list[dict]] = {}
    for record in records:
        by_name.setdefault(record["name"], []).append(record)
    rows = []
    for row in csv.DictReader((out / "load_stats.csv").open()):
        aggregated = row["Name"] == "Aggregated"
        group = records if aggregated else by_name.get(row["Name"], [])
        rows.append(
            {
                "method": "" if aggregated else row["Type"],
                "name": "all requests" if aggregated else row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": float(row["50%"]),
                "p90": float(row["90%"]),
                "p99": float(row["99%"]),
                "max": float(row["Max Response Time"]),
                **server_cpu(group, None if aggregated else row["Type"]),
            }
        )
    # The logins hash a password on purpose (PBKDF2, about 0.3 s of CPU each) and all come in
    # the first seconds: the rest of the load, summed apart.
    logins = {r["name"] for r in rows if "login" in r["name"] or "auth/token" in r["name"]}
    working = [r for r in rows if r["name"] not in logins and r["name"] != "all requests"]
    rows.insert(
        -1,
        {
            "method": "",
            "name": "all but the logins",
            "requests": sum(r["requests"] for r in working),
            "failures": sum(r["failures"] for r in working),
            "rps": sum(r["rps"] for r in working),
            **dict.fromkeys(("p50", "p90", "p99", "max")),
            **server_cpu([r for r in records if r["name"] not in logins], None),
        },
    )
    result["rows"] = rows
    result["requests_cpu_s"] = sum(r["cpu_ms"] for r in records) / 1000
    result["requests_db_s"] = sum(r["db_ms"] or 0.0 for r in records) / 1000
    if args.profile:
        result["profiles"] = profile_endpoints(
            rows, records, top=args.profile, repeat=args.profile_repeat
        )
    result["failures"] = [
        f"{f['Method']} {f['Name']}: {f['Error']} x{f['Occurrences']}"
        for f in csv.DictReader((out / "load_failures.csv").open())
    ]
    if "Internal Server Error" in gunicorn_log or "Traceback" in gunicorn_log:
        result["gunicorn_log"] = gunicorn_log
    return result


# --- The parent -------------------------------------------------------------------------------


def _ms(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _ratio(after: float | None, before: float | None) -> str:
    if after is None or not before:
        return "–"
    return f"{after / before:.2f}"


def print_run(result: dict) -> None:
    print(f"\n=== {'before' if result['reference'] else 'after'}: {result['checkout']}")
    print(result["server"])
    print(
        f"load average before the run {result['load_before']}, at its end {result['load_after']}; "
        f"{result['seconds']:.0f} s; gunicorn workers' CPU {result['workers_cpu_s']:.1f} s, "
        f"of which inside requests (threads) {result['requests_cpu_s']:.1f} s; the requests' "
        f"PostgreSQL backends {result['requests_db_s']:.1f} s; server CPU in use "
        f"{(result['workers_cpu_s'] + result['requests_db_s']) / result['seconds']:.2f} cores "
        f"of {os.cpu_count()}"
    )
    headers = ["endpoint", "requests", "failures", "req/s", "p50 ms", "p90 ms", "p99 ms"]
    headers += ["CPU ms/req", "app ms", "db ms", "CPU p50 ms"]
    table = []
    for row in result["rows"]:
        table.append(
            [
                f"{row['method']} {row['name']}".strip(),
                row["requests"],
                row["failures"],
                f"{row['rps']:.2f}",
                _ms(row["p50"], 0),
                _ms(row["p90"], 0),
                _ms(row["p99"], 0),
                _ms(row["cpu_ms"]),
                _ms(row["app_ms"]),
                _ms(row["db_ms"]),
                _ms(row["cpu_p50_ms"]),
            ]
        )
    print(harness.table(headers, table))
    for failure in result["failures"]:
        print(f"failure: {failure}")
    if "gunicorn_log" in result:
        print("gunicorn log (tail):\n" + result["gunicorn_log"])
    print(result["logs"])
    for name, text in result.get("profiles", {}).items():
        print(f"\n--- profile: {name}: {text}")


def print_comparison(before: dict, after: dict) -> None:
    print(f"\n=== before ({before['checkout']}) and after ({after['checkout']})")
    print(
        f"load average: before run {before['load_before']} -> {before['load_after']}, "
        f"after run {after['load_before']} -> {after['load_after']}"
    )
    earlier = {(r["method"], r["name"]): r for r in before["rows"]}
    headers = ["endpoint", "req/s before", "req/s after", "CPU ms before", "CPU ms after"]
    headers += ["CPU after÷before", "p50 before", "p50 after", "p90 before", "p90 after"]
    table = []
    for row in after["rows"]:
        old = earlier.get((row["method"], row["name"]))
        table.append(
            [
                f"{row['method']} {row['name']}".strip(),
                f"{old['rps']:.2f}" if old else "–",
                f"{row['rps']:.2f}",
                _ms(old["cpu_ms"]) if old else "–",
                _ms(row["cpu_ms"]),
                _ratio(row["cpu_ms"], old["cpu_ms"]) if old else "–",
                _ms(old["p50"], 0) if old else "–",
                _ms(row["p50"], 0),
                _ms(old["p90"], 0) if old else "–",
                _ms(row["p90"], 0),
            ]
        )
    print(harness.table(headers, table))


def verdict(result: dict) -> None:
    rows = [r for r in result["rows"] if r["name"] not in ("all requests", "all but the logins")]
    slow = [f"{r['method']} {r['name']} ({r['p50']:.0f} ms)" for r in rows if r["p50"] > SLOW_MS]
    costly = [
        f"{r['method']} {r['name']} ({r['cpu_ms']:.0f} ms)"
        for r in rows
        if r["cpu_ms"] is not None and r["cpu_ms"] > SLOW_MS
    ]
    print(f"\nmedians above {SLOW_MS} ms (this machine, this load): {', '.join(slow) or 'none'}")
    print(f"CPU above {SLOW_MS} ms per request (mean): {', '.join(costly) or 'none'}")


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
    parser.add_argument(
        "--reference",
        metavar="CHECKOUT",
        help="first run the same load on another checkout (e.g. a git worktree of an older "
        "commit), for a before/after with ratios per endpoint",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="after the load, cProfile the N costliest GET endpoints in process",
    )
    parser.add_argument("--profile-repeat", type=int, default=20, help="requests per profile")
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time and seconds(args.time) > 1800:
        parser.error("keep a run under 30 minutes")
    if args.one:
        print("RESULT " + json.dumps(run_one(args)), flush=True)
        return 0

    annotators = args.users - args.curators
    wait_min, wait_max = args.wait.split(",")
    harness.print_machine()
    print(
        f"seed: {args.articles} articles of ~{args.words} words, {args.claims} claims each "
        f"(2 annotations per claim); {annotators} annotators, {args.curators} curators"
    )
    print(
        f"locust: {args.users} users, spawn rate {args.spawn_rate}/s, {args.time}, "
        f"think time {wait_min}-{wait_max} s; throttles raised for the run: {THROTTLES}"
    )
    print(
        "CPU ms/req: the server's CPU per request, measured in gunicorn's hooks "
        "(bench/worker_probe.py): the worker thread's CPU (app ms) plus the CPU of the "
        "request's PostgreSQL backend (db ms), mean over the endpoint's requests"
    )
    results = []
    for root in [args.reference, None] if args.reference else [None]:
        command = [harness.PYTHON, __file__, "--one", *sys.argv[1:]]
        if "--reference" in command:  # the subprocess runs one checkout
            index = command.index("--reference")
            del command[index : index + 2]
        command = [c for c in command if not c.startswith("--reference=")]
        command += ["--root", str(root)] if root else []
        # Each checkout runs its own code alone (checkout_only/sitecustomize.py): its children
        # (manage.py, gunicorn, locust) inherit the path.
        path = [str(Path(__file__).with_name("checkout_only"))]
        path += [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            sys.stderr.write(done.stdout[-3000:] + done.stderr[-5000:])
            raise SystemExit(f"the run on {root or 'this checkout'} failed")
        results.append(json.loads(lines[-1][len("RESULT ") :]))
        print_run(results[-1])
    if len(results) == 2:
        print_comparison(*results)
    verdict(results[-1])

    failed = 0
    for result in results:
        total = next((r for r in result["rows"] if r["name"] == "all requests"), None)
        failed += total["failures"] if total else 1
        if result["locust_exit"] != 0 or "gunicorn_log" in result:
            failed = failed or 1
    if failed:
        print(f"\nFAILED: {failed} failed requests (or an error in gunicorn's log)")
        return 1
    print(f"\nPASSED: {sum(r['rows'][-1]['requests'] for r in results)} requests, no error.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
