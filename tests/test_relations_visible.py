"""Relations you can see: the arrows' data on the annotation page (only the links the reader may
see), a claim's links on its review page, and the audit log naming claims by their words."""

import re

import pytest
from django.urls import reverse

from articles import services
from articles.services.base import audit
from tests.factories import AnnotationFactory, ArticleFactory, ClaimFactory, RelationFactory

HX = {"HTTP_HX_REQUEST": "true"}
SPANS = [(0, 40), (42, 85), (87, 139), (141, 198)]


def _claims(team, article=None):
    return [
        ClaimFactory(article=article or team.article, start=s, end=e, created_by=team.annotator)
        for s, e in SPANS
    ]


def _map(client, article):
    return client.get(reverse("article-relation-map", args=[article.pk]), **HX)


LINK = re.compile(r'<li data-source="(\d+)" data-target="(\d+)" data-kind="(\w+)">')


def _links(response):
    """The links of the map fragment, as (source id, target id, kind)."""
    return [(int(a), int(b), kind) for a, b, kind in LINK.findall(response.content.decode())]


def test_the_map_lists_each_link_once_with_both_claims_named(client, team):
    a, b, c, _ = _claims(team)
    RelationFactory(source_claim=a, target_claim=c, kind="supports", created_by=team.annotator)
    RelationFactory(source_claim=a, target_claim=c, kind="supports", created_by=team.annotator2)
    RelationFactory(source_claim=b, target_claim=a, kind="attacks", created_by=team.annotator)
    client.force_login(team.viewer)
    response = _map(client, team.article)
    assert response.status_code == 200
    assert _links(response) == [(a.pk, c.pk, "supports"), (b.pk, a.pk, "attacks")]
    html = response.content.decode()
    assert f'data-source="{b.pk}" data-target="{a.pk}" data-kind="attacks"' in html
    assert (
        "Claim 2 “The lab trained its model on low-end ch…” attacks claim 1 “Restricting chip "
        "exports is shortsighted”"
    ) in html


def test_the_map_leaves_out_trashed_claims_and_escapes_their_words(client, team):
    article = ArticleFactory(corpus=team.corpus, text="<b>Bold</b> claim here. And another one.")
    first = ClaimFactory(article=article, start=0, end=22)
    second = ClaimFactory(article=article, start=24, end=40)
    gone = ClaimFactory(article=article, start=28, end=35)
    RelationFactory(source_claim=first, target_claim=second, kind="rephrases")
    RelationFactory(source_claim=gone, target_claim=first, kind="attacks")
    services.claim_delete(access=_access(team.owner, article), claim=gone)
    client.force_login(team.annotator)
    response = _map(client, article)
    assert _links(response) == [(first.pk, second.pk, "rephrases")]
    assert "&lt;b&gt;Bold&lt;/b&gt;" in response.content.decode()


def _access(user, article):
    from articles.selectors import article_with_access

    return article_with_access(user, article.pk)[1]


def test_blind_mode_shows_an_annotator_only_their_own_links_until_they_submit(client, team):
    team.corpus.blind = True
    team.corpus.save()
    a, b, c, _ = _claims(team)
    RelationFactory(source_claim=a, target_claim=b, kind="supports", created_by=team.annotator)
    RelationFactory(source_claim=c, target_claim=a, kind="attacks", created_by=team.annotator2)
    client.force_login(team.annotator)
    assert _links(_map(client, team.article)) == [(a.pk, b.pk, "supports")]
    AnnotationFactory(claim=a, annotator=team.annotator, topic=team.topic)
    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    assert _links(_map(client, team.article)) == [
        (a.pk, b.pk, "supports"),
        (c.pk, a.pk, "attacks"),
    ]
    client.force_login(team.curator)
    assert len(_links(_map(client, team.article))) == 2


def test_the_map_is_for_members_and_htmx(client, team):
    client.force_login(team.outsider)
    assert _map(client, team.article).status_code == 404
    client.force_login(team.annotator)
    plain = client.get(reverse("article-relation-map", args=[team.article.pk]))
    assert plain.status_code == 302 and plain.url == reverse("article", args=[team.article.pk])
    assert (
        client.post(reverse("article-relation-map", args=[team.article.pk]), **HX).status_code
        == 405
    )


@pytest.mark.parametrize("n_links", [1, 12])
def test_the_map_query_count_does_not_grow(client, team, django_assert_num_queries, n_links):
    claims = _claims(team)
    for i in range(n_links):
        source, target = claims[i % 4], claims[(i + 1) % 4]
        kind = ("supports", "attacks", "rephrases")[i // 4 % 3]
        RelationFactory(
            source_claim=source, target_claim=target, kind=kind, created_by=team.annotator
        )
    client.force_login(team.annotator)
    # Session, user, article with the caller's role, the claims' outline, the links.
    with django_assert_num_queries(5):
        response = _map(client, team.article)
    assert len(_links(response)) == n_links


def test_the_page_offers_the_switch_and_loads_the_links_separately(client, team):
    client.force_login(team.annotator)
    html = client.get(reverse("article", args=[team.article.pk])).content.decode()
    assert 'id="arrows-toggle"' in html and 'aria-pressed="true"' in html
    assert f'data-url="{reverse("article-relation-map", args=[team.article.pk])}"' in html
    assert "js/arrows.js" in html


# --- The review page -------------------------------------------------------------------------


def test_the_review_page_lists_the_claims_links_both_ways(client, team):
    a, b, c, d = _claims(team)
    RelationFactory(source_claim=a, target_claim=b, kind="supports", created_by=team.annotator)
    RelationFactory(source_claim=c, target_claim=a, kind="attacks", created_by=team.annotator2)
    RelationFactory(source_claim=c, target_claim=d, kind="rephrases", created_by=team.annotator2)
    client.force_login(team.curator)
    response = client.get(reverse("review-claim", args=[a.pk]))
    links = [
        (link["outgoing"], link["relation"].kind, link["other"].pk)
        for link in response.context["links"]
    ]
    assert links == [(False, "attacks", c.pk), (True, "supports", b.pk)]
    html = response.content.decode()
    assert "Links to other claims" in html
    b_url = reverse("review-claim", args=[b.pk])
    assert f'href="{b_url}">“The lab trained its model on low-end chips.”' in html
    assert "linked by arjun" in html
    alone = client.get(reverse("review-claim", args=[d.pk]))
    assert [link["relation"].kind for link in alone.context["links"]] == ["rephrases"]


def test_the_review_page_says_when_a_claim_has_no_link(client, team):
    (a, *_rest) = _claims(team)
    client.force_login(team.curator)
    html = client.get(reverse("review-claim", args=[a.pk])).content.decode()
    assert "No annotator has linked this claim to another." in html


# --- The audit log -----------------------------------------------------------------------------


def test_the_audit_log_names_claims_by_their_quote(client, team):
    long_text = "Export controls " + "really " * 20 + "work."
    article = ArticleFactory(corpus=team.corpus, text=long_text)
    claim = services.claim_create(
        actor=team.annotator, article=article, role="annotator", start=0, end=len(long_text)
    )
    other = services.claim_create(
        actor=team.annotator, article=article, role="annotator", start=0, end=6
    )
    services.relation_create(
        actor=team.annotator, source=claim, target=other, role="annotator", kind="attacks"
    )
    services.annotation_create(
        actor=team.annotator, claim=other, role="annotator", topic=team.topic, stance="support"
    )
    client.force_login(team.curator)
    response = client.get(reverse("corpus-audit", args=[team.corpus.slug]))
    html = response.content.decode()
    events = {event.verb: event for event in response.context["page"].object_list}
    shortened = "“" + long_text[:59] + "…”"  # 60 characters with the ellipsis
    assert events["claim.create"].claim_quote in (shortened, "“Export”")
    assert shortened in html and "“Export”" in html
    relation = {row.field: row.after for row in events["relation.create"].diff}
    assert relation == {"source": shortened, "target": "“Export”", "kind": "attacks"}
    # The link's object cell names both ends, each a link to its claim's history.
    linked = events["relation.create"]
    assert linked.link_ends == [(claim.pk, shortened), (other.pk, "“Export”")]
    cell = html.split(f"relation {linked.object_id}<", 1)[1].split("</td>", 1)[0]
    assert ">source</a> → <a" in cell and ">target</a>" in cell
    assert f'title="claim {other.pk}: “Export”"' in cell
    assert f'href="{reverse("claim-history", args=[claim.pk])}"' in cell
    assert f'href="{reverse("claim-history", args=[other.pk])}"' in cell
    tagged = events["annotation.create"]
    assert tagged.claim_quote == "“Export”"
    assert {row.field: row.after for row in tagged.diff}["claim_id"] == "“Export”"
    assert f'href="{reverse("claim-history", args=[other.pk])}"' in html
    assert f">claim {other.pk}<" not in html  # no bare id as the object's name


def test_the_claim_history_names_the_other_end_of_a_link(client, team):
    a, b, *_ = _claims(team)
    services.relation_create(
        actor=team.annotator, source=a, target=b, role="annotator", kind="supports"
    )
    client.force_login(team.owner)
    response = client.get(reverse("claim-history", args=[a.pk]))
    (event,) = [e for e in response.context["events"] if e.verb == "relation.create"]
    assert {row.field: row.after for row in event.diff}[
        "target"
    ] == "“The lab trained its model on low-end chips.”"


def test_the_audit_log_does_not_name_another_corpus_claims(client, team):
    theirs = ClaimFactory(article=team.other_article)
    audit(
        actor=team.owner,
        verb="relation.create",
        obj=team.article,
        corpus=team.corpus,
        after={"source": theirs.pk, "target": theirs.pk, "kind": "supports"},
    )
    client.force_login(team.curator)
    html = client.get(reverse("corpus-audit", args=[team.corpus.slug])).content.decode()
    assert theirs.exact not in html
