"""Exports leave suggestions out unless `include_suggestions=true` (JSONL only); with it, each
line carries its article's suggestions with everyone's decisions, and imports back."""

from __future__ import annotations

import json

import pytest

from articles import selectors, services
from articles.models import Corpus, Membership, Role, Suggestion
from tests.factories import SAMPLE_TEXT, ArticleFactory

pytestmark = pytest.mark.django_db


def _export(client, slug="chips", **params):
    response = client.get(f"/api/v1/corpora/{slug}/export", params)
    body = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, [json.loads(line) for line in body.splitlines()]


@pytest.fixture
def suggested(team):
    _, access = selectors.corpus_with_access(team.curator, team.corpus.slug)
    made = services.suggestions_create(
        access=access,
        article=team.article,
        model="llm@1",
        suggestions=[
            {
                "exact": "Restricting chip exports is shortsighted.",
                "stance": "oppose",
                "score": 0.9,
            },
            {"exact": "Prices rose by 12% in a single quarter.", "labels": []},
        ],
    )
    _, anna = selectors.corpus_with_access(team.annotator, team.corpus.slug)
    services.suggestion_accept(access=anna, suggestion=made[0])
    ArticleFactory(corpus=team.corpus, title="Nothing suggested", text=SAMPLE_TEXT)
    return made


def test_left_out_unless_asked(team, client, suggested):
    client.force_login(team.owner)
    response, lines = _export(client)
    assert response.status_code == 200
    assert all("suggestions" not in line for line in lines)
    # The accepted suggestion is an annotation now, and exported as one.
    assert [a["annotator"] for c in lines[0]["claims"] for a in c["annotations"]] == ["anna"]


def test_included_when_asked(team, client, suggested):
    client.force_login(team.owner)
    response, lines = _export(client, include_suggestions="true")
    assert response.status_code == 200
    first, second = lines
    assert [s["exact"] for s in first["suggestions"]] == [
        "Restricting chip exports is shortsighted.",
        "Prices rose by 12% in a single quarter.",
    ]
    top = first["suggestions"][0]
    assert (top["model"], top["stance"], top["score"]) == ("llm@1", "oppose", 0.9)
    assert [(d["decided_by"], d["state"]) for d in top["decisions"]] == [("anna", "accepted")]
    assert second["suggestions"] == []
    # The same line as without, plus the key.
    _, plain = _export(client)
    assert {k: v for k, v in first.items() if k != "suggestions"} == plain[0]


def test_only_jsonl_carries_them(team, client, suggested):
    client.force_login(team.owner)
    response, _ = _export(client, format="csv", include_suggestions="true")
    assert response.status_code == 400
    assert "include_suggestions" in response.json()["errors"]
    response, _ = _export(client, include_suggestions="maybe")
    assert response.status_code == 400


def test_round_trip_through_the_import(team, client, suggested):
    client.force_login(team.owner)
    _, lines = _export(client, include_suggestions="true")
    copy = Corpus.objects.create(slug="copy", name="Copy", created_by=team.owner)
    Membership.objects.create(corpus=copy, user=team.owner, role=Role.OWNER)
    for member, role in [(team.annotator, Role.ANNOTATOR), (team.curator, Role.CURATOR)]:
        Membership.objects.create(corpus=copy, user=member, role=role)
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    response = client.post(
        "/api/v1/corpora/copy/import", data=body, content_type="application/x-ndjson"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["suggestions"] == 2
    copied = Suggestion.objects.filter(article__corpus=copy).order_by("start")
    assert [(s.exact, s.stance, s.score) for s in copied] == [
        (s.exact, s.stance, s.score)
        for s in Suggestion.objects.filter(article__corpus=team.corpus).order_by("start")
    ]
