"""The native JSONL import's `suggestions` key: the same checks as the API, all or nothing,
every problem named by its path, offsets as given mapped through normalisation."""

from __future__ import annotations

import json

import pytest

from articles.models import Article, Claim, Suggestion, Topic

URL = "/api/v1/corpora/chips/import"
TEXT = "Chips matter. 👩‍👩‍👧 Prices doubled in 研究者 labs. Rules fail."

pytestmark = pytest.mark.django_db


def _jsonl(*lines) -> bytes:
    return b"".join(json.dumps(item, ensure_ascii=False).encode() + b"\n" for item in lines)


def _post(client, body: bytes):
    return client.post(URL, data=body, content_type="application/x-ndjson")


def test_suggestions_of_several_models_are_imported(team, client):
    client.force_login(team.owner)
    start = TEXT.index("Prices doubled")
    line = {
        "title": "An op-ed",
        "text": TEXT,
        "suggestions": [
            {
                "model": "llm@1",
                "start": start,
                "end": start + 14,
                "stance": "support",
                "score": 0.8,
            },
            {"model": "llm@1", "exact": "Rules fail.", "topic": "Rules are weak"},
            {"model": "other@3", "start": start, "end": start + 14, "labels": ["x"]},
        ],
    }
    one_model = {
        "title": "Another",
        "text": TEXT,
        "suggestions": {"model": "llm@2", "suggestions": [{"exact": "Chips matter."}]},
    }
    response = _post(client, _jsonl(line, one_model))
    assert response.status_code == 201, response.json()
    assert response.json()["suggestions"] == 4
    assert response.json()["claims"] == 0
    article = Article.objects.get(title="An op-ed")
    prices = Suggestion.objects.get(article=article, model="llm@1", stance="support")
    assert article.text[prices.start : prices.end] == "Prices doubled" == prices.exact
    assert prices.score == 0.8 and prices.created_by == team.owner
    rules = Suggestion.objects.get(article=article, exact="Rules fail.")
    assert rules.topic == Topic.objects.get(corpus=team.corpus, label="Rules are weak")
    assert Suggestion.objects.get(model="llm@2").exact == "Chips matter."
    assert Claim.objects.count() == 0


def test_a_bad_suggestion_refuses_the_whole_file_naming_each_problem(team, client):
    client.force_login(team.owner)
    good = {"title": "Good", "text": TEXT, "suggestions": [{"model": "m@1", "exact": "Chips"}]}
    bad = {
        "title": "Bad",
        "text": TEXT,
        "suggestions": [
            {"model": "m@1", "exact": "not there"},
            {"model": "no-version", "exact": "Chips"},
            {"model": "m@1", "exact": "Rules", "score": 2},
            {"model": "m@1", "exact": "Rules", "stance": "sideways"},
            "text",
        ],
    }
    response = _post(client, _jsonl(good, bad))
    assert response.status_code == 400
    reason = response.json()["lines"][0]["reason"]
    assert response.json()["lines"][0]["line"] == 2
    for path in (
        "suggestions[0].exact",
        "suggestions[1].model",
        "suggestions[2].score",
        "suggestions[3].stance",
        "suggestions[4]",
    ):
        assert path in reason, (path, reason)
    assert Article.objects.filter(corpus=team.corpus).count() == 1  # the team's own, only
    assert Suggestion.objects.count() == 0


def test_offsets_follow_normalisation(team, client):
    client.force_login(team.owner)
    raw = "Line one.\r\nPrices doubled. Rules fail."
    start = raw.index("Prices")
    line = {
        "title": "CRLF",
        "text": raw,
        "suggestions": [{"model": "m@1", "start": start, "end": start + len("Prices doubled.")}],
    }
    assert _post(client, _jsonl(line)).status_code == 201
    suggestion = Suggestion.objects.get()
    assert suggestion.exact == "Prices doubled."
    assert suggestion.start == start - 1  # the CR is gone
