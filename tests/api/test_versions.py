"""Every versioned endpoint keeps one contract: GET gives the version as the ETag; a change that
names no version is a 428; a stale one is a 412 whose `current` is exactly what GET shows."""

import pytest

from articles.models import Annotation, Article, Claim, Corpus, Review, Topic
from tests.factories import AnnotationFactory, ClaimFactory, EvidenceFactory, ReviewFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def versioned(team):
    """(who, url, method, change) for each kind of versioned object."""
    claim = ClaimFactory(article=team.article, created_by=team.annotator)
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    EvidenceFactory(annotation=annotation)
    ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
    return [
        (team.owner, "/api/v1/corpora/chips", "patch", {"description": "New."}),
        (team.owner, f"/api/v1/topics/{team.topic.pk}", "patch", {"description": "New."}),
        (team.owner, f"/api/v1/articles/{team.article.pk}", "patch", {"author": "Someone"}),
        (team.annotator, f"/api/v1/claims/{claim.pk}", "patch", {"summary": "New."}),
        (team.annotator, f"/api/v1/annotations/{annotation.pk}", "patch", {"note": "New."}),
        (team.annotator, f"/api/v1/annotations/{annotation.pk}", "put", {"stance": "oppose"}),
        (team.curator, f"/api/v1/claims/{claim.pk}/review", "put", {"decision": "rejected"}),
    ]


def _versions() -> list[int]:
    kinds = (Corpus, Topic, Article, Claim, Annotation, Review)
    return [v for model in kinds for v in model.objects.values_list("version", flat=True)]


def test_every_versioned_endpoint_keeps_the_version_contract(versioned, client_for):
    for user, url, method, change in versioned:
        client = client_for(user)
        got = client.get(url)
        assert got.status_code == 200, url
        version = got.json()["version"]
        assert got["ETag"] == f'"{version}"', url

        before = _versions()
        unnamed = getattr(client, method)(url, change)
        assert unnamed.status_code == 428, (method, url, unnamed.json())
        stale = getattr(client, method)(url, change, HTTP_IF_MATCH=f'"{version + 7}"')
        assert stale.status_code == 412, (method, url, stale.json())
        assert stale.json()["current"] == client.get(url).json(), (method, url)
        assert stale["ETag"] == got["ETag"], url
        assert _versions() == before, (method, url)  # neither wrote anything

        changed = getattr(client, method)(url, {**change, "version": version})
        assert changed.status_code == 200, (method, url, changed.json())
        assert changed["ETag"] == f'"{version + 1}"', url
        assert changed.json() == client.get(url).json(), (method, url)
