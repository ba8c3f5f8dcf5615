"""Benchmark: the corpus page filtered by status, on two checkouts at once, requests interleaved.

    WORKLOAD_PG_DATABASE=mine .venv/bin/python bench/workload.py --counts 100000 --db postgres
    .venv/bin/python bench/status_counts_ab.py --reference /work/main \
        --database-url postgres://postgres@127.0.0.1:5432/mine_now_100000 --half

On the database a `workload.py --counts` run left (its corpus "counts", users owner, anna and
ben; migrated by this checkout), each checkout runs in a process of its own with Django's test
client (in process, as `--counts` measures: no HTTP), and this script alternates between them:
one request of each page to one checkout, then to the other, the order swapped every round.
Per request it takes the wall time and the serving process's CPU time (`time.process_time`:
what the load of other work on the machine changes least); the queries of one request; and it
checks that both checkouts print the same count of articles. With `--half`, first (once) the
owner's and anna's submissions of every other article are reopened, so that "submitted by
someone" and "by no one" hold about half the corpus each (the import made both of them submit
every article), and the planner's statistics refreshed. Nothing else is written.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

PAGES = [
    ("owner", "/corpora/counts/?status=submitted"),
    ("owner", "/corpora/counts/?status=unsubmitted"),
    ("owner", "/corpora/counts/?status=todo"),
    ("owner", "/corpora/counts/"),
    ("owner", "/api/v1/corpora/counts/articles?state=submitted&count=true"),
    ("anna", "/corpora/counts/?status=submitted"),
    ("anna", "/corpora/counts/?status=unsubmitted"),
    ("anna", "/api/v1/corpora/counts/articles?state=submitted&count=true"),
]
# A page's count as shown, or the API list's.
SHOWN = re.compile(r"Articles \d+–\d+ of \d+|\d+ articles?\b|\"count\":\s*\d+")


def serve(root: str, database_url: str) -> None:
    """A child: Django on `root`'s code; answers one JSON line per request line."""
    harness.ROOT = Path(root)
    os.chdir(root)
    harness.django_setup(harness.app_env(database_url))
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = {}
    for user in get_user_model().objects.filter(username__in=["owner", "anna", "ben"]):
        clients[user.username] = Client(HTTP_HOST="127.0.0.1")
        clients[user.username].force_login(user)
    print("READY", flush=True)
    for line in sys.stdin:
        asked = json.loads(line)
        client = clients[asked["user"]]
        if asked.get("queries"):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(asked["path"])
            found = SHOWN.search(response.content.decode())
            answer = {"queries": len(queries), "shown": found.group(0) if found else None}
        else:
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(asked["path"])
            answer = {
                "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
            }
        assert response.status_code == 200, (asked, response.status_code)
        print(json.dumps(answer), flush=True)


def reopen_half(database_url: str) -> None:
    """Every other article's submissions (owner's, anna's) reopened, once (this checkout)."""
    harness.django_setup(harness.app_env(database_url))
    from django.db.models.functions import Mod

    from articles.models import Article, Assignment

    even = Article.objects.filter(corpus__slug="counts").annotate(m=Mod("id", 2)).filter(m=0)
    reopened = Assignment.objects.filter(article__in=even.values("id"), state="submitted").update(
        state="assigned"
    )
    # As the app's bulk writers do: the planner's statistics refreshed after many rows.
    from articles import db_statistics

    db_statistics.refresh({"Assignment": reopened})
    print(f"reopened {reopened:,} submitted assignments (every other article)", flush=True)


class Child:
    def __init__(self, root: Path, database_url: str):
        self.process = subprocess.Popen(
            [harness.PYTHON, __file__, "--serve", str(root), "--database-url", database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        assert ready.strip() == "READY", ready

    def ask(self, **asked) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(asked) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", help="the other checkout, e.g. /work/main")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--half", action="store_true", help="reopen every other article first")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(options.serve, options.database_url)
        return
    if options.half:
        reopen_half(options.database_url)
    if not options.reference:
        return
    harness.print_machine()
    print("load average before:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    roots = {"before": Path(options.reference).resolve(), "after": harness.ROOT}
    children = {name: Child(root, options.database_url) for name, root in roots.items()}
    try:
        rows = []
        for user, path in PAGES:
            seen = {
                name: child.ask(user=user, path=path, queries=True)
                for name, child in children.items()
            }
            assert seen["before"]["shown"] == seen["after"]["shown"], (path, seen)
            times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
            for round_no in range(options.rounds):
                order = ("before", "after") if round_no % 2 == 0 else ("after", "before")
                for name in order:
                    answer = children[name].ask(user=user, path=path)
                    times[name].append((answer["wall"], answer["cpu"]))
            rows.append((user, path, seen, times))
        print("load average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        for child in children.values():
            child.close()
    print(
        f"\n{options.rounds} requests per checkout and page, interleaved; ms (in process); "
        f"before = {roots['before']}, after = {roots['after']}\n"
    )
    print(
        "| page | who | shown | wall median before / after | wall min before / after "
        "| CPU median before / after | queries before / after |"
    )
    print("|---|---|---|---:|---:|---:|---:|")
    for user, path, seen, times in rows:

        def ms(name: str, index: int, pick, times=times) -> str:
            return f"{pick(t[index] for t in times[name]) * 1000:.1f}"

        cells = [
            f"{ms('before', 0, statistics.median)} / {ms('after', 0, statistics.median)}",
            f"{ms('before', 0, min)} / {ms('after', 0, min)}",
            f"{ms('before', 1, statistics.median)} / {ms('after', 1, statistics.median)}",
            f"{seen['before']['queries']} / {seen['after']['queries']}",
        ]
        page = path.removeprefix("/corpora/counts/") or "(unfiltered)"
        page = page.replace("/api/v1/corpora/counts/articles", "API list")
        print(f"| `{page}` | {user} | {seen['after']['shown']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
