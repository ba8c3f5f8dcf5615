"""The JSONL import names users only among the corpus's members, each with a role that could
have done what the line says; anyone else makes the line bad (400, nothing written), and a
non-member is refused in the same words whether or not the account exists."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import imports
from articles.imports import jsonl as jsonl_import
from articles.models import Annotation, Comment, Membership, Relation, Review, Role, Topic

from .factories import UserFactory

URL = "/api/v1/corpora/chips/import"
TEXT = "Chips matter. Prices doubled in labs. Rules fail."


def snapshot() -> dict[str, int]:
    """Rows of every model of the app (the base manager: trash included)."""
    return {
        model.__name__: model._base_manager.count()
        for model in apps.get_app_config("articles").get_models()
    }


def line(
    *,
    annotator: str = "anna",
    created_by: str | None = None,
    curator: str = "carmen",
    author: str = "arjun",
    relation_by: str | None = None,
) -> dict:
    first = {
        "exact": "Prices doubled",
        "annotations": [{"annotator": annotator, "stance": "support", "topic": "New topic"}],
        "review": {"curator": curator, "decision": "accepted", "stance": "support"},
        "comments": [{"author": author, "text": "Agreed."}],
    }
    if created_by is not None:
        first["created_by"] = created_by
    relation = {"source": 1, "target": 0, "kind": "supports"}
    if relation_by is not None:
        relation["created_by"] = relation_by
    return {
        "title": "Members only",
        "text": TEXT,
        "claims": [first, {"exact": "Rules fail."}],
        "relations": [relation],
    }


def body(*lines: dict) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in lines)


def post(client, data: bytes):
    return client.post(URL, data=data, content_type="application/x-ndjson")


# Where each user field sits in `line`, and the least role it needs.
FIELDS = {
    "annotator": ("claims[0].annotations[0].annotator", "an annotator, curator or owner"),
    "created_by": ("claims[0].created_by", "an annotator, curator or owner"),
    "curator": ("claims[0].review.curator", "a curator or owner"),
    "author": ("claims[0].comments[0].author", "an annotator, curator or owner"),
    "relation_by": ("relations[0].created_by", "an annotator, curator or owner"),
}


@pytest.fixture
def importer(team, client):
    client.force_login(team.owner)
    return client


def test_members_with_the_right_roles_import(team, importer):
    """Existing behaviour for valid corpora: every field named by a member who may do it."""
    response = post(
        importer,
        body(
            line(created_by="arjun", relation_by="carmen"),
            line(annotator="carmen", curator="olivia", author="olivia", relation_by="olivia"),
        ),
    )
    assert response.status_code == 201, response.json()
    assert Annotation.objects.filter(annotator=team.curator).exists()
    assert Review.objects.filter(curator=team.owner).exists()
    assert Comment.objects.filter(author=team.annotator2).exists()
    assert Relation.objects.filter(created_by=team.curator).exists()


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("who", ["nobody-has-this-name", "oscar"])
def test_a_non_member_makes_the_line_bad_and_nothing_is_written(team, importer, field, who):
    """oscar has an account (a member of another corpus); the other name has none."""
    before = snapshot()
    response = post(importer, body(line(), line(**{field: who})))
    assert response.status_code == 400
    (bad,) = response.json()["lines"]
    path, needed = FIELDS[field]
    name = path.rsplit(".", 1)[1]
    assert bad["line"] == 2
    assert bad["reason"] == (
        f"{path}: {name} {who!r} is not a member of this corpus; the {name} must be a member "
        f"with the role {needed.removeprefix('an ').removeprefix('a ')}."
    )
    assert snapshot() == before


@pytest.mark.parametrize("field", list(FIELDS))
def test_an_unknown_name_and_an_outsider_get_the_same_words(team, importer, field):
    reasons = []
    for who in ("oscar", "zed"):
        response = post(importer, body(line(**{field: who})))
        assert response.status_code == 400
        reasons.append(response.json()["lines"][0]["reason"].replace(repr(who), "NAME"))
    assert reasons[0] == reasons[1]


@pytest.mark.parametrize(
    ("field", "who", "role"),
    [
        ("annotator", "victor", "a viewer"),
        ("created_by", "victor", "a viewer"),
        ("author", "victor", "a viewer"),
        ("relation_by", "victor", "a viewer"),
        ("curator", "victor", "a viewer"),
        ("curator", "anna", "an annotator"),
    ],
)
def test_a_member_without_the_role_is_told_which_role_is_needed(team, importer, field, who, role):
    before = snapshot()
    response = post(importer, body(line(**{field: who})))
    assert response.status_code == 400
    path, needed = FIELDS[field]
    name = path.rsplit(".", 1)[1]
    assert response.json()["lines"][0]["reason"] == (
        f"{path}: {name} {who!r} is {role} of this corpus; the {name} must be {needed}."
    )
    assert snapshot() == before


def test_every_bad_name_of_a_line_is_listed(team, importer):
    response = post(importer, body(line(annotator="victor", curator="anna", author="zed")))
    reason = response.json()["lines"][0]["reason"]
    assert "annotations[0].annotator: annotator 'victor' is a viewer" in reason
    assert "review.curator: curator 'anna' is an annotator" in reason
    assert "comments[0].author: author 'zed' is not a member" in reason


def test_an_inactive_member_keeps_their_past_work(team):
    """Users are never deleted, only deactivated; a member's imported work stays theirs."""
    team.annotator.is_active = False
    team.annotator.save()
    result = imports.import_file(
        actor=team.owner, corpus=team.corpus, role="owner", name="a.jsonl", data=body(line())
    )
    assert result.annotations == 1
    assert Annotation.objects.get().annotator == team.annotator


def test_membership_in_another_corpus_does_not_count(team):
    """oscar owns `other`; importing into `chips` he is nobody, and into `other` anna is."""
    theirs = line(annotator="oscar", curator="oscar", author="oscar")
    before = snapshot()
    with pytest.raises(imports.ImportFailed):
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.jsonl", data=body(theirs)
        )
    assert snapshot() == before
    result = imports.import_file(
        actor=team.outsider,
        corpus=team.other_corpus,
        role="owner",
        name="a.jsonl",
        data=body(theirs),
    )
    assert result.reviews == 1
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.outsider,
            corpus=team.other_corpus,
            role="owner",
            name="a.jsonl",
            data=body(line(curator="oscar", author="oscar")),
        )
    assert "annotator 'anna' is not a member" in failure.value.errors[0][1]


def test_member_lookups_do_not_grow_with_the_lines(team, monkeypatch):
    """Members are looked up in bulk, per chunk of lines, not once per name: an import of 30
    lines naming 30 members runs as many queries as one of 2 lines naming 2 (each in one chunk:
    the first chunk is otherwise smaller, jsonl.FIRST_CHUNK_LINES)."""
    monkeypatch.setattr(jsonl_import, "FIRST_CHUNK_LINES", jsonl_import.LINES_PER_CHUNK)
    Topic.objects.create(corpus=team.corpus, label="New topic", position=1)
    queries = {}
    for size in (2, 30):
        for number in range(size):
            user = UserFactory(username=f"member{size}-{number}")
            Membership.objects.create(corpus=team.corpus, user=user, role=Role.ANNOTATOR)
        names = [f"member{size}-{number}" for number in range(size)]
        data = body(*[line(annotator=name, author=name) for name in names])
        with CaptureQueriesContext(connection) as captured:
            result = imports.import_file(
                actor=team.owner, corpus=team.corpus, role="owner", name="a.jsonl", data=data
            )
        assert result.annotations == size
        # The look-ups (SELECTs): SQLite's 999 parameters per statement may split the INSERTs
        # of many rows in two batches, which is not a look-up per name.
        queries[size] = sum(q["sql"].startswith("SELECT") for q in captured.captured_queries)
    assert queries[30] == queries[2] > 0, queries
