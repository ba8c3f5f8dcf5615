"""The API's article list counts for the rows of its page only (claim_selectors), and gives the
same figures as the corpus page's selector for every role, blind or not."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import selectors
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/corpora/chips/articles?page_size=500"
FIGURES = ("n_claims", "n_annotations", "n_reviewed", "n_assigned", "n_submitted")


def _world(team):
    for i in range(3):
        article = team.article if i == 0 else ArticleFactory(corpus=team.corpus)
        for j in range(i + 1):
            claim = ClaimFactory(article=article, start=j, end=j + 4)
            AnnotationFactory(claim=claim, annotator=team.annotator2, topic=team.topic)
            if j == 0:
                ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
        AssignmentFactory(article=article, annotator=team.annotator2, state="submitted")
        if i == 1:
            AssignmentFactory(article=article, annotator=team.annotator)
    deleted = ClaimFactory(article=team.article, start=9, end=12)
    deleted.deleted_at = deleted.created_at
    deleted.save()


@pytest.mark.parametrize("blind", [False, True], ids=["open", "blind"])
@pytest.mark.parametrize("role", ["annotator", "annotator2", "curator", "viewer", "owner"])
def test_the_list_counts_as_the_corpus_page_does(team, client_for, role, blind):
    team.corpus.blind = blind
    team.corpus.save()
    _world(team)
    user = getattr(team, role)
    body = client_for(user).get(URL).json()["results"]
    _corpus, access = selectors.corpus_with_access(user, "chips")
    expected = {
        str(a.pk): (
            {"claims": a.n_claims, "annotations": a.n_annotations, "reviewed": a.n_reviewed}
            | {"assigned": a.n_assigned, "submitted": a.n_submitted},
            a.my_state,
        )
        for a in selectors.articles_for_corpus(access)
    }
    got = {row["id"]: (row["counts"], row["my_state"]) for row in body}
    assert got == expected
    if blind and role == "annotator":  # arjun's work is hidden from anna: nothing counted
        assert all(counts["annotations"] == 0 for counts, _state in got.values())


def test_a_page_of_the_list_takes_six_queries_whatever_its_size(team, client_for):
    client = client_for(team.annotator)
    counts = []
    for n in (2, 40):
        while team.corpus.articles.count() < n:
            article = ArticleFactory(corpus=team.corpus)
            AnnotationFactory(claim=ClaimFactory(article=article), annotator=team.annotator)
            AssignmentFactory(article=article, annotator=team.annotator)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL)
        assert len(response.json()["results"]) == n
        counts.append(len(queries))
    # corpus and role, the page, the articles' counters (claims, annotations, assignments:
    # the corpus is not blind), the reviews they may see, their own assignments, the total
    assert counts == [6, 6]
