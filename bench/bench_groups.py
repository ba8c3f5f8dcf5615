"""Benchmark: similar claims over 10,000 claims, embedding 10,000 claims, argument maps.

Seeds a throwaway database (a temporary SQLite file, or a fresh `test_<name>` PostgreSQL
database when DATABASE_URL points at PostgreSQL) with one corpus of 500 articles and 10,000
claims (generated op-ed sentences), then measures, printing a table:

- embedding: `similarity.embed_missing` over the 10,000 claims (embed and store), claims/s;
  beside it the model alone on the same texts (the reference measured in the same run);
- similar-claim questions (`similarity.similar_claim_ids`, limit 10) for 200 random claims:
  median and p95 per question, with the one query's share measured apart (the same query
  alone), and the number of queries per question;
- the argument map (`argmap.render`, layout and SVG) at 50 and 300 claims with one relation
  per claim but a few, median of several runs, and the SVG size.

    .venv/bin/python bench/bench_groups.py [--claims 10000] [--questions 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBJECTS = [
    "Export controls on AI chips",
    "The new licensing rule",
    "Restricting sales of advanced semiconductors",
    "The ban on cloud rentals",
    "Open model weights",
    "Domestic chip subsidies",
    "Smuggling through third countries",
    "The allies' own restrictions",
]
PREDICATES = [
    "will not stop rival labs from training large models",
    "are shortsighted and cost US firms their best customers",
    "have measurably slowed access to top-end hardware",
    "push customers toward foreign competitors",
    "buy time that should be used to build more capacity",
    "are a tax on our own industry",
    "leak at every seam and are easy to evade",
    "make little sense if the finished models can be downloaded",
    "protect national security at a modest price",
    "hand Beijing the political will to build its own chips",
]
QUALIFIERS = ["", " this year", " in the long run", ", analysts say", ", critics argue", ""]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    url = os.environ.get("DATABASE_URL", "")
    folder = tempfile.mkdtemp(prefix="bench-groups-")
    if not url.startswith(("postgres", "postgresql", "pgsql")):
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.DEBUG = False
    cleanup = None
    if connection.vendor == "postgresql":
        name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)

        def cleanup():
            connection.creation.destroy_test_db(name, verbosity=0)

    else:
        call_command("migrate", verbosity=0, interactive=False)
    return connection, cleanup


def _seed(n_claims: int, rng: random.Random):
    from django.contrib.auth import get_user_model

    from articles.models import Article, Claim, Corpus, Membership, Role

    user = get_user_model().objects.create_user("bench", password="x")
    corpus = Corpus.objects.create(slug="bench", name="Bench", created_by=user)
    Membership.objects.create(corpus=corpus, user=user, role=Role.OWNER)
    per_article = 20
    sentences_of = []
    articles = []
    for i in range(max(1, n_claims // per_article)):
        sentences = [
            f"{rng.choice(SUBJECTS)} {rng.choice(PREDICATES)}{rng.choice(QUALIFIERS)}."
            for _ in range(per_article)
        ]
        sentences_of.append(sentences)
        text = " ".join(sentences)
        articles.append(
            Article(corpus=corpus, title=f"Op-ed {i}", text=text, text_sha256=f"{i:064d}")
        )
    Article.objects.bulk_create(articles, batch_size=500)
    claims = []
    for article, sentences in zip(articles, sentences_of, strict=True):
        offset = 0
        for sentence in sentences:
            claims.append(
                Claim(
                    article=article,
                    start=offset,
                    end=offset + len(sentence),
                    exact=sentence,
                    created_by=user,
                )
            )
            offset += len(sentence) + 1
    Claim.objects.bulk_create(claims, batch_size=1000)
    return user, corpus


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--map-runs", type=int, default=5)
    options = parser.parse_args()
    connection, cleanup = _setup_django()
    try:
        run(options, connection)
    finally:
        if cleanup:
            cleanup()


def run(options, connection) -> None:
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext

    from articles import argmap, embedding, similarity
    from articles.access import Access
    from articles.models import Claim, Role

    rng = random.Random(13)
    user, corpus = _seed(options.claims, rng)
    access = Access(user=user, corpus=corpus, role=Role.OWNER)
    ids = list(Claim.objects.order_by("pk").values_list("pk", flat=True))
    texts = list(Claim.objects.order_by("pk").values_list("exact", flat=True))
    rows: list[tuple[str, str]] = []

    embedding.model()  # loaded once per process: not part of the rates
    started = time.perf_counter()
    embedding.embed(texts)
    model_only = time.perf_counter() - started
    started = time.perf_counter()
    done = similarity.embed_missing(ids)
    stored = time.perf_counter() - started
    rows.append(("claims embedded and stored", f"{done:,}"))
    rows.append(("embed + store, claims/s", f"{done / stored:,.0f}"))
    rows.append(("the model alone on the same texts, claims/s", f"{done / model_only:,.0f}"))
    rows.append(("ratio (embed + store / model alone)", f"{model_only / stored:.2f}×"))

    questions = [
        Claim.objects.select_related("article").get(pk=pk)
        for pk in rng.sample(ids, options.questions)
    ]
    similarity.similar_claim_ids(access, questions[0])  # warm
    times, query_times = [], []
    queries = None
    for claim in questions:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            ranked = similarity.similar_claim_ids(access, claim, limit=10)
            times.append(time.perf_counter() - started)
        queries = len(captured.captured_queries) if queries is None else queries
        assert len(ranked) == 10
    for claim in questions[:50]:
        started = time.perf_counter()
        list(
            Claim.objects.alive()
            .filter(article__corpus=corpus, article__deleted_at__isnull=True)
            .filter(~Q(article_id=claim.article_id) | Q(pk=claim.pk))
            .order_by("pk")
            .values_list("pk", "embedding__vector", "embedding__model")
        )
        query_times.append(time.perf_counter() - started)
    rows.append(("similar claims over", f"{len(ids):,} claims ({connection.vendor})"))
    rows.append(("queries per question", str(queries)))
    rows.append(("per question, median", f"{statistics.median(times) * 1000:.1f} ms"))
    rows.append(("per question, p95", f"{_percentile(times, 0.95) * 1000:.1f} ms"))
    rows.append(
        ("of which the one query (median)", f"{statistics.median(query_times) * 1000:.1f} ms")
    )

    for size in (50, 300):
        nodes = [
            argmap.MapNode(
                i, argmap.node_label("", texts[i % len(texts)]), "support", "majority", f"/c/{i}"
            )
            for i in range(size)
        ]
        edges = [
            argmap.MapEdge(i, i, rng.randrange(0, i), rng.choice(["supports", "attacks"]))
            for i in range(1, size)
            if i % 7
        ]
        runs = []
        for _ in range(options.map_runs):
            started = time.perf_counter()
            svg = argmap.render(nodes, edges, title="Bench")
            runs.append(time.perf_counter() - started)
        rows.append(
            (
                f"map of {size} claims, {len(edges)} relations",
                f"{statistics.median(runs) * 1000:.1f} ms, {len(svg) / 1024:.0f} KiB of SVG",
            )
        )

    print(
        f"Machine: {_machine()}; {embedding.model_name()}; numpy {__import__('numpy').__version__}"
    )
    width = max(len(name) for name, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
