"""The dashboard, the corpus page (search, filters, htmx partial), corpus creation and import."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles import imports, services
from articles.access import Access
from articles.models import (
    Article,
    AssignmentState,
    AuditEvent,
    Corpus,
    Membership,
    Role,
    Stance,
    Topic,
)
from articles.views import pages

from .factories import (
    PASSWORD,
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    CorpusFactory,
    TopicFactory,
    UserFactory,
)

ROLES = ["owner", "curator", "annotator", "viewer"]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(response) -> str:
    return response.content.decode()


def _corpus_url(slug: str = "chips", **params) -> str:
    url = reverse("corpus", args=[slug])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


# --- Log in and out ------------------------------------------------------------------------


def test_login_form_logs_in_and_logout_needs_post(team):
    client = Client()
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert 'name="username"' in _text(page) and "csrfmiddlewaretoken" in _text(page)
    response = client.post(reverse("login"), {"username": "anna", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_login_with_wrong_password_says_so(team):
    response = Client().post(reverse("login"), {"username": "anna", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in _text(response)
    assert 'role="alert"' in _text(response)


def test_pages_require_login(team):
    client = Client()
    for url in [reverse("home"), _corpus_url()]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- Dashboard -----------------------------------------------------------------------------


def test_home_lists_my_corpora_only_with_role_and_progress(team):
    AssignmentFactory(article=team.article, annotator=team.annotator)
    other = ArticleFactory(corpus=team.corpus, title="Second piece")
    AssignmentFactory(article=other, annotator=team.annotator, state=AssignmentState.SUBMITTED)
    claim = ClaimFactory(article=team.article, start=0, end=40)
    AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    html = _text(_client(team.annotator).get(reverse("home")))
    assert "Chip export op-eds" in html and "Another team" not in html
    assert 'class="badge badge-annotator"' in html
    assert "Your articles submitted" in html and "1 / 2" in html  # mine: 1 of 2 submitted
    assert "Claims tagged" in html
    # Continue: the next assigned, unsubmitted article (the submitted one is not offered).
    assert "Continue where you left off" in html and "Chips and policy" in html
    article_url = reverse("article", args=[team.article.pk])
    assert html.count(f'href="{article_url}"') == 2  # the big button and the card's
    assert "1 article to do" in html
    assert "Claims reviewed" not in html  # curators' figure

    curator_html = _text(_client(team.curator).get(reverse("home")))
    assert "Claims reviewed" in curator_html and "Team submissions" in curator_html
    assert "Continue where you left off" not in curator_html


def test_home_next_article_skips_deleted_and_submitted(team):
    gone = ArticleFactory(corpus=team.corpus, title="Deleted piece")
    AssignmentFactory(article=gone, annotator=team.annotator)
    services.article_delete(actor=team.owner, article=gone, role=Role.OWNER)
    AssignmentFactory(
        article=team.article, annotator=team.annotator, state=AssignmentState.SUBMITTED
    )
    html = _text(_client(team.annotator).get(reverse("home")))
    assert "Continue where you left off" not in html and "Deleted piece" not in html


def test_home_empty_state_says_what_to_do(db):
    html = _text(_client(UserFactory(username="newcomer")).get(reverse("home")))
    assert "You are not in any corpus yet" in html
    assert "invite you" in html
    assert 'action="/corpora/"' in html and 'name="topics"' in html


def test_home_escapes_user_text(team):
    Corpus.objects.filter(pk=team.corpus.pk).update(
        name="<script>alert(1)</script>", description="<b>bold</b>"
    )
    html = _text(_client(team.owner).get(reverse("home")))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;bold" in html


# --- Creating a corpus ---------------------------------------------------------------------


def test_create_corpus_makes_me_owner_with_topics_and_labels(db):
    user = UserFactory(username="founder")
    response = _client(user).post(
        reverse("corpus-create"),
        {
            "name": "Energy op-eds",
            "slug": "",
            "description": "Pieces on nuclear power",
            "topics": "Nuclear power is safe\n\nNuclear power is cheap\n",
            "claim_labels": "prediction\npolicy",
            "blind": "on",
        },
    )
    corpus = Corpus.objects.get(slug="energy-op-eds")
    assert response.status_code == 302 and response.url == _corpus_url("energy-op-eds")
    assert corpus.blind is True and corpus.claim_labels == ["prediction", "policy"]
    assert [t.label for t in Topic.objects.filter(corpus=corpus)] == [
        "Nuclear power is safe",
        "Nuclear power is cheap",
    ]
    assert Membership.objects.get(corpus=corpus, user=user).role == Role.OWNER
    assert AuditEvent.objects.filter(verb="corpus.create", corpus=corpus).exists()


@pytest.mark.parametrize(
    ("data", "message", "status"),
    [
        ({"name": "No topics", "topics": ""}, "Add at least one topic", 400),
        ({"name": "", "topics": "A topic"}, "name is required", 400),
        ({"name": "Bad", "slug": "Not A Slug!", "topics": "A topic"}, "slug may hold only", 400),
        ({"name": "Taken", "slug": "chips", "topics": "A topic"}, "exists already", 409),
    ],
)
def test_create_corpus_errors_are_shown_and_nothing_is_created(team, data, message, status):
    before = Corpus.objects.count()
    response = _client(team.annotator).post(reverse("corpus-create"), data)
    assert response.status_code == status
    assert message in _text(response)
    assert 'aria-invalid="true"' in _text(response)
    assert Corpus.objects.count() == before


def test_create_corpus_needs_csrf(db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="founder"))
    response = client.post(reverse("corpus-create"), {"name": "X", "topics": "T"})
    assert response.status_code == 403
    assert not Corpus.objects.filter(name="X").exists()


# --- Corpus page ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_corpus_page_for_each_role(team, role):
    response = _client(getattr(team, role)).get(_corpus_url())
    html = _text(response)
    assert response.status_code == 200
    assert "Chips and policy" in html and f"badge-{role}" in html
    assert ('id="import"' in html) is (role == "owner")
    exports = pages.reverse_or_none("api-corpus-export", "chips")
    assert ('id="export-form"' in html) is bool(role == "owner" and exports)


def test_corpus_page_is_404_for_outsiders_and_unknown_slugs(team):
    client = _client(team.outsider)
    assert client.get(_corpus_url()).status_code == 404
    assert client.get(_corpus_url("no-such-corpus")).status_code == 404
    assert client.get(_corpus_url(), HTTP_HX_REQUEST="true").status_code == 404


def test_corpus_links_follow_the_role(team):
    def names(role, blind=True):
        corpus = SimpleNamespace(slug="chips", blind=blind)
        access = Access(user=SimpleNamespace(pk=1), corpus=corpus, role=role)
        return [link["name"] for link in pages.corpus_links(access)]

    # Claim groups are read by every member (blind annotators see no stance of others there).
    assert names(Role.VIEWER) == [
        "corpus",
        "claim-groups",
        "corpus-agreement",
        "corpus-guidelines",
    ]
    assert names(Role.ANNOTATOR) == ["corpus", "claim-groups", "corpus-guidelines"]
    assert names(Role.ANNOTATOR, blind=False) == [
        "corpus",
        "claim-groups",
        "corpus-agreement",
        "corpus-guidelines",
    ]
    existing = [name for name, _, _ in pages.CORPUS_LINKS if pages.reverse_or_none(name, "chips")]
    assert names(Role.OWNER) == ["corpus", *existing]
    assert "corpus-settings" not in names(Role.CURATOR)
    assert "corpus-trash" not in names(Role.CURATOR)


def test_htmx_request_gets_only_the_list_fragment(team):
    client = _client(team.annotator)
    full = _text(client.get(_corpus_url(q="chips")))
    fragment = client.get(_corpus_url(q="chips"), HTTP_HX_REQUEST="true")
    html = _text(fragment)
    assert "<html" in full and 'id="article-list"' in full
    assert html.lstrip().startswith('<div id="article-list"')
    assert "<html" not in html and "Search and filter" not in html and "topbar" not in html
    assert "Chips and policy" in html
    assert "HX-Request" in fragment["Vary"]
    # A history restore (back button after a cache miss) needs the whole page.
    restore = client.get(
        _corpus_url(), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in _text(restore)


def test_search_matches_title_and_text(team):
    ArticleFactory(corpus=team.corpus, title="Solar subsidies", text="Panels got cheaper.")
    ArticleFactory(corpus=team.corpus, title="Wind", text="Turbines and subsidies.")
    ArticleFactory(corpus=team.other_corpus, title="Their subsidies piece")
    client = _client(team.viewer)
    html = _text(client.get(_corpus_url(q="subsidies"), HTTP_HX_REQUEST="true"))
    assert "Solar subsidies" in html and "Wind" in html
    assert "Chips and policy" not in html and "Their subsidies piece" not in html
    assert "2 articles matching your filters" in html
    none = _text(client.get(_corpus_url(q="zzz-nothing"), HTTP_HX_REQUEST="true"))
    assert "No article matches" in none


def test_filters_assigned_to_me_and_submitted_state(team):
    mine_open = ArticleFactory(corpus=team.corpus, title="Mine open")
    mine_done = ArticleFactory(corpus=team.corpus, title="Mine done")
    theirs_done = ArticleFactory(corpus=team.corpus, title="Theirs done")
    AssignmentFactory(article=mine_open, annotator=team.annotator)
    AssignmentFactory(article=mine_done, annotator=team.annotator, state=AssignmentState.SUBMITTED)
    AssignmentFactory(
        article=theirs_done, annotator=team.annotator2, state=AssignmentState.SUBMITTED
    )
    client = _client(team.annotator)

    def titles(**params):
        html = _text(client.get(_corpus_url(**params), HTTP_HX_REQUEST="true"))
        return {
            t for t in ["Chips and policy", "Mine open", "Mine done", "Theirs done"] if t in html
        }

    assert titles(mine=1) == {"Mine open", "Mine done"}
    assert titles(mine=1, status="todo") == {"Mine open"}
    assert titles(status="mine-submitted") == {"Mine done"}
    assert titles(status="submitted") == {"Mine done", "Theirs done"}
    assert titles(status="unsubmitted") == {"Chips and policy", "Mine open"}
    assert titles(status="bogus") == {"Chips and policy", "Mine open", "Mine done", "Theirs done"}
    html = _text(client.get(_corpus_url(mine=1), HTTP_HX_REQUEST="true"))
    assert "badge-assigned" in html and "badge-submitted" in html


def _disagreement(team, article, *, stance2=Stance.SUPPORT, topic2=None):
    claim = ClaimFactory(article=article, start=0, end=40)
    AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic, stance="oppose")
    AnnotationFactory(
        claim=claim, annotator=team.annotator2, topic=topic2 or team.topic, stance=stance2
    )
    return claim


def test_disagreement_filter_finds_stance_and_topic_differences(team):
    by_stance = ArticleFactory(corpus=team.corpus, title="By stance")
    by_topic = ArticleFactory(corpus=team.corpus, title="By topic")
    agreed = ArticleFactory(corpus=team.corpus, title="Agreed")
    deleted_claim = ArticleFactory(corpus=team.corpus, title="Deleted claim")
    _disagreement(team, by_stance)
    second_topic = TopicFactory(corpus=team.corpus, label="Second topic")
    _disagreement(team, by_topic, stance2=Stance.OPPOSE, topic2=second_topic)
    _disagreement(team, agreed, stance2=Stance.OPPOSE)
    claim = _disagreement(team, deleted_claim)
    services.claim_delete(
        access=Access(user=team.owner, corpus=team.corpus, role=Role.OWNER), claim=claim
    )

    html = _text(_client(team.curator).get(_corpus_url(disagreements=1), HTTP_HX_REQUEST="true"))
    assert "By stance" in html and "By topic" in html
    assert "Agreed" not in html and "Deleted claim" not in html and "Chips and policy" not in html
    assert html.count("badge-disagreement") == 2


def test_blind_annotators_cannot_filter_on_disagreements(team):
    Corpus.objects.filter(pk=team.corpus.pk).update(blind=True)
    _disagreement(team, team.article)
    annotator_html = _text(_client(team.annotator).get(_corpus_url(disagreements=1)))
    assert 'name="disagreements"' not in annotator_html
    assert "Chips and policy" in annotator_html  # the filter is ignored, nothing leaks
    assert ">Disagreement<" not in annotator_html
    curator_html = _text(_client(team.curator).get(_corpus_url(disagreements=1)))
    assert 'name="disagreements"' in curator_html and ">Disagreement<" in curator_html


def test_article_list_is_paginated_by_50(team):
    Article.objects.bulk_create(
        [
            Article(corpus=team.corpus, title=f"Bulk {i:03}", text="x", text_sha256="0")
            for i in range(60)
        ]
    )
    client = _client(team.viewer)
    first = _text(client.get(_corpus_url(q="Bulk")))
    assert "Articles 1–50 of 60" in first and "Bulk 049" in first and "Bulk 050" not in first
    assert "page=2" in first
    second = _text(client.get(_corpus_url(q="Bulk", page=2), HTTP_HX_REQUEST="true"))
    assert "Articles 51–60 of 60" in second and "Bulk 050" in second and "Bulk 049" not in second
    assert "q=Bulk&amp;page=1" in second
    # A page number out of range shows the last page instead of an error.
    assert "Bulk 059" in _text(client.get(_corpus_url(q="Bulk", page=99)))


def test_odd_filter_values_are_ignored_with_a_warning_on_the_whole_page_only(team):
    Article.objects.bulk_create(
        [
            Article(corpus=team.corpus, title=f"Bulk {i:03}", text="x", text_sha256="0")
            for i in range(60)
        ]
    )
    client = _client(team.annotator)
    url = _corpus_url(q="Bulk", status="bogus", mine="yes", utm_source="mail")
    page = client.get(url)
    html = _text(page)
    assert page.status_code == 200 and "Articles 1–50 of 60" in html
    warnings = [str(m) for m in page.context["messages"]]
    assert 'Ignored the status filter: "bogus" is not one of the statuses listed.' in warnings
    assert 'Ignored the mine filter: "yes" is not 1 (ticked).' in warnings
    # The pages carry the filters in force, nothing else.
    assert page.context["query"] == "q=Bulk" and "?q=Bulk&amp;page=2" in html
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert "Ignored" not in _text(fragment)
    # ... and no warning waits for the next whole page either.
    assert not [str(m) for m in client.get(_corpus_url()).context["messages"]]


def test_blind_annotators_disagreement_filter_is_not_carried(team):
    Corpus.objects.filter(pk=team.corpus.pk).update(blind=True)
    response = _client(team.annotator).get(_corpus_url(q="Chips", disagreements=1))
    assert response.context["query"] == "q=Chips"
    assert not list(response.context["messages"])  # not even a warning hints at it


def test_corpus_page_escapes_user_text(team):
    ArticleFactory(corpus=team.corpus, title="<img src=x onerror=alert(1)>", author="<i>me</i>")
    html = _text(_client(team.viewer).get(_corpus_url()))
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<i>me</i>" not in html


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _grow(team, n):
    """n more articles, each with a claim, two annotations and assignments, in both corpora."""
    for i in range(n):
        article = ArticleFactory(corpus=team.corpus, title=f"Grown {i}")
        _disagreement(team, article)
        AssignmentFactory(article=article, annotator=team.annotator)
        AssignmentFactory(
            article=article, annotator=team.annotator2, state=AssignmentState.SUBMITTED
        )
        extra = CorpusFactory(created_by=team.annotator)
        ArticleFactory(corpus=extra)


def test_home_and_corpus_query_counts_do_not_grow(team):
    client = _client(team.curator)
    urls = [reverse("home"), _corpus_url(), _corpus_url(q="Grown", disagreements=1, mine=1)]
    annotator = _client(team.annotator)
    _grow(team, 2)
    small = [_count_queries(client, u) for u in urls] + [_count_queries(annotator, reverse("home"))]
    _grow(team, 18)
    large = [_count_queries(client, u) for u in urls] + [_count_queries(annotator, reverse("home"))]
    assert small == large
    assert max(large) <= 8


# --- Import --------------------------------------------------------------------------------


def _import_url():
    return reverse("corpus-import", args=["chips"])


def test_import_pasted_article(team):
    response = _client(team.owner).post(
        _import_url(),
        {
            "title": "Pasted piece",
            "text": "First paragraph.\r\n\r\nSecond paragraph.",
            "author": "A. Writer",
            "source_url": "https://example.org/piece",
            "published_on": "2024-05-01",
        },
        follow=True,
    )
    article = Article.objects.get(title="Pasted piece")
    assert article.text == "First paragraph.\n\nSecond paragraph."
    assert article.author == "A. Writer" and str(article.published_on) == "2024-05-01"
    assert response.redirect_chain[-1] == (_corpus_url(), 302)
    assert "Imported the article “Pasted piece”." in _text(response)


def test_import_pasted_article_reports_every_problem_and_keeps_the_input(team):
    before = Article.objects.count()
    response = _client(team.owner).post(
        _import_url(),
        {"title": "Half done", "text": "   ", "source_url": "javascript:alert(1)"},
    )
    html = _text(response)
    assert response.status_code == 400
    assert "Nothing was imported." in html
    assert "text is empty" in html and "source_url must be an http:// or https://" in html
    assert 'value="Half done"' in html  # the form keeps what was typed
    assert Article.objects.count() == before


def test_import_pasted_article_words_each_mistake_as_the_article_service(team):
    response = _client(team.owner).post(
        _import_url(),
        {"title": "x" * 501, "text": "Fine.", "published_on": "31/01/2024", "author": "A\x00"},
    )
    html = _text(response)
    assert response.status_code == 400
    assert "3 problems to fix" in html
    assert "title is 501 characters; at most 500." in html
    assert "published_on must be a date as YYYY-MM-DD; got &#x27;31/01/2024&#x27;." in html
    assert "author" in html and not Article.objects.filter(text="Fine.").exists()


def test_import_pasted_text_over_the_limit_is_413(team, settings):
    settings.ARTICLE_MAX_CHARS = 100
    response = _client(team.owner).post(_import_url(), {"title": "Long", "text": "x" * 101})
    assert response.status_code == 413
    assert "the limit is 100" in _text(response)
    assert not Article.objects.filter(title="Long").exists()


def test_import_with_nothing_to_import_says_what_to_do(team):
    response = _client(team.owner).post(_import_url(), {})
    assert response.status_code == 400
    assert "Paste an article" in _text(response)


@pytest.mark.parametrize("role", ["curator", "annotator", "viewer"])
def test_import_needs_the_owner_role(team, role):
    response = _client(getattr(team, role)).post(_import_url(), {"title": "T", "text": "Text."})
    assert response.status_code == 403
    assert not Article.objects.filter(title="T").exists()


def test_import_is_404_for_outsiders_and_post_only(team):
    client = _client(team.outsider)
    assert client.post(_import_url(), {"title": "T", "text": "Text."}).status_code == 404
    assert _client(team.owner).get(_import_url()).status_code == 405
    assert not Article.objects.filter(title="T").exists()


def test_import_needs_csrf(team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.owner)
    assert client.post(_import_url(), {"title": "T", "text": "Text."}).status_code == 403


class FakeImportFailed(Exception):
    def __init__(self, errors, status=400):
        self.errors = errors
        self.status = status
        super().__init__("import failed")


@pytest.fixture
def fake_importer(monkeypatch):
    """Stands in for articles.imports.import_file: a file named bad* fails on two lines; others
    create one article per line through the real service."""
    calls = []

    def import_file(*, actor, corpus, role, name, data):
        calls.append(name)
        if name.startswith("bad"):
            raise FakeImportFailed([(2, "text is empty."), (5, "unknown user 'zed'.")])
        if name.startswith("huge"):
            raise FakeImportFailed([(None, "The file is too large.")], status=413)
        if name.startswith("many"):
            error = FakeImportFailed([(1, "bad line.")])
            error.more = 1500
            raise error
        lines = data.decode().splitlines()
        for line in lines:
            services.article_create(
                actor=actor, corpus=corpus, role=role, title=line, text=f"{line} text."
            )
        return SimpleNamespace(articles=len(lines), claims=0, annotations=0)

    monkeypatch.setattr(imports, "import_file", import_file, raising=False)
    monkeypatch.setattr(imports, "ImportFailed", FakeImportFailed, raising=False)
    return calls


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_import_files_success_reports_counts(team, fake_importer):
    response = _client(team.owner).post(
        _import_url(),
        {"files": [_upload("a.jsonl", b"One\nTwo"), _upload("b.txt", b"Three")]},
        follow=True,
    )
    assert fake_importer == ["a.jsonl", "b.txt"]
    assert set(
        Article.objects.filter(title__in=["One", "Two", "Three"]).values_list("title", flat=True)
    ) == {"One", "Two", "Three"}
    html = _text(response)
    assert "Imported a.jsonl: 2 articles; b.txt: 1 article." in html


def test_import_files_is_all_or_nothing_and_lists_every_reason(team, fake_importer):
    before = Article.objects.count()
    response = _client(team.owner).post(
        _import_url(),
        {"files": [_upload("good.jsonl", b"One\nTwo"), _upload("bad.jsonl", b"...")]},
    )
    html = _text(response)
    assert response.status_code == 400
    assert fake_importer == ["good.jsonl", "bad.jsonl"]  # every file tried, for a full report
    assert "2 problems to fix" in html
    assert "<strong>bad.jsonl</strong>, line 2: text is empty." in html
    assert "line 5: unknown user &#x27;zed&#x27;." in html
    assert Article.objects.count() == before  # the good file was rolled back too


def test_import_report_counts_problems_beyond_those_listed(team, fake_importer):
    response = _client(team.owner).post(_import_url(), {"files": [_upload("many.jsonl", b"x")]})
    html = _text(response)
    assert response.status_code == 400
    assert "1501 problems to fix" in html and "… and 1,500 more problems." in html


def test_import_files_too_large(team, fake_importer, settings):
    settings.IMPORT_MAX_BYTES = 10
    response = _client(team.owner).post(_import_url(), {"files": [_upload("a.txt", b"x" * 11)]})
    assert response.status_code == 413
    assert "the limit here is 10 bytes" in _text(response)
    assert fake_importer == []
    settings.IMPORT_MAX_BYTES = 10_000
    response = _client(team.owner).post(_import_url(), {"files": [_upload("huge.txt", b"x")]})
    assert response.status_code == 413 and "too large" in _text(response)


def test_import_real_files_of_several_formats(team):
    jsonl = (
        b'{"title": "From JSONL one", "text": "First text."}\n'
        b'{"title": "From JSONL two", "text": "Second text."}\n'
    )
    response = _client(team.owner).post(
        _import_url(),
        {
            "files": [
                _upload("batch.jsonl", jsonl),
                _upload("note.md", b"# A markdown piece\n\nBody of the piece."),
                _upload("page.html", b"<html><title>An HTML page</title><p>Para.</p></html>"),
            ]
        },
        follow=True,
    )
    titles = set(Article.objects.filter(corpus=team.corpus).values_list("title", flat=True))
    assert {"From JSONL one", "From JSONL two", "A markdown piece", "An HTML page"} <= titles
    html = _text(response)
    assert "Imported batch.jsonl: 2 articles; note.md: 1 article; page.html: 1 article." in html


def test_import_real_files_all_or_nothing_with_line_numbers(team):
    before = Article.objects.count()
    bad = b'{"title": "Fine", "text": "Fine text."}\n{"title": "No text"}\nnot json\n'
    response = _client(team.owner).post(
        _import_url(),
        {"files": [_upload("good.txt", b"A good text file."), _upload("bad.jsonl", bad)]},
    )
    html = _text(response)
    assert response.status_code == 400
    assert "<strong>bad.jsonl</strong>, line 2:" in html
    assert "<strong>bad.jsonl</strong>, line 3:" in html
    assert "Nothing was imported." in html
    assert Article.objects.count() == before


def test_import_real_file_of_an_unknown_type_is_refused(team):
    response = _client(team.owner).post(_import_url(), {"files": [_upload("slides.pdf", b"%PDF")]})
    assert response.status_code == 400
    assert "slides.pdf" in _text(response)
    assert Article.objects.filter(corpus=team.corpus).count() == 1


@pytest.mark.parametrize(
    ("role", "blind", "shown"),
    [
        ("viewer", True, True),
        ("curator", True, True),
        ("annotator", True, False),
        ("annotator", False, True),
    ],
)
def test_agreement_tab_follows_who_may_see_agreement(team, role, blind, shown):
    team.corpus.blind = blind
    team.corpus.save()
    html = _text(_client(getattr(team, role)).get(_corpus_url()))
    assert (reverse("corpus-agreement", args=["chips"]) in html) is shown
