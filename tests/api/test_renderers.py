"""The API's renderer writes a PlainBody with orjson: the bytes must be DRF's JSONRenderer's, for
every value a body built from rows can hold, and anything else must go through DRF's renderer."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import renderers as drf_renderers

from articles.api import renderers
from articles.api.renderers import OddFloat, PlainBody, plain_float
from articles.models import Claim
from tests.factories import AnnotationFactory, ClaimFactory, EvidenceFactory

DRF = drf_renderers.JSONRenderer()
OURS = renderers.JSONRenderer()

ODD_TEXT = (
    "".join(chr(i) for i in range(0x20))
    + '"\\/\x7f \u2028 \u2029 \u00a0 \ufeff \U0001f680 \u201cquoted\u201d \u05e9\u05dc e\u0301'
)


@pytest.fixture
def orjson_only(monkeypatch):
    """DRF's render refuses to run: what still renders came from orjson."""

    def refuse(*args, **kwargs):
        raise AssertionError("DRF's renderer was used")

    monkeypatch.setattr(drf_renderers.JSONRenderer, "render", refuse)


def _both(data, **context):
    expected = DRF.render(data, **context)
    return expected, OURS.render(data, **context)


def test_a_plain_body_is_written_by_orjson_with_drfs_bytes(monkeypatch):
    data = PlainBody(
        {
            "text": ODD_TEXT,
            "n": [0, -1, 2**63 - 1, -(2**63)],
            "f": [plain_float(x) for x in (0.0, -0.0, 0.1, 1 / 3, 1e-4, 9.999e15, 0.8731)],
            "flags": [True, False, None],
            "nested": {"a": [{"b": []}, {}], "\u2028key": "x"},
            "tuple": (1, "two"),
        }
    )
    expected = DRF.render(data)
    assert b"\\u2028" in expected and b"\\u2029" in expected  # DRF escapes them
    monkeypatch.setattr(
        drf_renderers.JSONRenderer,
        "render",
        lambda *a, **k: pytest.fail("DRF's renderer was used"),
    )
    assert OURS.render(data) == expected


@pytest.mark.parametrize(
    "value", [1e-5, 5e-324, 1e16, 1.5e300, -2e-7, math.inf, -math.inf, math.nan]
)
def test_floats_written_otherwise_go_to_drf(value):
    odd = plain_float(value)
    assert type(odd) is OddFloat
    data = PlainBody({"score": odd})
    if math.isfinite(value):
        expected, ours = _both(data)
        assert ours == expected
        assert ours == DRF.render({"score": value})  # the float as it is
    else:  # DRF refuses them (strict JSON), and still does
        with pytest.raises(ValueError):
            OURS.render(data)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_through_plain_float_reads_as_drf_writes_it(value):
    data = PlainBody({"v": plain_float(value), "l": [plain_float(value)]})
    if not math.isfinite(value):
        with pytest.raises(ValueError):
            OURS.render(data)
        return
    expected, ours = _both(data)
    assert ours == expected


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False).map(plain_float)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), JSONISH, max_size=5))
def test_any_plain_body_renders_as_drf_renders_it(data):
    body = PlainBody(data)
    try:
        expected = DRF.render(body)
    except UnicodeEncodeError:  # a lone surrogate: DRF fails, and so must we
        with pytest.raises(UnicodeEncodeError):
            OURS.render(body)
        return
    assert OURS.render(body) == expected


def test_what_orjson_refuses_or_writes_its_own_way_goes_to_drf():
    import datetime as dt
    import decimal
    import uuid

    from django.utils.translation import gettext_lazy

    for value in (
        2**64,  # past 64 bits
        "lone \ud800",  # DRF cannot encode it either
        dt.datetime(2024, 2, 29, 12, 0, 0, 123456, tzinfo=dt.UTC),
        dt.date(2024, 2, 29),
        decimal.Decimal("1.10"),
        uuid.UUID(int=7),
        gettext_lazy("Not found."),
        {1: "an int key"},
    ):
        data = PlainBody({"v": value})
        try:
            expected = DRF.render(data)
        except Exception as error:  # noqa: BLE001 (the same failure is expected)
            with pytest.raises(type(error)):
                OURS.render(data)
            continue
        assert OURS.render(data) == expected, value


def test_unmarked_bodies_and_indents_go_to_drf(orjson_only):
    with pytest.raises(AssertionError, match="DRF's renderer was used"):
        OURS.render({"plain": "dict"})
    with pytest.raises(AssertionError, match="DRF's renderer was used"):
        OURS.render(PlainBody({"a": 1}), "application/json; indent=4")
    with pytest.raises(AssertionError, match="DRF's renderer was used"):
        OURS.render(PlainBody({"a": 1}), None, {"indent": 2})
    assert OURS.render(PlainBody({"a": 1}), "application/json") == b'{"a":1}'


@pytest.mark.django_db
def test_the_document_read_is_written_by_orjson(team, client_for, monkeypatch):
    claim = ClaimFactory(article=team.article, start=0, end=5)
    EvidenceFactory(annotation=AnnotationFactory(claim=claim, annotator=team.annotator))
    client = client_for(team.curator)
    urls = [
        f"/api/v1/articles/{team.article.pk}?include=claims",
        f"/api/v1/articles/{team.article.pk}",
        f"/api/v1/articles/{team.article.pk}/claims",
    ]
    before = [client.get(url).content for url in urls]
    monkeypatch.setattr(
        drf_renderers.JSONRenderer, "render", lambda *a, **k: pytest.fail("DRF's renderer")
    )
    assert [client.get(url).content for url in urls] == before


@pytest.mark.django_db
def test_an_odd_anchor_score_reads_as_before(team, client_for):
    claim = ClaimFactory(article=team.article, start=0, end=5)
    AnnotationFactory(claim=claim, annotator=team.annotator)
    Claim.objects.filter(pk=claim.pk).update(anchor_score=1e-05)
    client = client_for(team.curator)
    for url in (
        f"/api/v1/articles/{team.article.pk}?include=claims",
        f"/api/v1/articles/{team.article.pk}/claims",
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert b'"score":1e-05' in response.content
        assert response.content == DRF.render(response.json())
