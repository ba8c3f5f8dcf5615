"""Annotations (with evidence), relations, reviews, comments and assignments through the API."""

import pytest

from articles.models import Annotation, Assignment, Comment, Relation, Review
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    ReviewFactory,
    TopicFactory,
)

from .conftest import errors_of

pytestmark = pytest.mark.django_db

LOW_END = "The lab trained its model on low-end chips"


@pytest.fixture
def claim(team):
    return ClaimFactory(article=team.article, created_by=team.annotator)


# --- annotations -----------------------------------------------------------------------------


def test_annotator_creates_their_own_annotation_with_evidence(team, claim, client_for):
    response = client_for(team.annotator).post(
        f"/api/v1/claims/{claim.pk}/annotations",
        {
            "stance": "oppose",
            "confidence": 4,
            "note": "Sarcastic tone.",
            "annotator": "arjun",  # ignored: POST creates the caller's own annotation
            "evidence": [
                {"exact": LOW_END, "evidence_type": "example"},
                {"kind": "source", "url": "https://example.org/r", "title": "A report"},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["annotator"] == "anna"
    assert body["topic"] == {"id": str(team.topic.pk), "label": team.topic.label}
    assert body["stance"] == "oppose"
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["claim"] == str(claim.pk)
    span, source = body["evidence"]
    assert span["kind"] == "span"
    assert team.article.text[span["start"] : span["end"]] == LOW_END
    assert source["url"] == "https://example.org/r"
    assert response["Location"] == f"/api/v1/annotations/{body['id']}"
    assert Annotation.objects.get(pk=body["id"]).annotator == team.annotator


def test_second_annotation_by_the_same_person_is_409(team, claim, client_for):
    anna = client_for(team.annotator)
    url = f"/api/v1/claims/{claim.pk}/annotations"
    assert anna.post(url, {"stance": "support"}).status_code == 201
    again = anna.post(url, {"stance": "oppose"})
    assert again.status_code == 409
    assert "already" in again.json()["detail"]
    assert Annotation.objects.filter(claim=claim).count() == 1


def test_annotation_validation(team, claim, client_for):
    anna = client_for(team.annotator)
    url = f"/api/v1/claims/{claim.pk}/annotations"
    cases = [
        ({"stance": "maybe"}, "stance"),
        ({}, "stance"),
        ({"stance": "support", "confidence": 9}, "confidence"),
        ({"stance": "support", "topic": str(team.other_topic.pk)}, "topic"),
        ({"stance": "support", "labels": "policy"}, "labels"),
        ({"stance": "support", "evidence": [{"start": 0, "end": 10**9}]}, "evidence"),
        (
            {"stance": "support", "evidence": [{"evidence_type": "rumour", "exact": "lab"}]},
            "evidence",
        ),
        ({"stance": "support", "evidence": "all of it"}, "evidence"),
    ]
    for payload, field in cases:
        response = anna.post(url, payload)
        assert response.status_code == 400, (payload, response.json())
        assert field in errors_of(response), (payload, response.json())
    nested = anna.post(url, {"stance": "support", "evidence": [{}, {"evidence_type": "rumour"}]})
    assert nested.json()["errors"]["evidence"][0].startswith("item 2: evidence_type")
    assert not Annotation.objects.exists()


def test_only_the_annotator_edits_their_annotation(team, claim, client_for):
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    url = f"/api/v1/annotations/{annotation.pk}"
    for user in (team.annotator2, team.curator, team.owner, team.viewer):
        client = client_for(user)
        assert client.get(url).status_code == 200
        assert client.patch(url, {"stance": "neutral"}).status_code == 403
        assert client.put(url, {"stance": "neutral"}).status_code == 403
    for user in (team.annotator2, team.curator, team.viewer):
        assert client_for(user).delete(url).status_code == 403
    annotation.refresh_from_db()
    assert annotation.stance == "support"
    oscar = client_for(team.outsider)
    for method in ("get", "patch", "put", "delete"):
        assert getattr(oscar, method)(url, {"stance": "neutral"}).status_code == 404
    assert client_for(team.owner).delete(url).status_code == 204  # owners may clean up
    assert not Annotation.objects.filter(pk=annotation.pk).exists()


def test_patch_put_and_stale_versions(team, claim, client_for):
    annotation = AnnotationFactory(
        claim=claim, annotator=team.annotator, topic=team.topic, note="n"
    )
    EvidenceFactory(annotation=annotation)
    anna = client_for(team.annotator)
    url = f"/api/v1/annotations/{annotation.pk}"
    got = anna.get(url)
    assert got["ETag"] == '"1"'
    assert len(got.json()["evidence"]) == 1

    patched = anna.patch(url, {"confidence": 2}, HTTP_IF_MATCH='"1"')
    assert patched.status_code == 200
    assert patched.json()["confidence"] == 2
    assert patched.json()["note"] == "n"  # PATCH keeps what it does not name
    assert len(patched.json()["evidence"]) == 1
    assert patched["ETag"] == '"2"'

    stale = anna.put(url, {"stance": "neutral"}, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["current"]["confidence"] == 2
    assert stale.json()["current"]["version"] == 2
    assert Annotation.objects.get(pk=annotation.pk).stance == "support"

    replaced = anna.put(url, {"stance": "neutral", "version": 2})
    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["stance"], body["confidence"], body["note"], body["evidence"]) == (
        "neutral",
        None,
        "",
        [],
    )  # PUT resets every field it does not name
    assert anna.delete(url, HTTP_IF_MATCH='"2"').status_code == 412
    assert anna.delete(url, {"version": 3}).status_code == 204


def test_if_match_must_be_an_etag(team, claim, client_for):
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator)
    url = f"/api/v1/annotations/{annotation.pk}"
    anna = client_for(team.annotator)
    for header in ('"abc"', "1, 2", '"99999999999999999999999"'):
        response = anna.patch(url, {"note": "x"}, HTTP_IF_MATCH=header)
        assert response.status_code == 400, header
        assert "If-Match" in errors_of(response)
    assert anna.patch(url, {"note": "x"}, HTTP_IF_MATCH="*").status_code == 200
    assert anna.patch(url, {"note": "y"}, HTTP_IF_MATCH="2").status_code == 200


def test_blind_mode_hides_others_annotations_until_submit(team, claim, client_for):
    team.corpus.blind = True
    team.corpus.save()
    mine = AnnotationFactory(claim=claim, annotator=team.annotator)
    theirs = AnnotationFactory(claim=claim, annotator=team.annotator2)
    CommentFactory(claim=claim, author=team.annotator2, text="I say oppose")
    anna = client_for(team.annotator)
    url = f"/api/v1/claims/{claim.pk}/annotations"
    assert [a["id"] for a in anna.get(url).json()["results"]] == [str(mine.pk)]
    assert anna.get(f"/api/v1/annotations/{theirs.pk}").status_code == 404
    assert anna.get(f"{url}?annotator=arjun").json()["results"] == []
    assert anna.get(f"/api/v1/claims/{claim.pk}/comments").json()["results"] == []
    curator_sees = client_for(team.curator).get(url).json()["results"]
    assert {a["annotator"] for a in curator_sees} == {"anna", "arjun"}

    anna.post(f"/api/v1/articles/{team.article.pk}/submit")
    assert len(anna.get(url).json()["results"]) == 2
    assert anna.get(f"/api/v1/annotations/{theirs.pk}").status_code == 200
    assert len(anna.get(f"/api/v1/claims/{claim.pk}/comments").json()["results"]) == 1


def test_annotation_list_filters(team, claim, client_for):
    second_topic = TopicFactory(corpus=team.corpus, label="Chip bans help rivals")
    AnnotationFactory(claim=claim, annotator=team.annotator, stance="oppose")
    AnnotationFactory(claim=claim, annotator=team.annotator2, topic=second_topic)
    client = client_for(team.curator)
    url = f"/api/v1/claims/{claim.pk}/annotations"

    def annotators(query):
        response = client.get(url + query)
        assert response.status_code == 200, response.json()
        return [a["annotator"] for a in response.json()["results"]]

    assert annotators("?stance=oppose") == ["anna"]
    assert annotators(f"?topic={second_topic.pk}") == ["arjun"]
    assert annotators("?annotator=arjun&status=draft") == ["arjun"]
    assert annotators("?status=submitted") == []
    assert annotators(f"?article={team.article.pk}") == ["anna", "arjun"]
    bad = client.get(url + f"?topic={10**30}&status=done")
    assert bad.status_code == 400
    assert set(errors_of(bad)) == {"topic", "status"}


def test_viewer_cannot_annotate(team, claim, client_for):
    response = client_for(team.viewer).post(
        f"/api/v1/claims/{claim.pk}/annotations", {"stance": "support"}
    )
    assert response.status_code == 403
    assert not Annotation.objects.exists()


# --- relations -------------------------------------------------------------------------------


def test_relations_create_list_delete(team, claim, client_for):
    target = ClaimFactory(article=team.article, start=42, end=85)
    anna = client_for(team.annotator)
    url = f"/api/v1/articles/{team.article.pk}/relations"
    payload = {"source": str(target.pk), "target": str(claim.pk), "kind": "supports"}
    created = anna.post(url, payload)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["source"], body["target"], body["kind"]) == (
        str(target.pk),
        str(claim.pk),
        "supports",
    )
    assert anna.post(url, payload).status_code == 409
    assert [r["id"] for r in anna.get(url).json()["results"]] == [body["id"]]
    assert anna.get(f"/api/v1/relations/{body['id']}").status_code == 200
    assert client_for(team.annotator2).delete(f"/api/v1/relations/{body['id']}").status_code == 403
    assert client_for(team.outsider).delete(f"/api/v1/relations/{body['id']}").status_code == 404
    assert anna.delete(f"/api/v1/relations/{body['id']}").status_code == 204
    assert not Relation.objects.exists()


def test_relation_validation(team, claim, client_for):
    elsewhere = ClaimFactory(article=ArticleFactory(corpus=team.corpus))
    foreign = ClaimFactory(article=team.other_article)
    anna = client_for(team.annotator)
    url = f"/api/v1/articles/{team.article.pk}/relations"
    cases = [
        ({"source": str(claim.pk), "target": str(claim.pk), "kind": "supports"}, "target"),
        ({"source": str(claim.pk), "target": str(elsewhere.pk), "kind": "attacks"}, "target"),
        ({"source": str(foreign.pk), "target": str(claim.pk), "kind": "attacks"}, "source"),
        ({"source": "nope", "target": str(claim.pk), "kind": "attacks"}, "source"),
        ({"source": str(claim.pk), "target": str(elsewhere.pk), "kind": "hugs"}, "kind"),
    ]
    for payload, field in cases:
        response = anna.post(url, payload)
        assert response.status_code == 400, (payload, response.json())
        assert field in errors_of(response), (payload, response.json())
    viewer = client_for(team.viewer).post(
        url, {"source": str(claim.pk), "target": str(elsewhere.pk), "kind": "attacks"}
    )
    assert viewer.status_code == 403
    assert client_for(team.outsider).get(url).status_code == 404
    assert not Relation.objects.exists()


# --- reviews ---------------------------------------------------------------------------------


def test_curator_reviews_a_claim(team, claim, client_for):
    curator = client_for(team.curator)
    url = f"/api/v1/claims/{claim.pk}/review"
    assert curator.get(url).status_code == 404
    created = curator.put(url, {"decision": "accepted", "stance": "oppose", "note": "Clear."})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["topic"]["id"] == str(team.topic.pk)
    assert body["curator"] == "carmen"
    assert created["ETag"] == '"1"'
    updated = curator.put(url, {"decision": "rejected"}, HTTP_IF_MATCH='"1"')
    assert updated.status_code == 200
    assert updated.json()["decision"] == "rejected"
    stale = curator.put(url, {"decision": "accepted", "stance": "support"}, HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["current"]["decision"] == "rejected"
    missing_version = curator.put(url, {"decision": "accepted", "stance": "support"})
    assert missing_version.status_code == 428  # changing a decision names the version it changes
    assert "If-Match" in missing_version.json()["detail"]
    missing_gold = curator.put(url, {"decision": "accepted"}, HTTP_IF_MATCH='"2"')
    assert missing_gold.status_code == 400
    assert "stance" in errors_of(missing_gold)
    assert curator.delete(url, HTTP_IF_MATCH='"2"').status_code == 204
    assert not Review.objects.exists()


def test_review_permissions(team, claim, client_for):
    ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
    url = f"/api/v1/claims/{claim.pk}/review"
    for user in (team.viewer, team.annotator):
        client = client_for(user)
        assert client.put(url, {"decision": "rejected"}).status_code == 403
        assert client.delete(url).status_code == 403
    assert client_for(team.viewer).get(url).status_code == 200
    assert client_for(team.outsider).get(url).status_code == 404
    assert client_for(team.outsider).put(url, {"decision": "rejected"}).status_code == 404
    assert Review.objects.get(claim=claim).decision == "accepted"


# --- comments --------------------------------------------------------------------------------


def test_comments_thread(team, claim, client_for):
    anna = client_for(team.annotator)
    url = f"/api/v1/claims/{claim.pk}/comments"
    created = anna.post(url, {"text": "  Is this sarcasm?  "})
    assert created.status_code == 201
    assert created.json()["text"] == "Is this sarcasm?"
    assert created.json()["author"] == "anna"
    assert client_for(team.curator).post(url, {"text": "Yes."}).status_code == 201
    thread = client_for(team.viewer).get(url).json()["results"]
    assert [c["text"] for c in thread] == ["Is this sarcasm?", "Yes."]
    assert anna.post(url, {"text": "   "}).status_code == 400
    assert client_for(team.viewer).post(url, {"text": "Hi"}).status_code == 403
    assert client_for(team.outsider).get(url).status_code == 404
    assert Comment.objects.count() == 2


# --- assignments -----------------------------------------------------------------------------


def test_curator_assigns_work(team, client_for):
    curator = client_for(team.curator)
    url = "/api/v1/corpora/chips/assignments"
    created = curator.post(url, {"article": str(team.article.pk), "annotator": "arjun"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["annotator"], body["state"], body["assigned_by"]) == (
        "arjun",
        "assigned",
        "carmen",
    )
    assert (
        curator.post(url, {"article": str(team.article.pk), "annotator": "arjun"}).status_code
        == 409
    )
    viewer_target = curator.post(url, {"article": str(team.article.pk), "annotator": "victor"})
    assert viewer_target.status_code == 400
    assert "annotator" in errors_of(viewer_target)
    foreign = curator.post(url, {"article": str(team.other_article.pk), "annotator": "anna"})
    assert foreign.status_code == 400
    assert "article" in errors_of(foreign)
    AssignmentFactory(article=team.article, annotator=team.annotator, state="submitted")
    listed = client_for(team.viewer).get(url).json()["results"]
    assert [(a["annotator"], a["state"]) for a in listed] == [
        ("arjun", "assigned"),
        ("anna", "submitted"),
    ]
    mine = client_for(team.viewer).get(url + "?annotator=anna&state=submitted").json()["results"]
    assert [a["annotator"] for a in mine] == ["anna"]
    for user in (team.viewer, team.annotator):
        response = client_for(user).post(
            url, {"article": str(team.article.pk), "annotator": "olivia"}
        )
        assert response.status_code == 403
    assert Assignment.objects.count() == 2
