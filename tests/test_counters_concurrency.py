"""The counters stay right when people write at the same moment (real threads, each with its own
database connection): no lost update, and a claim tagged by two people at once counts once."""

import pytest

from articles import counters, services
from articles.access import Access
from articles.models import Role

from .factories import ClaimFactory
from .test_concurrency import _race

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_tags_trash_and_claims_keep_the_counters_right(team):
    for round_ in range(3):
        claim = ClaimFactory(article=team.article, start=round_, end=round_ + 5)
        other = ClaimFactory(article=team.article, start=20 + round_, end=30 + round_)

        def tag(user, claim=claim):
            return services.annotation_create(
                actor=user, claim=claim, role=Role.ANNOTATOR, stance="support"
            )

        def trash(other=other):
            access = Access(user=team.owner, corpus=team.corpus, role=Role.OWNER)
            return services.claim_delete(access=access, claim=other)

        def tag_other(other=other):
            return services.annotation_create(
                actor=team.curator, claim=other, role=Role.CURATOR, stance="oppose"
            )

        results = _race(lambda: tag(team.annotator), lambda: tag(team.annotator2), trash, tag_other)
        assert not [r for r in results[:3] if isinstance(r, Exception)], results
        assert counters.recount([team.corpus.pk], repair=False) == []
    assert counters.counts_of_corpus(team.corpus.pk)["claims_tagged"] == 3
