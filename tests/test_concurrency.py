"""No lost updates and no duplicates when people write at the same moment (real threads, each
with its own database connection)."""

import contextlib
import json
import threading

import pytest
from django.db import connection
from django.test import Client

from articles import imports, services
from articles.models import Annotation, Article, Relation, Topic

from .factories import ClaimFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*calls):
    """Start every call at the same instant; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - the outcome is what we assert on
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_identical_concurrent_creates_give_one_annotation(team):
    claim = ClaimFactory(article=team.article)

    def create():
        return services.annotation_create(
            actor=team.annotator, claim=claim, role="annotator", stance="oppose"
        )

    results = _race(create, create, create)
    created = [r for r in results if isinstance(r, Annotation)]
    conflicts = [r for r in results if isinstance(r, services.Conflict)]
    assert len(created) == 1 and len(conflicts) == 2, results
    assert Annotation.objects.count() == 1


def test_identical_concurrent_relations_give_one(team):
    source = ClaimFactory(article=team.article, start=0, end=10)
    target = ClaimFactory(article=team.article, start=42, end=60)

    def create():
        return services.relation_create(
            actor=team.annotator, source=source, target=target, role="annotator", kind="attacks"
        )

    results = _race(create, create)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Relation"], results
    assert Relation.objects.count() == 1


def test_two_stale_editors_one_wins_the_other_gets_a_conflict(team):
    claim = ClaimFactory(article=team.article)
    annotation = services.annotation_create(
        actor=team.annotator, claim=claim, role="annotator", stance="support"
    )

    def edit(stance):
        return lambda: services.annotation_update(
            actor=team.annotator, annotation=annotation, role="annotator", version=1, stance=stance
        )

    results = _race(edit("oppose"), edit("neutral"))
    winners = [r for r in results if isinstance(r, Annotation)]
    stale = [r for r in results if isinstance(r, services.StaleVersion)]
    assert len(winners) == 1 and len(stale) == 1, results
    saved = Annotation.objects.get()
    assert saved.version == 2 and saved.stance == winners[0].stance
    assert stale[0].current.stance == saved.stance


# --- Imports ------------------------------------------------------------------------------------

NEW_TOPICS = ["Chips are scarce", "Rules fail", "Prices doubled"]


def _import_body(labels: list[str]) -> bytes:
    """One article whose claims' annotations name `labels`, topics the corpus does not have."""
    text = "Chips matter. Prices doubled in labs. Rules fail."
    claims = [
        {"exact": exact, "annotations": [{"annotator": "anna", "stance": "support", "topic": t}]}
        for exact, t in zip(["Chips matter.", "Prices doubled", "Rules fail."], labels, strict=True)
    ]
    return json.dumps({"title": "Concurrent", "text": text, "claims": claims}).encode() + b"\n"


def test_concurrent_imports_creating_the_same_topics_all_succeed(team, monkeypatch):
    """Four imports through the API at once, each naming the same three new topics (in a
    different order, which with row locks taken in turn could deadlock). Each import is held
    just after it read the corpus's topics until all four have (the moment of the race), or for
    two seconds when the database makes the others wait (SQLite writers take turns)."""
    barrier = threading.Barrier(4)
    read_topics = imports.ImportContext.__init__

    def held(self, **kwargs):
        read_topics(self, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)

    monkeypatch.setattr(imports.ImportContext, "__init__", held)

    def post(labels):
        def call():
            client = Client()
            client.force_login(team.owner)
            return client.post(
                "/api/v1/corpora/chips/import",
                data=_import_body(labels),
                content_type="application/x-ndjson",
            )

        return call

    orders = [NEW_TOPICS[i:] + NEW_TOPICS[:i] for i in range(3)] + [NEW_TOPICS[::-1]]
    results = _race(*[post(order) for order in orders])
    if connection.vendor == "postgresql":
        assert not barrier.broken  # all four had read the topics before any created one
    statuses = [getattr(r, "status_code", r) for r in results]
    assert all(status in (201, 409) for status in statuses), statuses
    refused = [r.json()["detail"] for r in results if r.status_code == 409]
    assert all("changed while the file was being imported" in d for d in refused), refused
    created = [r.json() for r in results if r.status_code == 201]
    assert created, statuses
    labels = Topic.objects.filter(corpus=team.corpus).values_list("label", flat=True)
    assert sorted(labels) == sorted([team.topic.label, *NEW_TOPICS])  # each once
    assert sum(body["topics"] for body in created) == len(NEW_TOPICS)
    assert Article.objects.filter(corpus=team.corpus, title="Concurrent").count() == len(created)
    annotations = Annotation.objects.filter(claim__article__title="Concurrent")
    assert annotations.count() == 3 * len(created)
    assert {a.topic.label for a in annotations} == set(NEW_TOPICS)


def test_an_import_whose_topic_is_deleted_meanwhile_is_409_and_writes_nothing(team, monkeypatch):
    """Between the import reading the corpus's topics and writing, the first topic (which its
    annotations take by default) is deleted: the write would point at nothing. The database
    refuses it at the end of the import, which answers 409 with nothing written, not a 500."""
    read_topics = imports.ImportContext.__init__

    def deleted_meanwhile(self, **kwargs):
        read_topics(self, **kwargs)
        Topic.objects.filter(pk=team.topic.pk).delete()

    monkeypatch.setattr(imports.ImportContext, "__init__", deleted_meanwhile)
    before = (Article.objects.count(), Annotation.objects.count(), Topic.objects.count())
    client = Client()
    client.force_login(team.owner)
    line = {
        "title": "Default topic",
        "text": "Chips matter.",
        "claims": [{"exact": "Chips", "annotations": [{"annotator": "anna", "stance": "oppose"}]}],
    }
    response = client.post(
        "/api/v1/corpora/chips/import",
        data=json.dumps(line).encode(),
        content_type="application/x-ndjson",
    )
    assert response.status_code == 409, response.content[:300]
    assert "Import the file again" in response.json()["errors"]["file"][0]
    # The deletion was part of the refused import's transaction here, so it is undone too.
    assert (Article.objects.count(), Annotation.objects.count(), Topic.objects.count()) == before
