"""Shared fixtures: a corpus with one member of each role, plus an outsider and another team."""

import os
from types import SimpleNamespace

import pytest

from articles.models import Membership, Role

from .browser import artifacts, browser, console_errors, page  # noqa: F401  (one browser a session)
from .factories import ArticleFactory, CorpusFactory, TopicFactory, UserFactory


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (`AA_NO_SKIPS=1`, set by .ci/run) every test must run: a skip is a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("AA_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, and CI runs every test: {report.longrepr}"


@pytest.fixture
def team(db):
    """A corpus with a topic and an article, and users: owner, curator, annotator, annotator2,
    viewer (all members) and outsider (a member of another corpus only, `other_corpus`)."""
    owner = UserFactory(username="olivia")
    corpus = CorpusFactory(slug="chips", name="Chip export op-eds", created_by=owner)
    topic = TopicFactory(corpus=corpus, label="US export controls on AI chips are effective")
    users = {"owner": owner}
    for role, username in [
        (Role.CURATOR, "carmen"),
        (Role.ANNOTATOR, "anna"),
        (Role.ANNOTATOR, "arjun"),
        (Role.VIEWER, "victor"),
    ]:
        user = UserFactory(username=username)
        Membership.objects.create(corpus=corpus, user=user, role=role)
        users["annotator2" if username == "arjun" else role.value] = user
    outsider = UserFactory(username="oscar")
    other_corpus = CorpusFactory(slug="other", name="Another team", created_by=outsider)
    other_topic = TopicFactory(corpus=other_corpus, label="Another proposition")
    article = ArticleFactory(corpus=corpus, title="Chips and policy")
    other_article = ArticleFactory(corpus=other_corpus, title="Their article")
    return SimpleNamespace(
        corpus=corpus,
        topic=topic,
        article=article,
        outsider=outsider,
        other_corpus=other_corpus,
        other_topic=other_topic,
        other_article=other_article,
        **users,
    )
