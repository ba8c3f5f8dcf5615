"""One span, one claim (DESIGN.md): a second claim on a live claim's span is refused with the
existing claim (the API's 409, the page opens it), and curators merge two claims into one."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from articles import services
from articles.access import Access
from articles.models import Annotation, AuditEvent, Claim, Comment, Relation, Review, Role

from .factories import (
    AnnotationFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    RelationFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

FIRST = (0, 40)  # "Restricting chip exports is shortsighted"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def _access(team, name: str, role: Role) -> Access:
    return Access(user=getattr(team, name), corpus=team.corpus, role=role)


# --- The service and the API --------------------------------------------------------------


def test_the_service_refuses_a_second_claim_on_the_same_span_naming_the_first(team):
    first = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)
    with pytest.raises(services.DuplicateClaim) as refused:
        services.claim_create(
            actor=team.annotator2, article=team.article, role=Role.ANNOTATOR, start=0, end=40
        )
    assert refused.value.existing == first
    # By quote too: the same span found from its words.
    with pytest.raises(services.DuplicateClaim):
        services.claim_create(
            actor=team.annotator2,
            article=team.article,
            role=Role.ANNOTATOR,
            exact="Restricting chip exports is shortsighted",
        )
    # A span that only overlaps is another claim.
    services.claim_create(
        actor=team.annotator2, article=team.article, role=Role.ANNOTATOR, start=0, end=41
    )
    assert Claim.objects.filter(article=team.article).count() == 2


def test_a_claim_in_the_trash_does_not_block_its_span(team):
    ClaimFactory(article=team.article, start=0, end=40, deleted_at="2025-01-01T00:00Z")
    claim = services.claim_create(
        actor=team.annotator, article=team.article, role=Role.ANNOTATOR, start=0, end=40
    )
    assert claim.deleted_at is None


def test_api_answers_409_with_the_existing_claims_id(team):
    first = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)
    url = reverse("api-claims", kwargs={"id": team.article.pk})
    response = _api(team.annotator2).post(url, {"start": 0, "end": 40}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["existing"] == str(first.pk)
    assert "claim already" in body["detail"]
    assert Claim.objects.filter(article=team.article).count() == 1
    assert not AuditEvent.objects.filter(verb="claim.create").exists()


def test_blind_409_names_the_span_but_nothing_of_the_others_tags(team):
    team.corpus.blind = True
    team.corpus.save()
    first = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator2)
    AnnotationFactory(claim=first, annotator=team.annotator2, note="arjun's hidden note")
    url = reverse("api-claims", kwargs={"id": team.article.pk})
    response = _api(team.annotator).post(url, {"start": 0, "end": 40}, format="json")
    assert response.status_code == 409
    assert set(response.json()) == {"detail", "errors", "existing"}
    # The page opens the claim, showing none of arjun's tags.
    page = _client(team.annotator).post(
        reverse("claim-create", args=[team.article.pk]), {"start": "0", "end": "40"}, follow=True
    )
    assert "hidden note" not in page.content.decode()


# --- The page: the existing claim opens for tagging ----------------------------------------


def test_page_without_js_opens_the_existing_claim(team):
    first = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)
    client = _client(team.annotator2)
    response = client.post(
        reverse("claim-create", args=[team.article.pk]), {"start": "0", "end": "40"}
    )
    assert response.status_code == 302
    assert f"claim={first.pk}" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert "This passage is a claim already: opened it for tagging." in page
    assert Claim.objects.filter(article=team.article).count() == 1


def test_page_with_htmx_answers_the_existing_claims_panel(team):
    first = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)
    response = _client(team.annotator2).post(
        reverse("claim-create", args=[team.article.pk]),
        {"start": "0", "end": "40"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "already" in response["HX-Trigger"]
    assert reverse("annotation-save", args=[first.pk]) in response.content.decode()


# --- Merging two claims -----------------------------------------------------------------


@pytest.fixture
def two(team):
    """Two claims of the article marking nearly the same words, tagged and discussed."""
    a = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)
    b = ClaimFactory(article=team.article, start=0, end=41, created_by=team.annotator2)
    other = ClaimFactory(article=team.article, start=42, end=85, created_by=team.curator)
    return a, b, other


def test_merge_moves_annotations_evidence_relations_comments_and_review(team, two):
    a, b, other = two
    tag = AnnotationFactory(claim=a, annotator=team.annotator, stance="oppose")
    evidence = EvidenceFactory(annotation=tag)
    AnnotationFactory(claim=b, annotator=team.annotator2, stance="oppose")
    CommentFactory(claim=a, author=team.annotator)
    RelationFactory(source_claim=a, target_claim=other, created_by=team.annotator)
    RelationFactory(source_claim=a, target_claim=b, created_by=team.annotator)  # becomes a loop
    ReviewFactory(claim=a, curator=team.curator)
    kept = services.claim_merge(access=_access(team, "curator", Role.CURATOR), claim=a, into=b)
    assert kept == b
    moved = Annotation.objects.filter(claim=b).values_list("annotator__username", flat=True)
    assert set(moved) == {"anna", "arjun"}
    tag.refresh_from_db()
    assert tag.claim_id == b.pk and tag.evidence.get() == evidence
    assert Comment.objects.get().claim_id == b.pk
    assert list(Relation.objects.values_list("source_claim", "target_claim")) == [(b.pk, other.pk)]
    assert Review.objects.get().claim_id == b.pk
    a.refresh_from_db()
    assert a.deleted_at is not None
    event = AuditEvent.objects.get(verb="claim.merge")
    assert event.object_id == str(b.pk)
    assert event.after["annotations_moved"] == 1 and event.after["relations_dropped"] == 1
    assert AuditEvent.objects.filter(verb="claim.merged_away", object_id=str(a.pk)).exists()


def test_one_annotators_two_annotations_are_a_conflict_the_curator_resolves(team, two):
    a, b, _other = two
    mine_a = AnnotationFactory(claim=a, annotator=team.annotator, stance="oppose", note="on A")
    mine_b = AnnotationFactory(claim=b, annotator=team.annotator, stance="support", note="on B")
    access = _access(team, "curator", Role.CURATOR)
    with pytest.raises(services.MergeNeedsChoice) as refused:
        services.claim_merge(access=access, claim=a, into=b)
    [conflict] = refused.value.conflicts
    assert (conflict.username, conflict.claim, conflict.into) == ("anna", mine_a, mine_b)
    assert Claim.objects.get(pk=a.pk).deleted_at is None  # nothing happened
    services.claim_merge(access=access, claim=a, into=b, keep={"anna": "claim"})
    [kept] = Annotation.objects.filter(claim=b)
    assert kept.pk == mine_a.pk and kept.stance == "oppose"
    dropped = AuditEvent.objects.get(verb="claim.merge").after["annotations_dropped"]
    assert dropped[0]["annotator"] == "anna" and dropped[0]["note"] == "on B"


@pytest.mark.parametrize(
    ("into", "says"),
    [("self", "cannot be merged into itself"), ("foreign", "same article")],
)
def test_merge_refuses_itself_and_other_articles(team, two, into, says):
    from .factories import ArticleFactory

    a = two[0]
    target = a if into == "self" else ClaimFactory(article=ArticleFactory(corpus=team.corpus))
    with pytest.raises(Exception, match=says):
        services.claim_merge(access=_access(team, "owner", Role.OWNER), claim=a, into=target)


def test_api_merge_409_lists_conflicts_then_200_with_keep(team, two):
    a, b, _other = two
    AnnotationFactory(claim=a, annotator=team.annotator, stance="oppose")
    AnnotationFactory(claim=b, annotator=team.annotator, stance="support")
    url = reverse("api-claim-merge", kwargs={"id": a.pk})
    api = _api(team.curator)
    response = api.post(url, {"into": str(b.pk)}, format="json")
    assert response.status_code == 409
    [conflict] = response.json()["conflicts"]
    assert conflict["annotator"] == "anna"
    assert (conflict["claim"]["stance"], conflict["into"]["stance"]) == ("oppose", "support")
    response = api.post(url, {"into": str(b.pk), "keep": {"anna": "into"}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == str(b.pk)
    assert Annotation.objects.get().stance == "support"


def test_api_merge_permissions_and_bad_input(team, two):
    a, b, _other = two
    url = reverse("api-claim-merge", kwargs={"id": a.pk})
    response = _api(team.annotator).post(url, {"into": str(b.pk)}, format="json")
    assert response.status_code == 403
    assert "needs curator" in response.json()["detail"]
    assert _api(team.outsider).post(url, {"into": str(b.pk)}, format="json").status_code == 404
    response = _api(team.curator).post(url, {"into": "999999"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["into"] == ["No such claim in this article."]
    response = _api(team.curator).post(
        url, {"into": str(b.pk), "keep": {"anna": "both"}}, format="json"
    )
    assert response.status_code == 400 and "keep" in response.json()["errors"]


def test_merge_page_shows_the_conflict_and_merges_with_the_choice(team, two):
    a, b, _other = two
    AnnotationFactory(claim=a, annotator=team.annotator, stance="oppose", note="anna on A")
    AnnotationFactory(claim=b, annotator=team.annotator, stance="support", note="anna on B")
    client = _client(team.owner)
    review = client.get(reverse("review-claim", args=[a.pk])).content.decode()
    assert reverse("claim-merge", args=[a.pk]) in review
    url = reverse("claim-merge", args=[a.pk])
    page = client.get(url, {"into": b.pk}).content.decode()
    assert 'name="keep-anna"' in page and "anna on A" in page and "anna on B" in page
    response = client.post(url, {"into": b.pk})
    assert response.status_code == 409
    assert "anna tagged both claims" in response.content.decode()
    response = client.post(url, {"into": b.pk, "keep-anna": "claim"})
    assert response.status_code == 302
    assert response["Location"] == reverse("review-claim", args=[b.pk])
    assert Annotation.objects.get().note == "anna on A"


def test_merge_page_is_for_curators_and_owners(team, two):
    a, b, _other = two
    url = reverse("claim-merge", args=[a.pk])
    response = _client(team.annotator).get(url)
    assert response.status_code == 403
    assert b"This needs the role <strong>curator</strong>" in response.content
    assert _client(team.outsider).get(url).status_code == 404
    assert _client(team.curator).get(url, {"into": "nope"}).status_code == 400


# --- At the same moment -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_people_marking_the_same_span_at_once_get_one_claim(team):
    from .test_concurrency import _race

    def mark(user):
        return lambda: services.claim_create(
            actor=user, article=team.article, role=Role.ANNOTATOR, start=0, end=40
        )

    results = _race(mark(team.annotator), mark(team.annotator2), mark(team.curator))
    created = [r for r in results if isinstance(r, Claim)]
    duplicates = [r for r in results if isinstance(r, services.DuplicateClaim)]
    assert len(created) == 1 and len(duplicates) == 2, results
    assert {d.existing.pk for d in duplicates} == {created[0].pk}
    assert Claim.objects.filter(article=team.article).count() == 1
