"""The API words a mistake as the shared validators do (and so as the pages and the importer)."""

import pytest
from django.core.exceptions import ValidationError

from articles import validators
from articles.models import RelationKind, Role
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db


def _message(check, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as caught:
        check(*args, **kwargs)
    (message,) = caught.value.messages
    return message


def test_field_mistakes_read_as_the_validators_word_them(team, client_for):
    claim = ClaimFactory(article=team.article)
    owner, anna = client_for(team.owner), client_for(team.annotator)
    cases = [
        (
            anna.post(f"/api/v1/claims/{claim.pk}/annotations", {"stance": "maybe"}),
            "stance",
            _message(validators.validate_stance, "maybe"),
        ),
        (
            anna.post(
                f"/api/v1/claims/{claim.pk}/annotations", {"stance": "support", "confidence": 9}
            ),
            "confidence",
            _message(validators.validate_confidence, 9),
        ),
        (
            anna.post(f"/api/v1/articles/{team.article.pk}/claims", {"start": 0, "labels": "x"}),
            "labels",
            _message(validators.validate_labels, "x"),
        ),
        (
            owner.post(
                "/api/v1/corpora/chips/articles",
                {"title": "T", "text": "Some text.", "source_url": "javascript:alert(1)"},
            ),
            "source_url",
            _message(validators.validate_url, "javascript:alert(1)"),
        ),
        (
            owner.post("/api/v1/corpora/chips/articles", {"title": "two\nlines", "text": "x"}),
            "title",
            _message(validators.validate_line, "two\nlines", "title", max_chars=500),
        ),
        (
            owner.post("/api/v1/corpora/chips/topics", {"label": "x" * 301}),
            "label",
            _message(validators.validate_topic_label, "x" * 301, "label"),
        ),
        (
            owner.post("/api/v1/corpora/chips/members", {"username": "oscar", "role": "boss"}),
            "role",
            _message(validators.validate_choice, "boss", "role", Role),
        ),
        (
            anna.post(
                f"/api/v1/articles/{team.article.pk}/relations",
                {"source": str(claim.pk), "target": str(claim.pk), "kind": "hugs"},
            ),
            "kind",
            _message(validators.validate_choice, "hugs", "kind", RelationKind),
        ),
    ]
    for response, field, expected in cases:
        assert response.status_code == 400, response.json()
        assert response.json()["errors"][field] == [expected]
        # The message names its field already; the summary does not name it twice.
        if len(response.json()["errors"]) == 1:
            assert response.json()["detail"] == expected


def test_an_empty_comment_reads_as_on_the_page(team, client_for):
    claim = ClaimFactory(article=team.article)
    response = client_for(team.annotator).post(f"/api/v1/claims/{claim.pk}/comments", {"text": ""})
    assert response.status_code == 400
    assert response.json()["errors"] == {"text": ["The comment is empty."]}
