"""Corpora, topics and members through the API, with every permission edge."""

import pytest

from articles.models import AuditEvent, Corpus, Membership, Topic
from tests.factories import AnnotationFactory, ClaimFactory, UserFactory

from .conftest import errors_of

pytestmark = pytest.mark.django_db


# --- corpora ---------------------------------------------------------------------------------


def test_list_shows_only_my_corpora_with_role_and_counts(team, client_for):
    response = client_for(team.annotator).get("/api/v1/corpora")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    [corpus] = body["results"]
    assert corpus["slug"] == "chips"
    assert corpus["id"] == str(team.corpus.pk)
    assert corpus["my_role"] == "annotator"
    assert corpus["counts"]["articles"] == 1
    assert "topics" not in corpus


def test_create_corpus_makes_me_owner_with_topics(team, client_for):
    response = client_for(team.viewer).post(
        "/api/v1/corpora",
        {"name": "Energy op-eds", "topics": [{"label": "Nuclear power is safe"}], "blind": True},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "energy-op-eds"
    assert body["my_role"] == "owner"
    assert body["blind"] is True
    assert [t["label"] for t in body["topics"]] == ["Nuclear power is safe"]
    assert response["Location"] == "/api/v1/corpora/energy-op-eds"
    assert Membership.objects.get(corpus__slug="energy-op-eds").user == team.viewer
    assert AuditEvent.objects.filter(verb="corpus.create", object_id=body["id"]).exists()


def test_create_corpus_with_taken_slug_is_409(team, client_for):
    response = client_for(team.viewer).post("/api/v1/corpora", {"name": "X", "slug": "chips"})
    assert response.status_code == 409
    assert "exists" in response.json()["detail"]


def test_create_corpus_validation_names_fields(team, client_for):
    response = client_for(team.viewer).post("/api/v1/corpora", {"name": "", "slug": "Bad Slug!"})
    assert response.status_code == 400
    assert "name" in errors_of(response)


def test_corpus_detail_has_topics_role_counts_and_etag(team, client_for):
    response = client_for(team.curator).get("/api/v1/corpora/chips")
    assert response.status_code == 200
    body = response.json()
    assert body["my_role"] == "curator"
    assert body["topics"] == [{"id": str(team.topic.pk), "label": team.topic.label}]
    assert set(body["counts"]) == {
        "articles",
        "claims",
        "annotations",
        "reviewed",
        "my_assigned",
        "my_submitted",
    }
    assert response["ETag"] == f'"{body["version"]}"'


def test_outsider_gets_404_for_every_corpus_route(team, client_for):
    oscar = client_for(team.outsider)
    for method, url in [
        ("get", "/api/v1/corpora/chips"),
        ("patch", "/api/v1/corpora/chips"),
        ("delete", "/api/v1/corpora/chips"),
        ("get", "/api/v1/corpora/chips/topics"),
        ("post", "/api/v1/corpora/chips/topics"),
        ("get", "/api/v1/corpora/chips/members"),
        ("post", "/api/v1/corpora/chips/members"),
        ("get", "/api/v1/corpora/chips/members/anna"),
        ("patch", "/api/v1/corpora/chips/members/anna"),
        ("delete", "/api/v1/corpora/chips/members/anna"),
        ("get", "/api/v1/corpora/chips/articles"),
        ("post", "/api/v1/corpora/chips/articles"),
        ("get", "/api/v1/corpora/chips/assignments"),
        ("post", "/api/v1/corpora/chips/assignments"),
        ("get", f"/api/v1/topics/{team.topic.pk}"),
        ("patch", f"/api/v1/topics/{team.topic.pk}"),
        ("delete", f"/api/v1/topics/{team.topic.pk}"),
        ("get", "/api/v1/corpora/no-such-corpus"),
    ]:
        response = getattr(oscar, method)(url, {}, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json()["detail"]
    assert Corpus.objects.filter(slug="chips").exists()


def test_anonymous_gets_401_everywhere(team, anon):
    for method, url in [
        ("get", "/api/v1/corpora"),
        ("post", "/api/v1/corpora"),
        ("get", "/api/v1/corpora/chips"),
        ("get", "/api/v1/corpora/chips/topics"),
        ("get", "/api/v1/corpora/chips/members"),
        ("get", f"/api/v1/topics/{team.topic.pk}"),
    ]:
        response = getattr(anon, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url)
        assert response["WWW-Authenticate"].startswith("Token")


def test_only_owner_changes_or_deletes_the_corpus(team, client_for):
    for user in (team.viewer, team.annotator, team.curator):
        client = client_for(user)
        assert client.patch("/api/v1/corpora/chips", {"name": "Mine"}).status_code == 403
        assert client.delete("/api/v1/corpora/chips").status_code == 403
    team.corpus.refresh_from_db()
    assert team.corpus.name == "Chip export op-eds"

    owner = client_for(team.owner)
    response = owner.patch(
        "/api/v1/corpora/chips", {"name": "Chips", "claim_labels": ["policy"]}, HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Chips"
    assert response.json()["version"] == 2
    assert response["ETag"] == '"2"'
    assert owner.delete("/api/v1/corpora/chips").status_code == 204
    assert not Corpus.objects.filter(slug="chips").exists()


def test_corpus_patch_with_stale_if_match_is_412_with_current_state(team, client_for):
    owner = client_for(team.owner)
    assert owner.patch("/api/v1/corpora/chips", {"name": "First", "version": 1}).status_code == 200
    response = owner.patch("/api/v1/corpora/chips", {"name": "Second"}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    body = response.json()
    assert body["current"]["name"] == "First"
    assert body["current"]["version"] == 2
    assert body["current"]["my_role"] == "owner"
    assert response["ETag"] == '"2"'
    team.corpus.refresh_from_db()
    assert team.corpus.name == "First"
    stale_delete = owner.delete("/api/v1/corpora/chips", HTTP_IF_MATCH="1")
    assert stale_delete.status_code == 412
    assert Corpus.objects.filter(slug="chips").exists()


# --- topics ----------------------------------------------------------------------------------


def test_topics_list_create_update_delete(team, client_for):
    owner = client_for(team.owner)
    listed = client_for(team.viewer).get("/api/v1/corpora/chips/topics").json()["results"]
    assert [t["label"] for t in listed] == [team.topic.label]
    assert listed[0]["corpus"] == "chips"

    created = owner.post("/api/v1/corpora/chips/topics", {"label": "Tariffs work"})
    assert created.status_code == 201
    topic_id = created.json()["id"]
    assert created["Location"] == f"/api/v1/topics/{topic_id}"

    got = owner.get(f"/api/v1/topics/{topic_id}")
    assert got["ETag"] == '"1"'
    patched = owner.patch(
        f"/api/v1/topics/{topic_id}", {"label": "Tariffs work well"}, HTTP_IF_MATCH='"1"'
    )
    assert patched.status_code == 200
    assert patched.json()["label"] == "Tariffs work well"
    stale = owner.patch(f"/api/v1/topics/{topic_id}", {"description": "x", "version": 1})
    assert stale.status_code == 412
    assert stale.json()["current"]["label"] == "Tariffs work well"

    assert owner.delete(f"/api/v1/topics/{topic_id}").status_code == 204
    assert not Topic.objects.filter(pk=topic_id).exists()


def test_topic_duplicates_and_in_use_are_409(team, client_for):
    owner = client_for(team.owner)
    dup = owner.post("/api/v1/corpora/chips/topics", {"label": team.topic.label})
    assert dup.status_code == 409
    AnnotationFactory(claim=ClaimFactory(article=team.article), annotator=team.annotator)
    in_use = owner.delete(f"/api/v1/topics/{team.topic.pk}")
    assert in_use.status_code == 409
    assert Topic.objects.filter(pk=team.topic.pk).exists()


def test_non_owners_cannot_write_topics(team, client_for):
    for user in (team.viewer, team.annotator, team.curator):
        client = client_for(user)
        assert client.post("/api/v1/corpora/chips/topics", {"label": "New"}).status_code == 403
        assert client.patch(f"/api/v1/topics/{team.topic.pk}", {"label": "X"}).status_code == 403
        assert client.delete(f"/api/v1/topics/{team.topic.pk}").status_code == 403
    assert Topic.objects.filter(corpus=team.corpus).count() == 1


# --- members ---------------------------------------------------------------------------------


def test_members_list_in_username_order(team, client_for):
    response = client_for(team.viewer).get("/api/v1/corpora/chips/members")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [m["username"] for m in results] == ["anna", "arjun", "carmen", "olivia", "victor"]
    assert {m["username"]: m["role"] for m in results}["carmen"] == "curator"


def test_owner_adds_changes_and_removes_a_member(team, client_for):
    owner = client_for(team.owner)
    newcomer = UserFactory(username="nina")
    added = owner.post("/api/v1/corpora/chips/members", {"username": "nina", "role": "annotator"})
    assert added.status_code == 201, added.json()
    assert added.json()["username"] == "nina"
    assert added["Location"] == "/api/v1/corpora/chips/members/nina"
    again = owner.post("/api/v1/corpora/chips/members", {"username": "nina", "role": "viewer"})
    assert again.status_code == 409

    changed = owner.patch("/api/v1/corpora/chips/members/nina/", {"role": "curator"})
    assert changed.status_code == 200
    assert changed.json()["role"] == "curator"
    assert owner.get("/api/v1/corpora/chips/members/nina").json()["role"] == "curator"

    assert owner.delete("/api/v1/corpora/chips/members/nina").status_code == 204
    assert not Membership.objects.filter(corpus=team.corpus, user=newcomer).exists()
    assert owner.get("/api/v1/corpora/chips/members/nina").status_code == 404


def test_member_errors(team, client_for):
    owner = client_for(team.owner)
    unknown = owner.post("/api/v1/corpora/chips/members", {"username": "ghost", "role": "viewer"})
    assert unknown.status_code == 400
    assert "username" in errors_of(unknown)
    bad_role = owner.post("/api/v1/corpora/chips/members", {"username": "oscar", "role": "boss"})
    assert bad_role.status_code == 400
    assert "role" in errors_of(bad_role)
    last_owner = owner.patch("/api/v1/corpora/chips/members/olivia", {"role": "viewer"})
    assert last_owner.status_code == 400
    assert "role" in errors_of(last_owner)
    nul = owner.get("/api/v1/corpora/chips/members/an%00na")
    assert nul.status_code == 404


def test_non_owners_cannot_manage_members(team, client_for):
    for user in (team.viewer, team.annotator, team.curator):
        client = client_for(user)
        add = client.post("/api/v1/corpora/chips/members", {"username": "oscar", "role": "owner"})
        assert add.status_code == 403
        assert (
            client.patch("/api/v1/corpora/chips/members/anna", {"role": "owner"}).status_code == 403
        )
        assert client.delete("/api/v1/corpora/chips/members/anna").status_code == 403
    assert not Membership.objects.filter(corpus=team.corpus, user=team.outsider).exists()
    assert Membership.objects.get(corpus=team.corpus, user=team.annotator).role == "annotator"
