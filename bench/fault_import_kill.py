"""Fault: a large import killed with SIGKILL while it writes; the corpus must hold all or nothing.

For each database (--db postgres, sqlite or both) and each way in (--via command, server or both):
1. builds a native JSONL file (--articles articles, default 20,000, each with 3 claims tagged by
   2 annotators with a span of evidence: 60,000 claims, 120,000 annotations);
2. creates a database of its own (PostgreSQL `aa_fault_import`, dropped and created afresh, or a
   temporary SQLite file), migrates it, and creates the users and an empty corpus;
3. starts the import: `manage.py import_corpus` in a subprocess (command), or
   `POST /api/v1/corpora/{slug}/import` to `gunicorn annotator.wsgi` (server);
4. waits until the import is writing (PostgreSQL: its transaction holds a write lock on the
   article table; SQLite: the write-ahead log grows), lets it write for --kill-after seconds
   (15 by default, about half-way through 20,000 articles on a 2-core machine), then kills
   the import process (the command, or the gunicorn worker serving the upload) with SIGKILL;
5. counts the corpus's articles, claims and annotations: they must be all 0 or the full counts
   (SQLite also passes `PRAGMA integrity_check`);
6. runs the same import again, undisturbed, and checks it completes with the full counts (under
   gunicorn, by the worker the master started in place of the killed one).

Prints a table; exits 1 when a check fails. Touches no database but its own.

    .venv/bin/python bench/fault_import_kill.py [--db both] [--via both] [--articles 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

SLUG = "killed"
ANNOTATORS = ["ann1", "ann2"]
PASSWORD = "import-kill-password-7"  # noqa: S105 (a throwaway account in a throwaway database)
CLAIMS_PER_ARTICLE = 3
TABLES = ("article", "claim", "annotation")


def build_file(path: Path, articles: int) -> dict[str, int]:
    rng = random.Random(20)
    with path.open("w", encoding="utf-8") as out:
        for index in range(articles):
            line = harness.article_line(
                rng,
                title=f"Imported article {index + 1}",
                words=120,
                claims=CLAIMS_PER_ARTICLE,
                annotators=ANNOTATORS,
                topic="US export controls on AI chips are effective",
            )
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return {
        "article": articles,
        "claim": articles * CLAIMS_PER_ARTICLE,
        "annotation": articles * CLAIMS_PER_ARTICLE * len(ANNOTATORS),
    }


class Database:
    """This script's own database, with the raw counts and "is an import writing?" probes."""

    def __init__(self, kind: str):
        self.kind = kind
        if kind == "postgres":
            self.url = harness.pg_database_fresh("aa_fault_import")
            self.path = None
        else:
            self.path = Path(tempfile.mkdtemp(prefix="aa-fault-import-")) / "db.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def _query(self, sql: str, params=()) -> list[tuple]:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.url, connect_timeout=10) as conn:
                return conn.execute(sql, params).fetchall()
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            conn.close()

    def counts(self) -> dict[str, int]:
        corpus = "(select id from articles_corpus where slug = %s)"
        return {
            "article": self._query(
                f"select count(*) from articles_article where corpus_id = {corpus}", (SLUG,)
            )[0][0],
            "claim": self._query(
                "select count(*) from articles_claim c join articles_article a "
                f"on a.id = c.article_id where a.corpus_id = {corpus}",
                (SLUG,),
            )[0][0],
            "annotation": self._query(
                "select count(*) from articles_annotation n join articles_claim c "
                "on c.id = n.claim_id join articles_article a on a.id = c.article_id "
                f"where a.corpus_id = {corpus}",
                (SLUG,),
            )[0][0],
        }

    def integrity(self) -> str:
        if self.kind != "sqlite":
            return "n/a"
        return self._query("pragma integrity_check")[0][0]

    def write_marker(self) -> int:
        """Grows while an import writes: the bytes of uncommitted heap pages of the article,
        claim and annotation tables (PostgreSQL) or of the write-ahead log (SQLite)."""
        if self.kind == "postgres":
            return self._query(
                "select coalesce(sum(pg_relation_size(c.oid)), 0)::bigint from pg_class c "
                "where c.relname in ('articles_article', 'articles_claim', 'articles_annotation')"
            )[0][0]
        wal = Path(f"{self.path}-wal")
        return wal.stat().st_size if wal.exists() else 0

    def writing(self) -> bool:
        """An import's transaction is open and has written to the article table."""
        if self.kind == "postgres":
            return bool(
                self._query(
                    "select count(*) from pg_locks l join pg_class c on c.oid = l.relation "
                    "where c.relname = 'articles_article' and l.mode = 'RowExclusiveLock' "
                    "and l.granted and l.pid <> pg_backend_pid()"
                )[0][0]
            )
        return False  # SQLite: judged by the write-ahead log growing, in wait_for_writes


def wait_for_writes(db: Database, alive, baseline: int, limit: float = 600) -> float | None:
    """Seconds until the import is seen writing, or None if it ended first."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if not alive():
            return None
        if db.writing() or (db.kind == "sqlite" and db.write_marker() > baseline + 1_000_000):
            return time.monotonic() - began
        time.sleep(0.1)
    return None


def prepare(db_kind: str) -> tuple[Database, dict[str, str]]:
    db = Database(db_kind)
    env = harness.app_env(db.url, API_THROTTLE_TOKEN="1000/minute")
    harness.prepare(env, static=False)
    # Seed in a child process: this one may work on another database next.
    subprocess.run(
        [
            harness.PYTHON,
            "-c",
            "import sys; sys.path.insert(0, 'bench'); import harness, os; "
            "harness.django_setup(dict(os.environ)); "
            f"harness.seed_team(slug={SLUG!r}, annotators={ANNOTATORS!r}, curators=[], "
            f"password={PASSWORD!r}, articles=0, words=0, claims_per_article=0)",
        ],
        cwd=harness.ROOT,
        env=env,
        check=True,
    )
    return db, env


def run_command(db, env, jsonl: Path, kill_after: float | None) -> dict:
    """`manage.py import_corpus`; killed with SIGKILL kill_after seconds into writing."""
    baseline = db.write_marker()
    started = time.monotonic()
    process = subprocess.Popen(
        [harness.PYTHON, "manage.py", "import_corpus", SLUG, str(jsonl)],
        cwd=harness.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    outcome: dict = {"killed": False}
    if kill_after is not None:
        seen = wait_for_writes(db, lambda: process.poll() is None, baseline)
        if seen is not None:
            time.sleep(kill_after)
            if process.poll() is None:
                outcome["written_bytes"] = db.write_marker() - baseline
                process.send_signal(signal.SIGKILL)
                outcome["killed"] = True
                outcome["at"] = time.monotonic() - started
    output, _ = process.communicate(timeout=1200)
    outcome.update(
        returncode=process.returncode, output=output.strip(), took=time.monotonic() - started
    )
    return outcome


def run_server(db, env, jsonl: Path, kill_after: float | None, server: harness.Gunicorn) -> dict:
    """POST the file to the API; SIGKILL the gunicorn worker kill_after seconds into writing."""
    token = harness.api_token(server.url, "owner", PASSWORD)
    baseline = db.write_marker()
    answer: dict = {}

    def upload():
        try:
            with jsonl.open("rb") as body:
                response = requests.post(
                    f"{server.url}/api/v1/corpora/{SLUG}/import",
                    data=body,
                    headers={
                        "Authorization": f"Token {token}",
                        "Content-Type": "application/x-ndjson",
                    },
                    timeout=1200,
                )
            answer["status"] = response.status_code
            answer["body"] = response.text[:300]
        except requests.RequestException as error:
            answer["status"] = type(error).__name__

    started = time.monotonic()
    client = threading.Thread(target=upload)
    client.start()
    outcome: dict = {"killed": False}
    if kill_after is not None:
        seen = wait_for_writes(db, client.is_alive, baseline)
        if seen is not None:
            time.sleep(kill_after)
            workers = server.worker_pids()
            if client.is_alive() and len(workers) == 1:
                outcome["written_bytes"] = db.write_marker() - baseline
                os.kill(workers[0], signal.SIGKILL)  # the one worker: it serves the upload
                outcome["killed"] = True
                outcome["at"] = time.monotonic() - started
    client.join(timeout=1200)
    outcome.update(
        returncode=answer.get("status"),
        output=answer.get("body", ""),
        took=time.monotonic() - started,
    )
    return outcome


def scenario(db_kind: str, via: str, jsonl: Path, expected: dict, kill_after: float) -> dict:
    db, env = prepare(db_kind)
    row: dict = {"db": db_kind, "via": via}
    if via == "command":
        killed = run_command(db, env, jsonl, kill_after)
        after_kill = db.counts()
        integrity_after_kill = db.integrity()
        rerun = run_command(db, env, jsonl, None)
    else:
        # One worker, so the process to kill is known; a timeout long enough for the import.
        with harness.Gunicorn(env, workers=1, threads=2, timeout=1200) as server:
            killed = run_server(db, env, jsonl, kill_after, server)
            time.sleep(1)
            respawned = server.worker_pids()
            after_kill = db.counts()
            integrity_after_kill = db.integrity()
            rerun = run_server(db, env, jsonl, None, server)
            row["respawned"] = bool(respawned)
    final = db.counts()
    empty = dict.fromkeys(TABLES, 0)
    row.update(
        killed=killed,
        after_kill=after_kill,
        all_or_nothing=after_kill in (empty, expected),
        rerun=rerun,
        final=final,
        rerun_ok=final == expected
        and (rerun["returncode"] == 0 if via == "command" else rerun["returncode"] == 201),
        integrity_checks=(integrity_after_kill, db.integrity()),
    )
    row["integrity"] = "{} after the kill, {} after the rerun".format(*row["integrity_checks"])
    if db.path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db.path}{suffix}").unlink(missing_ok=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--via", choices=["command", "server", "both"], default="both")
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument(
        "--kill-after",
        type=float,
        default=15.0,
        help="seconds of writing before the kill (about half of a 20,000-article import here)",
    )
    args = parser.parse_args()

    harness.print_machine()
    workdir = Path(tempfile.mkdtemp(prefix="aa-fault-import-"))
    jsonl = workdir / "large.jsonl"
    expected = build_file(jsonl, args.articles)
    size = jsonl.stat().st_size
    print(
        f"file: {jsonl.name}, {size / 1e6:.1f} MB: {expected['article']:,} articles, "
        f"{expected['claim']:,} claims, {expected['annotation']:,} annotations"
    )
    databases = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    ways = ["command", "server"] if args.via == "both" else [args.via]
    rows, problems = [], []
    for db_kind in databases:
        for via in ways:
            print(f"\n== {db_kind}, {via} ==", flush=True)
            row = scenario(db_kind, via, jsonl, expected, args.kill_after)
            rows.append(row)
            killed = row["killed"]
            print(
                f"killed: {killed['killed']} at {killed.get('at', 0):.1f} s after the start "
                f"({killed.get('written_bytes', 0) / 1e6:.1f} MB written, uncommitted); "
                f"the import's answer: {killed['returncode']} {killed['output'][-200:]!r}"
            )
            print(f"after the kill: {row['after_kill']}")
            print(
                f"rerun: {row['rerun']['returncode']} in {row['rerun']['took']:.1f} s; "
                f"{row['rerun']['output'][-200:]!r}"
            )
            print(f"after the rerun: {row['final']}; integrity: {row['integrity']}")
            name = f"{db_kind}/{via}"
            if not killed["killed"]:
                problems.append(f"{name}: the import ended before the kill (lower --kill-after)")
            if not row["all_or_nothing"]:
                problems.append(f"{name}: partial import after the kill: {row['after_kill']}")
            if not row["rerun_ok"]:
                problems.append(f"{name}: the rerun did not complete: {row['final']}")
            if any(verdict not in ("ok", "n/a") for verdict in row["integrity_checks"]):
                problems.append(f"{name}: integrity check: {row['integrity']}")
            if via == "server" and not row.get("respawned"):
                problems.append(f"{name}: gunicorn did not start a new worker")
    jsonl.unlink()
    workdir.rmdir()

    print()
    print(
        harness.table(
            [
                "database",
                "killed",
                "killed at s",
                "share of a full run",
                "after the kill a/c/n",
                "all or nothing",
                "rerun s",
                "after the rerun a/c/n",
            ],
            [
                [
                    f"{r['db']} ({r['via']})",
                    "SIGKILL" if r["killed"]["killed"] else "no",
                    f"{r['killed'].get('at', 0):.1f}",
                    f"{r['killed'].get('at', 0) / r['rerun']['took']:.0%}",
                    "/".join(str(r["after_kill"][t]) for t in TABLES),
                    "yes" if r["all_or_nothing"] else "NO",
                    f"{r['rerun']['took']:.1f}",
                    "/".join(str(r["final"][t]) for t in TABLES),
                ]
                for r in rows
            ],
        )
    )
    if problems:
        print("\nFAILED: " + "; ".join(problems))
        return 1
    print("\nPASSED: every killed import left nothing behind, and every rerun completed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
