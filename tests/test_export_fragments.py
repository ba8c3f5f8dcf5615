"""JSONL lines whose rows' JSON the database writes (`exports.fragments`, SQLite), held to the
reference writer (`jsonl.article_dict` + `json.dumps`) and to the reader's lines, byte for byte,
on a corpus of hostile values; on PostgreSQL the JSONL export keeps the reader (the same
comparisons hold there through it)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import exports
from articles.exports import fragments, jsonl
from articles.exports import reader as export_reader
from articles.models import Annotation, Claim, Topic
from tests.factories import AnnotationFactory, ArticleFactory, ClaimFactory, UserFactory
from tests.test_exports import _TRICKY, _golden_corpus, claim_at

pytestmark = pytest.mark.django_db

SQLITE = connection.vendor == "sqlite"
# SQLite keeps NUL in a text; PostgreSQL refuses it.
NUL = "\x00" if SQLITE else ""

# Floats whose text differs between SQLite (15 digits), PostgreSQL and Python (shortest repr).
SCORES = [0.1, 0.30000000000000004, -0.0, 0.0, 0.123456789012345678, 0.5, 1e-4, 1e15]
# Where orjson (the JSONL writer since it was made fast) and json.dumps write a float apart:
# exponents (`0.00001` against `1e-05`, `1e-7` against `1e-07`). The lines keep orjson's text,
# the same on both databases; both read back as the same float.
EXPONENT_SCORES = [1e-05, 1e-07, 1e16, 2.5e-300]


def _hostile_corpus(team, scores=SCORES) -> None:
    """The golden corpus (tricky text everywhere, reviews, comments, relations, a group,
    evidence of both kinds, trashed rows), plus: anchor scores whose text differs between the
    databases and Python, orphaned claims, label lists stored in every shape, annotators whose
    ids do not follow their names' order, a hostile topic, a very long text."""
    articles = _golden_corpus(team)
    article = articles[0]
    for n, score in enumerate(scores):
        claim = claim_at(article, "Families say chip prices doubled")
        Claim.objects.filter(pk=claim.pk).update(
            anchor_status="fuzzy", anchor_score=score, anchor_version=2 + n
        )
    ClaimFactory(
        article=article,
        start=None,
        end=None,
        exact=f"words that left {_TRICKY[:50]}{NUL}",
        prefix="",
        suffix="",
        anchor_status="orphaned",
        anchor_score=0.0,
        summary=f"orphan {NUL}\\",
    )
    # Labels: plain lists (SQLite writes them), lists Python must write (escapes, non-ASCII,
    # numbers, nesting), and the stored shapes other writers leave (compact, spaced).
    shapes = [
        ["plain", "two words"],
        ["«é»", "emoji \U0001f680"],
        ['a "label"', "b\\c", "tab\t", "\u2028"],
        ["x, y", 'q", "r'],
    ]
    claims = list(Claim.objects.filter(article__in=articles, deleted_at__isnull=True))
    for claim, labels in zip(claims, shapes, strict=False):
        Claim.objects.filter(pk=claim.pk).update(labels=labels)
    raw = ['["compact","list"]', '[ "spaced" ]', '[1, 2.5, "x"]', '["a", ["b"]]', '["\\u00e9"]']
    table = Claim._meta.db_table
    with connection.cursor() as cursor:
        for claim, text in zip(claims[len(shapes) :], raw, strict=False):
            cast = "::jsonb" if connection.vendor == "postgresql" else ""
            cursor.execute(f"UPDATE {table} SET labels = %s{cast} WHERE id = %s", [text, claim.pk])  # noqa: S608
    # Annotators: a later user whose name sorts first, so ids and names disagree.
    early, late = UserFactory(username="zoe"), UserFactory(username="aaron")
    hostile_topic = Topic.objects.create(corpus=team.corpus, label=f'Topic "{_TRICKY[:40]}"')
    for claim in claims[:3]:
        AnnotationFactory(claim=claim, annotator=early, labels=["plain"], note=_TRICKY + NUL)
        AnnotationFactory(claim=claim, annotator=late, topic=hostile_topic, labels=["«é»"])
    long_text = (_TRICKY + " Families say chip prices doubled. ") * 600  # ~130,000 characters
    long_article = ArticleFactory(corpus=team.corpus, title=f"Long {NUL}", text=long_text)
    far = long_text.rindex("Families say")
    ClaimFactory(article=long_article, start=far, end=far + 12, summary=long_text[:5000])
    # An update stamp apart from its creation stamp.
    Annotation.objects.filter(annotator=late).update(updated_at=timezone.now() + timedelta(1))


def _reference(team, filters) -> bytes:
    """The reference writer: json.dumps of each article's dict, from the reader's rows."""
    return b"".join(
        json.dumps(jsonl.article_dict(row), ensure_ascii=False, separators=(",", ":")).encode()
        + b"\n"
        for row in exports.read_articles(team.corpus, filters)
    )


def _through_the_reader(team, filters) -> bytes:
    return b"".join(map(jsonl.article_line, exports.read_articles(team.corpus, filters)))


def _exported(team, params: dict) -> bytes:
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"], **params})
    return b"".join(exports.stream(spec))


FILTERS = [
    {},
    {"annotator": ["anna"]},
    {"status": ["submitted"]},
    {"gold_only": ["true"]},
    {"updated_since": ["2000-01-01T00:00:00Z"]},
]


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: "-".join(p) or "all")
def test_the_jsonl_export_equals_the_reference_writer_on_hostile_values(team, params):
    _hostile_corpus(team)
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"], **params})
    body = _exported(team, params)
    assert body == _reference(team, spec.filters)
    assert body == _through_the_reader(team, spec.filters)
    assert body.count(b"\n") >= (1 if params else 6)


def test_the_export_of_chosen_articles_equals_the_reference_writer(team):
    _hostile_corpus(team)
    chosen = list(team.corpus.articles.order_by("-id").values_list("id", flat=True)[:3])
    params = {"article": [",".join(map(str, chosen))]}
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"], **params})
    body = _exported(team, params)
    assert body == _reference(team, spec.filters)
    assert [json.loads(line)["id"] for line in body.split(b"\n")[:-1]] == [
        str(i) for i in sorted(chosen)
    ]


if SQLITE:

    def test_sqlite_writes_the_lines_and_every_value_survives(team, monkeypatch):
        """The export on SQLite goes through the fragments (the reader's row assembly is never
        called), and the hostile values come back from the line as they were stored."""
        _hostile_corpus(team)

        def never(*args, **kwargs):
            raise AssertionError("the JSONL export assembled the reader's rows")

        monkeypatch.setattr(export_reader, "_assemble", never)
        lines = [json.loads(line) for line in _exported(team, {}).split(b"\n")[:-1]]
        claims = {c["id"]: c for line in lines for c in line["claims"]}
        for claim in Claim.objects.filter(deleted_at__isnull=True):
            written = claims[str(claim.pk)]
            assert written["labels"] == claim.labels
            assert written["summary"] == claim.summary and written["exact"] == claim.exact
            assert (written["start"], written["end"]) == (claim.start, claim.end)
            score = written["anchor"]["score"]
            assert score == claim.anchor_score and str(score) == str(claim.anchor_score)
        orphan = next(c for c in claims.values() if c["anchor"]["status"] == "orphaned")
        assert orphan["start"] is None and orphan["summary"] == "orphan \x00\\"
        names = [[a["annotator"] for a in c["annotations"]] for c in claims.values()]
        assert ["aaron", "anna", "arjun", "zoe"] in names or ["aaron", "arjun", "zoe"] in names
        assert all(n == sorted(n) for n in names)

    def test_floats_written_apart_by_orjson_and_json_dumps_keep_the_readers_text(team):
        _hostile_corpus(team, scores=EXPONENT_SCORES)
        filters = exports.ExportFilters()
        body = _exported(team, {})
        assert body == _through_the_reader(team, filters)
        assert body != _reference(team, filters)  # the exponents
        assert [json.loads(line) for line in body.split(b"\n")[:-1]] == [
            json.loads(line) for line in _reference(team, filters).split(b"\n")[:-1]
        ]
        assert b'"score":0.00001,' in body and b'"score":1e-7,' in body

    @pytest.mark.parametrize("batch_size", [1, 2, 250])
    def test_the_lines_do_not_depend_on_the_batches(team, batch_size):
        _hostile_corpus(team)
        filters = exports.ExportFilters()
        lines = b"".join(fragments.fragment_lines(team.corpus, filters, batch_size=batch_size))
        assert lines == _reference(team, filters)

    def test_the_fragments_run_the_readers_queries_per_batch(team):
        """As the reader: one query finds the articles (fewer than `PLANNED_AT_ONCE` here),
        then eight per batch, whatever the number of claims and annotations: at two sizes, one
        with a full last batch."""
        _hostile_corpus(team)
        counts = []
        for extra in (-team.corpus.articles.alive().count() % 4, 1):
            for n in range(extra):
                article = ArticleFactory(corpus=team.corpus, title=f"More {n} {extra}")
                AnnotationFactory(claim=ClaimFactory(article=article), annotator=team.annotator)
            with CaptureQueriesContext(connection) as captured:
                list(fragments.fragment_lines(team.corpus, exports.ExportFilters(), batch_size=4))
            counts.append((len(captured), team.corpus.articles.alive().count()))
        assert [articles % 4 for _, articles in counts] == [0, 1]
        for queries, articles in counts:
            batches = -(-articles // 4)
            assert queries == 1 + 8 * batches

    def test_a_failing_batch_raises_rather_than_a_shorter_export(team, monkeypatch):
        _hostile_corpus(team)
        original = fragments._batch_lines
        calls = []

        def failing(queries, names, run, article_ids):
            calls.append(article_ids)
            if len(calls) == 2:
                raise RuntimeError("the batch failed")
            return original(queries, names, run, article_ids)

        monkeypatch.setattr(fragments, "_batch_lines", failing)
        monkeypatch.setattr(export_reader, "FIRST_BATCH", 1)
        with pytest.raises(RuntimeError, match="the batch failed"):
            _exported(team, {})

    def test_the_progress_counts_every_article(team):
        _hostile_corpus(team)
        written: list[int] = []
        token = export_reader.ARTICLES_WRITTEN.set(written.append)
        try:
            lines = list(
                fragments.fragment_lines(team.corpus, exports.ExportFilters(), batch_size=3)
            )
        finally:
            export_reader.ARTICLES_WRITTEN.reset(token)
        assert (
            sum(written)
            == len(lines)
            == team.corpus.articles.filter(deleted_at__isnull=True).count()
        )

else:

    def test_postgresql_keeps_the_reader_for_jsonl(team, monkeypatch):
        """PostgreSQL's JSON per row cost its backend more than the Python it saves."""
        _hostile_corpus(team)
        assert not fragments.available()

        def never(*args, **kwargs):
            raise AssertionError("the fragments ran on PostgreSQL")

        monkeypatch.setattr(fragments, "fragment_lines", never)
        assert _exported(team, {}) == _reference(team, exports.ExportFilters())


def test_suggestions_keep_the_reader_and_the_same_lines(team, monkeypatch):
    """`include_suggestions` reads through the reader (a page at a time); its lines are the
    plain export's lines with the `suggestions` key added."""
    _hostile_corpus(team)
    plain = _exported(team, {}).split(b"\n")[:-1]

    def never(*args, **kwargs):
        raise AssertionError("the fragments ran for include_suggestions")

    monkeypatch.setattr(fragments, "fragment_lines", never)
    monkeypatch.setattr(jsonl, "fragment_lines", never)
    with_suggestions = _exported(team, {"include_suggestions": ["true"]}).split(b"\n")[:-1]
    assert [line[: -len(b',"suggestions":[]}')] + b"}" for line in with_suggestions] == plain


def test_the_fragment_queries_are_compiled_once_per_filters_and_when_a_server_starts(
    monkeypatch,
):
    """Kept between exports (compiling them cost each export some 5 ms), one set per filters;
    `exports.warm_up` (the WSGI entry point) compiles those without filters on SQLite, without
    a query; on PostgreSQL there are none to compile."""
    monkeypatch.setattr(export_reader, "_COMPILED", {})
    with CaptureQueriesContext(connection) as queries:
        exports.warm_up()
    assert len(queries) == 0
    compiled = [key for key in export_reader._COMPILED if key[1] == "fragments"]
    if connection.vendor != "sqlite":
        assert compiled == []
        return
    assert compiled == [(compiled[0][0], "fragments", exports.ExportFilters())]
    first = fragments.fragment_queries(exports.ExportFilters())
    assert export_reader._COMPILED[compiled[0]] is first
    assert fragments.fragment_queries(exports.ExportFilters(gold_only=True)) is not first
