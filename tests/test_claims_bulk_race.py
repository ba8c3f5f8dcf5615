"""Bulk writes to one article at the same moment (real threads, each with its own connection):
the article's lock makes them take turns, so a span is marked once and each annotator tags it
once, whatever the interleaving."""

import pytest
from django.core.exceptions import ValidationError

from articles import services
from articles.models import Annotation, AuditEvent, Claim

from .test_concurrency import _race

pytestmark = pytest.mark.django_db(transaction=True)


def _items():
    return [
        {"start": i * 7, "end": i * 7 + 5, "annotation": {"stance": "support"}} for i in range(20)
    ]


def _write(team, user):
    return lambda: services.claims_create_many(
        actor=user, article=team.article, role="annotator", items=_items()
    )


def test_two_annotators_writing_the_same_spans_at_once_share_one_claim_per_span(team):
    results = _race(_write(team, team.annotator), _write(team, team.annotator2))
    assert all(isinstance(r, services.BulkClaims) for r in results), results
    assert sorted(sum(r.created) for r in results) == [0, 20]  # the second reused every claim
    assert Claim.objects.count() == 20
    assert Annotation.objects.count() == 40
    assert AuditEvent.objects.filter(verb="claim.create").count() == 20


def test_one_annotator_sending_the_same_list_twice_at_once_tags_each_claim_once(team):
    results = _race(_write(team, team.annotator), _write(team, team.annotator))
    written = [r for r in results if isinstance(r, services.BulkClaims)]
    refused = [r for r in results if isinstance(r, ValidationError | services.Conflict)]
    assert (len(written), len(refused)) == (1, 1), results
    assert Claim.objects.count() == 20
    assert Annotation.objects.count() == 20
    assert AuditEvent.objects.count() == 40
