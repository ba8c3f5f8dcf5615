"""Bad input never makes a 500; errors share one JSON shape; paths, slashes and pagination."""

import json

import pytest

from articles.models import Article, Claim, Corpus
from tests.factories import ArticleFactory, ClaimFactory

from .conftest import errors_of

pytestmark = pytest.mark.django_db


def _raw(client, method, url, body: bytes | str, content_type="application/json", **extra):
    return getattr(client, method)(url, data=body, content_type=content_type, **extra)


def test_malformed_json_is_400(team, client_for):
    anna = client_for(team.annotator)
    url = f"/api/v1/articles/{team.article.pk}/claims"
    assert _raw(anna, "post", url, "").status_code == 400  # no body: the span is missing
    for body in [
        '{"start": 0,',
        "{'start': 0}",
        "NaN",
        '{"start": Infinity, "end": 4}',
        b"\xff\xfe{",
    ]:
        response = _raw(anna, "post", url, body)
        assert response.status_code == 400, body
        assert response.json()["detail"].startswith("JSON parse error"), body
    assert not Claim.objects.exists()


def test_deeply_nested_json_is_400(team, client_for):
    anna = client_for(team.annotator)
    url = f"/api/v1/articles/{team.article.pk}/claims"
    deep = "[" * 100_000 + "]" * 100_000
    assert _raw(anna, "post", url, deep).status_code == 400
    nested_value = json.dumps({"start": 0, "end": 4, "labels": json.loads("[" * 500 + "]" * 500)})
    response = _raw(anna, "post", url, nested_value)
    assert response.status_code == 400
    assert "labels" in errors_of(response)


def test_body_of_the_wrong_shape_is_400(team, client_for):
    anna = client_for(team.annotator)
    url = f"/api/v1/articles/{team.article.pk}/claims"
    for body in ["[1, 2]", '"text"', "42", "null"]:
        response = _raw(anna, "post", url, body)
        assert response.status_code == 400, body
        assert response.json()["detail"]


def test_wrong_types_and_nul_characters_are_400_naming_the_field(team, client_for):
    owner = client_for(team.owner)
    cases = [
        (
            "/api/v1/corpora/chips/articles",
            {"title": "T", "text": "Has a NUL \x00 inside."},
            "text",
        ),
        ("/api/v1/corpora/chips/articles", {"title": ["a"], "text": "Fine."}, "title"),
        ("/api/v1/corpora/chips/articles", {"title": "T", "text": {"a": 1}}, "text"),
        (
            "/api/v1/corpora/chips/articles",
            {"title": "T", "text": "Ok.", "published_on": 5},
            "published_on",
        ),
        (
            "/api/v1/corpora/chips/articles",
            {"title": "T", "text": "Ok.", "source_url": "javascript:x"},
            "source_url",
        ),
        ("/api/v1/corpora/chips/topics", {"label": "Nul\x00label"}, "label"),
        ("/api/v1/corpora", {"name": "N", "blind": "sometimes"}, "blind"),
        ("/api/v1/corpora", {"name": "N", "topics": "one"}, "topics"),
        ("/api/v1/corpora", {"name": "N", "claim_labels": [{"x": 1}]}, "claim_labels"),
        (
            f"/api/v1/articles/{team.article.pk}/claims",
            {"start": 0, "end": 4, "summary": "\ud800"},
            "summary",
        ),
        (f"/api/v1/articles/{team.article.pk}/claims", {"exact": "chip\x00"}, "exact"),
        (f"/api/v1/articles/{team.article.pk}/claims", {"start": 10**30, "end": 10**31}, "start"),
        (f"/api/v1/articles/{team.article.pk}/claims", {"start": -(10**30), "end": 3}, "start"),
        ("/api/v1/corpora/chips/members", {"username": "a\x00b", "role": "viewer"}, "username"),
    ]
    for url, payload, field in cases:
        # Sent as escaped JSON text: a lone surrogate cannot even be encoded as UTF-8.
        response = _raw(owner, "post", url, json.dumps(payload))
        assert response.status_code == 400, (url, payload, response.status_code)
        assert field in errors_of(response), (payload, response.json())
    assert Article.objects.count() == 2
    assert not Claim.objects.exists()


def test_nul_and_garbage_in_query_strings_and_paths_are_not_500(team, client_for):
    client = client_for(team.owner)
    for url in [
        "/api/v1/corpora/chips/articles?title=%00",
        "/api/v1/corpora/chips/articles?annotator=a%00b",
        "/api/v1/corpora/chips/articles?updated_since=%00",
        "/api/v1/corpora/chips/articles?updated_since=0001-01-01T00:00:00%2B05:00",
        "/api/v1/corpora/chips/articles?cursor=%00",
        "/api/v1/corpora/chips/articles?page_size=%00",
        f"/api/v1/articles/{team.article.pk}/claims?article=1%00",
        f"/api/v1/articles/{team.article.pk}/claims?created_by=%00",
    ]:
        response = client.get(url)
        assert response.status_code == 400, url
        assert errors_of(response), url
    assert client.get("/api/v1/corpora/ch%00ips").status_code == 404
    assert client.get("/api/v1/articles/1%00").status_code == 404


def test_wrong_content_type_is_415(team, client_for):
    response = _raw(
        client_for(team.owner),
        "post",
        "/api/v1/corpora",
        "name=X",
        "application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert response.json()["errors"] == {}
    assert not Corpus.objects.filter(name="X").exists()


def test_method_not_allowed_is_405_json(team, client_for):
    response = client_for(team.owner).delete("/api/v1/corpora")
    assert response.status_code == 405
    assert response.json()["detail"]


def test_oversized_body_is_413(team, client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_for(team.owner).post(
        "/api/v1/corpora/chips/articles", {"title": "T", "text": "x" * 2000}
    )
    assert response.status_code == 413


def test_trailing_slash_is_optional_and_post_is_never_redirected(team, client_for):
    owner = client_for(team.owner)
    assert owner.get("/api/v1/corpora").status_code == 200
    assert owner.get("/api/v1/corpora/").status_code == 200
    assert owner.get("/api/v1/corpora/chips/").status_code == 200
    created = owner.post("/api/v1/corpora/", {"name": "Slash"})
    assert created.status_code == 201
    assert (
        owner.post(
            f"/api/v1/articles/{team.article.pk}/claims/", {"start": 0, "end": 4}
        ).status_code
        == 201
    )
    assert owner.get("/api/v1/corpora//").status_code == 404


def test_error_shape_for_each_status(team, client_for, anon):
    owner = client_for(team.owner)
    for response, code in [
        (anon.get("/api/v1/corpora"), 401),
        (client_for(team.viewer).patch("/api/v1/corpora/chips", {"name": "x"}), 403),
        (owner.get("/api/v1/articles/424242"), 404),
        (owner.post("/api/v1/corpora", {"name": "Again", "slug": "chips"}), 409),
        (owner.post("/api/v1/corpora", {}), 400),
    ]:
        assert response.status_code == code
        body = response.json()
        assert isinstance(body["detail"], str) and body["detail"]
        assert isinstance(body["errors"], dict)
    required = owner.post("/api/v1/corpora", {})
    assert required.json()["errors"] == {"name": ["This field is required."]}
    assert required.json()["detail"] == "name: This field is required."


# --- pagination ------------------------------------------------------------------------------


def test_cursor_pagination_walks_every_row_once(team, client_for):
    for _ in range(6):
        ArticleFactory(corpus=team.corpus)
    client = client_for(team.viewer)
    url = "/api/v1/corpora/chips/articles?page_size=3"
    seen = []
    while url:
        body = client.get(url).json()
        seen += [a["id"] for a in body["results"]]
        url = body["next"]
    expected = [
        str(pk)
        for pk in Article.objects.filter(corpus=team.corpus)
        .order_by("id")
        .values_list("id", flat=True)
    ]
    assert seen == expected
    last_page = client.get("/api/v1/corpora/chips/articles?page_size=3").json()
    back = client.get(client.get(last_page["next"]).json()["previous"]).json()
    assert [a["id"] for a in back["results"]] == expected[:3]


def test_page_size_is_capped_and_checked(team, client_for):
    client = client_for(team.viewer)
    assert client.get("/api/v1/corpora/chips/articles?page_size=100000").status_code == 200
    for bad in ("0", "-5", "ten", "1.5"):
        response = client.get(f"/api/v1/corpora/chips/articles?page_size={bad}")
        assert response.status_code == 400, bad
        assert "page_size" in errors_of(response)


def test_forged_cursors_are_400(team, client_for):
    import base64

    client = client_for(team.viewer)
    for raw in (b"p=abc", b"p=99999999999999999999999", b"o=-1", b"r=x"):
        cursor = base64.b64encode(raw).decode()
        response = client.get(f"/api/v1/corpora/chips/articles?cursor={cursor}")
        assert response.status_code == 400, raw
        assert "cursor" in errors_of(response)
    assert client.get("/api/v1/corpora/chips/articles?cursor=***").status_code == 400


def test_client_ordering_is_ignored(team, client_for):
    ClaimFactory(article=team.article, start=42, end=85)
    ClaimFactory(article=team.article)
    client = client_for(team.viewer)
    url = f"/api/v1/articles/{team.article.pk}/claims"
    for query in ("", "?ordering=-start", "?ordering=nonexistent__field", "?o=-id"):
        starts = [c["start"] for c in client.get(url + query).json()["results"]]
        assert starts == [0, 42], query
