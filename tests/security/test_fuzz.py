"""Bad input never makes a server error, and another team's token reads nothing.

schemathesis generates requests from the live OpenAPI schema (/api/schema/, loaded in-process
from the WSGI app) for every operation, valid ones and invalid ones, and sends them with the
tokens of two teams. Runs are bounded (a few examples per operation, no shrinking) and
reproducible (derandomized). Every request runs in a rolled-back savepoint, so each one meets the
same data and path parameters always name live objects. Explicit cases follow for the inputs a
fuzzer rarely produces: deep nesting, lone surrogates, NUL, huge numbers, wrong content types,
oversize bodies.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from annotator.wsgi import application
from articles.models import Annotation, Article, Claim, Comment, Topic

from .matrix import changes, fingerprint, isolated, secrets_of

pytestmark = pytest.mark.django_db

EXAMPLES = 10  # per operation and generation mode: ~50 operations, well under a minute in all
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: CI failures reproduce
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are collected, not raised
)
# The objects `{id}` names, by the first segment of the path.
ID_OBJECTS = {
    "topics": "spare_topic",
    "articles": "article",
    "claims": "claim",
    "annotations": "annotation",
    "relations": "relation",
    "claim-groups": "group",
    "jobs": "job",
    "suggestions": "suggestion",
}
# Who can go deepest into each operation (everything else: the owner).
DEEPEST = {
    "PUT /api/v1/annotations/{id}": "annotator",
    "PATCH /api/v1/annotations/{id}": "annotator",
    "POST /api/v1/suggestions/{id}/accept": "annotator",
    "POST /api/v1/suggestions/{id}/reject": "annotator",
}

# Responses whose body is not described by a JSON schema: the export streams files in five
# formats (the schema documents the JSONL one as binary; W3C and AIF are JSON documents).
UNSCHEMATIC = {"GET /api/v1/corpora/{slug}/export"}


@contextmanager
def _connection_kept_open():
    """schemathesis calls the real WSGI handler, whose request_started/finished signals close
    the database connection, and with it the test's transaction; Django's test client disconnects
    them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db):
    with _connection_kept_open():
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)


def _operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def _path_parameters(operation, world) -> dict[str, str]:
    names = {parameter.name for parameter in operation.path_parameters}
    values = {}
    if "slug" in names:
        values["slug"] = world.corpus.slug
    if "username" in names:
        values["username"] = world.member.username
    if "id" in names:
        segment = operation.path.split("/")[3]
        kind = ID_OBJECTS[segment]
        if operation.path.endswith("/review"):
            kind = "reviewed_claim"
        values["id"] = str(getattr(world, kind).pk)
    return values


def _modes(operation) -> list[GenerationMode]:
    """Negative cases need something to break: a body or query parameters (path parameters are
    fixed to live objects; anything else in them is just a 404)."""
    if operation.body or operation.query:
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def _describe(case, status: int) -> str:
    body = case.body if not isinstance(case.body, type(schemathesis.core.NOT_SET)) else ""
    return (
        f"{case.operation.label} {case.path_parameters} query={case.query} "
        f"body={str(body)[:300]!r} -> {status}"
    )


def _fuzz(operation, mode, *, path_parameters, headers, on_response) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @FUZZ
    def run(case):
        on_response(case, isolated(lambda: case.call(headers=headers)))

    try:
        run()
    except Unsatisfiable:
        # Nothing invalid to generate for this operation in this mode.
        assert mode == GenerationMode.NEGATIVE, operation.label


def test_fuzzing_every_operation_finds_no_server_error(worlds, api_schema):
    world, _ = worlds
    operations = _operations(api_schema)
    assert len(operations) >= 45
    failures: list[str] = []
    statuses: dict[str, Counter] = {}

    for operation in operations:
        actor = DEEPEST.get(operation.label, "owner")
        headers = {"Authorization": f"Token {world.keys[actor]}"}
        seen = statuses.setdefault(operation.label, Counter())

        def check(case, response, seen=seen, operation=operation):
            seen[response.status_code] += 1
            checks = [not_a_server_error]
            if operation.label not in UNSCHEMATIC:
                checks.append(response_schema_conformance)
            try:
                case.validate_response(response, checks=checks)
            except Exception as error:  # schemathesis raises one exception listing failures
                failures.append(f"{_describe(case, response.status_code)}\n    {error}")

        for mode in _modes(operation):
            _fuzz(
                operation,
                mode,
                path_parameters=_path_parameters(operation, world),
                headers=headers,
                on_response=check,
            )

    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
    # The fuzz reached past the permission checks: most operations succeeded at least once.
    succeeded = [label for label, seen in statuses.items() if any(200 <= s < 300 for s in seen)]
    assert len(succeeded) >= len(operations) * 3 // 4, statuses


def test_another_team_token_reads_and_changes_nothing_of_ours(worlds, api_schema):
    """Team B's owner, fuzzing every operation on team A's ids: always 404, nothing changes;
    the lists B can read (their corpora, ...) hold nothing of A's."""
    world_a, world_b = worlds
    headers = {"Authorization": f"Token {world_b.keys['outsider']}"}
    secrets = secrets_of(world_a)
    baseline = fingerprint()
    failures: list[str] = []
    n_requests = 0

    def attempt(case, scoped: bool) -> None:
        def run():
            response = case.call(headers=headers)
            if case.method.upper() == "GET":
                return response, []
            return response, changes(baseline, fingerprint())

        nonlocal n_requests
        n_requests += 1
        response, changed = isolated(run)
        where = _describe(case, response.status_code)
        if scoped and response.status_code != 404:
            failures.append(where)
        if scoped and changed:
            failures.append(f"{where} changed {changed}")
        text = response.content.decode(errors="replace")
        shown = [secret for secret in secrets if secret in text]
        if shown:
            failures.append(f"{where} showed {shown}")

    def fuzz(strategy, scoped: bool) -> None:
        @given(case=strategy)
        @settings(FUZZ, max_examples=5)
        def run(case):
            attempt(case, scoped)

        run()

    for operation in _operations(api_schema):
        path_parameters = _path_parameters(operation, world_a)
        fuzz(operation.as_strategy(path_parameters=path_parameters), bool(path_parameters))

    assert n_requests >= 100
    assert not failures, "\n".join(failures[:40])


# --- Explicit bad input ----------------------------------------------------------------------


def _post(client, url: str, body: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", url, body, content_type=content_type)


@pytest.fixture
def anna(team):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(team.annotator)
    return client


@pytest.fixture
def olivia(team):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(team.owner)
    return client


def test_deeply_nested_json_is_400(team, anna):
    url = f"/api/v1/articles/{team.article.pk}/claims"
    for depth in (10_000, 100_000):
        for opening, closing in (("[", "]"), ('{"a":', "}")):
            body = opening * depth + "1" + closing * depth
            response = _post(anna, url, body)
            assert response.status_code == 400, (opening, depth)
            assert response.json()["detail"]
    nested_in_a_field = '{"start": 0, "end": 4, "labels": ' + "[" * 10_000 + "]" * 10_000 + "}"
    assert _post(anna, url, nested_in_a_field).status_code == 400
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "",
        "{",
        '{"start": 0, "end": 4',
        '{"start": 0, "end": 4}}',
        "{'start': 0}",
        '{"start": 0, "end": 4, }',
        '{"start": NaN, "end": 4}',
        '{"start": -Infinity, "end": 4}',
        '{"start": 0x10, "end": 4}',
        b"\xff\xfe\x00{",
        b'{"summary": "\xc3\x28"}',
    ],
)
def test_malformed_json_is_400(team, anna, body):
    response = _post(anna, f"/api/v1/articles/{team.article.pk}/claims", body)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Claim.objects.exists()


def _text_field_cases(team):
    """(url, method, body template with {bad} where the bad text goes) for text fields."""
    claim = Claim.objects.create(
        article=team.article,
        start=0,
        end=11,
        exact=team.article.text[0:11],
        created_by=team.annotator,
    )
    annotation = Annotation.objects.create(
        claim=claim, annotator=team.annotator, topic=team.topic, stance="support"
    )
    article, corpus = team.article.pk, team.corpus.slug
    return [
        ("owner", "POST", f"/api/v1/corpora/{corpus}/articles", '{"title": "T", "text": "{bad}"}'),
        ("owner", "POST", f"/api/v1/corpora/{corpus}/articles", '{"title": "{bad}", "text": "x"}'),
        ("owner", "POST", f"/api/v1/corpora/{corpus}/articles",
         '{"title": "T", "text": "x", "author": "{bad}"}'),
        ("owner", "PATCH", f"/api/v1/articles/{article}", '{"title": "{bad}", "version": 1}'),
        ("owner", "POST", f"/api/v1/corpora/{corpus}/topics", '{"label": "{bad}"}'),
        ("owner", "POST", "/api/v1/corpora", '{"name": "{bad}"}'),
        ("owner", "POST", "/api/v1/corpora", '{"name": "N", "description": "{bad}"}'),
        ("owner", "POST", f"/api/v1/corpora/{corpus}/members",
         '{"username": "{bad}", "role": "viewer"}'),
        ("owner", "GET", f"/api/v1/corpora/{corpus}/members/{{bad}}", None),
        ("annotator", "POST", f"/api/v1/articles/{article}/claims",
         '{"exact": "{bad}"}'),
        ("annotator", "POST", f"/api/v1/articles/{article}/claims",
         '{"start": 0, "end": 4, "summary": "{bad}"}'),
        ("annotator", "PATCH", f"/api/v1/annotations/{annotation.pk}",
         '{"note": "{bad}", "version": 1}'),
        ("annotator", "PATCH", f"/api/v1/annotations/{annotation.pk}",
         '{"labels": ["{bad}"], "version": 1}'),
        ("annotator", "PATCH", f"/api/v1/annotations/{annotation.pk}",
         '{"evidence": [{"kind": "source", "title": "{bad}"}], "version": 1}'),
        ("annotator", "PATCH", f"/api/v1/annotations/{annotation.pk}",
         '{"evidence": [{"kind": "source", "quote": "{bad}"}], "version": 1}'),
        ("annotator", "PATCH", f"/api/v1/annotations/{annotation.pk}",
         '{"topic": "{bad}", "version": 1}'),
        ("annotator", "POST", f"/api/v1/claims/{claim.pk}/comments", '{"text": "{bad}"}'),
        ("curator", "PUT", f"/api/v1/claims/{claim.pk}/review",
         '{"decision": "rejected", "note": "{bad}"}'),
        ("curator", "POST", f"/api/v1/corpora/{corpus}/assignments",
         '{"article": "{bad}", "annotator": "anna"}'),
        ("curator", "POST", f"/api/v1/corpora/{corpus}/assignments",
         f'{{"article": "{article}", "annotator": "{{bad}}"}}'),
        ("annotator", "POST", "/api/v1/auth/token", '{"username": "{bad}", "password": "x"}'),
        ("annotator", "POST", "/api/v1/auth/token", '{"username": "anna", "password": "{bad}"}'),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [
        "nul \\u0000 inside",  # NUL as a JSON escape
        "lone \\ud800 surrogate",
        "lone \\udfff low surrogate",
        "reversed \\udc00\\ud800 pair",
    ],
)
def test_nul_and_lone_surrogates_in_text_fields_are_400(team, bad):
    clients = {}
    for actor in ("owner", "annotator", "curator"):
        clients[actor] = APIClient(raise_request_exception=False)
        clients[actor].force_authenticate(getattr(team, actor))
    counts = (Article.objects.count(), Topic.objects.count(), Comment.objects.count())
    failures = []
    for actor, method, url, template in _text_field_cases(team):
        client = clients[actor]
        if template is None:
            response = client.generic(method, url.replace("{bad}", bad.replace("\\u", "%u")))
            expected = {400, 404}
        else:
            body = template.replace("{bad}", bad)
            json.loads(body)  # valid JSON: only its content is bad
            response = client.generic(method, url, body, content_type="application/json")
            expected = {400, 401} if url.endswith("/auth/token") else {400}
        if response.status_code not in expected:
            failures.append(f"{method} {url} {template}: {response.status_code}")
    assert counts == (Article.objects.count(), Topic.objects.count(), Comment.objects.count())
    assert not failures, "\n".join(failures)


def test_a_nul_byte_in_a_raw_body_or_query_string_is_not_500(team, anna, olivia):
    assert _post(anna, f"/api/v1/articles/{team.article.pk}/claims", b"\x00").status_code == 400
    for url in (
        f"/api/v1/corpora/{team.corpus.slug}/articles?q=%00",
        f"/api/v1/articles/{team.article.pk}/claims?cursor=%00",
        f"/api/v1/corpora/{team.corpus.slug}/export?annotator=%00",
        f"/api/v1/corpora/{team.corpus.slug}/export?article=%00",
        f"/api/v1/corpora/{team.corpus.slug}/agreement?article=%00",
        f"/api/v1/corpora/{team.corpus.slug}/members/%00",
        "/api/v1/articles/%00",
    ):
        response = olivia.get(url)
        assert response.status_code < 500, url


@pytest.mark.parametrize(
    "span",
    [
        '{"start": 1e400, "end": 4}',
        '{"start": 0, "end": 1e400}',
        '{"start": -1e400, "end": 4}',
        '{"start": 1e308, "end": 4}',
        '{"start": 0.5, "end": 4}',
        '{"start": ' + str(10**100) + ', "end": 4}',
        '{"start": 0, "end": ' + str(10**100) + "}",
        '{"start": -' + str(10**100) + ', "end": 4}',
        '{"start": 9223372036854775808, "end": 9223372036854775809}',
        '{"start": ' + "9" * 5000 + ', "end": 4}',
        '{"start": true, "end": 4}',
        '{"start": "0", "end": "4x"}',
    ],
)
def test_absurd_numbers_are_400(team, anna, span):
    response = _post(anna, f"/api/v1/articles/{team.article.pk}/claims", span)
    assert response.status_code == 400, response.content
    assert not Claim.objects.exists()


def test_absurd_numbers_in_other_fields_are_400(team, anna, olivia):
    claim = Claim.objects.create(
        article=team.article, start=0, end=11, exact=team.article.text[:11], created_by=team.owner
    )
    huge = str(10**100)
    cases = [
        (anna, "POST", f"/api/v1/claims/{claim.pk}/annotations",
         '{"stance": "support", "confidence": ' + huge + "}"),
        (anna, "POST", f"/api/v1/claims/{claim.pk}/annotations",
         '{"stance": "support", "confidence": 1e400}'),
        (anna, "POST", f"/api/v1/claims/{claim.pk}/annotations",
         '{"stance": "support", "topic": "' + huge + '"}'),
        (anna, "POST", f"/api/v1/claims/{claim.pk}/annotations",
         '{"stance": "support", "topic": ' + huge + "}"),
        (anna, "POST", f"/api/v1/claims/{claim.pk}/annotations",
         '{"stance": "support", "evidence": [{"kind": "span", "start": ' + huge
         + ', "end": 4}]}'),
        (olivia, "PATCH", f"/api/v1/corpora/{team.corpus.slug}", '{"version": ' + huge + "}"),
        (olivia, "PATCH", f"/api/v1/corpora/{team.corpus.slug}", '{"version": -1}'),
        (olivia, "PATCH", f"/api/v1/articles/{team.article.pk}", '{"version": 1e400}'),
        (olivia, "POST", f"/api/v1/corpora/{team.corpus.slug}/assignments",
         '{"article": "' + huge + '", "annotator": "anna"}'),
        (olivia, "GET", f"/api/v1/articles/{huge}", None),
        (olivia, "GET", f"/api/v1/claims/-{huge}", None),
        (olivia, "GET", f"/api/v1/corpora/{team.corpus.slug}/agreement?article={huge}", None),
        (olivia, "GET", f"/api/v1/corpora/{team.corpus.slug}/export?article={huge}", None),
    ]  # fmt: skip
    failures = []
    for client, method, url, body in cases:
        if body is None:
            response = client.generic(method, url)
        else:
            response = client.generic(method, url, body, content_type="application/json")
        if not 400 <= response.status_code < 500 or response.status_code in (401, 403):
            failures.append(f"{method} {url} {body}: {response.status_code}")
    headers = {"HTTP_IF_MATCH": f'"{huge}"'}
    response = olivia.patch(f"/api/v1/corpora/{team.corpus.slug}", {}, format="json", **headers)
    if response.status_code not in (400, 412):
        failures.append(f"If-Match {huge}: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json-patch+json",
        "",
    ],
)
def test_wrong_content_type_is_415(team, anna, content_type):
    url = f"/api/v1/articles/{team.article.pk}/claims"
    response = anna.generic("POST", url, '{"start": 0, "end": 4}', content_type=content_type)
    assert response.status_code == 415
    assert response.json()["detail"]
    assert not Claim.objects.exists()


def test_wrong_content_type_on_import_is_415(team, olivia):
    url = f"/api/v1/corpora/{team.corpus.slug}/import"
    response = olivia.generic("POST", url, b"<x/>", content_type="application/xml")
    assert response.status_code == 415
    assert Article.objects.count() == 2


def test_oversize_bodies_are_413(team, anna, olivia, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    settings.IMPORT_MAX_BYTES = 4000
    big = json.dumps({"start": 0, "end": 4, "summary": "x" * 5000})
    response = _post(anna, f"/api/v1/articles/{team.article.pk}/claims", big)
    assert response.status_code == 413
    assert response.json()["detail"]
    line = json.dumps({"title": "Big", "text": "y" * 5000}) + "\n"
    url = f"/api/v1/corpora/{team.corpus.slug}/import"
    response = olivia.generic("POST", url, line, content_type="application/x-ndjson")
    assert response.status_code == 413
    assert not Claim.objects.exists()
    assert Article.objects.count() == 2


def test_article_text_over_the_documented_limit_is_413(team, olivia, settings):
    settings.ARTICLE_MAX_CHARS = 1000
    body = json.dumps({"title": "Long", "text": "z" * 1001})
    response = _post(olivia, f"/api/v1/corpora/{team.corpus.slug}/articles", body)
    assert response.status_code == 413
    assert "ARTICLE_MAX_CHARS" in response.json()["detail"]
    body = json.dumps({"title": "Just fits", "text": "z" * 1000})
    assert _post(olivia, f"/api/v1/corpora/{team.corpus.slug}/articles", body).status_code == 201


@pytest.mark.parametrize(
    "moment",
    [
        "2321-04-29T04:01:23-16:09",  # an offset Python accepts and PostgreSQL refuses
        "2025-01-31T08:00:00+23:59",
        "9999-12-31T23:59:59-23:00",  # past the last year once in UTC
        "0001-01-01T00:00:00+23:00",  # before the first year once in UTC
        "2025-13-01",
        "yesterday",
    ],
)
def test_updated_since_with_any_offset_is_answered_not_500(team, olivia, moment):
    """Found by the fuzz run on PostgreSQL: a −16:09 offset reached the database and failed."""
    claim = Claim.objects.create(
        article=team.article, start=0, end=11, exact=team.article.text[:11], created_by=team.owner
    )
    query = f"?updated_since={moment.replace('+', '%2B')}"
    for url in (
        f"/api/v1/corpora/{team.corpus.slug}/articles",
        f"/api/v1/articles/{team.article.pk}/claims",
        f"/api/v1/claims/{claim.pk}/annotations",
        f"/api/v1/corpora/{team.corpus.slug}/export",
    ):
        response = olivia.get(url + query)
        assert response.status_code in (200, 400), (url, response.status_code)
        if response.streaming:
            b"".join(response.streaming_content)  # streams to the end without an error
    ok = olivia.get(
        f"/api/v1/articles/{team.article.pk}/claims?updated_since=2000-01-01T00:00-16:09"
    )
    assert [item["id"] for item in ok.json()["results"]] == [str(claim.pk)]
