"""What else follows an article's text when it changes: a model's open suggestions are placed
again or removed, decided ones stay as they were, and a claim whose words changed is embedded
again for similar claims."""

import pytest

from articles import selectors, services, similarity
from articles.models import ClaimEmbedding, Suggestion
from tests.factories import SAMPLE_TEXT

from .test_text_versions import PRICES, claim_on, put_text, span_of

pytestmark = pytest.mark.django_db

LAB = "The lab trained its model on low-end chips."
CRITICS = "Critics call the policy a gift to domestic rivals."
OFFICIALS = "Officials say the rules will be tightened next year."


def _suggest(team, *quotes):
    _, access = selectors.corpus_with_access(team.curator, team.corpus.slug)
    return services.suggestions_create(
        access=access,
        article=team.article,
        model="m@1",
        suggestions=[{**span_of(team.article.text, q), "score": 0.7} for q in quotes],
    )


def test_open_suggestions_follow_the_text_and_decided_ones_stay(team, client_for):
    lab, critics, officials = _suggest(team, LAB, CRITICS, OFFICIALS)
    _, access = selectors.corpus_with_access(team.annotator, team.corpus.slug)
    services.suggestion_reject(access=access, suggestion=officials)
    new_text = "Breaking: " + SAMPLE_TEXT.replace(CRITICS + " ", "")

    assert put_text(client_for(team.owner), team.article.pk, new_text, 1).status_code == 200

    lab.refresh_from_db()
    assert new_text[lab.start : lab.end] == lab.exact == LAB
    assert lab.start == new_text.index(LAB)
    assert not Suggestion.objects.filter(pk=critics.pk).exists()  # its words left, nobody decided
    officials.refresh_from_db()  # decided on: kept as the annotator saw it
    assert (officials.start, officials.exact) == (SAMPLE_TEXT.index(OFFICIALS), OFFICIALS)


def test_a_claim_whose_words_changed_is_embedded_again(team, client_for):
    claim = claim_on(team.article, PRICES)
    similarity.refresh_claims([claim])
    before = ClaimEmbedding.objects.get(claim=claim)
    new_text = SAMPLE_TEXT.replace("12%", "21%")

    assert put_text(client_for(team.owner), team.article.pk, new_text, 1).status_code == 200

    claim.refresh_from_db()
    assert claim.anchor_status == "fuzzy" and "21%" in claim.exact
    after = ClaimEmbedding.objects.get(claim=claim)
    assert after.text_sha256 != before.text_sha256
    assert after.text_sha256 == similarity.text_hash(similarity.embedding_text(claim.exact, ""))
