"""Benchmark: the annotation page with a 20,000-word article carrying 1,000 claims.

Seeds a throwaway database (a temporary SQLite file, or a fresh `test_<name>` PostgreSQL database
when DATABASE_URL points at PostgreSQL), then measures
- the server's render time of the page and of its htmx partials (median of several runs,
  in-process through Django's test client), with the query count and the HTML size;
- the browser's time to interactive in headless Chromium: navigation start to the page script's
  ready mark (`performance.mark("annotate-ready")`, set when `document.body.dataset.ready` is),
  and the time to open a claim from the list;
for three pages: a short article with 2 claims, the 20,000-word article with 2 claims (the
reference) and the same article with 1,000 claims and 3,000 annotations. Prints a table.

    .venv/bin/python bench/bench_annotation_page.py [--runs 7] [--browser-runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOT = ROOT / "test-artifacts" / "annotate-1000-claims.png"
WORDS = 20_000
CLAIMS = 1_000
ANNOTATORS = 3  # 3 annotations per claim: 3,000

VOCABULARY_TEXT = """
the a of to and in that is for on with as was by it at from this be are have has which
export controls chips labs policy government officials market prices supply chain
restrictions models training compute rivals domestic foreign analysts report quarter
growth sales companies industry investment research security national strategy
semiconductor manufacturers demand shortage tariffs agreement allies enforcement
smuggling licences rules regulators critics defenders evidence data study survey
economists argue suggest claim believe warn expect rose fell doubled shrank adapted
quickly slowly sharply modestly despite because although while however therefore café
naïve résumé Zürich São Paulo 北京 東京 القاهرة
"""
VOCABULARY = VOCABULARY_TEXT.split()


def _text(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    """About WORDS words in paragraphs of sentences; returns the text and sentence spans."""
    paragraphs, sentences, position, words = [], [], 0, 0
    while words < WORDS:
        parts = []
        for _ in range(rng.randint(3, 7)):
            n = rng.randint(10, 26)
            sentence = " ".join(rng.choice(VOCABULARY) for _ in range(n))
            sentence = sentence[0].upper() + sentence[1:] + "."
            start = position + sum(len(p) + 1 for p in parts)
            sentences.append((start, start + len(sentence)))
            parts.append(sentence)
            words += n
        paragraph = " ".join(parts)
        paragraphs.append(paragraph)
        position += len(paragraph) + 2
    return "\n\n".join(paragraphs), sentences


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        chromium = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        chromium = "chromium not found"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {chromium}"


def _setup_django():
    """A throwaway database: a temporary SQLite file, or test_<name> on PostgreSQL."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # a generated secret key, static files served
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop
    os.environ["AXES_ENABLED"] = "0"
    url = os.environ.get("DATABASE_URL", "")
    folder = tempfile.mkdtemp(prefix="bench-annotate-")
    if not url.startswith(("postgres", "postgresql", "pgsql")):
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.DEBUG = False  # no query logging while timing
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    cleanup = None
    if connection.vendor == "postgresql":
        name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)

        def cleanup():
            connection.creation.destroy_test_db(name, verbosity=0)

    else:
        call_command("migrate", verbosity=0, interactive=False)
    return connection, cleanup


def _seed():
    from django.contrib.auth import get_user_model

    from articles.models import (
        Annotation,
        Article,
        Claim,
        Corpus,
        Evidence,
        Membership,
        Relation,
        Review,
        Role,
        Stance,
        Topic,
    )
    from articles.services import text_sha256

    rng = random.Random(20_000)
    users = get_user_model()
    owner = users.objects.create_user("bench-owner", password="bench-password-1")
    people = [users.objects.create_user(f"bench-{i}", password="x") for i in range(ANNOTATORS)]
    corpus = Corpus.objects.create(slug="bench", name="Bench", created_by=owner)
    Membership.objects.create(corpus=corpus, user=owner, role=Role.OWNER)
    for person in people:
        Membership.objects.create(corpus=corpus, user=person, role=Role.ANNOTATOR)
    topic = Topic.objects.create(corpus=corpus, label="Export controls work")

    def article(title: str, text: str) -> Article:
        return Article.objects.create(
            corpus=corpus, title=title, text=text, text_sha256=text_sha256(text), created_by=owner
        )

    def claims(target: Article, spans: list[tuple[int, int]]) -> list[Claim]:
        text = target.text
        return Claim.objects.bulk_create(
            Claim(
                article=target,
                start=s,
                end=e,
                exact=text[s:e],
                prefix=text[max(0, s - 32) : s],
                suffix=text[e : e + 32],
                created_by=people[i % ANNOTATORS],
            )
            for i, (s, e) in enumerate(spans)
        )

    short_text = (
        "Restricting chip exports is shortsighted. The lab trained its model on low-end chips. "
        "Officials say the rules will be tightened next year."
    )
    short = article("Short article, 2 claims", short_text)
    claims(short, [(0, 40), (42, 85)])

    text, sentences = _text(rng)
    reference = article("20,000 words, 2 claims", text)
    claims(reference, sentences[:2])

    big = article("20,000 words, 1,000 claims", text)
    # Most claims are whole sentences; every tenth is nested inside the previous one, and some
    # overlap their neighbour, so the page shows nesting and overlaps too.
    spans: list[tuple[int, int]] = []
    for start, end in sentences:
        if len(spans) >= CLAIMS:
            break
        spans.append((start, end))
        if len(spans) % 10 == 9 and end - start > 30:
            spans.append((start + 5, start + 25))
        elif len(spans) % 17 == 0 and end - start > 20:
            spans.append((end - 10, min(end + 15, len(text))))
    spans = sorted(spans[:CLAIMS])
    big_claims = claims(big, spans)
    stances = list(Stance.values)
    annotations = Annotation.objects.bulk_create(
        Annotation(
            claim=claim,
            annotator=person,
            topic=topic,
            stance=rng.choice(stances),
            confidence=rng.randint(1, 5),
            note="",
        )
        for claim in big_claims
        for person in people
    )
    Evidence.objects.bulk_create(
        Evidence(annotation=a, kind="source", title="Trade report", url="https://example.org/r")
        for a in annotations[::3]
    )
    Relation.objects.bulk_create(
        Relation(source_claim=a, target_claim=b, kind="supports", created_by=people[0])
        for a, b in zip(big_claims[::3], big_claims[1::3], strict=False)
    )
    Review.objects.bulk_create(
        Review(claim=c, curator=owner, decision="accepted", topic=topic, stance="oppose")
        for c in big_claims[::5]
    )
    return people[0], [short, reference, big]


def _median_ms(runs: int, action) -> float:
    action()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _server(user, article, runs: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from articles.models import Claim

    client = Client()
    client.force_login(user)
    url = reverse("article", args=[article.pk])
    hx = {"HTTP_HX_REQUEST": "true"}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    first = Claim.objects.filter(article=article).order_by("start", "-end", "id").first()
    result = {
        "claims": Claim.objects.filter(article=article).count(),
        "chars": len(article.text),
        "words": len(article.text.split()),
        "bytes": len(response.content),
        "queries": len(queries),
        "page": _median_ms(runs, lambda: client.get(url)),
        "text": _median_ms(
            runs, lambda: client.get(reverse("article-text", args=[article.pk]), **hx)
        ),
        "list": _median_ms(
            runs, lambda: client.get(reverse("article-claim-list", args=[article.pk]), **hx)
        ),
        "panel": _median_ms(
            runs, lambda: client.get(reverse("claim-panel", args=[first.pk]), **hx)
        ),
        "segments": response.content.count(b"data-s="),
        "first_claim": first.pk,
    }
    return result


def _browser(user, pages: list, rows: list[dict], runs: int) -> None:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test import Client
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    base = f"http://127.0.0.1:{server.port}"
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1366, "height": 850})
            context.add_cookies(
                [{"name": "sessionid", "value": session, "url": base, "httpOnly": True}]
            )
            for article, row in zip(pages, rows, strict=True):
                url = f"{base}/articles/{article.pk}/"
                ready, opened = [], []
                for attempt in range(runs + 1):
                    page = context.new_page()
                    page.goto(url, wait_until="load", timeout=120_000)
                    page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
                    mark = page.evaluate(
                        "performance.getEntriesByName('annotate-ready')[0].startTime"
                    )
                    link = page.locator(f'#claim-list [data-claim="{row["first_claim"]}"]')
                    started = time.perf_counter()
                    link.click()
                    page.wait_for_function(
                        "id => document.getElementById('panel-body').dataset.claimId === id",
                        arg=str(row["first_claim"]),
                    )
                    if attempt:  # the first load warms the caches
                        ready.append(mark)
                        opened.append((time.perf_counter() - started) * 1000)
                    row["dom_nodes"] = page.evaluate("document.getElementsByTagName('*').length")
                    if attempt == runs and row["claims"] >= CLAIMS:
                        SCREENSHOT.parent.mkdir(exist_ok=True)
                        page.screenshot(path=str(SCREENSHOT))
                    page.close()
                row["tti"] = statistics.median(ready)
                row["open"] = statistics.median(opened)
            browser.close()
    finally:
        server.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="server runs per measure (median)")
    parser.add_argument("--browser-runs", type=int, default=3, help="page loads per page")
    args = parser.parse_args()

    connection, cleanup = _setup_django()
    try:
        user, pages = _seed()
        rows = [_server(user, article, args.runs) for article in pages]
        _browser(user, pages, rows, args.browser_runs)
    finally:
        if cleanup:
            cleanup()

    reference = rows[1]
    print()
    print("Annotation page benchmark")
    print(f"machine:  {_machine()}")
    print(f"database: {connection.vendor}; server times are medians of {args.runs} runs")
    print(f"browser:  headless Chromium, medians of {args.browser_runs} loads after a warm-up")
    print()
    header = (
        "| page | words | claims | annotations | HTML KB | segments | queries | page ms "
        "| text partial ms | list partial ms | panel ms | time to interactive ms "
        "| open a claim ms | DOM nodes | page ms ÷ ref | TTI ÷ ref |"
    )
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for article, row in zip(pages, rows, strict=True):
        annotations = row["claims"] * ANNOTATORS if row["claims"] > 2 else 0
        print(
            f"| {article.title} | {row['words']:,} | {row['claims']:,} | {annotations:,} "
            f"| {row['bytes'] / 1024:,.0f} | {row['segments']:,} | {row['queries']} "
            f"| {row['page']:.1f} | {row['text']:.1f} | {row['list']:.1f} | {row['panel']:.1f} "
            f"| {row['tti']:.0f} | {row['open']:.0f} | {row['dom_nodes']:,} "
            f"| {row['page'] / reference['page']:.2f} | {row['tti'] / reference['tti']:.2f} |"
        )
    print()
    print("ref = the 20,000-word article with 2 claims; open a claim = click in the list until")
    print("the panel shows it (an htmx request and swap).")
    print(f"screenshot of the 1,000-claim page: {SCREENSHOT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
