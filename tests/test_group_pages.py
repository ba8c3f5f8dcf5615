"""The claim-group pages: the list, a group's page (claims in context, stances as the reader may
see them, the chart, relations, suggestions), its actions, the claim panel's suggestions and
"add to group"."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import services, similarity
from articles.models import AuditEvent, ClaimGroup, ClaimGroupMember, Role
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    ClaimFactory,
    RelationFactory,
    ReviewFactory,
)

TEXTS = [
    "Some say the rules are tight. Restricting chip exports is shortsighted. Others disagree.",
    "Export restrictions on chips are short-sighted. That is the view here.",
    "The library opens a new reading room for children.",
]


@pytest.fixture
def world(team):
    team.corpus.blind = True
    team.corpus.save()
    articles = [
        ArticleFactory(
            corpus=team.corpus,
            title=f"Op-ed {i}",
            text=text,
            published_on=datetime.date(2025, 1 + 2 * i, 5),
        )
        for i, text in enumerate(TEXTS)
    ]

    def claim_of(article, sentence):
        start = article.text.index(sentence)
        return services.claim_create(
            actor=team.curator,
            article=article,
            role=Role.CURATOR,
            start=start,
            end=start + len(sentence),
        )

    a = claim_of(articles[0], "Restricting chip exports is shortsighted.")
    b = claim_of(articles[1], "Export restrictions on chips are short-sighted.")
    c = claim_of(articles[2], "The library opens a new reading room for children.")
    premise = claim_of(articles[1], "That is the view here.")
    RelationFactory(source_claim=premise, target_claim=b, created_by=team.annotator2)
    group = services.group_create(
        actor=team.curator,
        corpus=team.corpus,
        role=Role.CURATOR,
        label="Chip <export> rules & “limits” fail",
        claims=[str(a.pk), str(b.pk)],
    )
    AnnotationFactory(claim=a, annotator=team.annotator, topic=team.topic, stance="oppose")
    AnnotationFactory(claim=a, annotator=team.annotator2, topic=team.topic, stance="support")
    ReviewFactory(claim=b, curator=team.curator, topic=team.topic, stance="support")
    return {"group": group, "a": a, "b": b, "c": c, "premise": premise, "articles": articles}


def test_the_group_page_shows_claims_in_context_chart_and_relations(team, client, world):
    client.force_login(team.curator)
    response = client.get(f"/claim-groups/{world['group'].pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Chip &lt;export&gt; rules &amp; “limits” fail" in html
    assert "Some say the rules are tight. " in html  # the sentence before, cut at its start
    assert "shortsighted.</mark> Others disagree." in html
    assert "anna: oppose" in html and "arjun: support" in html and "gold: support" in html
    assert 'class="chart timeline"' in html and "2025-01" in html and "2025-03" in html
    assert f'data-relation="{RelationFactory._meta.model.objects.get().pk}"' in html
    # The library sentence is a suggestion to add, never added by itself.
    assert f'data-claim="{world["c"].pk}"' in html
    assert not ClaimGroupMember.objects.filter(claim=world["c"]).exists()


def test_a_blind_annotator_sees_the_group_and_only_their_own_stances(team, client, world):
    client.force_login(team.annotator)
    html = client.get(f"/claim-groups/{world['group'].pk}/").content.decode()
    assert "anna: oppose" in html
    assert "arjun" not in html and "gold:" not in html
    assert 'name="action"' not in html  # no write form for annotators
    assert "data-relation=" not in html  # arjun's relation stays hidden
    assert (
        client.post(f"/claim-groups/{world['group'].pk}/", {"action": "delete"}).status_code == 403
    )


def test_outsiders_get_404_everywhere(team, client, world):
    client.force_login(team.outsider)
    for url in (
        f"/corpora/{team.corpus.slug}/claim-groups/",
        f"/claim-groups/{world['group'].pk}/",
        f"/claim-groups/{world['group'].pk}/map",
        f"/claim-groups/{world['group'].pk}/map.svg",
        f"/claims/{world['a'].pk}/similar",
        f"/articles/{world['articles'][0].pk}/map.svg",
    ):
        assert client.get(url).status_code == 404, url


def test_the_list_and_creating_a_group(team, client, world):
    client.force_login(team.owner)
    url = f"/corpora/{team.corpus.slug}/claim-groups/"
    html = client.get(url).content.decode()
    assert "Chip &lt;export&gt; rules" in html and ">2</td>" in html
    response = client.post(url, {"label": "", "description": ""})
    assert response.status_code == 400 and "label is required" in response.content.decode()
    response = client.post(url, {"label": "A new one", "claims": [str(world["c"].pk)]})
    new = ClaimGroup.objects.get(label="A new one")
    assert response.status_code == 302 and response["Location"] == f"/claim-groups/{new.pk}/"
    taken = client.post(url, {"label": "A new one"})
    assert taken.status_code == 409


def test_group_actions_add_remove_split_merge_delete(team, client, world):
    client.force_login(team.curator)
    group = world["group"]
    url = f"/claim-groups/{group.pk}/"

    def post(**data):
        group.refresh_from_db()
        return client.post(url, {"version": group.version, **data})

    assert post(action="add", claims=[str(world["c"].pk)]).status_code == 302
    assert ClaimGroupMember.objects.filter(group=group).count() == 3
    assert post(action="remove", claims=[str(world["c"].pk)]).status_code == 302
    response = post(action="split", claims=[str(world["b"].pk)], label="Split off")
    assert response.status_code == 302
    other = ClaimGroup.objects.get(label="Split off")
    assert post(action="merge", other=str(other.pk)).status_code == 302
    assert ClaimGroupMember.objects.filter(group=group).count() == 2
    assert post(action="edit", label="Renamed", description="d").status_code == 302
    group.refresh_from_db()
    assert group.label == "Renamed"
    stale = client.post(url, {"action": "edit", "label": "x", "version": 1})
    assert stale.status_code == 409
    bad = post(action="merge", other="999999")
    assert bad.status_code == 400
    assert post(action="delete").status_code == 302
    assert not ClaimGroup.objects.filter(pk=group.pk).exists()
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"claim_group.add_claims", "claim_group.split", "claim_group.merge"} <= verbs


def test_the_claim_panel_offers_similar_claims_with_stances(team, client, world):
    client.force_login(team.curator)
    article = world["articles"][0]
    page = client.get(f"/articles/{article.pk}/?claim={world['a'].pk}").content.decode()
    assert f'hx-get="/claims/{world["a"].pk}/similar"' in page
    assert f'href="/articles/{article.pk}/map"' in page
    fragment = client.get(f"/claims/{world['a'].pk}/similar", HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert html.index(f'data-claim="{world["b"].pk}"') < html.index(f'data-claim="{world["c"].pk}"')
    assert "gold: support" in html  # the suggestion's stance, beside its score
    assert "% similar in meaning" in html
    plain = client.get(f"/claims/{world['a'].pk}/similar")
    assert plain.status_code == 200 and "<html" in plain.content.decode()


def test_add_to_group_from_a_suggestion(team, client, world):
    client.force_login(team.curator)
    a, c = world["a"], world["c"]
    response = client.post(
        f"/claims/{a.pk}/group",
        {"group": str(world["group"].pk), "with_claim": str(c.pk), "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(f"/articles/{a.article_id}/")  # not the foreign next
    assert ClaimGroupMember.objects.get(claim=c).group == world["group"]
    # A claim in no group with a suggestion in no group: a new group of the two.
    lone = ClaimFactory(article=world["articles"][2], start=0, end=3)
    client.post(f"/claims/{world['premise'].pk}/group", {"label": "Pair", "with_claim": lone.pk})
    assert set(
        ClaimGroupMember.objects.filter(group__label="Pair").values_list("claim_id", flat=True)
    ) == {world["premise"].pk, lone.pk}
    client.force_login(team.annotator)
    assert client.post(f"/claims/{lone.pk}/group", {"label": "Mine"}).status_code == 403


def test_the_group_page_and_suggestions_run_the_same_queries_for_2_and_12_claims(
    team, client, django_assert_num_queries
):
    """Claims, stances, relations and suggestions are read in bulk: no query per claim."""
    client.force_login(team.curator)
    group = ClaimGroup.objects.create(corpus=team.corpus, label="G", created_by=team.curator)
    counts = []
    for size in (2, 12):
        while group.members.count() < size:
            article = ArticleFactory(corpus=team.corpus)
            claim = ClaimFactory(article=article, start=0, end=30)
            other = ClaimFactory(article=article, start=31, end=60)
            group.members.create(claim=claim)
            AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
            ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
            RelationFactory(source_claim=other, target_claim=claim, created_by=team.annotator)
        similarity.embed_missing(
            list(ClaimFactory._meta.model.objects.values_list("pk", flat=True))
        )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/claim-groups/{group.pk}/").status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
    claim = group.members.first().claim
    # session and user, the claim with the role, the vectors, the suggestions' claims and
    # stances (2), the claim's group, the corpus's groups for the "add" form
    with django_assert_num_queries(8):
        client.get(f"/claims/{claim.pk}/similar", HTTP_HX_REQUEST="true")
