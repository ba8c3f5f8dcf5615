"""The annotation page's suggestions panel works out each suggestion's states in Python from the
decisions the caller may see (suggestion_selectors.suggestions_for_panel); they must be those
the SQL of suggestions_for_article gives (with_visible_state), for every role, in blind and open
corpora, before and after an annotator submits."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import selectors, services, suggestion_selectors
from articles.models import AssignmentState, SuggestionDecision

from .factories import AssignmentFactory

pytestmark = pytest.mark.django_db

SENTENCES = [
    "Restricting chip exports is shortsighted.",
    "Prices rose by 12% in a single quarter.",
    "Critics call the policy a gift to domestic rivals.",
]


def _states(rows):
    return [(s.pk, s.shown_state, s.my_state, tuple(d.pk for d in s.shown_decisions)) for s in rows]


def _both(user, team):
    _, access = selectors.corpus_with_access(user, team.corpus.slug)
    article = team.article
    return (
        _states(suggestion_selectors.suggestions_for_panel(access, article)),
        _states(suggestion_selectors.suggestions_for_article(access, article)),
    )


def test_panel_states_equal_the_sql_states_for_every_reader(team):
    _, curator = selectors.corpus_with_access(team.curator, team.corpus.slug)
    made = services.suggestions_create(
        access=curator,
        article=team.article,
        model="m@1",
        suggestions=[{"exact": text, "stance": "support"} for text in SENTENCES],
    )
    decide = SuggestionDecision.objects.create
    decide(suggestion=made[0], decided_by=team.annotator, state="accepted")
    decide(suggestion=made[0], decided_by=team.annotator2, state="rejected")
    decide(suggestion=made[1], decided_by=team.annotator2, state="accepted")
    decide(suggestion=made[1], decided_by=team.curator, state="rejected")
    decide(suggestion=made[2], decided_by=team.annotator, state="rejected")
    readers = [team.annotator, team.annotator2, team.curator, team.viewer, team.owner]

    seen = set()
    for blind in (False, True):
        team.corpus.blind = blind
        team.corpus.save(update_fields=["blind"])
        for submitted in (False, True):
            if submitted:
                AssignmentFactory(
                    article=team.article,
                    annotator=team.annotator,
                    state=AssignmentState.SUBMITTED,
                )
            for user in readers:
                panel, sql = _both(user, team)
                assert panel == sql, (blind, submitted, user.username)
                seen.add(tuple(panel))
        team.article.assignments.all().delete()
    # the cases differ from each other (blind hides others' decisions until submission)
    assert len(seen) >= 4


def test_panel_with_no_suggestion_is_one_query(team):
    _, access = selectors.corpus_with_access(team.annotator, team.corpus.slug)
    with CaptureQueriesContext(connection) as queries:
        assert suggestion_selectors.suggestions_for_panel(access, team.article) == []
    assert len(queries) == 1
