"""The production shape on one machine (loopback only): two gunicorn processes behind nginx,
a PostgreSQL primary with a streaming replica made by pg_basebackup, a jobs worker, Redis.

1. starts its own PostgreSQL primary (initdb in a temporary folder, a free port, run as the
   `postgres` user) and a streaming replica of it (pg_basebackup -R, another port), creates the
   database, migrates it and seeds a corpus through the app's importer (bench/harness.py);
2. starts two gunicorn processes (A and B) with DATABASE_REPLICA_URL, CACHE_URL on the local
   Redis and the database jobs queue, and Debian's nginx in front of both;
3. runs the load (bench/locustfile.py, what bench/load.py runs) against A alone, then against
   nginx (A and B), and prints both and their ratio;
4. starts an export job, kills the worker (SIGKILL) while it runs, starts another, and checks
   that the job completes once (attempt 2, one file, the same bytes as the streamed export);
5. sends exports through nginx and counts, on each server, the rows read (pg_stat_database) and
   the statements run (pg_stat_statements): the replica must take the export load.

Needs: PostgreSQL 15 server binaries, nginx (`apt-get install -y nginx`), Redis on
127.0.0.1:6379, locust (`pip install -e '.[bench]'`); runs as root (it starts PostgreSQL as the
`postgres` user). Everything it starts is stopped at the end; its folders are removed.

    .venv/bin/python bench/scale.py [--articles 400] [--users 30] [--time 45s]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SLUG = "scale"
REDIS_CACHE = "redis://127.0.0.1:6379/13"
ALSO_STOP: list[subprocess.Popen] = []


def as_postgres(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, **kwargs
    )


class Cluster:
    """A PostgreSQL server of this script's own, in `folder`, on `port`."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.url = f"postgres://postgres@127.0.0.1:{port}"

    def start(self) -> None:
        as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.folder),
            "-l",
            str(self.folder.parent / f"{self.folder.name}.log"),
            "-o",
            f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1",
            "-w",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.folder), "-m", "fast", "stop")

    def query(self, database: str, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(f"{self.url}/{database}", autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []


def make_primary(root: Path) -> Cluster:
    folder = root / "primary"
    as_postgres(str(PG_BIN / "initdb"), "-D", str(folder), "-A", "trust", "-U", "postgres")
    with open(folder / "postgresql.conf", "a") as conf:
        conf.write(
            "wal_level = replica\nmax_wal_senders = 5\nshared_buffers = 128MB\n"
            "shared_preload_libraries = 'pg_stat_statements'\nfsync = on\n"
        )
    with open(folder / "pg_hba.conf", "a") as hba:
        hba.write("host replication postgres 127.0.0.1/32 trust\n")
    primary = Cluster(folder, harness.free_port())
    primary.start()
    return primary


def make_replica(root: Path, primary: Cluster) -> Cluster:
    folder = root / "replica"
    as_postgres(
        str(PG_BIN / "pg_basebackup"),
        "-h",
        "127.0.0.1",
        "-p",
        str(primary.port),
        "-U",
        "postgres",
        "-D",
        str(folder),
        "-R",  # standby.signal + primary_conninfo: a streaming replica
        "-X",
        "stream",
        "--checkpoint=fast",
    )
    replica = Cluster(folder, harness.free_port())
    replica.start()
    return replica


def nginx(root: Path, upstreams: list[str]) -> tuple[subprocess.Popen, str]:
    """Debian's nginx with the same proxy settings as deploy/nginx/nginx.conf."""
    port = harness.free_port()
    servers = "\n".join(f"    server {u} max_fails=2 fail_timeout=10s;" for u in upstreams)
    conf = root / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {root}/nginx-body;
  proxy_temp_path {root}/nginx-proxy;
  upstream annotator {{
{servers}
    keepalive 32;
  }}
  client_max_body_size 210m;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://annotator;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_read_timeout 600s;
    }}
  }}
}}
"""
    )
    process = subprocess.Popen(["nginx", "-c", str(conf)], start_new_session=True)
    ALSO_STOP.append(process)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/api/v1/corpora", timeout=5).status_code == 401:
                return process, url
        time.sleep(0.1)
    raise SystemExit("nginx did not answer")


def locust(env: dict, host: str, out: Path, users: int, duration: str, password: str) -> dict:
    locust_env = {
        **env,
        "LOAD_SLUG": SLUG,
        "LOAD_PASSWORD": password,
        "LOAD_ANNOTATORS": str(users - users // 5),
        "LOAD_CURATORS": str(users // 5),
        "LOAD_WAIT_MIN": "0.5",
        "LOAD_WAIT_MAX": "1.5",
    }
    subprocess.run(
        [
            str(harness.BIN / "locust"),
            "-f",
            str(Path(__file__).with_name("locustfile.py")),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            duration,
            "--host",
            host,
            "--csv",
            str(out),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "ERROR",
        ],
        cwd=harness.ROOT,
        env=locust_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    with open(f"{out}_stats.csv") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    return rows["Aggregated"]


def worker(env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [harness.PYTHON, "manage.py", "jobs_worker", "--interval", "0.2"],
            cwd=harness.ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ALSO_STOP.append(process)
    return process


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"timed out: {what}")


def server_counts(cluster: Cluster, database: str) -> dict[str, int]:
    ((fetched, commits),) = cluster.query(
        database,
        "SELECT tup_returned + tup_fetched, xact_commit FROM pg_stat_database "
        f"WHERE datname = '{database}'",
    )
    statements = cluster.query(
        database,
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
        "WHERE query ILIKE '%articles_article%' AND query ILIKE 'SELECT%'",
    )[0][0]
    return {"rows": int(fetched), "commits": int(commits), "article_selects": int(statements)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--words", type=int, default=800)
    parser.add_argument("--claims", type=int, default=10)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--time", default="45s", help="each load run")
    parser.add_argument("--exports", type=int, default=10, help="streamed exports counted")
    args = parser.parse_args()
    for tool in ("nginx", "runuser"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (apt-get install -y {tool})")

    harness.print_machine()
    root = Path(tempfile.mkdtemp(prefix="aa-scale-"))
    os.chmod(root, 0o755)
    shutil.chown(root, "postgres")  # PostgreSQL creates its folders and logs in it
    primary = replica = None
    try:
        primary = make_primary(root)
        database = "annotator"
        primary.query("postgres", f"CREATE DATABASE {database}")
        primary.query(database, "CREATE EXTENSION pg_stat_statements")
        replica = make_replica(root, primary)
        print(
            f"PostgreSQL 15: primary 127.0.0.1:{primary.port}, streaming replica "
            f"127.0.0.1:{replica.port} (pg_basebackup -R -X stream)"
        )
        files = root / "jobs"
        env = harness.app_env(
            f"{primary.url}/{database}",
            DATABASE_REPLICA_URL=f"{replica.url}/{database}",
            CACHE_URL=REDIS_CACHE,
            TASKS_BACKEND="database",
            JOBS_FILES_DIR=str(files),
            JOBS_LEASE_SECONDS="4",
            JOBS_HEARTBEAT_SECONDS="0.5",
            JOBS_MAINTENANCE_SECONDS="1",
            REPLICA_READ_YOUR_WRITES_SECONDS="5",
            API_THROTTLE_TOKEN="1000/minute",
        )
        subprocess.run(["redis-cli", "-n", "13", "flushdb"], check=True, capture_output=True)
        harness.prepare(env)
        harness.django_setup(env)
        password = secrets.token_urlsafe(12)
        users = args.users
        harness.seed_team(
            slug=SLUG,
            annotators=[f"ann{i:02d}" for i in range(1, users - users // 5 + 1)],
            curators=[f"cur{i:02d}" for i in range(1, users // 5 + 1)],
            password=password,
            articles=args.articles,
            words=args.words,
            claims_per_article=args.claims,
        )
        from django.db import connections

        connections.close_all()
        print(
            f"seeded: {args.articles} articles of ~{args.words} words, {args.claims} claims "
            "each (2 annotations per claim)"
        )

        with (
            harness.Gunicorn(env, workers=1, threads=4, keep_alive=5) as a,
            harness.Gunicorn(env, workers=1, threads=4, keep_alive=5) as b,
        ):
            _nginx, front = nginx(root, [f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"])
            print(f"two processes: {a.describe()}; the same on :{b.port}; nginx on {front}")

            # --- 3. load: one process, then two behind nginx --------------------------------
            results = []
            for label, host in [("one process (A)", a.url), ("two processes (nginx: A+B)", front)]:
                load_before = os.getloadavg()[0]
                stats = locust(env, host, root / label.split()[0], users, args.time, password)
                stats["load"] = f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}"
                results.append((label, stats))
            rows = [
                [
                    label,
                    s["Request Count"],
                    s["Failure Count"],
                    f"{float(s['Requests/s']):.1f}",
                    s["50%"],
                    s["90%"],
                    s["99%"],
                    s["load"],
                ]
                for label, s in results
            ]
            print()
            print(f"load: {users} users, think time 0.5-1.5 s, {args.time} each")
            print(
                harness.table(
                    [
                        "target",
                        "requests",
                        "failures",
                        "req/s",
                        "p50 ms",
                        "p90 ms",
                        "p99 ms",
                        "load avg (1 min)",
                    ],
                    rows,
                )
            )
            one, two = (float(s["Requests/s"]) for _, s in results)
            p90_one, p90_two = (float(s["90%"]) for _, s in results)
            print(
                f"ratio two/one: throughput {two / one:.2f}x, p90 latency {p90_two / p90_one:.2f}x "
                f"(2 cores shared by both processes, PostgreSQL x2, Redis, nginx and locust)"
            )

            # --- 4. an export job while the worker is killed and restarted ---------------------
            token = harness.api_token(front, "owner", password)
            api = requests.Session()
            api.headers["Authorization"] = f"Token {token}"
            log = root / "worker.log"
            job = api.post(f"{front}/api/v1/corpora/{SLUG}/exports", json={"format": "jsonl"})
            job.raise_for_status()
            job_id = job.json()["id"]
            started = time.monotonic()
            first = worker(env, log)
            progress = wait_for(
                lambda: (
                    (body := api.get(f"{front}/api/v1/jobs/{job_id}").json())["status"] == "running"
                    and body["progress"] > 0
                    and body
                ),
                120,
                "the job to make progress",
            )
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
            killed_at = time.monotonic()
            after_kill = api.get(f"{front}/api/v1/jobs/{job_id}").json()
            download_while_dead = api.get(f"{front}/api/v1/jobs/{job_id}/download").status_code
            second = worker(env, log)
            done = wait_for(
                lambda: (
                    (body := api.get(f"{front}/api/v1/jobs/{job_id}").json())["status"]
                    in ("done", "failed")
                    and body
                ),
                300,
                "the second worker to finish the job",
            )
            finished = time.monotonic()
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=60)
            kept = sorted(str(p.relative_to(files)) for p in files.rglob("*") if p.is_file())
            complete = [k for k in kept if not k.startswith(".partial/")]
            downloaded = api.get(f"{front}/api/v1/jobs/{job_id}/download").content
            streamed = api.get(f"{front}/api/v1/corpora/{SLUG}/export?format=jsonl").content
            print()
            print("export job, worker killed (SIGKILL) mid-job and started again")
            print(
                harness.table(
                    ["what", "value"],
                    [
                        ["progress when killed", f"{progress['progress']:.2f}"],
                        ["status right after the kill", after_kill["status"]],
                        ["download while no worker runs", download_while_dead],
                        ["final status", done["status"]],
                        ["attempts", done["attempts"]],
                        ["finished files kept", len(complete)],
                        ["seconds from kill to done", f"{finished - killed_at:.1f}"],
                        ["seconds from start to done", f"{finished - started:.1f}"],
                        ["file bytes", len(downloaded)],
                        [
                            "same bytes as the streamed export",
                            hashlib.sha256(downloaded).hexdigest()
                            == hashlib.sha256(streamed).hexdigest(),
                        ],
                    ],
                )
            )

            # --- 5. the export load on the replica ------------------------------------------
            time.sleep(REPLICA_WINDOW := 6)  # past read-your-writes for this token (it wrote)
            before = {
                n: server_counts(c, database)
                for n, c in [("primary", primary), ("replica", replica)]
            }
            t0 = time.monotonic()
            sizes = []
            for _ in range(args.exports):
                response = api.get(f"{front}/api/v1/corpora/{SLUG}/export?format=jsonl")
                response.raise_for_status()
                sizes.append(len(response.content))
            elapsed = time.monotonic() - t0
            after = {
                n: server_counts(c, database)
                for n, c in [("primary", primary), ("replica", replica)]
            }
            print()
            print(
                f"{args.exports} streamed JSONL exports through nginx ({sizes[0]:,} bytes each, "
                f"{elapsed:.1f} s), counted on each server (waited {REPLICA_WINDOW} s after the "
                "token's last write: read-your-writes)"
            )
            print(
                harness.table(
                    ["server", "rows read", "transactions", "SELECTs on articles"],
                    [
                        [
                            name,
                            f"{after[name]['rows'] - before[name]['rows']:,}",
                            f"{after[name]['commits'] - before[name]['commits']:,}",
                            f"{after[name]['article_selects'] - before[name]['article_selects']:,}",
                        ]
                        for name in ("primary", "replica")
                    ],
                )
            )
        return 0
    finally:
        for process in ALSO_STOP:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=20)
        for cluster in (replica, primary):
            if cluster is not None:
                cluster.stop()
        subprocess.run(["redis-cli", "-n", "13", "flushdb"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
