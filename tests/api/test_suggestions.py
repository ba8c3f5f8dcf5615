"""Suggestions through the API: create (all or nothing, errors by index, permissions), list
(filters, query counts), accept (the caller's own annotation, with provenance; corrections),
reject, and blind mode (others' decisions hidden, and their outcome independent of them)."""

import pytest

from articles import services
from articles.models import (
    Annotation,
    Assignment,
    AssignmentState,
    AuditEvent,
    Claim,
    Suggestion,
    SuggestionDecision,
)
from tests.factories import SAMPLE_TEXT, ClaimFactory, TopicFactory

from .conftest import errors_of

pytestmark = pytest.mark.django_db

FIRST = "Restricting chip exports is shortsighted."
SECOND = "The lab trained its model on low-end chips."
CRITICS = "Critics call the policy a gift to domestic rivals."


def _url(article) -> str:
    return f"/api/v1/articles/{article.pk}/suggestions"


def _post(client, article, suggestions, model="stance-llm@2"):
    return client.post(_url(article), {"model": model, "suggestions": suggestions}, format="json")


def _span(text: str) -> dict:
    start = SAMPLE_TEXT.index(text)
    return {"start": start, "end": start + len(text)}


@pytest.fixture
def made(team, client_for):
    """Three suggestions of one model on the team's article, made by the curator."""
    response = _post(
        client_for(team.curator),
        team.article,
        [
            {**_span(FIRST), "stance": "oppose", "score": 0.9, "topic": str(team.topic.pk)},
            {"exact": SECOND, "score": 0.4},
            {"exact": CRITICS, "stance": "support", "score": 0.75},
        ],
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_curator_creates_suggestions_by_offsets_or_quote(team, made):
    assert [s["exact"] for s in made] == [FIRST, SECOND, CRITICS]
    first = made[0]
    assert first["model"] == "stance-llm@2"
    assert first["stance"] == "oppose" and first["score"] == 0.9
    assert first["topic"] == str(team.topic.pk)
    assert first["state"] == "open" and first["decided_by"] == [] and first["mine"] is None
    assert made[1]["stance"] is None and made[1]["topic"] is None
    assert Suggestion.objects.count() == 3
    # Suggestions are not claims, not annotations.
    assert Claim.objects.count() == 0 and Annotation.objects.count() == 0
    assert AuditEvent.objects.filter(verb="suggestion.create").count() == 1


def test_owner_may_create_annotator_and_viewer_may_not(team, client_for):
    item = [{"exact": FIRST}]
    assert _post(client_for(team.owner), team.article, item, "a@1").status_code == 201
    for user in (team.annotator, team.viewer):
        response = _post(client_for(user), team.article, item, "b@1")
        assert response.status_code == 403, response.json()
    assert _post(client_for(team.outsider), team.article, item, "c@1").status_code == 404
    assert Suggestion.objects.count() == 1


def test_one_bad_suggestion_refuses_all_with_errors_by_index(team, client_for):
    team.corpus.claim_labels = ["policy"]
    team.corpus.save()
    response = _post(
        client_for(team.curator),
        team.article,
        [
            {"exact": FIRST, "score": 0.5},
            {"start": 5, "end": 2},
            {"exact": "not in the text"},
            {"exact": SECOND, "stance": "maybe", "score": 1.5},
            {"exact": FIRST},
            "a string",
            {"exact": CRITICS, "labels": ["nope"]},
            {"exact": CRITICS[:10], "topic": "No such topic"},
        ],
    )
    assert response.status_code == 400
    errors = errors_of(response)
    assert "suggestions[0]" not in " ".join(errors)
    assert any(k.startswith("suggestions[1].") for k in errors), errors
    assert any(k.startswith("suggestions[2].") for k in errors), errors
    assert "suggestions[3].stance" in errors and "suggestions[3].score" in errors
    assert "suggestions[4]" in errors and "suggestions[0]" in errors["suggestions[4]"][0]
    assert "suggestions[5]" in errors
    assert "suggestions[6].labels" in errors
    assert Suggestion.objects.count() == 0


def test_unknown_topic_and_bad_model_name_are_named(team, client_for):
    client = client_for(team.curator)
    response = _post(client, team.article, [{"exact": FIRST, "topic": "No such topic"}])
    assert response.status_code == 400
    assert "suggestions[0].topic" in errors_of(response)
    response = _post(client, team.article, [{"exact": FIRST}], model="no version")
    assert "model" in errors_of(response)
    response = _post(client, team.article, [])
    assert "suggestions" in errors_of(response)
    response = client.post(_url(team.article), ["not", "an", "object"], format="json")
    assert response.status_code == 400
    assert Suggestion.objects.count() == 0


def test_the_same_span_from_the_same_model_twice_is_a_conflict(team, client_for, made):
    client = client_for(team.curator)
    response = _post(client, team.article, [{"exact": SECOND[:20]}, {"exact": FIRST}])
    assert response.status_code == 409
    assert "suggestions[1]" in response.json()["detail"]
    assert Suggestion.objects.count() == 3  # nothing of the request was kept
    # Another model may suggest the same span.
    assert _post(client, team.article, [{"exact": FIRST}], "other@1").status_code == 201


def test_list_filters_by_model_state_and_score(team, client_for, made):
    _post(client_for(team.curator), team.article, [{"exact": FIRST, "score": 0.2}], "other@1")
    client = client_for(team.annotator)
    listed = client.get(_url(team.article)).json()["results"]
    assert len(listed) == 4
    by_model = client.get(_url(team.article), {"model": "other@1"}).json()["results"]
    assert [s["model"] for s in by_model] == ["other@1"]
    high = client.get(_url(team.article), {"min_score": "0.7"}).json()["results"]
    assert sorted(s["score"] for s in high) == [0.75, 0.9]
    client.post(f"/api/v1/suggestions/{made[0]['id']}/accept", {}, format="json")
    client.post(f"/api/v1/suggestions/{made[1]['id']}/reject", {}, format="json")
    states = {
        state: [s["id"] for s in client.get(_url(team.article), {"state": state}).json()["results"]]
        for state in ("open", "accepted", "rejected")
    }
    assert states["accepted"] == [made[0]["id"]]
    assert states["rejected"] == [made[1]["id"]]
    assert len(states["open"]) == 2
    bad = client.get(_url(team.article), {"state": "maybe"})
    assert bad.status_code == 400 and "state" in errors_of(bad)


def test_accept_makes_the_callers_annotation_on_a_new_claim(team, client_for, made):
    response = client_for(team.annotator).post(
        f"/api/v1/suggestions/{made[0]['id']}/accept", {}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "accepted" and body["decided_by"] == ["anna"]
    assert body["mine"]["state"] == "accepted"
    annotation = Annotation.objects.get(pk=body["mine"]["annotation"])
    assert annotation.annotator == team.annotator
    assert (annotation.stance, annotation.topic) == ("oppose", team.topic)
    assert annotation.claim.exact == FIRST
    # Provenance: the decision names the annotation it became.
    decision = SuggestionDecision.objects.get(annotation=annotation)
    assert decision.suggestion_id == int(made[0]["id"])
    assert AuditEvent.objects.filter(verb="suggestion.accept").count() == 1


def test_accept_reuses_the_live_claim_at_that_span(team, client_for, made):
    start = SAMPLE_TEXT.index(CRITICS)
    claim = ClaimFactory(
        article=team.article, start=start, end=start + len(CRITICS), created_by=team.annotator2
    )
    client = client_for(team.annotator)
    response = client.post(f"/api/v1/suggestions/{made[2]['id']}/accept", {}, format="json")
    assert response.status_code == 200
    assert Claim.objects.count() == 1
    assert Annotation.objects.get(annotator=team.annotator).claim == claim


def test_correct_and_accept(team, client_for, made):
    other_topic = TopicFactory(corpus=team.corpus, label="Chip firms lose sales")
    response = client_for(team.annotator).post(
        f"/api/v1/suggestions/{made[0]['id']}/accept",
        {"stance": "neutral", "topic": str(other_topic.pk)},
        format="json",
    )
    assert response.status_code == 200
    annotation = Annotation.objects.get(annotator=team.annotator)
    assert (annotation.stance, annotation.topic) == ("neutral", other_topic)
    audit = AuditEvent.objects.get(verb="suggestion.accept")
    assert audit.after["corrected"] is True


def test_a_suggestion_without_stance_needs_one_to_be_accepted(team, client_for, made):
    client = client_for(team.annotator)
    url = f"/api/v1/suggestions/{made[1]['id']}/accept"
    response = client.post(url, {}, format="json")
    assert response.status_code == 400 and "stance" in errors_of(response)
    assert Annotation.objects.count() == 0 and Claim.objects.count() == 0
    response = client.post(url, {"stance": "bogus"}, format="json")
    assert response.status_code == 400 and "stance" in errors_of(response)
    assert client.post(url, {"stance": "support"}, format="json").status_code == 200


def test_viewer_may_read_but_not_decide_outsider_gets_404(team, client_for, made):
    url = f"/api/v1/suggestions/{made[0]['id']}/accept"
    assert client_for(team.viewer).get(_url(team.article)).status_code == 200
    assert client_for(team.viewer).post(url, {}, format="json").status_code == 403
    assert client_for(team.outsider).post(url, {}, format="json").status_code == 404
    assert client_for(team.outsider).get(_url(team.article)).status_code == 404
    assert client_for(team.outsider).post(url.replace("accept", "reject")).status_code == 404
    assert SuggestionDecision.objects.count() == 0


def test_reject_then_accept_changes_the_decision(team, client_for, made):
    client = client_for(team.annotator)
    rejected = client.post(f"/api/v1/suggestions/{made[2]['id']}/reject").json()
    assert rejected["state"] == "rejected" and rejected["mine"]["annotation"] is None
    accepted = client.post(f"/api/v1/suggestions/{made[2]['id']}/accept", {}, format="json")
    assert accepted.json()["state"] == "accepted"
    assert SuggestionDecision.objects.count() == 1


def test_two_annotators_accept_one_suggestion_each_their_own(team, client_for, made):
    for user in (team.annotator, team.annotator2):
        response = client_for(user).post(
            f"/api/v1/suggestions/{made[0]['id']}/accept", {}, format="json"
        )
        assert response.status_code == 200
    assert Claim.objects.count() == 1
    assert Annotation.objects.count() == 2
    listed = client_for(team.curator).get(_url(team.article)).json()["results"]
    assert sorted(listed[0]["decided_by"]) == ["anna", "arjun"]


def test_blind_annotator_sees_suggestions_but_not_others_decisions(team, client_for, made):
    team.corpus.blind = True
    team.corpus.save()
    arjun = client_for(team.annotator2)
    arjun.post(f"/api/v1/suggestions/{made[0]['id']}/accept", {}, format="json")
    arjun.post(f"/api/v1/suggestions/{made[1]['id']}/reject")
    anna = client_for(team.annotator)
    listed = anna.get(_url(team.article)).json()["results"]
    assert [s["state"] for s in listed] == ["open", "open", "open"]
    assert all(s["decided_by"] == [] and s["decisions"] == [] for s in listed)
    for state, expected in [("open", 3), ("accepted", 0), ("rejected", 0)]:
        found = anna.get(_url(team.article), {"state": state}).json()["results"]
        assert len(found) == expected
    # Her own decision is hers to see, and its outcome does not depend on arjun's.
    mine = anna.post(f"/api/v1/suggestions/{made[0]['id']}/accept", {}, format="json").json()
    assert mine["decided_by"] == ["anna"]
    assert Annotation.objects.filter(annotator=team.annotator).count() == 1
    # Once she submits, she sees everyone's.
    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    assert Assignment.objects.get(annotator=team.annotator).state == AssignmentState.SUBMITTED
    listed = anna.get(_url(team.article)).json()["results"]
    assert sorted(listed[0]["decided_by"]) == ["anna", "arjun"]
    # Curators see everything all along.
    assert client_for(team.curator).get(_url(team.article)).json()["results"][1]["state"] == (
        "rejected"
    )


@pytest.mark.parametrize("n", [2, 12])
def test_the_list_runs_a_fixed_number_of_queries(team, client_for, django_assert_num_queries, n):
    words = SAMPLE_TEXT.split(" ")
    items, position = [], 0
    for word in words[:n]:
        items.append({"start": position, "end": position + len(word), "score": 0.5})
        position += len(word) + 1
    assert _post(client_for(team.curator), team.article, items).status_code == 201
    for suggestion in Suggestion.objects.all():
        for user in (team.annotator, team.annotator2):
            SuggestionDecision.objects.create(
                suggestion=suggestion, decided_by=user, state="rejected"
            )
    client = client_for(team.curator)
    # the article with the caller's role; the page of suggestions with their states; the
    # visible decisions with who made them
    with django_assert_num_queries(3):
        response = client.get(_url(team.article), {"page_size": 500})
    assert len(response.json()["results"]) == n
