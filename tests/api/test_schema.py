"""The OpenAPI schema validates, Swagger UI works under the CSP without a CDN, and real
responses match the schema."""

import copy
import re

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from jsonschema import Draft202012Validator

from tests.factories import (
    AnnotationFactory,
    AssignmentFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    RelationFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings_and_validates(tmp_path):
    GENERATOR_STATS.reset()  # warnings from other tests' generations must not count here
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for path in ("/api/v1/corpora:", "/api/v1/annotations/{id}:", "/api/v1/auth/token:"):
        assert f"\n  {path}\n" in text
    assert "/api/v1/corpora/:" not in text  # listed without the optional trailing slash


def test_schema_endpoint_serves_openapi(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_swagger_ui_is_served_locally_without_inline_code(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert urls, html
    for url in urls:
        assert url.startswith("/"), url  # no CDN, no other host
        assert not url.startswith("//"), url
    assert "swagger-ui-bundle.js" in html
    assert "<style" not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    assert all("src=" in attrs and not body.strip() for attrs, body in scripts)
    init_url = next(url for url in urls if "script" in url and "swagger" not in url)
    init = client.get(init_url.replace("&amp;", "&"))
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in init.content.decode()
    for url in urls:
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200, url


# --- responses against the schema ------------------------------------------------------------


def _json_schema(node):
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable` becomes a null alternative, and
    objects refuse properties the schema does not declare (so undocumented fields fail too)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def openapi(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return copy.deepcopy(schema)


def _check(openapi, path, method, response):
    operation = openapi["paths"][path][method]
    documented = operation["responses"][str(response.status_code)]
    schema = documented["content"]["application/json"]["schema"]
    validator = Draft202012Validator(
        {"components": _json_schema(openapi["components"]), **_json_schema(schema)}
    )
    problems = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.json())
    ]
    assert not problems, (method, path, problems)


def test_responses_match_the_schema(team, client_for, anon, openapi):
    claim = ClaimFactory(article=team.article, created_by=team.annotator)
    other = ClaimFactory(article=team.article, start=42, end=85)
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    EvidenceFactory(annotation=annotation)
    EvidenceFactory(annotation=annotation, kind="span", start=0, end=4, exact="Rest", url="")
    ReviewFactory(claim=claim, curator=team.curator, topic=team.topic)
    ReviewFactory(claim=other, curator=team.curator, decision="rejected", topic=None, stance="")
    RelationFactory(source_claim=other, target_claim=claim, created_by=team.annotator)
    CommentFactory(claim=claim, author=team.annotator)
    AssignmentFactory(article=team.article, annotator=team.annotator, assigned_by=team.curator)
    AssignmentFactory(article=team.article, annotator=team.annotator2)
    curator = client_for(team.curator)
    a, c = team.article.pk, claim.pk
    for path, url in [
        ("/api/v1/corpora", "/api/v1/corpora"),
        ("/api/v1/corpora/{slug}", "/api/v1/corpora/chips"),
        ("/api/v1/corpora/{slug}/topics", "/api/v1/corpora/chips/topics"),
        ("/api/v1/topics/{id}", f"/api/v1/topics/{team.topic.pk}"),
        ("/api/v1/corpora/{slug}/members", "/api/v1/corpora/chips/members"),
        ("/api/v1/corpora/{slug}/members/{username}", "/api/v1/corpora/chips/members/anna"),
        ("/api/v1/corpora/{slug}/articles", "/api/v1/corpora/chips/articles"),
        ("/api/v1/corpora/{slug}/assignments", "/api/v1/corpora/chips/assignments"),
        ("/api/v1/articles/{id}", f"/api/v1/articles/{a}"),
        ("/api/v1/articles/{id}/claims", f"/api/v1/articles/{a}/claims"),
        ("/api/v1/articles/{id}/relations", f"/api/v1/articles/{a}/relations"),
        ("/api/v1/claims/{id}", f"/api/v1/claims/{c}"),
        ("/api/v1/claims/{id}/annotations", f"/api/v1/claims/{c}/annotations"),
        ("/api/v1/claims/{id}/review", f"/api/v1/claims/{c}/review"),
        ("/api/v1/claims/{id}/comments", f"/api/v1/claims/{c}/comments"),
        ("/api/v1/annotations/{id}", f"/api/v1/annotations/{annotation.pk}"),
    ]:
        response = curator.get(url)
        assert response.status_code == 200, url
        _check(openapi, path, "get", response)

    anna = client_for(team.annotator)
    writes = [
        (
            "/api/v1/corpora",
            "post",
            "/api/v1/corpora",
            {"name": "Fresh", "topics": [{"label": "T"}]},
        ),
        (
            "/api/v1/articles/{id}/claims",
            "post",
            f"/api/v1/articles/{a}/claims",
            {"exact": "Officials say"},
        ),
        (
            "/api/v1/claims/{id}/annotations",
            "post",
            f"/api/v1/claims/{other.pk}/annotations",
            {"stance": "neutral", "evidence": [{"exact": "low-end chips"}]},
        ),
        (
            "/api/v1/annotations/{id}",
            "patch",
            f"/api/v1/annotations/{annotation.pk}",
            {"note": "x", "version": annotation.version},
        ),
        ("/api/v1/articles/{id}/submit", "post", f"/api/v1/articles/{a}/submit", None),
    ]
    for path, method, url, payload in writes:
        response = getattr(anna, method)(url, payload, format="json")
        assert response.status_code in (200, 201), (url, response.json())
        _check(openapi, path, method, response)

    token = anon.post(
        "/api/v1/auth/token", {"username": "anna", "password": "correct-horse-battery-staple"}
    )
    assert token.status_code == 201
    _check(openapi, "/api/v1/auth/token", "post", token)
