"""Fault: PostgreSQL restarted while gunicorn serves a load of writes and reads.

WARNING: this restarts the machine's PostgreSQL server (`pg_ctlcluster ... stop`, a pause of
--down seconds, `start`). Every database on that server is cut off for those seconds, including
other people's test runs. The outage is kept short (2 s by default) and the script always starts
the server again, even when it fails or is interrupted.

What it does:
1. creates its own database (--database, default aa_fault_db; dropped and created afresh),
   migrates it and seeds a corpus (users, 5 articles with claims) through the ORM;
2. starts `gunicorn annotator.wsgi` (2 workers x 2 threads, gthread) on 127.0.0.1 and a free
   port, with production settings over plain HTTP (DJANGO_HTTPS=0) and a random secret key;
3. takes API tokens through `POST /api/v1/auth/token` and logs a reader in through the login form;
4. runs --writers threads creating claims then annotations through the API and --readers
   threads reading the API and the pages, for --before seconds, restarts PostgreSQL, and keeps
   going for --after seconds;
5. checks that every request either succeeded or failed cleanly (503 with the plain "database is
   unavailable" message; never a 500, a dropped connection or a wait past --timeout), that the
   app recovered by itself (requests succeed again after the restart; gunicorn is not touched),
   and that every acknowledged write (2xx with an id) is in the database.

Prints a table per request kind (ok / 503 / other, max latency) and the time to recover; exits 1
when a check fails.

    .venv/bin/python bench/fault_db_restart.py [--down 2] [--before 6] [--after 12]
    .venv/bin/python bench/fault_db_restart.py --private-server   # others' databases untouched

`--private-server` runs the drill on a throwaway PostgreSQL cluster of its own (initdb into a
temporary folder, a free port, as the `postgres` user when run as root) instead of the
machine's, so that nobody else's connections are cut; it is removed afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

PASSWORD = "fault-bench-password-7"  # noqa: S105 (a throwaway account in a throwaway database)
SLUG = "faults"


@dataclass
class Outcome:
    kind: str
    started: float
    ended: float
    verdict: str  # "ok", "503", or what went wrong
    detail: str = ""

    @property
    def latency(self) -> float:
        return self.ended - self.started


class Recorder:
    def __init__(self, timeout: float):
        self.timeout = timeout
        self.outcomes: list[Outcome] = []
        self.acked_claims: list[int] = []
        self.acked_annotations: list[int] = []
        self.refused_markers: list[str] = []  # writes answered 503: "nothing was changed"
        self.lock = threading.Lock()

    def call(self, session: requests.Session, kind: str, method: str, url: str, **kwargs):
        """One request, classified; returns the response when it succeeded (2xx)."""
        started = time.monotonic()
        try:
            response = session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            self._add(Outcome(kind, started, time.monotonic(), type(error).__name__, str(error)))
            return None
        ended = time.monotonic()
        if 200 <= response.status_code < 300:
            verdict = "ok"
        elif response.status_code == 503 and harness.DB_DOWN_MESSAGE in response.text:
            verdict = "503"
        else:
            verdict = f"HTTP {response.status_code}"
        self._add(Outcome(kind, started, ended, verdict, response.text[:300]))
        return response if verdict == "ok" else (False if verdict == "503" else None)

    def _add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


class PrivateServer:
    """A throwaway PostgreSQL cluster: initdb into a temporary folder, started on a free port
    (trust authentication, as the machine's), stopped and removed on exit."""

    def __init__(self) -> None:
        version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
        self.bin = Path(f"/usr/lib/postgresql/{version}/bin")
        self.folder = Path(tempfile.mkdtemp(prefix="aa-fault-pg-"))
        self.data = self.folder / "data"
        self.port = harness.free_port()
        # PostgreSQL refuses to run as root: then as its own user.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def run(self, *command: str) -> None:
        subprocess.run(
            [*self.as_user, *command], check=True, timeout=120, stdout=subprocess.DEVNULL
        )

    def __enter__(self) -> PrivateServer:
        if self.as_user:
            shutil.chown(self.folder, "postgres")
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self.control("start")
        return self

    def control(self, action: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "-m",
            "fast",
            action,
        )

    def __exit__(self, *exc_info) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.control("stop")
        shutil.rmtree(self.folder, ignore_errors=True)


_private: PrivateServer | None = None


def pg_cluster(action: str) -> float:
    """stop or start the PostgreSQL cluster (the private one, else the machine's); returns
    how long the command took."""
    started = time.monotonic()
    if _private is not None:
        _private.control(action)
        return time.monotonic() - started
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
        timeout=120,
    )
    return time.monotonic() - started


def pg_accepting_at(url: str, give_up_at: float) -> float | None:
    """The moment PostgreSQL first accepts a connection (polled every 50 ms)."""
    import psycopg

    while time.monotonic() < give_up_at:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return time.monotonic()
        except psycopg.OperationalError:
            time.sleep(0.05)
    return None


def writer(recorder, base, token, articles, stop, name, rng):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    count = 0
    while not stop.is_set():
        count += 1
        article_id, length = rng.choice(articles)
        start = rng.randrange(0, length - 60)
        end = start + rng.randint(10, 50)
        marker = f"fault-{name}-{count}"
        created = recorder.call(
            session,
            "POST claim",
            "POST",
            f"{base}/api/v1/articles/{article_id}/claims",
            json={"start": start, "end": end, "summary": marker},
        )
        if created is False:
            recorder.refused_markers.append(marker)
        if not created:
            continue
        claim_id = created.json()["id"]
        recorder.acked_claims.append(int(claim_id))
        evidence_start = rng.randrange(0, length - 40)
        tagged = recorder.call(
            session,
            "POST annotation",
            "POST",
            f"{base}/api/v1/claims/{claim_id}/annotations",
            json={
                "stance": rng.choice(harness.STANCES),
                "note": marker,
                "confidence": rng.randint(1, 5),
                "evidence": [
                    {
                        "kind": "span",
                        "start": evidence_start,
                        "end": evidence_start + 30,
                        "evidence_type": "statistic",
                    }
                ],
            },
        )
        if tagged:
            recorder.acked_annotations.append(int(tagged.json()["id"]))


def api_reader(recorder, base, token, articles, stop, rng):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    while not stop.is_set():
        article_id, _ = rng.choice(articles)
        listed = recorder.call(
            session,
            "GET claims (API)",
            "GET",
            f"{base}/api/v1/articles/{article_id}/claims?page_size=50",
        )
        if listed and listed.json()["results"]:
            claim = rng.choice(listed.json()["results"])
            recorder.call(session, "GET claim (API)", "GET", f"{base}/api/v1/claims/{claim['id']}")
        time.sleep(0.02)


def page_reader(recorder, base, session, articles, stop, rng):
    while not stop.is_set():
        article_id, _ = rng.choice(articles)
        recorder.call(session, "GET corpus page", "GET", f"{base}/corpora/{SLUG}/")
        recorder.call(session, "GET article page", "GET", f"{base}/articles/{article_id}/")
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="aa_fault_db", help="this script's own database")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2, help="API readers (+1 page reader)")
    parser.add_argument("--before", type=float, default=6.0, help="seconds of load before")
    parser.add_argument("--after", type=float, default=12.0, help="seconds of load after")
    parser.add_argument("--down", type=float, default=2.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--timeout", type=float, default=15.0, help="a request slower is a hang")
    parser.add_argument(
        "--private-server",
        action="store_true",
        help="restart a throwaway cluster of this script's own, not the machine's",
    )
    args = parser.parse_args()
    if not args.private_server:
        return drill(args)
    global _private
    with PrivateServer() as _private:
        harness.PG_SERVER = f"postgres://postgres@127.0.0.1:{_private.port}"
        print(f"on a private PostgreSQL cluster at {harness.PG_SERVER} ({_private.data})")
        return drill(args)


def drill(args: argparse.Namespace) -> int:
    harness.print_machine()
    url = harness.pg_database_fresh(args.database)
    # The writers post far faster than a person: raise the API throttles for this run only.
    env = harness.app_env(url, API_THROTTLE_USER="1000000/minute", API_THROTTLE_TOKEN="1000/minute")
    harness.prepare(env)
    harness.django_setup(env)
    writers = [f"writer{i}" for i in range(1, args.writers + 1)]
    readers = [f"reader{i}" for i in range(1, args.readers + 2)]
    harness.seed_team(
        slug=SLUG,
        annotators=writers + readers,
        curators=[],
        password=PASSWORD,
        articles=5,
        words=400,
        claims_per_article=5,
    )
    from django.db import connections

    from articles.models import Article

    articles = [(a.pk, len(a.text)) for a in Article.objects.filter(corpus__slug=SLUG)]
    connections.close_all()  # this process does not hold a connection through the restart

    recorder = Recorder(args.timeout)
    stop = threading.Event()
    rng = random.Random(6)
    pg_stopped = False
    with harness.Gunicorn(env, workers=args.workers, threads=args.threads) as server:
        print(server.describe())
        base = server.url
        threads = [
            threading.Thread(
                target=writer,
                args=(
                    recorder,
                    base,
                    harness.api_token(base, n, PASSWORD),
                    articles,
                    stop,
                    n,
                    random.Random(rng.random()),
                ),
            )
            for n in writers
        ]
        threads += [
            threading.Thread(
                target=api_reader,
                args=(
                    recorder,
                    base,
                    harness.api_token(base, n, PASSWORD),
                    articles,
                    stop,
                    random.Random(rng.random()),
                ),
            )
            for n in readers[:-1]
        ]
        page_session = requests.Session()
        harness.page_login(page_session, base, readers[-1], PASSWORD)
        threads.append(
            threading.Thread(
                target=page_reader,
                args=(recorder, base, page_session, articles, stop, random.Random(rng.random())),
            )
        )
        origin = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            time.sleep(args.before)
            print(f"t={time.monotonic() - origin:5.1f}s  stopping PostgreSQL", flush=True)
            pg_stopped = True
            stop_took = pg_cluster("stop")
            down_at = time.monotonic()
            time.sleep(args.down)
            print(f"t={time.monotonic() - origin:5.1f}s  starting PostgreSQL", flush=True)
            starting = time.monotonic()
            probe: list[float | None] = []
            prober = threading.Thread(
                target=lambda: probe.append(pg_accepting_at(url, starting + 120))
            )
            prober.start()
            start_took = pg_cluster("start")
            pg_stopped = False
            prober.join()
            up_at = probe[0] or time.monotonic()
            print(f"t={up_at - origin:5.1f}s  PostgreSQL accepts connections", flush=True)
            time.sleep(max(0.0, args.after - (time.monotonic() - up_at)))
        finally:
            if pg_stopped:
                pg_cluster("start")
            stop.set()
            for thread in threads:
                thread.join(timeout=args.timeout + 5)
        gunicorn_alive = server.process.poll() is None
        log_tail = server.log_tail(15)

    return report(
        args,
        recorder,
        origin=origin,
        stop_began=down_at - stop_took,
        up_at=up_at,
        timing=(stop_took, start_took),
        url=url,
        gunicorn_alive=gunicorn_alive,
        log_tail=log_tail,
    )


def report(args, recorder, *, origin, stop_began, up_at, timing, url, gunicorn_alive, log_tail):
    import psycopg

    outcomes = sorted(recorder.outcomes, key=lambda o: o.started)
    by_kind: dict[str, Counter] = defaultdict(Counter)
    worst: dict[str, float] = defaultdict(float)
    for o in outcomes:
        by_kind[o.kind][
            "ok" if o.verdict == "ok" else "503" if o.verdict == "503" else "other"
        ] += 1
        worst[o.kind] = max(worst[o.kind], o.latency)
    rows = [
        [kind, c["ok"] + c["503"] + c["other"], c["ok"], c["503"], c["other"], f"{worst[kind]:.2f}"]
        for kind, c in sorted(by_kind.items())
    ]
    total = Counter()
    for c in by_kind.values():
        total.update(c)
    rows.append(
        [
            "all",
            sum(total.values()),
            total["ok"],
            total["503"],
            total["other"],
            f"{max(worst.values(), default=0):.2f}",
        ]
    )
    print()
    print(harness.table(["request", "total", "ok", "503", "other", "max latency s"], rows))

    failures = [o for o in outcomes if o.verdict != "ok"]
    after_up = [o for o in outcomes if o.started >= up_at]
    last_failure_end = max((o.ended for o in failures), default=None)
    first_ok_after = min((o.ended for o in after_up if o.verdict == "ok"), default=None)
    steady = [o for o in outcomes if last_failure_end is None or o.started > last_failure_end]
    recovered = bool(steady) and all(o.verdict == "ok" for o in steady) and first_ok_after
    recovery = max(0.0, (last_failure_end or up_at) - up_at)

    with psycopg.connect(url, connect_timeout=10) as conn:
        found_claims = {
            row[0]
            for row in conn.execute(
                "select id from articles_claim where id = any(%s) and deleted_at is null",
                (recorder.acked_claims,),
            )
        }
        found_annotations = {
            row[0]
            for row in conn.execute(
                "select id from articles_annotation where id = any(%s)",
                (recorder.acked_annotations,),
            )
        }
        refused_but_written = conn.execute(
            "select count(*) from articles_claim where summary = any(%s)",
            (recorder.refused_markers,),
        ).fetchone()[0]
    missing_claims = set(recorder.acked_claims) - found_claims
    missing_annotations = set(recorder.acked_annotations) - found_annotations

    stop_took, start_took = timing
    print()
    print(
        harness.table(
            ["fact", "value"],
            [
                ["PostgreSQL stop began at", f"t={stop_began - origin:.1f} s"],
                [
                    "pg_ctlcluster stop / start commands took",
                    f"{stop_took:.1f} s / {start_took:.1f} s",
                ],
                ["PostgreSQL down (as asked)", f"{args.down:.1f} s"],
                ["PostgreSQL accepted a connection again at", f"t={up_at - origin:.1f} s"],
                [
                    "failures seen by clients",
                    f"t={failures[0].started - origin:.1f} s to t={last_failure_end - origin:.1f} s"
                    if failures
                    else "none",
                ],
                ["time to recover after PostgreSQL was up", f"{recovery:.2f} s"],
                ["requests after the last failure", f"{len(steady)}, all ok: {bool(recovered)}"],
                ["gunicorn master still the same process", str(gunicorn_alive)],
                [
                    "acknowledged claims in the database",
                    f"{len(found_claims)} of {len(set(recorder.acked_claims))}",
                ],
                [
                    "acknowledged annotations in the database",
                    f"{len(found_annotations)} of {len(set(recorder.acked_annotations))}",
                ],
                ["claims answered 503 that were written", str(refused_but_written)],
            ],
        )
    )
    problems = []
    other = [o for o in failures if o.verdict != "503"]
    if other:
        problems.append(f"{len(other)} requests failed uncleanly")
        for o in other[:10]:
            print(f"  {o.kind} at t={o.started - origin:.2f}s: {o.verdict} {o.detail[:200]!r}")
    if max((o.latency for o in outcomes), default=0) >= args.timeout:
        problems.append("a request hung past the timeout")
    if not recovered:
        problems.append("the app did not recover by itself")
    if not gunicorn_alive:
        problems.append("gunicorn died")
    if missing_claims or missing_annotations:
        problems.append(
            f"acknowledged writes lost: claims {sorted(missing_claims)[:10]}, "
            f"annotations {sorted(missing_annotations)[:10]}"
        )
    if refused_but_written:
        print(
            f"note: {refused_but_written} claim(s) answered 503 were committed (the connection "
            "broke between COMMIT and its reply); the client's retry would duplicate them."
        )
    if not failures:
        print("note: no request failed; the restart fell between requests (try a longer --down).")
    if problems:
        print("\nFAILED: " + "; ".join(problems))
        if log_tail:
            print("gunicorn log (tail):\n" + log_tail)
        return 1
    print(
        "\nPASSED: clean 503s during the outage, recovered by itself, no acknowledged write lost."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
