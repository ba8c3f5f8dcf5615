"""Benchmark: the short reads of issue 17 on two checkouts at once, requests interleaved.

    .venv/bin/python bench/workload.py --docs 1000 --db postgres     # leaves aa_workload
    .venv/bin/python bench/reads_ab.py --reference /work/main --database-url \
        postgres://postgres@127.0.0.1:5432/aa_workload

On a shared machine the load changes from one minute to the next, and `workload.py
--reference` measures the two checkouts minutes apart. Here both run at once, each under its
own gunicorn (production settings, the same database, a workload run's "spans" corpus and user
"owner"), and one client alternates between them: `--block` requests to one, then to the
other, `--rounds` times per endpoint. A burst of load falls on both alike; the table gives each
one's median and their ratio. Nothing is written but the API token the script takes.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
import worker_probe  # noqa: E402

PASSWORD = "bench-workload-pass"  # noqa: S105 (workload.py's throwaway owner)


class Server(harness.Gunicorn):
    """harness.Gunicorn started from another checkout."""

    def __init__(self, root: Path, env: dict[str, str], workers: int, timing: Path | None = None):
        if timing is not None:  # worker_probe.py's hooks, writing under `timing`
            env = {**env, "AA_WORKER_PROBE": str(timing)}
        config = Path(worker_probe.__file__) if timing is not None else None
        super().__init__(env, workers=workers, threads=1, timeout=120, config=config)
        self.root = root
        self.timing = timing

    def records(self) -> list[dict]:
        return worker_probe.read(self.timing) if self.timing is not None else []

    def __enter__(self) -> Server:
        saved, harness.ROOT = harness.ROOT, self.root
        try:
            super().__enter__()
        finally:
            harness.ROOT = saved
        return self


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, help="the other checkout, e.g. /work/main")
    parser.add_argument("--database-url", required=True, help="a database workload.py left")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--block", type=int, default=10, help="requests to one, then the other")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--server-timing",
        action="store_true",
        help="also the server's side (bench/worker_probe.py): the worker thread's CPU and its "
        "PostgreSQL backend's CPU per request, medians",
    )
    parser.add_argument("--only", help="only the endpoints whose label contains this")
    options = parser.parse_args()

    harness.print_machine()
    print("load average before:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    env = harness.app_env(options.database_url, API_THROTTLE_USER="1000000/minute")
    roots = {"before": Path(options.reference).resolve(), "after": harness.ROOT}
    timing: dict[str, Path | None] = dict.fromkeys(roots)
    if options.server_timing:
        folder = Path(tempfile.mkdtemp(prefix="aa-reads-ab-"))
        timing = {name: folder / name for name in roots}
    with (
        Server(roots["before"], env, options.workers, timing["before"]) as before,
        Server(roots["after"], env, options.workers, timing["after"]) as after,
    ):
        token = harness.api_token(after.url, "owner", PASSWORD)
        http = requests.Session()
        http.headers["Authorization"] = f"Token {token}"
        page = http.get(f"{after.url}/api/v1/corpora/spans/articles?page_size=500", timeout=60)
        ids = [a["id"] for a in page.json()["results"]]
        rng = random.Random(5)
        endpoints = {
            "one document with its 20 spans (1 request, include=claims)": (
                lambda: [f"/articles/{rng.choice(ids)}?include=claims"]
            ),
            "one document with its 20 spans (2 requests)": lambda: [
                f"/articles/{(chosen := rng.choice(ids))}",
                f"/articles/{chosen}/claims",
            ],
            "the spans of one document alone": lambda: [f"/articles/{rng.choice(ids)}/claims"],
            "a trivial GET (a corpus's topics)": lambda: ["/corpora/spans/topics"],
            "the article alone": lambda: [f"/articles/{rng.choice(ids)}"],
        }
        if options.only:
            endpoints = {k: v for k, v in endpoints.items() if options.only in k}
        servers = {"before": before, "after": after}
        rows = []
        server_rows = []
        for label, paths_of in endpoints.items():
            times: dict[str, list[float]] = {"before": [], "after": []}
            for server in servers.values():  # warm every worker
                for _ in range(3 * options.workers):
                    for path in paths_of():
                        http.get(f"{server.url}/api/v1{path}", timeout=60).raise_for_status()
            for path in paths_of():  # the same answers, byte for byte
                one, two = (http.get(f"{s.url}/api/v1{path}", timeout=60) for s in (before, after))
                assert one.content == two.content, f"{path}: the two checkouts answer differently"
            seen = {name: len(server.records()) for name, server in servers.items()}
            for round_no in range(options.rounds):
                order = ("before", "after") if round_no % 2 == 0 else ("after", "before")
                for name in order:
                    base = f"{servers[name].url}/api/v1"
                    for _ in range(options.block):
                        paths = paths_of()
                        started = time.perf_counter()
                        for path in paths:
                            response = http.get(base + path, timeout=60)
                            assert response.status_code == 200, (path, response.status_code)
                        times[name].append(time.perf_counter() - started)
            medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
            rows.append((label, medians["before"], medians["after"]))
            if options.server_timing:
                time.sleep(0.2)  # the last request's line
                cpu, db = {}, {}
                for name, server in servers.items():
                    new = server.records()[seen[name] :]
                    cpu[name] = statistics.median(r["cpu_ms"] for r in new)
                    db[name] = statistics.median(r["db_ms"] or 0.0 for r in new)
                server_rows.append((label, cpu, db))
        print("load average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(
        f"\n{options.rounds} rounds x {options.block} requests per checkout and endpoint, "
        f"interleaved; gunicorn {options.workers} workers x 1 thread each; "
        f"before = {roots['before']}, after = {roots['after']}\n"
    )
    print("| work (median ms, through gunicorn)                         | before | after | ratio |")
    print("|------------------------------------------------------------|--------|-------|-------|")
    for label, old, new in rows:
        print(f"| {label:<58} | {old:6.2f} | {new:5.2f} | {old / new:4.2f}× |")
    if server_rows:
        print("\nServer side, medians per request (ms): the worker thread's CPU, its backend's CPU")
        print(
            "| request                                                    | CPU before | after "
            "| backend before | after |"
        )
        print(
            "|------------------------------------------------------------|------------|-------"
            "|----------------|-------|"
        )
        for label, cpu, db in server_rows:
            print(
                f"| {label:<58} | {cpu['before']:10.3f} | {cpu['after']:5.3f} "
                f"| {db['before']:14.3f} | {db['after']:5.3f} |"
            )


if __name__ == "__main__":
    main()
