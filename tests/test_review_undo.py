"""Undo after a decision on the review page: the previous review state comes back through the
versioned, audited write; a decision changed since, or an undo asked too late, is refused."""

import pytest
from django.urls import reverse

from articles import services
from articles.models import AuditEvent, Review
from articles.views import review_undo
from tests.factories import AnnotationFactory, ClaimFactory

SPANS = [(0, 40), (42, 85)]


def _agreed(team, span=0):
    start, end = SPANS[span]
    claim = ClaimFactory(article=team.article, start=start, end=end)
    for user in (team.annotator, team.annotator2):
        AnnotationFactory(claim=claim, annotator=user, stance="oppose", topic=team.topic)
    return claim


def _quick_accept(client, claim, q=""):
    return client.post(
        reverse("review-claim", args=[claim.pk]), {"quick": "agreed", "version": "0", "q": q}
    )


def _undo(client, claim, q=""):
    return client.post(reverse("review-undo", args=[claim.pk]), {"q": q})


def _verbs(claim):
    review_ids = {
        e.object_id
        for e in AuditEvent.objects.filter(object_type="review", after__claim_id=claim.pk)
    }
    return list(
        AuditEvent.objects.filter(object_type="review", object_id__in=review_ids)
        .order_by("id")
        .values_list("verb", flat=True)
    )


def test_the_next_page_offers_undo_and_undo_removes_the_new_review(client, team):
    claim, following = _agreed(team), _agreed(team, 1)
    client.force_login(team.curator)
    response = _quick_accept(client, claim, q="state=agreed")
    assert response.status_code == 302
    assert response.url == reverse("review-claim", args=[following.pk]) + "?state=agreed"
    page = client.get(response.url)
    html = page.content.decode()
    assert 'id="undo-bar"' in html and 'data-key="u"' in html
    assert "Saved: “Restricting chip exports is shortsighted” is accepted as oppose." in html
    assert f'action="{reverse("review-undo", args=[claim.pk])}"' in html
    assert 'name="q" value="state=agreed"' in html

    response = _undo(client, claim, q="state=agreed")
    assert response.status_code == 302
    assert response.url == reverse("review-claim", args=[claim.pk]) + "?state=agreed#claim-title"
    assert not Review.objects.filter(claim=claim).exists()
    assert _verbs(claim) == ["review.create", "review.delete"]
    back = client.get(response.url)
    html = back.content.decode()
    assert "Undone: “Restricting chip exports is shortsighted” is not reviewed again." in html
    assert 'id="undo-bar"' not in html  # one undo per decision
    assert _undo(client, claim).status_code == 400


def test_undo_puts_back_the_previous_decision_with_its_note(client, team):
    claim = _agreed(team)
    services.review_set(
        actor=team.owner, claim=claim, role="owner", decision="rejected", note="Not a claim."
    )
    client.force_login(team.curator)
    before = Review.objects.get(claim=claim)
    assert _quick_accept(client, claim).status_code == 409  # a stale version: the form again
    response = client.post(
        reverse("review-claim", args=[claim.pk]),
        {"quick": "agreed", "version": str(before.version), "q": "", "then": "stay"},
    )
    assert response.status_code == 302
    assert Review.objects.get(claim=claim).decision == "accepted"
    assert _undo(client, claim).status_code == 302
    review = Review.objects.get(claim=claim)
    assert (review.decision, review.stance, review.topic, review.note) == (
        "rejected",
        "",
        None,
        "Not a claim.",
    )
    assert review.version == before.version + 2
    assert _verbs(claim) == ["review.create", "review.update", "review.update"]
    undo_event = AuditEvent.objects.filter(verb="review.update").latest("id")
    assert undo_event.actor == team.curator
    assert undo_event.before["decision"] == "accepted"
    assert undo_event.after["decision"] == "rejected"


def test_a_decision_changed_since_is_not_undone(client, team):
    claim = _agreed(team)
    client.force_login(team.curator)
    _quick_accept(client, claim)
    review = Review.objects.get(claim=claim)
    services.review_set(
        actor=team.owner,
        claim=claim,
        role="owner",
        decision="accepted",
        topic=team.topic,
        stance="neutral",
        version=review.version,
    )
    response = _undo(client, claim)
    assert response.status_code == 409
    assert "changed by someone else meanwhile" in response.content.decode()
    assert f'href="{reverse("review-claim", args=[claim.pk])}"' in response.content.decode()
    assert Review.objects.get(claim=claim).stance == "neutral"


def test_an_undo_too_late_or_for_another_claim_is_refused(client, team, monkeypatch):
    claim, other = _agreed(team), _agreed(team, 1)
    client.force_login(team.curator)
    _quick_accept(client, claim)
    response = _undo(client, other)
    assert response.status_code == 400
    assert "Too late to undo" in response.content.decode()
    later = review_undo.time.time() + review_undo.UNDO_SECONDS + 1
    monkeypatch.setattr(review_undo.time, "time", lambda: later)
    assert "undo-bar" not in client.get(reverse("review-claim", args=[other.pk])).content.decode()
    assert _undo(client, claim).status_code == 400
    assert Review.objects.filter(claim=claim).exists()


@pytest.mark.parametrize(
    ("who", "status"), [("annotator", 403), ("viewer", 403), ("outsider", 404)]
)
def test_only_curators_undo(client, team, who, status):
    claim = _agreed(team)
    client.force_login(team.curator)
    _quick_accept(client, claim)
    session_entry = client.session[review_undo.SESSION_KEY]
    client.force_login(getattr(team, who))
    session = client.session
    session[review_undo.SESSION_KEY] = session_entry  # even holding the curator's undo
    session.save()
    assert _undo(client, claim).status_code == status
    assert Review.objects.filter(claim=claim).exists()


def test_undo_is_a_post(client, team):
    claim = _agreed(team)
    client.force_login(team.curator)
    assert client.get(reverse("review-undo", args=[claim.pk])).status_code == 405
