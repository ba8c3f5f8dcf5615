"""Benchmark: a gunicorn worker's first exports, one after the other, from fresh servers.

    .venv/bin/python bench/first_export.py --database-url postgres://postgres@127.0.0.1:5432/x
    .venv/bin/python bench/first_export.py --reference /work/main --rounds 10 \
        --database-url sqlite:////tmp/first-export/db.sqlite3

Issue 17's corpus (export_ab.py's seeding when missing). Each round starts a fresh server of each
checkout in turn (the order flipped every round; `--workers` workers x 1 thread, production
settings, bench/worker_probe.py's hooks), has its worker serve `--reads` topics GETs (as the
peers' sequence has it serve other requests before its export), then times `--exports` JSONL
exports in a row on the same keep-alive connection. With one worker every export lands on the
same worker, so the first row is a worker's first export and the next rows its later ones.

For each export, by its place in the row: the client's wall time, and from inside the worker
(the probe) the process's CPU (every thread: the reader threads' too), the serving thread's CPU,
its PostgreSQL backends' CPU (the first connection's), page faults, the RSS before and after,
modules imported and export queries compiled during the request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_ab  # noqa: E402
import harness  # noqa: E402
import reads_ab  # noqa: E402
import worker_probe  # noqa: E402

PASSWORD = export_ab.PASSWORD
COLUMNS = (
    ("wall", "client wall s", "{:.3f}"),
    ("process_cpu_ms", "worker CPU ms", "{:.0f}"),
    ("system_cpu_ms", "of which in the kernel ms", "{:.0f}"),
    ("cpu_ms", "thread CPU ms", "{:.0f}"),
    ("db_ms", "backend CPU ms", "{:.0f}"),
    ("runqueue_ms", "waiting for a CPU ms", "{:.0f}"),
    ("minor_faults", "minor faults", "{:.0f}"),
    ("major_faults", "major faults", "{:.0f}"),
    ("rss_mb_start", "RSS before MB", "{:.1f}"),
    ("rss_growth_mb", "RSS growth MB", "{:+.1f}"),
    ("modules_new", "modules imported", "{:.0f}"),
    ("compiled_new", "queries compiled", "{:.0f}"),
)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def one_server(
    root: Path, env: dict, options, folder: Path, first_request: list[dict]
) -> list[dict]:
    """A fresh server's exports, in order: the client's wall time joined to the probe's record
    (and the worker's first request of all, the server's readiness check, to `first_request`)."""
    server = reads_ab.Server(root, {**env, "AA_WORKER_PROBE": str(folder)}, options.workers)
    server.config = Path(worker_probe.__file__).resolve()
    walls = []
    with server:
        token = harness.api_token(server.url, "owner", PASSWORD)
        http = requests.Session()
        http.headers["Authorization"] = f"Token {token}"
        for _ in range(options.reads):
            http.get(f"{server.url}/api/v1/corpora/spans/topics", timeout=60).raise_for_status()
        for _ in range(options.exports):
            started = time.perf_counter()
            with http.get(
                f"{server.url}/api/v1/corpora/spans/export",
                params={"format": options.format},
                stream=True,
                timeout=600,
            ) as r:
                assert r.status_code == 200, r.status_code
                for _chunk in r.iter_content(256 * 1024):
                    pass
            walls.append(time.perf_counter() - started)
            time.sleep(options.pause)
        time.sleep(0.1)  # the last post_request hook
    every = worker_probe.read(folder)
    records = [r for r in every if r["path"].endswith("/export")]
    assert len(records) == len(walls), (len(records), len(walls))
    first_request.append(every[0])
    for record, wall in zip(records, walls, strict=True):
        record["wall"] = wall
        record["rss_mb_start"] = record["rss_kb_start"] / 1024
        record["rss_growth_mb"] = (record["rss_kb_end"] - record["rss_kb_start"]) / 1024
        record["db_ms"] = record["db_ms"] if record["db_ms"] is not None else float("nan")
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", help="another checkout, e.g. /work/main")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--docs", type=int, default=1000, help="documents, when seeding")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--exports", type=int, default=4, help="exports in a row per server")
    parser.add_argument("--reads", type=int, default=20, help="topics GETs before the exports")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--format", default="jsonl")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between exports")
    options = parser.parse_args()

    export_ab.ensure_database(options.database_url)
    env = harness.app_env(
        options.database_url,
        API_THROTTLE_USER="1000000/minute",
        API_THROTTLE_TOKEN="1000/minute",  # a token per server
    )
    export_ab.seed_if_missing(env, options.docs)
    harness.print_machine()
    loads = [load()]
    roots = harness.checkouts(options.reference)
    names = list(roots)
    results: dict[str, list[list[dict]]] = defaultdict(list)
    firsts: dict[str, list[dict]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="aa-first-export-") as tmp:
        for round_no in range(options.rounds):
            for name in names if round_no % 2 == 0 else names[::-1]:
                folder = Path(tmp) / f"{name}-{round_no}"
                records = one_server(roots[name], env, options, folder, firsts[name])
                results[name].append(records)
                print(
                    f"round {round_no + 1}, {name}: "
                    + ", ".join(
                        f"{r['wall']:.3f} s / {r['process_cpu_ms']:.0f} ms" for r in records
                    )
                    + f" (load {load()})",
                    flush=True,
                )
    loads.append(load())
    print(
        f"\n{options.format} export of the corpus 'spans', {options.exports} in a row per fresh "
        f"server, {options.rounds} rounds; gunicorn {options.workers} worker(s) x 1 thread, "
        f"{options.reads} topics GETs first; {options.database_url.split(':')[0]}; load average "
        f"before {loads[0]}, after {loads[1]}; medians over the rounds\n"
    )
    print("| checkout | export | " + " | ".join(title for _, title, _ in COLUMNS) + " |")
    print("|---|---:|" + "---:|" * len(COLUMNS))
    for name in names:
        for index in range(options.exports):
            got = [records[index] for records in results[name] if len(records) > index]
            cells = [fmt.format(statistics.median(g[key] for g in got)) for key, _, fmt in COLUMNS]
            print(f"| {name} | {index + 1} | " + " | ".join(cells) + " |")
    print("\nThe worker's first request (the server's readiness check, `GET /api/v1/corpora`):")
    for name in names:
        got = firsts[name]
        print(
            f"- {name}: thread CPU {statistics.median(r['cpu_ms'] for r in got):.0f} ms, "
            f"wall {statistics.median(r['wall_ms'] for r in got):.0f} ms, "
            f"{statistics.median(r['modules_new'] for r in got):.0f} modules imported"
        )


if __name__ == "__main__":
    main()
