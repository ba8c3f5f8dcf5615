"""Benchmark: the export of everything (JSONL) from a gunicorn worker that has served thousands
of requests, side by side with a fresh one.

    .venv/bin/python bench/worker_age.py --reference /work/main --kind post --ages 2000
    .venv/bin/python bench/worker_age.py --kind topics --ages 1000,4000 --rounds 3
    .venv/bin/python bench/worker_age.py --kind sequence --workers 3 --ages 2000

Issue 17's corpus (`--docs` documents, 20 spans each: export_ab.py's seeding) on a SQLite file
(`--database-url`, kept between runs). For each checkout, age and round, two servers start on
that database (`--workers` workers x 1 thread, production settings, bench/worker_probe.py's
hooks), and each exports once per worker (each worker's first export, untimed). One of them,
"aged", then serves `--ages` requests of `--kind` on one keep-alive connection:
`topics` (GET a corpus's topics), `document` (GET one document with its spans), `post` (POST a
claim on a span that already exists, answered 409: nothing written), `import` (a new corpus with
the documents and their spans imported into it; the age counts imports), `sequence` (workload.py's
requests before its export: the two imports, the age's claims one per request and a twentieth as
many requests of 20 claims, then 100 reads). Then the two export in turn (`--exports` each, the
order flipped every time), so that the shared machine's load falls on both alike, and serve
`--read-blocks` blocks of 25 topics GETs and 25 one-document GETs in turn.

For each export: the client's wall time, the worker's CPU (/proc, all threads), and from inside
the worker (the probe) its wall time, its thread's CPU, the time it waited for a CPU, the time
its writes to the socket blocked, the garbage collector's time, page faults, the objects the
collector tracks and the RSS. The checkouts take turns (the order flipped every round).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_ab  # noqa: E402
import harness  # noqa: E402
import reads_ab  # noqa: E402
import worker_probe  # noqa: E402
import workload  # noqa: E402

PASSWORD = export_ab.PASSWORD
CLOCK_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


TOPIC = "Export controls work"  # export_ab.py's corpus's topic


@functools.cache
def import_body(docs: int = 1000, spans: bool = True) -> bytes:
    return workload.jsonl(workload.corpus(docs), spans=spans, annotator="owner", topic=TOPIC)


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * CLOCK_TICK_S


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Client:
    def __init__(self, server: reads_ab.Server, kind: str, seed: int):
        self.server = server
        self.kind = kind
        self.http = requests.Session()
        token = harness.api_token(server.url, "owner", PASSWORD)
        self.http.headers["Authorization"] = f"Token {token}"
        self.api = f"{server.url}/api/v1"
        page = self.http.get(f"{self.api}/corpora/spans/articles?page_size=200", timeout=60)
        self.ids = [a["id"] for a in page.json()["results"]]
        self.rng = random.Random(seed)
        self.spans: dict[int, tuple[int, int]] = {}
        self.statuses: dict[int, int] = defaultdict(int)
        self.workers = server.worker_pids()

    def new_corpus(self, spans: bool) -> str:
        slug = f"aged-{uuid.uuid4().hex[:12]}"
        created = self.http.post(
            f"{self.api}/corpora",
            json={"name": slug, "slug": slug, "topics": [{"label": TOPIC}]},
            timeout=60,
        )
        assert created.status_code == 201, created.text[:300]
        r = self.http.post(
            f"{self.api}/corpora/{slug}/import",
            data=import_body(spans=spans),
            headers={"Content-Type": "application/x-ndjson"},
            timeout=600,
        )
        assert r.status_code == 201, r.text[:300]
        self.statuses[r.status_code] += 1
        return slug

    def sequence(self, singles: int) -> None:
        """workload.py's requests before its export: the two imports, `singles` claims one per
        request and `singles / 20` requests of 20 claims with annotations on the plain corpus,
        then 100 of each read."""
        slug = self.new_corpus(spans=False)
        self.new_corpus(spans=True)
        ids: list[int] = []
        url: str | None = f"{self.api}/corpora/{slug}/articles?page_size=500"
        while url:
            page = self.http.get(url, timeout=60).json()
            ids += [a["id"] for a in page["results"]]
            url = page["next"]
        documents = workload.corpus(len(ids))
        plan = [(ids[i], s, e) for i, (_, _, c) in enumerate(documents) for s, e in c]
        for article_id, start, end in plan[:singles]:
            r = self.http.post(
                f"{self.api}/articles/{article_id}/claims",
                json={"start": start, "end": end},
                timeout=60,
            )
            self.statuses[r.status_code] += 1
        for index in range(singles // 20):
            _, _, chosen = documents[-1 - index]
            items = [{"start": s, "end": e, "annotation": {"stance": "support"}} for s, e in chosen]
            r = self.http.post(
                f"{self.api}/articles/{ids[-1 - index]}/claims", json=items, timeout=60
            )
            self.statuses[r.status_code] += 1
        for kind in ("document", "topics"):
            self.kind = kind
            for _ in range(100):
                self.request()
        self.kind = "sequence"

    def request(self) -> float:
        started = time.perf_counter()
        if self.kind == "topics":
            r = self.http.get(f"{self.api}/corpora/spans/topics", timeout=60)
        elif self.kind == "import":
            self.new_corpus(spans=True)
            return time.perf_counter() - started
        elif self.kind == "document":
            article = self.rng.choice(self.ids)
            r = self.http.get(f"{self.api}/articles/{article}?include=claims", timeout=60)
        else:
            article = self.rng.choice(self.ids)
            if article not in self.spans:
                claims = self.http.get(f"{self.api}/articles/{article}/claims", timeout=60)
                first = claims.json()["results"][0]
                self.spans[article] = (first["start"], first["end"])
                started = time.perf_counter()
            start, end = self.spans[article]
            r = self.http.post(
                f"{self.api}/articles/{article}/claims",
                json={"start": start, "end": end},
                timeout=60,
            )
        taken = time.perf_counter() - started
        self.statuses[r.status_code] += 1
        return taken

    def export(self, new_connection: bool = False) -> tuple[float, float, int]:
        if new_connection:
            self.http.close()  # its pooled keep-alive connection; the next request opens one
        cpu = sum(map(process_cpu_s, self.workers))
        size = 0
        started = time.perf_counter()
        with self.http.get(
            f"{self.api}/corpora/spans/export",
            params={"format": "jsonl"},
            headers={"X-Probe": "heap"},
            stream=True,
            timeout=600,
        ) as r:
            assert r.status_code == 200, r.status_code
            for chunk in r.iter_content(256 * 1024):
                size += len(chunk)
        taken = time.perf_counter() - started
        time.sleep(0.05)  # the worker's post_request hook, then its CPU read
        return taken, sum(map(process_cpu_s, self.workers)) - cpu, size


def probe_exports(probe_dir: Path, workers: int) -> list[dict]:
    """The workers' records of the exports, the first (untimed) ones left out."""
    return [r for r in worker_probe.read(probe_dir) if r["path"].endswith("/export")][workers:]


def one_round(root: Path, env: dict, options, age: int, tmp: Path, seed: int) -> dict:
    """A fresh and an aged server of one checkout, side by side: the aged one serves `age`
    requests of `--kind`, then the two export in turn (`--exports` each)."""
    servers, clients, dirs = {}, {}, {}
    with contextlib.ExitStack() as stack:
        for state in ("fresh", "aged"):
            dirs[state] = tmp / f"{root.name}-{age}-{seed}-{state}"
            server = reads_ab.Server(
                root, {**env, "AA_WORKER_PROBE": str(dirs[state])}, options.workers
            )
            server.config = Path(worker_probe.__file__).resolve()
            servers[state] = stack.enter_context(server)
            clients[state] = Client(server, options.kind, seed)
            for _ in range(options.workers):  # each worker's first export (most likely)
                clients[state].export(new_connection=True)
        if options.kind == "sequence":
            clients["aged"].sequence(age)
        else:
            for _ in range(age):
                clients["aged"].request()
        exports: dict[str, list[tuple[float, float, int]]] = {"fresh": [], "aged": []}
        for index in range(options.exports):
            for state in ("fresh", "aged") if index % 2 == 0 else ("aged", "fresh"):
                exports[state].append(clients[state].export(options.new_connection))
        reads: dict[str, dict[str, list[float]]] = {
            state: {"topics": [], "document": []} for state in clients
        }
        for block in range(options.read_blocks):
            for state in ("fresh", "aged") if block % 2 == 0 else ("aged", "fresh"):
                client = clients[state]
                for kind in ("topics", "document"):
                    saved, client.kind = client.kind, kind
                    reads[state][kind] += [client.request() for _ in range(25)]
                    client.kind = saved
        statuses = dict(clients["aged"].statuses)
    result: dict = {"statuses": statuses}
    for state in ("fresh", "aged"):
        records = probe_exports(dirs[state], options.workers)
        result[state] = {
            "wall": [e[0] for e in exports[state]],
            "cpu": [e[1] for e in exports[state]],
            "size": exports[state][-1][2],
            "thread_cpu_ms": [r["cpu_ms"] for r in records],
            "worker_wall_ms": [r["wall_ms"] for r in records],
            "gc_ms": [r["gc_ms"] for r in records],
            "send_ms": [r["send_ms"] for r in records],
            "runqueue_ms": [r["runqueue_ms"] for r in records],
            "faults": [r["minor_faults"] for r in records],
            "tracked": records[-1]["tracked"],
            "rss_mb": records[-1]["rss_kb"] / 1024,
            "topics_ms": [t * 1e3 for t in reads[state]["topics"]],
            "document_ms": [t * 1e3 for t in reads[state]["document"]],
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", help="another checkout, e.g. /work/main")
    parser.add_argument("--database-url", default="sqlite:////tmp/worker-age/db.sqlite3")
    parser.add_argument("--docs", type=int, default=1000, help="documents, when seeding")
    parser.add_argument(
        "--kind", choices=("topics", "document", "post", "import", "sequence"), default="topics"
    )
    parser.add_argument("--ages", default="1000,2000,4000", help="requests the aged server serves")
    parser.add_argument("--exports", type=int, default=6, help="timed exports per server and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers x 1 thread")
    parser.add_argument(
        "--read-blocks",
        type=int,
        default=8,
        help="blocks of 25 topics GETs and 25 one-document GETs, alternating between the two",
    )
    parser.add_argument(
        "--new-connection",
        action="store_true",
        help="each export on a new TCP connection (else the keep-alive one of the requests)",
    )
    options = parser.parse_args()
    options.ages = [int(a) for a in options.ages.split(",")]

    export_ab.ensure_database(options.database_url)
    env = harness.app_env(options.database_url, API_THROTTLE_USER="1000000/minute")
    export_ab.seed_if_missing(env, options.docs)
    harness.print_machine()
    loads = [load()]
    roots = harness.checkouts(options.reference)
    names = list(roots)
    results: dict[tuple[str, int], list[dict]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="aa-worker-age-") as tmp:
        for round_no in range(options.rounds):
            for age in options.ages:
                for name in names if (round_no + age) % 2 == 0 else names[::-1]:
                    result = one_round(roots[name], env, options, age, Path(tmp), round_no)
                    results[name, age].append(result)
                    print(
                        f"round {round_no + 1}, {name}, {age:,} requests: export median "
                        f"fresh {statistics.median(result['fresh']['wall']):.3f} s, aged "
                        f"{statistics.median(result['aged']['wall']):.3f} s (load {load()})",
                        flush=True,
                    )
    loads.append(load())
    some = next(iter(results.values()))[0]
    print(
        f"\nJSONL export of the corpus 'spans' ({some['fresh']['size'] / 1e6:.1f} MB), gunicorn "
        f"{options.workers} worker(s) x 1 thread: a fresh server and one that served "
        f"`{options.kind}` requests, side by side, exports alternating between them "
        f"({options.exports} each per "
        f"round, {options.rounds} rounds, each export "
        f"{'on a new connection' if options.new_connection else 'on the keep-alive connection'}"
        f"); {options.database_url.split(':')[0]}; load average before {loads[0]}, after "
        f"{loads[1]}; statuses of the requests: {some['statuses']}\n"
    )
    print(
        "| checkout | requests served | server | export wall median s | fastest s "
        "| in-worker wall median ms | thread CPU median ms | gc ms "
        "| waiting for a CPU ms | blocked on the socket median / max ms | process CPU median s "
        "| minor faults | objects tracked (gen 0/1/2) | RSS MB | topics GET median ms "
        "| one document GET median ms |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for name in names:
        for age in options.ages:
            rounds = results[name, age]
            for state in ("fresh", "aged"):
                got = [r[state] for r in rounds]

                def median(key: str, got: list[dict] = got) -> float:
                    return statistics.median(v for g in got for v in g[key])

                walls = [v for g in got for v in g["wall"]]
                print(
                    f"| {name} | {age:,} | {state} | {statistics.median(walls):.3f} | "
                    f"{min(walls):.3f} | {median('worker_wall_ms'):.0f} | "
                    f"{median('thread_cpu_ms'):.0f} | {median('gc_ms'):.1f} | "
                    f"{median('runqueue_ms'):.0f} | {median('send_ms'):.0f} / "
                    f"{max(v for g in got for v in g['send_ms']):.0f} | "
                    f"{median('cpu'):.3f} | "
                    f"{median('faults'):.0f} | {'/'.join(map(str, got[-1]['tracked']))} | "
                    f"{statistics.median(g['rss_mb'] for g in got):.1f} | "
                    f"{median('topics_ms'):.2f} | {median('document_ms'):.2f} |"
                )


if __name__ == "__main__":
    main()
