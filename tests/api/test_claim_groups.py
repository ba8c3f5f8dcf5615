"""The claim-group API (members read, curators and owners write, outsiders get 404) and
`GET /claims/{id}/similar`: ranking on a small corpus written for the test, one query for the
vectors, claims of other articles of the same corpus only."""

from __future__ import annotations

import pytest

from articles import similarity
from articles.models import AuditEvent, ClaimEmbedding, ClaimGroup
from tests.factories import ArticleFactory, ClaimFactory

from .conftest import errors_of

pytestmark = pytest.mark.django_db


def whole(article):
    return ClaimFactory(article=article, start=0, end=len(article.text))


@pytest.fixture
def two_claims(team):
    first = ClaimFactory(article=team.article, start=0, end=20)
    second = ClaimFactory(article=ArticleFactory(corpus=team.corpus), start=0, end=20)
    return first, second


def test_curator_creates_reads_updates_and_deletes(team, two_claims, client_for):
    first, second = two_claims
    api = client_for(team.curator)
    url = f"/api/v1/corpora/{team.corpus.slug}/claim-groups"
    response = api.post(url, {"label": "Chip rules fail", "claims": [str(first.pk)]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["label"] == "Chip rules fail" and body["claims"] == [str(first.pk)]
    assert response["Location"] == f"/api/v1/claim-groups/{body['id']}"

    detail = api.get(response["Location"])
    assert detail.status_code == 200 and detail["ETag"] == '"1"'

    patched = api.patch(
        response["Location"],
        {"claims": [str(first.pk), str(second.pk)], "description": "Two wordings"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["claims"] == [str(first.pk), str(second.pk)]
    assert patched.json()["version"] == 2
    assert api.patch(response["Location"], {"label": "x"}, format="json").status_code == 428
    stale = api.patch(response["Location"], {"label": "x", "version": 1}, format="json")
    assert stale.status_code == 412 and stale.json()["current"]["version"] == 2

    listed = api.get(url).json()["results"]
    assert [g["label"] for g in listed] == ["Chip rules fail"]
    assert api.delete(response["Location"]).status_code == 204
    assert not ClaimGroup.objects.exists()
    assert [e.verb for e in AuditEvent.objects.order_by("id")] == [
        "claim_group.create",
        "claim_group.update",
        "claim_group.delete",
    ]


def test_bad_input_names_the_field(team, two_claims, client_for):
    first, _ = two_claims
    api = client_for(team.owner)
    url = f"/api/v1/corpora/{team.corpus.slug}/claim-groups"
    assert "label" in errors_of(api.post(url, {"claims": []}, format="json"))
    foreign = ClaimFactory(article=team.other_article)
    response = api.post(url, {"label": "L", "claims": [str(foreign.pk)]}, format="json")
    assert response.status_code == 400 and "claims" in errors_of(response)
    api.post(url, {"label": "L", "claims": [str(first.pk)]}, format="json")
    taken = api.post(url, {"label": "L"}, format="json")
    assert taken.status_code == 409
    twice = api.post(url, {"label": "M", "claims": [str(first.pk)]}, format="json")
    assert twice.status_code == 400 and "at most one group" in str(errors_of(twice)["claims"])


def test_members_read_only_and_outsiders_get_404(team, two_claims, client_for):
    first, _ = two_claims
    group = ClaimGroup.objects.create(corpus=team.corpus, label="G", created_by=team.curator)
    url = f"/api/v1/corpora/{team.corpus.slug}/claim-groups"
    for user in (team.annotator, team.viewer):
        api = client_for(user)
        assert api.get(url).status_code == 200
        assert api.get(f"/api/v1/claim-groups/{group.pk}").status_code == 200
        assert api.post(url, {"label": "Mine"}, format="json").status_code == 403
        patch = api.patch(f"/api/v1/claim-groups/{group.pk}", {"label": "x", "version": 1})
        assert patch.status_code == 403
        assert api.delete(f"/api/v1/claim-groups/{group.pk}").status_code == 403
    outsider = client_for(team.outsider)
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"/api/v1/claim-groups/{group.pk}").status_code == 404
    assert outsider.delete(f"/api/v1/claim-groups/{group.pk}").status_code == 404
    assert outsider.get(f"/api/v1/claims/{first.pk}/similar").status_code == 404
    assert outsider.get("/api/v1/claim-groups/abc").status_code == 404


def test_group_list_runs_the_same_queries_for_2_and_20_groups(
    team, client_for, django_assert_num_queries
):
    api = client_for(team.viewer)
    url = f"/api/v1/corpora/{team.corpus.slug}/claim-groups"
    for size in (2, 20):
        for i in range(size - ClaimGroup.objects.count()):
            group = ClaimGroup.objects.create(
                corpus=team.corpus, label=f"Group {size}-{i}", created_by=team.curator
            )
            group.members.create(claim=ClaimFactory(article=team.article, start=i, end=i + 9))
        # corpus and role, the page of groups with counts, their live members
        with django_assert_num_queries(3):
            body = api.get(url).json()
        assert len(body["results"]) == size
        assert all(len(g["claims"]) == 1 for g in body["results"])


# --- Similar claims ---------------------------------------------------------------------------

SENTENCES = {
    "query": "Restricting chip exports is shortsighted.",
    "paraphrase": "Export restrictions on chips are short-sighted.",
    "related": "Sanctions on semiconductor sales will not stop rival labs.",
    "far": "The city library opens a new reading room for children.",
    "farther": "Bananas are a good source of potassium.",
}


@pytest.fixture
def small_corpus(team):
    """Each sentence its own article, plus a second claim in the query's article."""
    claims = {
        name: whole(ArticleFactory(corpus=team.corpus, text=text, title=name))
        for name, text in SENTENCES.items()
    }
    query_article = claims["query"].article
    query_article.text = SENTENCES["query"] + " Export restrictions on chips are short-sighted."
    query_article.save()
    claims["same_article"] = ClaimFactory(
        article=query_article, start=len(SENTENCES["query"]) + 1, end=len(query_article.text)
    )
    other = ArticleFactory(corpus=team.other_corpus, text=SENTENCES["paraphrase"])
    claims["other_corpus"] = whole(other)
    return claims


def test_similar_claims_are_ranked_by_meaning(team, small_corpus, client_for):
    claims = small_corpus
    response = client_for(team.annotator).get(f"/api/v1/claims/{claims['query'].pk}/similar")
    assert response.status_code == 200, response.content
    ranked = [item["claim"]["id"] for item in response.json()]
    names = {str(c.pk): name for name, c in claims.items()}
    order = [names[i] for i in ranked]
    # Other articles of the same corpus only: not the query's own article, not another corpus.
    assert sorted(order) == ["far", "farther", "paraphrase", "related"]
    assert order[0] == "paraphrase"
    assert order.index("related") < order.index("far")
    scores = [item["score"] for item in response.json()]
    assert scores == sorted(scores, reverse=True) and -1 <= scores[-1] <= scores[0] <= 1
    first = response.json()[0]["claim"]
    assert first["article_title"] == "paraphrase" and first["group"] is None


def test_similar_computes_missing_vectors_once_then_costs_one_query(
    team, small_corpus, client_for, django_assert_num_queries
):
    claims = small_corpus
    ClaimEmbedding.objects.all().delete()
    api = client_for(team.viewer)
    url = f"/api/v1/claims/{claims['query'].pk}/similar?limit=2"
    api.get(url)  # embeds the claims that had no vector
    assert ClaimEmbedding.objects.count() == 5  # the query and the 4 candidates
    # the claim with the caller's role; the vectors (one query); the 2 claims shown
    with django_assert_num_queries(3):
        body = api.get(url).json()
    assert len(body) == 2


def test_similar_limit_is_checked(team, small_corpus, client_for):
    api = client_for(team.viewer)
    for bad in ("0", "51", "x", "-1"):
        response = api.get(f"/api/v1/claims/{small_corpus['query'].pk}/similar?limit={bad}")
        assert response.status_code == 400 and "limit" in errors_of(response)


def test_a_changed_summary_is_embedded_again(team, small_corpus, client_for):
    from articles import services
    from articles.models import Role

    claim = small_corpus["far"]
    similarity.refresh_claims([claim])
    before = bytes(ClaimEmbedding.objects.get(claim=claim).vector)
    services.claim_update(
        actor=team.owner,
        claim=claim,
        role=Role.OWNER,
        summary="Chip export limits are shortsighted",
    )
    after = ClaimEmbedding.objects.get(claim=claim)
    assert bytes(after.vector) != before
    assert after.text_sha256 == similarity.text_hash(
        similarity.embedding_text(claim.exact, "Chip export limits are shortsighted")
    )
    assert claim.pk not in similarity.outdated_claims()
    assert small_corpus["farther"].pk in similarity.outdated_claims()  # never embedded


def test_the_command_embeds_what_is_missing(team, small_corpus):
    from io import StringIO

    from django.core.management import call_command

    ClaimEmbedding.objects.all().delete()
    out = StringIO()
    call_command("embed_claims", team.corpus.slug, stdout=out)
    assert "Embedded 6 claims" in out.getvalue()
    assert similarity.outdated_claims() == [small_corpus["other_corpus"].pk]
    call_command("embed_claims", stdout=out)
    assert similarity.outdated_claims() == []
