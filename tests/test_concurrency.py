"""No lost updates and no duplicates when people write at the same moment (real threads, each
with its own database connection)."""

import threading

import pytest
from django.db import connection

from articles import services
from articles.models import Annotation, Relation

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
