"""No script runs from user text.

A corpus whose every user-controlled field holds XSS payloads (names, descriptions, topic and
claim labels, people's names, article title/text/author/source URL, summaries, notes, evidence,
comments, review notes, token names, import error messages, file names, reflected query
parameters) is rendered through every page and partial in headless Chromium, as its owner. On
each page: no dialog opened, `window.__xss` (set by the payloads) stays undefined, no injected
element or handler exists, every script is one of ours, and no CSP violation was reported. The
response headers carry an enforced CSP without 'unsafe-inline', frame-ancestors 'none',
nosniff and a strict Referrer-Policy, and `javascript:` URLs are refused on the way in.
"""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect
from rest_framework.test import APIClient

from articles import services
from articles.access import Access
from articles.models import Article, Claim, Role
from tests.browser import login
from tests.factories import SAMPLE_TEXT, UserFactory

# --- Payloads --------------------------------------------------------------------------------


def payloads(tag: str) -> list[str]:
    """Each sets window.__xss to `tag` if it ever runs, whatever the context it lands in: text,
    a quoted or unquoted attribute, a textarea or title, a URL, an htmx attribute."""
    return [
        f"<img src=x onerror=\"window.__xss='{tag}'\">",
        f'"><svg onload="window.__xss=\'{tag}\'">',
        f"'><script>window.__xss='{tag}'</script>",
        f"</textarea></title><img src=x onerror=window.__xss='{tag}'>",
        f"<a href=\"javascript:window.__xss='{tag}'\">{tag}</a>",
        f'<div hx-get="/" hx-trigger="load" hx-on:htmx:load="window.__xss=\'{tag}\'">x</div>',
        f"{{{{ '{tag}' }}}}{{% now 'Y' %}}",
    ]


def hostile(tag: str, limit: int = 2000) -> str:
    """As many payloads as fit in `limit` characters, on one line."""
    text = ""
    for payload in payloads(tag):
        if len(text) + len(payload) + 1 > limit:
            break
        text += payload + " "
    assert text, f"{limit} is too short for a payload"
    return text.strip()


# Short ones for fields with small limits (labels, language).
SHORT = "<svg onload=window.__xss=1>"
HOSTILE_URL = "https://example.org/?q=\"><img/src=x/onerror=window.__xss='url'>"
JAVASCRIPT_URLS = [
    "javascript:window.__xss=1",
    "JaVaScRiPt:window.__xss=1",
    " javascript:window.__xss=1",
    "java\tscript:window.__xss=1",
    "data:text/html,<script>window.__xss=1</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
]


def test_javascript_urls_are_refused_by_the_services(team):
    """Article source URLs and evidence URLs accept http(s) addresses only."""
    claim = services.claim_create(
        actor=team.annotator, article=team.article, role=Role.ANNOTATOR, start=0, end=11
    )
    for url in JAVASCRIPT_URLS:
        with pytest.raises(ValidationError) as refused:
            services.article_create(
                actor=team.owner, corpus=team.corpus, role=Role.OWNER, title="T", text="x",
                source_url=url,
            )  # fmt: skip
        assert "source_url" in refused.value.message_dict
        with pytest.raises(ValidationError) as refused:
            services.annotation_create(
                actor=team.annotator, claim=claim, role=Role.ANNOTATOR, stance="support",
                evidence=[{"kind": "source", "url": url, "title": "t"}],
            )  # fmt: skip
        assert "evidence" in refused.value.message_dict
    assert Article.objects.count() == 2
    assert not claim.annotations.exists()


def test_javascript_urls_are_refused_by_the_api_and_the_pages(team):
    api = APIClient()
    api.force_authenticate(team.owner)
    page = Client()
    page.force_login(team.owner)
    for url in JAVASCRIPT_URLS:
        response = api.post(
            f"/api/v1/corpora/{team.corpus.slug}/articles",
            {"title": "T", "text": "x", "source_url": url},
            format="json",
        )
        assert response.status_code == 400
        assert "source_url" in response.json()["errors"]
        response = api.patch(
            f"/api/v1/articles/{team.article.pk}",
            {"source_url": url, "version": team.article.version},
            format="json",
        )
        assert response.status_code == 400
        response = page.post(
            reverse("corpus-import", args=[team.corpus.slug]),
            {"title": "T", "text": "x", "source_url": url},
        )
        assert response.status_code == 400
    assert Article.objects.count() == 2
    team.article.refresh_from_db()
    assert team.article.source_url == ""


# --- Headers ---------------------------------------------------------------------------------

STRICT_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def _directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def check_security_headers(headers) -> list[str]:
    """Problems with one response's security headers (`headers`: a case-insensitive mapping)."""
    problems = []
    if headers.get("content-security-policy-report-only"):
        problems.append("the CSP is only reported, not enforced")
    policy = headers.get("content-security-policy")
    if not policy:
        return [*problems, "no Content-Security-Policy header"]
    directives = _directives(policy)
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None:
        problems.append("no script-src or default-src")
    else:
        for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
            if unsafe in scripts:
                problems.append(f"script-src allows {unsafe}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {directives.get('frame-ancestors')}")
    if directives.get("object-src") != ["'none'"]:
        problems.append(f"object-src is {directives.get('object-src')}")
    if "'unsafe-inline'" in directives.get("style-src", []):
        problems.append("style-src allows 'unsafe-inline'")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append(f"X-Content-Type-Options is {headers.get('x-content-type-options')}")
    if headers.get("referrer-policy") not in STRICT_REFERRER:
        problems.append(f"Referrer-Policy is {headers.get('referrer-policy')}")
    if headers.get("x-frame-options") != "DENY":
        problems.append(f"X-Frame-Options is {headers.get('x-frame-options')}")
    return problems


def test_every_kind_of_response_carries_the_security_headers(team):
    client = Client()
    client.force_login(team.owner)
    api = APIClient()
    api.force_authenticate(team.owner)
    responses = {
        "login": Client().get(reverse("login")),
        "home": client.get(reverse("home")),
        "article": client.get(reverse("article", args=[team.article.pk])),
        "settings": client.get(reverse("corpus-settings", args=[team.corpus.slug])),
        "404 page": client.get("/corpora/nowhere/"),
        "api": api.get(reverse("api-corpora")),
        "api 404": api.get("/api/v1/articles/999999"),
        "api docs": client.get("/api/docs/"),
    }
    failures = {
        name: problems
        for name, response in responses.items()
        if (problems := check_security_headers(response.headers))
    }
    assert not failures, failures


# --- The hostile corpus ----------------------------------------------------------------------


def _seed(team):
    """Corpus "hostile", owned by olivia, with payloads in every field a user can fill."""
    owner, annotator, curator = team.owner, team.annotator, team.curator
    for user, tag in ((owner, "owner"), (annotator, "anna"), (curator, "carmen")):
        user.first_name, user.last_name = hostile(f"{tag}-first", 150), hostile(f"{tag}-last", 150)
        user.save(update_fields=["first_name", "last_name"])
    # The most hostile username Django's validator allows (letters, digits and @.+-_).
    odd = UserFactory(
        username="x.y+z@evil-_", first_name=hostile("odd-first", 150), last_name=SHORT
    )
    corpus = services.corpus_create(
        actor=owner,
        name=hostile("corpus-name", 200),
        slug="hostile",
        description=hostile("corpus-description"),
        blind=False,
        claim_labels=[SHORT, "<b>bold</b>\"'&"],
        topics=[
            {"label": hostile("topic-1", 300), "description": hostile("topic-1-description")},
            {"label": hostile("topic-2", 300)},
        ],
    )
    topics = list(corpus.topics.order_by("position"))
    for user, role in ((annotator, Role.ANNOTATOR), (curator, Role.CURATOR), (odd, Role.ANNOTATOR)):
        services.membership_add(
            actor=owner, corpus=corpus, role=Role.OWNER, username=user.username, new_role=role
        )
    text = SAMPLE_TEXT + "\n\n" + hostile("article-text") + "\n\nA closing sentence here."
    article = services.article_create(
        actor=owner,
        corpus=corpus,
        role=Role.OWNER,
        title=hostile("article-title", 500),
        text=text,
        author=hostile("article-author", 300),
        source_url=HOSTILE_URL,
        language=SHORT,
    )
    in_payload = article.text.index("<img")
    claims = [
        services.claim_create(
            actor=annotator,
            article=article,
            role=Role.ANNOTATOR,
            start=start,
            end=end,
            summary=hostile(f"claim-{n}-summary", 2000),
            labels=[SHORT],
        )  # fmt: skip
        for n, (start, end) in enumerate([(0, 40), (42, 85), (in_payload, in_payload + 80)])
    ]
    for user, stance, topic in ((annotator, "support", 0), (odd, "oppose", 1)):
        services.annotation_create(
            actor=user,
            claim=claims[0],
            role=Role.ANNOTATOR,
            stance=stance,
            topic=topics[topic],
            labels=["<b>bold</b>\"'&"],
            confidence=3,
            note=hostile(f"note-{user.username}"),
            evidence=[
                {
                    "kind": "source",
                    "url": HOSTILE_URL,
                    "title": hostile("evidence-title", 500),
                    "quote": hostile("evidence-quote"),
                    "evidence_type": "study",
                },
                {"kind": "span", "start": in_payload, "end": in_payload + 40},
            ],
        )
    services.annotation_create(
        actor=annotator, claim=claims[2], role=Role.ANNOTATOR, stance="neutral",
        note=hostile("note-on-payload-claim"),
    )  # fmt: skip
    services.relation_create(
        actor=annotator, source=claims[0], target=claims[2], role=Role.ANNOTATOR, kind="attacks"
    )
    for who, role in ((annotator, Role.ANNOTATOR), (curator, Role.CURATOR)):
        services.comment_create(
            actor=who, claim=claims[0], role=role, text=hostile(f"comment-{who.username}")
        )
    services.review_set(
        actor=curator, claim=claims[0], role=Role.CURATOR, decision="accepted",
        topic=topics[0], stance="oppose", note=hostile("review-note"),
    )  # fmt: skip
    services.review_set(
        actor=curator, claim=claims[2], role=Role.CURATOR, decision="rejected",
        note=hostile("review-reject-note"),
    )  # fmt: skip
    services.assignment_create(
        actor=curator, article=article, role=Role.CURATOR, annotator=annotator
    )
    services.assignment_create(actor=curator, article=article, role=Role.CURATOR, annotator=odd)
    services.article_submit(actor=annotator, article=article, role=Role.ANNOTATOR)
    binned = services.article_create(
        actor=owner, corpus=corpus, role=Role.OWNER, title=hostile("trashed-title", 500),
        text=hostile("trashed-text"),
    )  # fmt: skip
    services.article_delete(actor=owner, article=binned, role=Role.OWNER)
    services.claim_delete(
        access=Access(user=curator, corpus=corpus, role=Role.CURATOR), claim=claims[1]
    )
    services.corpus_update(
        actor=owner, corpus=corpus, role=Role.OWNER, description=hostile("corpus-description-2")
    )
    services.api_token_create(actor=owner, name=hostile("token-name", 100))
    return corpus, article, claims


def _import_file() -> bytes:
    """JSONL whose every line is wrong in a way the error report describes, quoting the input."""
    bad = hostile("import", 400)
    lines = [
        bad,  # not JSON at all
        json.dumps({"title": bad, "text": 5}),
        json.dumps({"title": "T", "text": "Some text.", "claims": [{"exact": bad}]}),
        json.dumps(
            {
                "title": "T",
                "text": "Some text.",
                "claims": [
                    {"start": 0, "end": 4, "annotations": [{"annotator": bad, "stance": bad}]}
                ],
            }
        ),
        json.dumps({"title": "T", "text": "x", "published_on": bad, "source_url": bad}),
        json.dumps({bad: bad}),
    ]
    return ("\n".join(lines) + "\n").encode()


# --- In the browser --------------------------------------------------------------------------

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = e.sourceFile ? ` at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}` : "";
  const target = e.target && e.target.outerHTML ? ` on ${e.target.outerHTML.slice(0, 160)}` : "";
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ""}${where}${target}`);
}, true);
"""

FIND_INJECTIONS = """() => {
  const found = [];
  if (window.__xss !== undefined) found.push(`window.__xss = ${window.__xss}`);
  const handlers = /^on|^hx-on/i;
  for (const el of document.querySelectorAll("*")) {
    for (const attribute of el.attributes) {
      if (handlers.test(attribute.name)) found.push(`${el.tagName} ${attribute.name}`);
    }
  }
  for (const el of document.querySelectorAll('img[src="x"], iframe, object, embed, base')) {
    found.push(el.outerHTML.slice(0, 100));
  }
  for (const script of document.querySelectorAll("script")) {
    const src = script.getAttribute("src") || "";
    if (!src.startsWith("/static/")) found.push(`script ${src || script.textContent.slice(0, 60)}`);
  }
  for (const el of document.querySelectorAll("[href], [src], [action], [formaction]")) {
    for (const name of ["href", "src", "action", "formaction"]) {
      const value = (el.getAttribute(name) || "").replace(/\\s/g, "").toLowerCase();
      if (/^(javascript|data|vbscript):/.test(value)) {
        found.push(`${el.tagName} ${name}=${value.slice(0, 60)}`);
      }
    }
  }
  for (const violation of window.__csp || []) found.push(`CSP violation: ${violation}`);
  return found;
}"""


@pytest.fixture
def watched(page, console_errors):
    """The page, with every dialog and CSP violation recorded (dialogs are dismissed)."""
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.add_init_script(WATCH_CSP)
    page.dialogs = dialogs
    return page


def _inspect(page, console_errors, where: str, problems: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(150)  # a last chance for anything injected to run
    problems += [f"{where}: {found}" for found in page.evaluate(FIND_INJECTIONS)]
    problems += [f"{where}: dialog {message}" for message in page.dialogs]
    problems += [
        f"{where}: console {message}"
        for message in console_errors
        if "Content Security Policy" in message or "Refused to" in message
    ]
    page.dialogs.clear()
    console_errors.clear()


@pytest.mark.e2e
def test_hostile_text_runs_nowhere(watched, live_server, team, artifacts, console_errors):
    corpus, article, claims = _seed(team)
    page = watched
    base = live_server.url
    problems: list[str] = []
    login(page, live_server, "olivia")

    def visit(path: str, where: str | None = None):
        response = page.goto(base + path)
        assert response is not None and response.status < 500, (path, response and response.status)
        problems.extend(f"{path} headers: {p}" for p in check_security_headers(response.headers))
        _inspect(page, console_errors, where or path, problems)
        return response

    reflected = hostile("reflected", 190)
    slug = corpus.slug
    visit("/")
    expect(page.locator(".corpus-card").first).to_contain_text("corpus-name")
    visit(f"/corpora/{slug}/")
    visit(f"/corpora/{slug}/?q={reflected}&status={reflected}&page={reflected}")

    # Import: a file whose every line is wrong (named like a payload), then a pasted article
    # with a javascript: source URL and a </textarea> breaker, both re-shown with their reports.
    visit(f"/corpora/{slug}/")
    page.locator("#import").evaluate("details => { details.open = true; }")
    page.locator("#import-files").set_input_files(
        {
            "name": "<img src=x onerror=window.__xss='file'>.jsonl",
            "mimeType": "application/x-ndjson",
            "buffer": _import_file(),
        }
    )
    page.get_by_role("button", name="Upload and import").click()
    expect(page.locator("#import-report")).to_be_visible()
    expect(page.locator("#import-report")).to_contain_text("import")
    page.screenshot(path=artifacts / "xss-import-report.png", full_page=True)
    _inspect(page, console_errors, "import report (file)", problems)
    page.locator("#import").evaluate("details => { details.open = true; }")
    paste = page.locator("form.import-paste")
    paste.locator("[name=title]").fill(hostile("paste-title", 400))
    paste.locator("[name=text]").fill(hostile("paste-text"))
    paste.locator("[name=source_url]").fill("javascript:window.__xss='paste-url'")
    paste.locator("[type=submit]").click()
    expect(page.locator("#import-report")).to_contain_text("source_url")
    _inspect(page, console_errors, "import report (paste)", problems)
    assert not Article.objects.filter(title__contains="paste-title").exists()

    # The annotation page with each claim's panel, opened by URL and through htmx.
    for claim in claims:
        if claim.pk != claims[1].pk:  # claims[1] is in the trash
            visit(f"/articles/{article.pk}/?claim={claim.pk}")
    for item in page.locator("a.claim-item").all():
        item.click()
        page.wait_for_load_state("networkidle")
    _inspect(page, console_errors, "article page after htmx swaps", problems)
    # Screenshots last on a page: Playwright's leaves style="" on textareas, which a later htmx
    # swap would copy over (htmx settles the style attribute) and the CSP would then refuse.
    page.screenshot(path=artifacts / "xss-article.png", full_page=True)
    visit(f"/articles/{article.pk}/?filter={reflected}&claim={reflected}")

    # A stale edit: the conflict view shows both versions and re-sends mine.
    visit(f"/articles/{article.pk}/?claim={claims[0].pk}")
    fresh = Claim.objects.get(pk=claims[0].pk)
    services.claim_update(
        actor=team.curator, claim=fresh, role=Role.CURATOR, version=fresh.version,
        summary=hostile("theirs-summary"),
    )  # fmt: skip
    page.locator("#claim-summary").fill(hostile("mine-summary"))
    page.locator("#summary-save").click()
    expect(page.locator(".conflict")).to_be_visible()
    _inspect(page, console_errors, "conflict view", problems)

    visit(f"/corpora/{slug}/review/")
    visit(f"/corpora/{slug}/review/?annotator={reflected}&state={reflected}&article={reflected}")
    for claim in (claims[0], claims[2]):
        visit(f"/claims/{claim.pk}/review/")
    visit(f"/claims/{claims[0].pk}/review/?annotator={reflected}")
    visit(f"/corpora/{slug}/agreement/")
    page.screenshot(path=artifacts / "xss-agreement.png", full_page=True)
    visit(f"/corpora/{slug}/agreement/?article={reflected}")
    visit(f"/corpora/{slug}/audit/")
    page.screenshot(path=artifacts / "xss-audit.png", full_page=True)
    visit(f"/corpora/{slug}/audit/?actor={reflected}&verb={reflected}&since={reflected}")
    visit(f"/claims/{claims[0].pk}/history/")
    visit(f"/corpora/{slug}/settings/")
    visit(f"/corpora/{slug}/assignments/")
    visit(f"/corpora/{slug}/trash/")
    # Claim groups, similar claims and argument maps (the SVG drawn inline and as a file).
    group = services.group_create(
        actor=team.curator,
        corpus=corpus,
        role=Role.CURATOR,
        label=hostile("group-label", 300),
        description=hostile("group-description"),
        claims=[str(claims[0].pk)],
    )
    visit(f"/corpora/{slug}/claim-groups/")
    visit(f"/claim-groups/{group.pk}/")
    visit(f"/claim-groups/{group.pk}/map")
    visit(f"/claim-groups/{group.pk}/map.svg")
    visit(f"/articles/{article.pk}/map")
    visit(f"/articles/{article.pk}/map.svg")
    visit(f"/claims/{claims[2].pk}/similar")
    visit("/account/tokens/")
    page.get_by_label("Name").fill(hostile("new-token", 100))
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-key")).to_be_visible()
    _inspect(page, console_errors, "tokens page with a new key", problems)

    assert not problems, "\n".join(problems)
    # The payloads were shown, as text.
    visit(f"/articles/{article.pk}/?claim={claims[0].pk}")
    expect(page.locator("body")).to_contain_text("window.__xss='note-anna'")
    assert re.search(r"onerror", page.locator("#panel").inner_text())


@pytest.mark.e2e
def test_the_checks_above_do_see_an_injection(watched, live_server, team, console_errors):
    """The same inspection, on a page where markup is injected on purpose: it must complain."""
    page = watched
    login(page, live_server, "olivia")
    page.goto(f"{live_server.url}/")
    page.evaluate(
        """() => document.querySelector("main, body").insertAdjacentHTML(
            "beforeend", `<img src=x onerror="window.__xss='injected'"><a href="javascript:1">x</a>`
        )"""
    )
    page.evaluate("() => confirm('a dialog')")
    problems: list[str] = []
    _inspect(page, console_errors, "home", problems)
    found = "\n".join(problems)
    assert "IMG onerror" in found
    assert 'img src="x"' in found
    assert "A href=javascript:1" in found
    assert "CSP violation: script-src-attr" in found  # the CSP blocked the handler ...
    assert "window.__xss = " not in found  # ... so it never ran
    assert "dialog confirm: a dialog" in found
