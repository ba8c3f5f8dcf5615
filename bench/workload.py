"""Benchmark: the side-by-side workload of issue 17, against this app alone, on SQLite and on
PostgreSQL, through the public API of gunicorn (production settings), plus the in-process time
and query count of each endpoint.

    .venv/bin/python bench/workload.py                  # 1,000 documents, both databases
    .venv/bin/python bench/workload.py --docs 100       # about a minute
    .venv/bin/python bench/workload.py --db sqlite --profile   # + cProfile's top lines
    .venv/bin/python bench/workload.py --imports-only --import-repeat 3 --reference /work/main

The corpus: `--docs` documents of about 800 words (curly quotes, em dashes and two astral emoji
each) with 20 sentence spans per document. The work, timed from the client (one client, one
request at a time):

- bulk import of the documents (native JSONL, no spans) until the last is listed;
- the same import with 20 spans per document (each span a claim with one annotation);
- creating spans through the API: one claim per request (the finest unit, `--singles` of them),
  and 20 claims with their annotations per request (a whole document: the bulk endpoint) for
  every document;
- one document with its spans (`?include=claims`, one request; and the article plus the claims
  list, two requests), the spans alone (the claims list), a page of 100 documents, a trivial GET
  (a corpus's topics): medians over `--repeat` requests;
- the export of everything (JSONL), `--export-repeat` times (the row: the median), and the
  gunicorn workers' memory growth during them.

Each database runs in a subprocess of this script (Django's settings name one database), which
prints its rows as JSON; the parent prints the machine, the sizes, the load average and the table.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

PASSWORD = "bench-workload-pass"
_VOCABULARY = (
    "the a of to and in that is for on with as was by it at from this be are have has which "
    "export controls chips labs policy government officials market prices supply chain rules "
    "models training compute rivals domestic foreign analysts report growth sales companies "
    "industry investment research security strategy semiconductor demand tariffs allies "
    "critics evidence data study economists argue suggest claim warn expect rose fell"
)
WORDS = _VOCABULARY.split()
EMOJI = ("🚀", "📈", "🤖", "🧠", "🇺🇸", "💾")


# --- The corpus ---------------------------------------------------------------------------------


def document(rng: random.Random, words: int = 800) -> tuple[str, list[tuple[int, int]]]:
    """About `words` words with “curly quotes”, em dashes — and two astral emoji; returns the
    text and its sentence spans in code points."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    position = count = 0
    emoji_at = set(rng.sample(range(words // 12), 2))
    sentence_no = 0
    while count < words:
        length = rng.randint(8, 20)
        chosen = [rng.choice(WORDS) for _ in range(length)]
        if sentence_no % 3 == 1:
            chosen[2] = f"“{chosen[2]}"
            chosen[4] = f"{chosen[4]}”"
        if sentence_no % 4 == 2:
            chosen[5] = f"{chosen[5]} —"
        if sentence_no in emoji_at:
            chosen.append(rng.choice(EMOJI))
        sentence = " ".join(chosen)
        sentence = sentence[0].upper() + sentence[1:] + "."
        separator = "\n\n" if parts and rng.random() < 0.15 else (" " if parts else "")
        position += len(separator)
        spans.append((position, position + len(sentence)))
        parts.append(separator + sentence)
        position += len(sentence)
        count += length
        sentence_no += 1
    return "".join(parts), spans


def corpus(docs: int, seed: int = 17) -> list[tuple[str, str, list[tuple[int, int]]]]:
    rng = random.Random(seed)
    out = []
    for i in range(docs):
        text, spans = document(rng)
        chosen = sorted(rng.sample(range(len(spans)), min(20, len(spans))))
        out.append((f"Document {i + 1}", text, [spans[j] for j in chosen]))
    return out


def jsonl(documents, *, spans: bool, annotator: str, topic: str) -> bytes:
    lines = []
    for title, text, chosen in documents:
        line: dict = {"title": title, "text": text}
        if spans:
            line["claims"] = [
                {
                    "start": s,
                    "end": e,
                    "exact": text[s:e],
                    "annotations": [{"annotator": annotator, "topic": topic, "stance": "support"}],
                }
                for s, e in chosen
            ]
        lines.append(json.dumps(line, ensure_ascii=False))
    return "\n".join(lines).encode()


# --- Measuring ----------------------------------------------------------------------------------


def median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def rss_of(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class PeakRss(threading.Thread):
    """Samples the workers' summed RSS every 20 ms until stopped; `peak` in KiB."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = rss_of(pids)
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_of(self.pids))
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak


def in_process(token: str, paths: dict[str, tuple[str, str, object]], repeat: int) -> list[dict]:
    """Each endpoint through Django's test client in this process: median time, query count."""
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    rows = []
    for name, (method, path, body) in paths.items():

        def call(method=method, path=path, body=body):
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, body() if callable(body) else body, "application/json")
            assert response.status_code < 300, (path, response.status_code, response.content[:300])
            return response

        call()  # warm
        reset_queries()  # (request_started clears the log too: count within one request)
        with CaptureQueriesContext(connection) as queries:
            call()
        count = len(queries)  # now: the next request's start clears the log it reads
        runs = repeat if method == "GET" else max(3, repeat // 4)
        rows.append({"endpoint": name, "ms": median_ms(call, runs), "queries": count, "runs": runs})
    return rows


def profile(call, top: int = 25) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# --- One database (a subprocess) ----------------------------------------------------------------


def run_one(db: str, options: argparse.Namespace) -> dict:
    # The reference: a checkout without the bulk endpoint or include (before api/documents.py).
    older = bool(options.root) and not (Path(options.root) / "articles/api/documents.py").exists()
    if options.root:
        harness.ROOT = Path(options.root).resolve()
    if db == "postgres":
        # WORKLOAD_PG_DATABASE: another name, for runs that share the server with others.
        url = harness.pg_database_fresh(os.environ.get("WORKLOAD_PG_DATABASE", "aa_workload"))
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='aa-workload-')}/db.sqlite3"
    env = harness.app_env(url, API_THROTTLE_USER="1000000/minute")
    harness.prepare(env, static=False)
    harness.django_setup(env)

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from articles import services
    from articles.models import Role

    User = get_user_model()
    owner = User.objects.create(username="owner", password=make_password(PASSWORD))
    topic = "Export controls work"
    slugs = ("plain", "spans", "api")
    for slug in slugs:
        services.corpus_create(actor=owner, name=slug, slug=slug, topics=[{"label": topic}])
    documents = corpus(options.docs)
    words = sum(len(text.split()) for _, text, _ in documents)
    plain = jsonl(documents, spans=False, annotator="owner", topic=topic)
    with_spans = jsonl(documents, spans=True, annotator="owner", topic=topic)
    result: dict = {
        "db": db,
        "docs": len(documents),
        "words": words,
        "spans": sum(len(c) for _, _, c in documents),
    }

    with harness.Gunicorn(env, workers=options.workers, threads=1, timeout=300) as server:
        base = f"{server.url}/api/v1"
        token = harness.api_token(server.url, "owner", PASSWORD)
        http = requests.Session()
        http.headers["Authorization"] = f"Token {token}"
        rows: list[tuple[str, float, str]] = []

        def timed(call) -> float:
            started = time.perf_counter()
            call()
            return time.perf_counter() - started

        def import_until_listed(slug: str, body: bytes) -> dict:
            response = http.post(
                f"{base}/corpora/{slug}/import",
                data=body,
                headers={"Content-Type": "application/x-ndjson"},
                timeout=600,
            )
            assert response.status_code == 201, response.text[:500]
            listed = http.get(f"{base}/corpora/{slug}/articles?page_size=1", timeout=60).json()
            assert listed["results"], listed
            return response.json()

        seconds = timed(lambda: import_until_listed("plain", plain))
        rows.append((f"bulk import of {len(documents):,} texts, until listed", seconds, "s"))
        answer: dict = {}
        seconds = timed(lambda: answer.update(import_until_listed("spans", with_spans)))
        # --import-repeat: more imports with spans, each into a new corpus; the row's median.
        more = []
        for again in range(2, options.import_repeat + 1):
            slug = f"spans-{again}"
            services.corpus_create(actor=owner, name=slug, slug=slug, topics=[{"label": topic}])
            more.append(timed(lambda slug=slug: import_until_listed(slug, with_spans)))
        result["spans_imports_s"] = [seconds, *more]
        seconds = statistics.median([seconds, *more])
        rows.append(("the same import with 20 spans per document", seconds, "s"))
        if options.imports_only:
            result["rows"], result["in_process"], result["plans"] = rows, [], {}
            if options.profile:
                from articles import imports

                slug = "profiled"
                corpus_obj = services.corpus_create(
                    actor=owner, name=slug, slug=slug, topics=[{"label": topic}]
                )
                # (The calling thread's share: the planner's thread is not profiled.)
                result["profile_import"] = profile(
                    lambda: imports.import_file(
                        actor=owner,
                        corpus=corpus_obj,
                        role=Role.OWNER,
                        name="p.jsonl",
                        data=with_spans,
                    )
                )
            return result

        # Spans through the API, on the articles of corpus "api" (imported without spans).
        import_until_listed("api", plain)
        ids = []
        url = f"{base}/corpora/api/articles?page_size=500"
        while url:
            page = http.get(url, timeout=60).json()
            ids += [a["id"] for a in page["results"]]
            url = page["next"]
        singles = min(options.singles, result["spans"])
        plan = [(ids[i], s, e) for i, (_, _, c) in enumerate(documents) for s, e in c]
        started = time.perf_counter()
        for article_id, start, end in plan[:singles]:
            r = http.post(
                f"{base}/articles/{article_id}/claims",
                json={"start": start, "end": end},
                timeout=60,
            )
            assert r.status_code == 201, r.text[:300]
        rate = singles / (time.perf_counter() - started)
        rows.append((f"spans through the API, 1 per request ({singles:,} spans)", rate, "spans/s"))
        started = time.perf_counter()
        for index, (_, _, chosen) in enumerate([] if older else documents):
            items = [{"start": s, "end": e, "annotation": {"stance": "support"}} for s, e in chosen]
            r = http.post(f"{base}/articles/{ids[index]}/claims", json=items, timeout=60)
            assert r.status_code == 201, r.text[:300]
        rate = None if older else result["spans"] / (time.perf_counter() - started)
        rows.append(
            (
                f"spans through the API, 20 per request with annotations ({result['spans']:,})",
                rate,
                "spans/s",
            )
        )

        # Reads, on the corpus imported with spans.
        spans_ids = answer.get("article_ids") or []
        if not spans_ids:
            page = http.get(f"{base}/corpora/spans/articles?page_size=500", timeout=60).json()
            spans_ids = [a["id"] for a in page["results"]]
        rng = random.Random(5)

        def get(path: str) -> None:
            r = http.get(f"{base}{path}", timeout=60)
            assert r.status_code == 200, (path, r.status_code)

        def one_document() -> None:
            get(f"/articles/{rng.choice(spans_ids)}?include=claims")

        def one_document_two_requests() -> None:
            article = rng.choice(spans_ids)
            get(f"/articles/{article}")
            get(f"/articles/{article}/claims")

        repeat = options.repeat
        for label, call in [
            ("one document with its 20 spans (1 request, include=claims)", one_document),
            ("one document with its 20 spans (2 requests)", one_document_two_requests),
            (
                "the spans of one document alone",
                lambda: get(f"/articles/{rng.choice(spans_ids)}/claims"),
            ),
            ("a page of 100 documents", lambda: get("/corpora/spans/articles?page_size=100")),
            ("the corpus, with its counts", lambda: get("/corpora/spans")),
            ("a trivial GET (a corpus's topics)", lambda: get("/corpora/spans/topics")),
        ]:
            if older and call is one_document:
                rows.append((label + ", median", None, "ms"))
                continue
            call()  # warm
            rows.append((label + ", median", median_ms(call, repeat), "ms"))

        pids = server.worker_pids()
        before = harness_rss = rss_of(pids)
        sampler = PeakRss(pids)
        sampler.start()
        exports = []
        for _ in range(options.export_repeat):
            started = time.perf_counter()
            size = 0
            with http.get(
                f"{base}/corpora/spans/export?format=jsonl", stream=True, timeout=600
            ) as r:
                assert r.status_code == 200
                for chunk in r.iter_content(256 * 1024):
                    size += len(chunk)
            exports.append(time.perf_counter() - started)
        peak = sampler.stop()
        result["exports_s"] = exports
        seconds = statistics.median(exports)
        rows.append((f"export of everything (JSONL, {size / 1e6:.1f} MB)", seconds, "s"))
        rows.append(("server memory growth during export", (peak - before) / 1024, "MB"))
        del harness_rss

    # In-process: the same endpoints through Django's test client, with their query counts.
    from articles.models import Article, Corpus

    spans_corpus = Corpus.objects.get(slug="spans")
    api_corpus = Corpus.objects.get(slug="api")
    article = Article.objects.filter(corpus=spans_corpus).order_by("id").first()
    fresh = list(Article.objects.filter(corpus=api_corpus).order_by("id")[:200])
    text_of = {a.pk: a.text for a in fresh}
    counter = iter(range(10**9))

    def bulk_body() -> str:
        # 20 new spans on another article each time (the reused ones would be cheaper).
        target = fresh[next(counter) % len(fresh)]
        n = len(text_of[target.pk])
        return json.dumps(
            [
                {"start": n - 10 - i, "end": n - 5 - i, "annotation": {"stance": "oppose"}}
                for i in range(20)
            ]
        )

    assert article is not None
    paths = {
        "GET /articles/{id}?include=claims": (
            "GET",
            f"/api/v1/articles/{article.pk}?include=claims",
            None,
        ),
        "GET /articles/{id}": ("GET", f"/api/v1/articles/{article.pk}", None),
        "GET /articles/{id}/claims": ("GET", f"/api/v1/articles/{article.pk}/claims", None),
        "GET /corpora/{slug}/articles?page_size=100": (
            "GET",
            "/api/v1/corpora/spans/articles?page_size=100",
            None,
        ),
        "GET /corpora/{slug}": ("GET", "/api/v1/corpora/spans", None),
        "GET /corpora/{slug}/topics": ("GET", "/api/v1/corpora/spans/topics", None),
    }
    if older:
        del paths["GET /articles/{id}?include=claims"]
    inproc = in_process(token, paths, options.repeat)
    if older:
        inproc.insert(0, {"endpoint": "GET /articles/{id}?include=claims", "ms": None})
    # The bulk POST: a fresh set of spans each time.
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    def bulk_post():
        target = fresh[next(counter) % len(fresh)]
        n = len(text_of[target.pk])
        start = next(counter) % (n - 200)
        items = [
            {"start": start + i, "end": start + i + 7, "annotation": {"stance": "oppose"}}
            for i in range(20)
        ]
        r = client.post(
            f"/api/v1/articles/{target.pk}/claims", json.dumps(items), "application/json"
        )
        assert r.status_code == 201, r.content[:300]

    if older:
        inproc.append({"endpoint": "POST /articles/{id}/claims (20 items)", "ms": None})
        result["rows"], result["in_process"], result["plans"] = rows, inproc, {}
        return result
    bulk_post()
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        bulk_post()
    count = len(queries)
    inproc.append(
        {
            "endpoint": "POST /articles/{id}/claims (20 items)",
            "ms": median_ms(bulk_post, max(5, options.repeat // 4)),
            "queries": count,
            "runs": max(5, options.repeat // 4),
        }
    )
    result["rows"] = rows
    result["in_process"] = inproc
    result["plans"] = plans(owner, spans_corpus, article)

    if options.profile:
        from articles import imports

        slug = "profiled"
        corpus_obj = services.corpus_create(
            actor=owner, name=slug, slug=slug, topics=[{"label": topic}]
        )
        result["profile_import"] = profile(
            lambda: imports.import_file(
                actor=owner, corpus=corpus_obj, role=Role.OWNER, name="p.jsonl", data=with_spans
            )
        )
        result["profile_bulk"] = profile(lambda: [bulk_post() for _ in range(20)])
        result["profile_trivial"] = profile(
            lambda: [client.get("/api/v1/corpora/spans/topics") for _ in range(100)]
        )
        result["profile_document"] = profile(
            lambda: [client.get(f"/api/v1/articles/{article.pk}?include=claims") for _ in range(50)]
        )
    return result


def plans(owner, corpus_obj, article) -> dict[str, str]:
    """EXPLAIN of the reads the issue found slow: a page of a corpus's articles with counts, an
    article's claims, the corpus's counts (the database's own words, to check the indexes)."""
    from articles import claim_selectors, selectors

    _corpus, access = selectors.corpus_with_access(owner, corpus_obj.slug)
    page = selectors.articles_for_corpus(access)[:100]
    claims = claim_selectors.claims_listed(article).order_by("start", "-end", "id")[:100]
    counted = selectors.corpora_for_user(owner).filter(pk=corpus_obj.pk)
    return {
        "articles page": page.explain(),
        "claims of an article": claims.explain(),
        "corpus with counts": counted.explain(),
    }


# --- Counts: the corpus detail, the dashboard, the corpus page and a page of articles ----------


def run_counts(db: str, size: int, options: argparse.Namespace) -> dict:
    """`size` short articles (2 tagged claims each) imported in a blind corpus through the
    app's importer, then each read with counts in process: median ms and queries, as the owner,
    as a blind annotator who has submitted a few articles (both tagged every claim: the import
    made them submitters of every article) and as an annotator assigned every article and
    having submitted none (`ben`: 100,000 open assignments at 100,000 articles)."""
    if options.root:
        harness.ROOT = Path(options.root).resolve()
    if db == "postgres":
        # WORKLOAD_PG_DATABASE: another prefix, for runs that share the server with others.
        prefix = os.environ.get("WORKLOAD_PG_DATABASE", "counts")
        url = harness.pg_database_fresh(f"{prefix}_{'ref' if options.root else 'now'}_{size}")
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='aa-counts-')}/db.sqlite3"
    env = harness.app_env(url, API_THROTTLE_USER="1000000/minute")
    harness.prepare(env)  # the pages need the static manifest
    harness.django_setup(env)

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.test import Client

    from articles import imports, services
    from articles.models import Article, Assignment, Corpus, Role

    User = get_user_model()
    hashed = make_password(PASSWORD)
    owner = User.objects.create(username="owner", password=hashed)
    anna = User.objects.create(username="anna", password=hashed)
    topic = "Export controls work"
    corpus_obj = services.corpus_create(
        actor=owner, name="counts", slug="counts", blind=True, topics=[{"label": topic}]
    )
    services.membership_add(
        actor=owner, corpus=corpus_obj, role=Role.OWNER, username="anna", new_role=Role.ANNOTATOR
    )
    rng = random.Random(size)
    started = time.perf_counter()
    chunk = 20_000
    for first in range(0, size, chunk):
        lines = [
            json.dumps(
                harness.article_line(
                    rng,
                    title=f"Article {n}",
                    words=60,
                    claims=2,
                    annotators=["owner", "anna"],
                    topic=topic,
                )
            )
            for n in range(first, min(size, first + chunk))
        ]
        imports.import_file(
            actor=owner,
            corpus=corpus_obj,
            role=Role.OWNER,
            name="counts.jsonl",
            data="\n".join(lines).encode(),
        )
    import_seconds = time.perf_counter() - started
    some = list(Article.objects.filter(corpus=corpus_obj).order_by("id")[:5])
    for article in some:
        services.article_submit(actor=anna, article=article, role=Role.ANNOTATOR)
    ben = User.objects.create(username="ben", password=hashed)
    services.membership_add(
        actor=owner, corpus=corpus_obj, role=Role.OWNER, username="ben", new_role=Role.ANNOTATOR
    )
    started = time.perf_counter()
    ids = list(
        Article.objects.filter(corpus=corpus_obj).order_by("id").values_list("id", flat=True)
    )
    for first in range(0, len(ids), 5_000):
        Assignment.objects.bulk_create(
            Assignment(article_id=pk, annotator=ben, assigned_by=owner)
            for pk in ids[first : first + 5_000]
        )
    # As the app's own bulk assignment does (services.assignments_balance): the planner's
    # statistics refreshed after many rows at once.
    from articles import db_statistics

    db_statistics.refresh({"Assignment": len(ids)})
    assign_seconds = time.perf_counter() - started

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    paths = [
        ("GET /api/v1/corpora/{slug}", "/api/v1/corpora/counts"),
        ("GET /api/v1/corpora", "/api/v1/corpora"),
        ("GET / (dashboard)", "/"),
        ("GET /corpora/{slug}/ (corpus page)", "/corpora/counts/"),
        (
            "GET /api/v1/corpora/{slug}/articles?page_size=100",
            "/api/v1/corpora/counts/articles?page_size=100",
        ),
        # The page filtered by status: its count covers the whole corpus.
        ("GET /corpora/{slug}/?status=submitted", "/corpora/counts/?status=submitted"),
        ("GET /corpora/{slug}/?status=todo", "/corpora/counts/?status=todo"),
    ]
    rows = []
    roles = {owner: "owner", anna: "blind annotator", ben: "annotator with every article open"}
    for who, role in roles.items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(who)
        for name, path in paths:

            def call(path=path, client=client):
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                return response

            call()
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                call()
            count = len(queries)
            rows.append(
                {
                    "endpoint": f"{name} as {role}",
                    "ms": median_ms(call, options.repeat),
                    "queries": count,
                }
            )
    assert Corpus.objects.filter(slug="counts").exists()
    return {
        "db": db,
        "size": size,
        "import_s": import_seconds,
        "assign_s": assign_seconds,
        "in_process": rows,
    }


def counts_main(options: argparse.Namespace) -> None:
    harness.print_machine()
    print(f"load average before: {load_average()}")
    results = []
    sizes = [int(x) for x in options.counts.split(",")]
    for size in sizes:
        for db in ["sqlite", "postgres"] if options.db == "both" else [options.db]:
            for root in [options.reference, None] if options.reference else [None]:
                args = [harness.PYTHON, __file__, "--one-counts", db, "--counts", str(size)]
                args += ["--repeat", str(options.repeat)]
                args += ["--root", root] if root else []
                done = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ))
                lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
                if done.returncode != 0 or not lines:
                    sys.stderr.write(done.stdout[-3000:] + done.stderr[-5000:])
                    raise SystemExit(f"the {db} run at {size} failed")
                result = json.loads(lines[-1][len("RESULT ") :])
                result["before"] = bool(root)
                result["load"] = load_average()
                results.append(result)
                print(
                    f"{db} {size:,} articles{' (reference)' if root else ''}: import "
                    f"{result['import_s']:.1f} s; {result['size']:,} assignments "
                    f"{result['assign_s']:.1f} s; load average after: {result['load']}",
                    flush=True,
                )
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    print(f"\nin process, median of {options.repeat} requests: ms (queries)\n")
    headers = ["endpoint"] + [
        f"{names[r['db']]} {r['size']:,}{' before' if r['before'] else ''}" for r in results
    ]
    table = []
    for index, row in enumerate(results[0]["in_process"]):
        cells = []
        for r in results:
            measured = r["in_process"][index]
            cells.append(f"{measured['ms']:.1f} ({measured['queries']})")
        table.append([row["endpoint"], *cells])
    print(harness.table(headers, table))
    print(f"\nload average at the end: {load_average()}")


# --- The parent -------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=40, help="requests per median")
    parser.add_argument("--singles", type=int, default=2000, help="claims posted one at a time")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--export-repeat",
        type=int,
        default=3,
        metavar="N",
        help="exports one after the other, the row giving the median (each run in the output)",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--import-repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the import with spans N times (new corpora), the row giving the median",
    )
    parser.add_argument(
        "--imports-only", action="store_true", help="only the two import rows (no API, no reads)"
    )
    parser.add_argument("--plans", action="store_true", help="print the EXPLAIN of key reads")
    parser.add_argument(
        "--reference",
        metavar="CHECKOUT",
        help="also run the workload on another checkout (e.g. /work/main before these changes), "
        "database by database, for a before/after in the same run",
    )
    parser.add_argument(
        "--counts",
        metavar="SIZES",
        help="instead of the workload: the reads with counts at these corpus sizes "
        "(comma-separated numbers of articles, e.g. 1000,100000)",
    )
    parser.add_argument("--one", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--one-counts", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one_counts:
        result = run_counts(options.one_counts, int(options.counts), options)
        print("RESULT " + json.dumps(result), flush=True)
        return
    if options.counts:
        counts_main(options)
        return
    if options.one:
        print("RESULT " + json.dumps(run_one(options.one, options)), flush=True)
        return

    harness.print_machine()
    print(f"load average before: {load_average()}")
    results = []
    for db in ["sqlite", "postgres"] if options.db == "both" else [options.db]:
        for root in [options.reference, None] if options.reference else [None]:
            args = [harness.PYTHON, __file__, "--one", db, "--docs", str(options.docs)]
            args += ["--repeat", str(options.repeat), "--singles", str(options.singles)]
            args += ["--workers", str(options.workers)]
            args += ["--export-repeat", str(options.export_repeat)]
            args += ["--import-repeat", str(options.import_repeat)]
            args += ["--imports-only"] if options.imports_only else []
            args += ["--profile"] if options.profile and not root else []
            args += ["--root", root] if root else []
            done = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ))
            lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                sys.stderr.write(done.stdout[-3000:] + done.stderr[-5000:])
                raise SystemExit(f"the {db} run failed")
            result = json.loads(lines[-1][len("RESULT ") :])
            result["before"] = bool(root)
            results.append(result)
            print(f"load average after {db}{' (reference)' if root else ''}: {load_average()}")
            if options.import_repeat > 1:
                each = ", ".join(f"{x:.2f}" for x in result["spans_imports_s"])
                print(f"  the import with spans, each run: {each} s")
            if result.get("exports_s"):
                each = ", ".join(f"{x:.2f}" for x in result["exports_s"])
                print(f"  the export, each run in order: {each} s")
    first = results[0]
    print(
        f"\nsizes: {first['docs']:,} documents, {first['words']:,} words, "
        f"{first['spans']:,} spans; "
        f"gunicorn {options.workers} workers x 1 thread; medians of {options.repeat} requests\n"
    )
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}

    def column(r: dict) -> str:
        return names[r["db"]] + (" before" if r.get("before") else "")

    headers = ["work"] + [column(r) for r in results]
    rows = []
    for index, (label, _value, unit) in enumerate(first["rows"]):
        cells = []
        for r in results:
            value = r["rows"][index][1]
            if value is None:
                cells.append("–")
            else:
                cells.append(
                    f"{value:,.0f} {unit}" if unit == "spans/s" else f"{value:,.2f} {unit}"
                )
        rows.append([label, *cells])
    print(harness.table(headers, rows))
    if not first["in_process"]:  # --imports-only
        return
    print("\nin process (Django's test client, no HTTP): median ms and queries per request\n")
    headers = ["endpoint"] + [f"{column(r)} {h}" for r in results for h in ("ms", "queries")]
    rows = []
    for index, row in enumerate(first["in_process"]):
        cells = []
        for r in results:
            measured = r["in_process"][index]
            if measured["ms"] is None:
                cells += ["–", "–"]
            else:
                cells += [f"{measured['ms']:.1f}", measured["queries"]]
        rows.append([row["endpoint"], *cells])
    print(harness.table(headers, rows))
    if options.plans:
        for r in results:
            for name, plan in r["plans"].items():
                print(f"\n--- {column(r)}: EXPLAIN {name} ---\n{plan}")
    for r in results:
        for key in ("profile_import", "profile_bulk", "profile_document", "profile_trivial"):
            if key in r:
                print(f"\n--- {names[r['db']]}: {key} ---\n{r[key]}")


if __name__ == "__main__":
    main()
