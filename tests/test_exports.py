"""Corpus exports: every format parsed back and checked against the article texts, filters,
parameter validation before the first byte, permissions, and constant query counts."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import unicodedata
import zipfile
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from articles import exports
from articles.exports import brat as brat_export
from articles.exports import fragments as export_fragments
from articles.exports import reader as export_reader
from articles.exports.csv import COLUMNS
from articles.filters import ExportFilterSet
from articles.models import (
    Annotation,
    Article,
    Claim,
    ClaimGroup,
    ClaimGroupMember,
    Comment,
    Corpus,
    Membership,
    Relation,
    Review,
    Topic,
)
from articles.spreadsheet import neutralise
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    RelationFactory,
    ReviewFactory,
    UserFactory,
)

URL = "/api/v1/corpora/{slug}/export"

# Astral emoji (a ZWJ family: 5 code points, 8 UTF-16 units), CJK, a combining mark with no
# precomposed form, right-to-left text, cells a spreadsheet would run, and line breaks.
TEXT = (
    "👩\u200d👩\u200d👧 Families say chip prices doubled.\n"
    "-Export rules are useless, critics argue.\n"
    "研究者は別の見方をしている。 Naïve readers miss q\u0307 marks.\n"
    "שלום עולם: the rules will be tightened next year. =1+1 is not a formula."
)
assert unicodedata.normalize("NFC", TEXT) == TEXT


def claim_at(article, needle: str, **kwargs):
    start = article.text.index(needle)
    return ClaimFactory(article=article, start=start, end=start + len(needle), **kwargs)


def span_evidence(annotation, needle: str, **kwargs):
    text = annotation.claim.article.text
    start = text.index(needle)
    return EvidenceFactory(
        annotation=annotation,
        kind="span",
        start=start,
        end=start + len(needle),
        exact=needle,
        url="",
        title="",
        **kwargs,
    )


def build_rich_corpus(team) -> SimpleNamespace:
    """Two live articles (one multilingual), a trashed article and claim, several annotators,
    evidence of both kinds, reviews, comments and relations of every kind."""
    article = ArticleFactory(corpus=team.corpus, title="Familien & Chips: ein Überblick", text=TEXT)
    families = claim_at(article, "Families say chip prices doubled", labels=["MajorClaim"])
    rules = claim_at(article, "-Export rules are useless", summary="Rules do not work.")
    across = claim_at(article, "doubled.\n-Export rules")
    cjk = claim_at(article, "研究者は別の見方をしている。", labels=["Premise"])
    combining = claim_at(article, "q\u0307 marks")
    rtl = claim_at(article, "שלום עולם: the rules will be tightened next year.")
    trashed = claim_at(article, "=1+1 is not a formula", deleted_at=timezone.now())

    anna_families = AnnotationFactory(
        claim=families,
        annotator=team.annotator,
        stance="support",
        labels=["economics"],
        note="=HYPERLINK(evil)",
        confidence=4,
    )
    span_evidence(anna_families, "研究者は別の見方をしている。", evidence_type="example")
    EvidenceFactory(
        annotation=anna_families,
        quote="+5% year on year",
        evidence_type="statistic",
        role="undermines",
    )
    AnnotationFactory(
        claim=families, annotator=team.annotator2, stance="oppose", status="submitted"
    )
    AnnotationFactory(claim=rules, annotator=team.annotator, stance="neutral")
    arjun_rtl = AnnotationFactory(claim=rtl, annotator=team.annotator2, stance="oppose")
    span_evidence(arjun_rtl, "q\u0307 marks", role="undermines")
    AnnotationFactory(claim=trashed, annotator=team.annotator, stance="support")
    ReviewFactory(claim=families, curator=team.curator, stance="oppose", note="@curator says")
    ReviewFactory(claim=rules, curator=team.curator, decision="rejected", topic=None, stance="")
    CommentFactory(claim=families, author=team.curator, text="Gold is oppose: see paragraph 2.")
    CommentFactory(claim=families, author=team.annotator, text="שלום — agreed.")
    RelationFactory(source_claim=rules, target_claim=families, kind="attacks")
    RelationFactory(source_claim=cjk, target_claim=families, kind="supports")
    RelationFactory(source_claim=combining, target_claim=cjk, kind="rephrases")
    RelationFactory(source_claim=trashed, target_claim=families, kind="supports")

    second = team.article  # SAMPLE_TEXT
    plain = claim_at(second, "Officials say the rules will be tightened next year.")
    AnnotationFactory(claim=plain, annotator=team.annotator, stance="support", status="submitted")

    gone = ArticleFactory(corpus=team.corpus, title="In the trash", deleted_at=timezone.now())
    gone_claim = ClaimFactory(article=gone, deleted_at=gone.deleted_at)
    AnnotationFactory(claim=gone_claim, annotator=team.annotator)
    return SimpleNamespace(
        article=article,
        second=second,
        gone=gone,
        claims=SimpleNamespace(
            families=families,
            rules=rules,
            across=across,
            cjk=cjk,
            combining=combining,
            rtl=rtl,
            trashed=trashed,
            plain=plain,
        ),
    )


def export(client, slug="chips", **params):
    response = client.get(URL.format(slug=slug), params)
    assert response.status_code == 200, getattr(response, "content", b"")[:500]
    assert response.streaming
    return response, b"".join(response.streaming_content)


def jsonl_lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.decode("utf-8").splitlines()]


@pytest.fixture
def rich(team, client):
    client.force_login(team.owner)
    return build_rich_corpus(team)


# --- JSONL -----------------------------------------------------------------------------------


def test_jsonl_lines_match_the_texts_and_leave_out_the_trash(team, client, rich):
    response, body = export(client, format="jsonl")
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"] == "attachment; filename=chips.jsonl"
    lines = jsonl_lines(body)
    assert [line["title"] for line in lines] == [team.article.title, rich.article.title]
    texts = {line["id"]: line["text"] for line in lines}
    assert str(rich.gone.pk) not in texts
    for line in lines:
        text = line["text"]
        for claim in line["claims"]:
            assert text[claim["start"] : claim["end"]] == claim["exact"]
            assert text[: claim["start"]].endswith(claim["prefix"])
            assert text[claim["end"] :].startswith(claim["suffix"])
            for annotation in claim["annotations"]:
                for item in annotation["evidence"]:
                    if item["kind"] == "span":
                        assert text[item["start"] : item["end"]] == item["exact"]
        for relation in line["relations"]:
            assert 0 <= relation["source"] < len(line["claims"])
            assert 0 <= relation["target"] < len(line["claims"])
    multilingual = lines[1]
    exacts = [c["exact"] for c in multilingual["claims"]]
    assert "=1+1 is not a formula" not in exacts  # the trashed claim
    assert len(multilingual["relations"]) == 3  # not the one from the trashed claim
    families = next(c for c in multilingual["claims"] if c["exact"].startswith("Families"))
    # Code points: the family emoji is 5 code points (8 UTF-16 units) plus a space.
    assert families["start"] == 6
    assert [a["annotator"] for a in families["annotations"]] == ["anna", "arjun"]
    assert families["review"]["decision"] == "accepted"
    assert families["review"]["stance"] == "oppose"
    assert [c["author"] for c in families["comments"]] == ["carmen", "anna"]
    anna = families["annotations"][0]
    assert {e["kind"] for e in anna["evidence"]} == {"span", "source"}
    assert anna["id"] == str(
        Annotation.objects.get(claim=rich.claims.families, annotator=team.annotator).pk
    )


# --- W3C ------------------------------------------------------------------------------------


def _selectors(resource: dict) -> dict:
    return {s["type"]: s for s in resource["selector"]}


def test_w3c_collection_structure_and_selectors(team, client, rich):
    response, body = export(client, format="w3c")
    assert (
        response["Content-Type"]
        == 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
    )
    assert response["Content-Disposition"] == "attachment; filename=chips.jsonld"
    collection = json.loads(body)
    assert collection["@context"][0] == "http://www.w3.org/ns/anno.jsonld"
    assert collection["type"] == "AnnotationCollection"
    assert collection["id"].startswith("http://testserver/api/v1/corpora/chips/export")
    assert collection["label"] == team.corpus.name
    page = collection["first"]
    assert page["type"] == "AnnotationPage"
    assert page["id"].startswith("http")
    items = page["items"]
    assert collection["total"] == len(items)
    ids = [item["id"] for item in items]
    assert len(set(ids)) == len(ids)
    texts = {
        f"http://testserver/api/v1/articles/{a.pk}": a.text for a in (rich.article, rich.second)
    }
    for item in items:
        assert item["type"] == "Annotation"
        assert re.match(r"^https?://testserver/api/v1/", item["id"])
        assert item["motivation"] in {
            "highlighting",
            "assessing",
            "moderating",
            "commenting",
            "linking",
        }
        assert item["created"].endswith("Z")
        assert item["creator"]["type"] == "Person"
        bodies = item.get("body", [])
        for resource in [item["target"]] + [b for b in bodies if isinstance(b, dict)]:
            if resource.get("type") != "SpecificResource" or resource["source"] not in texts:
                continue
            text = texts[resource["source"]]
            selectors = _selectors(resource)
            position, quote = selectors["TextPositionSelector"], selectors["TextQuoteSelector"]
            assert text[position["start"] : position["end"]] == quote["exact"]
            assert text[: position["start"]].endswith(quote["prefix"])
            assert text[position["end"] :].startswith(quote["suffix"])
    by_id = {item["id"]: item for item in items}
    families = rich.claims.families
    anna = Annotation.objects.get(claim=families, annotator=team.annotator)
    assessed = by_id[f"http://testserver/api/v1/annotations/{anna.pk}"]
    assert assessed["motivation"] == "assessing"
    purposes = {(b.get("purpose"), b.get("value")) for b in assessed["body"]}
    assert ("classifying", "support") in purposes
    assert ("identifying", team.topic.label) in purposes
    assert ("tagging", "economics") in purposes
    assert ("commenting", "=HYPERLINK(evil)") in purposes
    evidence = [b for b in assessed["body"] if b.get("purpose") == "linking"]
    assert {b["evidenceType"] for b in evidence} == {"example", "statistic"}
    target = _selectors(assessed["target"])["TextPositionSelector"]
    assert (target["start"], target["end"]) == (families.start, families.end)
    # Offsets in code points: in UTF-16 the claim would start at 9, not 6.
    assert target["start"] == 6 and len(TEXT[:6].encode("utf-16-le")) // 2 == 9
    review = by_id[f"http://testserver/api/v1/claims/{families.pk}/review"]
    assert review["motivation"] == "moderating"
    assert {"accepted", "oppose"} <= {b["value"] for b in review["body"]}
    # A claim nobody annotated still appears, as its highlighting annotation.
    assert f"http://testserver/api/v1/claims/{rich.claims.across.pk}" in by_id
    linking = [i for i in items if i["motivation"] == "linking"]
    assert len(linking) == 3
    assert not any(str(rich.claims.trashed.pk) == i["id"].rsplit("/", 1)[-1] for i in items)


# --- brat -----------------------------------------------------------------------------------


def parse_ann(ann: str) -> dict:
    parsed = {"T": {}, "A": [], "R": [], "#": []}
    for line in ann.split("\n"):
        if not line:
            continue
        ident, rest = line.split("\t", 1)
        if ident[0] == "T":
            description, shown = rest.split("\t")
            kind, offsets = description.split(" ", 1)
            pieces = [tuple(map(int, p.split())) for p in offsets.split(";")]
            parsed["T"][ident] = (kind, pieces, shown)
        elif ident[0] == "A":
            parsed["A"].append(rest.split())
        elif ident[0] == "R":
            kind, arg1, arg2 = rest.rstrip("\t").split()
            parsed["R"].append((kind, arg1.split(":")[1], arg2.split(":")[1]))
        else:
            parsed["#"].append(rest.split("\t"))
    return parsed


def test_brat_zip_has_text_and_standoff_in_code_points(team, client, rich):
    response, body = export(client, format="brat")
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == "attachment; filename=chips.zip"
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    names = archive.namelist()
    stem = f"{rich.article.pk}-familien-chips-ein-uberblick"
    assert {"annotation.conf", f"{stem}.txt", f"{stem}.ann"} <= set(names)
    assert not any(n.startswith(f"{rich.gone.pk}-") for n in names)
    text = archive.read(f"{stem}.txt").decode("utf-8")
    assert text == TEXT
    ann = parse_ann(archive.read(f"{stem}.ann").decode("utf-8"))
    for kind, pieces, shown in ann["T"].values():
        assert kind in {"MajorClaim", "Claim", "Premise", "Evidence"}
        assert " ".join(text[a:b] for a, b in pieces) == shown
        assert all("\n" not in text[a:b] for a, b in pieces)
    spans = {
        (pieces[0][0], pieces[-1][1]): (tid, kind)
        for tid, (kind, pieces, _) in ann["T"].items()
        if kind != "Evidence"
    }
    families = rich.claims.families
    families_tid, families_kind = spans[(families.start, families.end)]
    assert families_kind == "MajorClaim"
    assert spans[(rich.claims.cjk.start, rich.claims.cjk.end)][1] == "Premise"
    across = rich.claims.across
    across_pieces = next(p for k, p, _ in ann["T"].values() if p[0][0] == across.start)
    assert across_pieces == [(across.start, across.start + 8), (across.start + 9, across.end)]
    stances = {(target, value) for name, target, value in ann["A"] if name == "Stance"}
    # Accepted claim: the gold stance only; others: each distinct stance.
    assert (families_tid, "Against") in stances
    assert (families_tid, "For") not in stances
    rules_tid = spans[(rich.claims.rules.start, rich.claims.rules.end)][0]
    assert (rules_tid, "Neutral") in stances
    for _kind, source, target in ann["R"]:
        assert source in ann["T"] and target in ann["T"]
    relation_kinds = sorted(
        kind for kind, source, _ in ann["R"] if ann["T"][source][0] != "Evidence"
    )
    assert relation_kinds == ["attacks", "rephrases", "supports"]
    evidence_links = {
        (kind, ann["T"][source][1][0][0], ann["T"][target][1][0][0])
        for kind, source, target in ann["R"]
        if ann["T"][source][0] == "Evidence"
    }
    claims = rich.claims
    assert evidence_links == {
        ("supports", claims.cjk.start, claims.families.start),
        ("attacks", claims.combining.start, claims.rtl.start),
    }
    for description, _note in ann["#"]:
        name, target = description.split()
        assert name == "AnnotatorNotes" and target in ann["T"]
    assert any(note == "Rules do not work." for _, note in ann["#"])


def test_brat_fragments_split_at_line_breaks_only():
    text = "ab\ncd\n\nef"
    assert brat_export.fragments(text, 0, len(text)) == [(0, 2), (3, 5), (7, 9)]
    assert brat_export.fragments(text, 1, 2) == [(1, 2)]
    assert brat_export.fragments(text, 2, 3) == []


# --- CSV ------------------------------------------------------------------------------------


def test_csv_rows_columns_and_formula_neutralisation(team, client, rich):
    response, body = export(client, format="csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == "attachment; filename=chips.csv"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert tuple(rows[0].keys()) == COLUMNS
    live = Annotation.objects.alive().filter(claim__article__deleted_at__isnull=True)
    claims = Claim.objects.filter(article__corpus=team.corpus, deleted_at__isnull=True)
    bare = claims.exclude(annotations__isnull=False).count()
    assert len(rows) == live.count() + bare
    assert {r["annotation_id"] for r in rows if r["annotation_id"]} == {str(a.pk) for a in live}
    texts = {str(a.pk): a.text for a in (rich.article, rich.second)}
    for row in rows:
        exact = row["claim_exact"]
        text = texts[row["article_id"]][int(row["claim_start"]) : int(row["claim_end"])]
        assert exact == ("'" + text if text.startswith(("=", "+", "-", "@")) else text)
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    rules = next(r for r in rows if r["claim_id"] == str(rich.claims.rules.pk))
    assert rules["claim_exact"] == "'-Export rules are useless"
    anna = next(r for r in rows if r["note"].startswith("'="))
    assert anna["note"] == "'=HYPERLINK(evil)"
    assert anna["review_note"] == "'@curator says"
    evidence = json.loads(anna["evidence"])
    assert int(anna["evidence_count"]) == len(evidence) == 2
    assert {e["kind"] for e in evidence} == {"span", "source"}


def test_csv_neutralises_people_text_in_every_column(team, client):
    """Every cell that can hold what a person typed, formula-like, comes out as text."""
    from articles.models import Membership as Member

    client.force_login(team.owner)
    mallory = UserFactory(username="+mallory")
    Member.objects.create(corpus=team.corpus, user=mallory, role="curator")
    topic = Topic.objects.create(corpus=team.corpus, label="=topic()")
    article = ArticleFactory(corpus=team.corpus, title="@title", text="-claim text here. More.")
    claim = ClaimFactory(
        article=article, start=0, end=11, summary="=summary()", labels=["-label"],
        created_by=mallory,
    )  # fmt: skip
    annotation = AnnotationFactory(
        claim=claim, annotator=mallory, topic=topic, labels=["@x"], note="\tnote"
    )
    EvidenceFactory(annotation=annotation)
    ReviewFactory(claim=claim, curator=mallory, topic=topic, note="\rreview")
    _, body = export(client, format="csv", article=str(article.pk))
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert len(rows) == 1
    row = rows[0]
    expected = {
        "article_title": "'@title",
        "claim_exact": "'-claim text",
        "claim_summary": "'=summary()",
        "claim_labels": "'-label",
        "claim_created_by": "'+mallory",
        "annotator": "'+mallory",
        "topic": "'=topic()",
        "annotation_labels": "'@x",
        "note": "'\tnote",
        "gold_topic": "'=topic()",
        "curator": "'+mallory",
        "review_note": "'\rreview",
    }
    assert {name: row[name] for name in expected} == expected
    for cell in row.values():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_every_formula_start(start):
    assert neutralise(start + "1+1") == "'" + start + "1+1"
    assert neutralise("a" + start) == "a" + start
    assert neutralise(3) == 3


# --- AIF ------------------------------------------------------------------------------------


def test_aif_nodes_and_edges_are_consistent(team, client, rich):
    response, body = export(client, format="aif")
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == "attachment; filename=chips.json"
    document = json.loads(body)
    assert set(document) == {"nodes", "edges", "locutions"}
    nodes = {n["nodeID"]: n for n in document["nodes"]}
    assert len(nodes) == len(document["nodes"])
    edge_ids = [e["edgeID"] for e in document["edges"]]
    assert len(set(edge_ids)) == len(edge_ids)
    live_claims = Claim.objects.filter(article__corpus=team.corpus, deleted_at__isnull=True)
    live_claims = live_claims.filter(article__deleted_at__isnull=True)
    i_nodes = {k: n for k, n in nodes.items() if n["type"] == "I"}
    assert {k: n["text"] for k, n in i_nodes.items()} == {f"c{c.pk}": c.exact for c in live_claims}
    schemes = {k: n for k, n in nodes.items() if n["type"] != "I"}
    assert sorted(n["type"] for n in schemes.values()) == ["CA", "MA", "RA"]
    for edge in document["edges"]:
        assert edge["fromID"] in nodes and edge["toID"] in nodes
    for scheme_id in schemes:
        incoming = [e for e in document["edges"] if e["toID"] == scheme_id]
        outgoing = [e for e in document["edges"] if e["fromID"] == scheme_id]
        assert len(incoming) == len(outgoing) == 1
        assert nodes[incoming[0]["fromID"]]["type"] == "I"
        assert nodes[outgoing[0]["toID"]]["type"] == "I"
    attack = next(n for n in schemes if nodes[n]["type"] == "CA")
    source = next(e["fromID"] for e in document["edges"] if e["toID"] == attack)
    target = next(e["toID"] for e in document["edges"] if e["fromID"] == attack)
    assert (source, target) == (f"c{rich.claims.rules.pk}", f"c{rich.claims.families.pk}")


# --- Filters --------------------------------------------------------------------------------


def test_filter_article_repeatable(team, client, rich):
    _, body = export(client, format="jsonl", article=[rich.article.pk])
    assert [line["id"] for line in jsonl_lines(body)] == [str(rich.article.pk)]
    _, body = export(client, format="jsonl", article=f"{rich.article.pk},{rich.second.pk}")
    assert len(jsonl_lines(body)) == 2


def test_filter_annotator_keeps_only_their_claims(team, client, rich):
    _, body = export(client, format="jsonl", annotator="arjun")
    lines = jsonl_lines(body)
    assert [line["id"] for line in lines] == [
        str(rich.article.pk)
    ]  # arjun has nothing in the other
    claims = lines[0]["claims"]
    assert {c["id"] for c in claims} == {str(rich.claims.families.pk), str(rich.claims.rtl.pk)}
    assert all(a["annotator"] == "arjun" for c in claims for a in c["annotations"])
    assert lines[0]["relations"] == []  # no relation has both ends among arjun's claims


def test_filter_status_submitted(team, client, rich):
    _, body = export(client, format="csv", status="submitted")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert {r["status"] for r in rows} == {"submitted"}
    assert (
        len(rows)
        == Annotation.objects.filter(status="submitted", claim__deleted_at__isnull=True).count()
    )


def test_filter_gold_only(team, client, rich):
    _, body = export(client, format="jsonl", gold_only="true")
    lines = jsonl_lines(body)
    claims = [c for line in lines for c in line["claims"]]
    assert [c["id"] for c in claims] == [str(rich.claims.families.pk)]
    assert claims[0]["review"]["stance"] == "oppose"
    _, body = export(client, format="brat", gold_only="1")
    archive = zipfile.ZipFile(io.BytesIO(body))
    ann = next(n for n in archive.namelist() if n.endswith(".ann"))
    stances = [a for a in parse_ann(archive.read(ann).decode())["A"] if a[0] == "Stance"]
    assert [a[2] for a in stances] == ["Against"]


def test_filter_updated_since(team, client, rich):
    long_ago = timezone.now() - timedelta(days=30)
    Article.objects.filter(corpus=team.corpus).update(updated_at=long_ago)
    Claim.objects.filter(article__corpus=team.corpus).update(updated_at=long_ago)
    Claim.objects.filter(deleted_at__isnull=False).update(deleted_at=long_ago)
    Annotation.objects.filter(claim__article__corpus=team.corpus).update(updated_at=long_ago)
    Review.objects.update(updated_at=long_ago)
    Comment.objects.update(created_at=long_ago)
    Relation.objects.update(created_at=long_ago)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    _, body = export(client, format="jsonl", updated_since=since)
    assert jsonl_lines(body) == []
    Annotation.objects.filter(claim=rich.claims.plain).update(updated_at=timezone.now())
    _, body = export(client, format="jsonl", updated_since=since)
    assert [line["id"] for line in jsonl_lines(body)] == [str(rich.second.pk)]
    # Moving a claim to the trash counts as a change of its article.
    Claim.objects.filter(pk=rich.claims.rtl.pk).update(deleted_at=timezone.now())
    _, body = export(client, format="jsonl", updated_since=since[:10])
    assert {line["id"] for line in jsonl_lines(body)} == {str(rich.article.pk), str(rich.second.pk)}


# --- Parameters and permissions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"format": "pdf"}, "format"),
        ({"format": ["jsonl", "csv"]}, "format"),
        ({"article": "abc"}, "article"),
        ({"article": "999999"}, "article"),
        ({"annotator": "nobody"}, "annotator"),
        ({"status": "final"}, "status"),
        ({"gold_only": "maybe"}, "gold_only"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"page": "2"}, "page"),
    ],
)
def test_bad_parameters_answer_400_before_streaming(team, client, params, named):
    client.force_login(team.owner)
    response = client.get(URL.format(slug="chips"), params)
    assert response.status_code == 400
    assert not response.streaming
    payload = response.json()
    assert named in payload["errors"]
    assert payload["detail"]


def _export_filterset(corpus, query: str) -> ExportFilterSet:
    return ExportFilterSet(
        QueryDict(query), Article.objects.alive().filter(corpus=corpus), formats=exports.FORMATS
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"annotator": "arjun"},
        {"status": "submitted"},
        {"gold_only": "yes"},
        {"updated_since": "2999-01-01"},
    ],
)
def test_the_filterset_selects_the_articles_the_export_writes(team, client, rich, params):
    filterset = _export_filterset(team.corpus, urlencode(params))
    assert filterset.is_valid(), filterset.errors
    _, body = export(client, format="jsonl", **params)
    exported = [line["id"] for line in jsonl_lines(body)]
    assert [str(article.pk) for article in filterset.qs] == exported
    assert bool(exported) == ("updated_since" not in params)


def test_the_filterset_names_unknown_repeated_and_bad_parameters(team):
    filterset = _export_filterset(team.corpus, "page=2&status=draft&status=x&gold_only=maybe")
    assert not filterset.is_valid()
    assert filterset.errors == {
        "page": [
            "Unknown parameter; the export takes format, article, annotator, status, gold_only, "
            "updated_since, include_suggestions."
        ],
        "status": ["status may be given only once."],
        "gold_only": ['gold_only must be true or false; got "maybe".'],
    }


def test_article_of_another_corpus_is_a_bad_parameter(team, client):
    client.force_login(team.owner)
    response = client.get(URL.format(slug="chips"), {"article": team.other_article.pk})
    assert response.status_code == 400
    assert "article" in response.json()["errors"]


def test_export_permissions(team, client):
    url = URL.format(slug="chips")
    assert client.get(url).status_code == 401
    for user in (team.curator, team.annotator, team.viewer):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(team.outsider)
    assert client.get(url).status_code == 404
    assert client.get(URL.format(slug="nope")).status_code == 404
    client.force_login(team.outsider)
    assert client.get(URL.format(slug="other")).status_code == 200


def test_export_accepts_a_trailing_slash_and_defaults_to_jsonl(team, client):
    client.force_login(team.owner)
    response = client.get(URL.format(slug="chips") + "/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"


def test_chunked_joins_small_pieces():
    chunks = list(exports.chunked(iter([b"a" * 6, b"b" * 6, b"c"]), size=10))
    assert chunks == [b"aaaaaabbbbbb", b"c"]


def test_export_streams_article_by_article(team, client):
    client.force_login(team.owner)
    big = "Long text. " * 25_000  # 275,000 characters: one article fills a chunk
    assert len(big) > exports.CHUNK_BYTES
    for n in range(3):
        ArticleFactory(corpus=team.corpus, title=f"Big {n}", text=big)
    response = client.get(URL.format(slug="chips"), {"format": "jsonl"})
    chunks = list(response.streaming_content)
    assert len(chunks) >= 3
    assert b"".join(chunks).count(b"\n") == 4


# --- Query counts ---------------------------------------------------------------------------


def _grow(corpus, users, topic, articles: int, claims: int):
    for n in range(articles):
        article = ArticleFactory(corpus=corpus, title=f"Grown {n}")
        made = []
        for k in range(claims):
            claim = ClaimFactory(article=article, start=k * 3, end=k * 3 + 2, summary="s")
            made.append(claim)
            for user in users:
                annotation = AnnotationFactory(claim=claim, annotator=user, topic=topic)
                EvidenceFactory(annotation=annotation)
            ReviewFactory(claim=claim, curator=users[0], topic=topic)
            CommentFactory(claim=claim, author=users[0])
        for a, b in zip(made, made[1:], strict=False):
            RelationFactory(source_claim=a, target_claim=b)


def _count_queries(client, slug, fmt) -> int:
    with CaptureQueriesContext(connection) as captured:
        _, body = export(client, slug=slug, format=fmt)
    assert body
    return len(captured)


# The request's own (session, corpus and role, the transaction) and the reader's: one batch of
# nine queries less one for each part the format does not write (`spec.PARTS`), and the query
# that finds the next batch.
QUERIES_PER_EXPORT = {"jsonl": 14, "w3c": 14, "brat": 13, "csv": 12, "aif": 10}


@pytest.mark.parametrize("fmt", ["jsonl", "w3c", "brat", "csv", "aif"])
def test_query_count_does_not_grow_with_the_corpus(team, client, fmt):
    owner = team.owner
    small = Corpus.objects.create(slug="small", name="Small", created_by=owner)
    large = Corpus.objects.create(slug="large", name="Large", created_by=owner)
    annotators = [UserFactory(username=f"q{i}") for i in range(3)]
    for corpus in (small, large):
        Membership.objects.create(corpus=corpus, user=owner, role="owner")
        topic = Topic.objects.create(corpus=corpus, label="T")
        _grow(
            corpus,
            annotators[:1] if corpus is small else annotators,
            topic,
            articles=1 if corpus is small else 4,
            claims=1 if corpus is small else 6,
        )
    client.force_login(owner)
    small_count = _count_queries(client, "small", fmt)
    large_count = _count_queries(client, "large", fmt)
    assert (small_count, large_count) == (QUERIES_PER_EXPORT[fmt],) * 2


def test_reader_batches_articles_with_a_fixed_number_of_queries(team):
    owner = team.owner
    for n in range(5):
        article = ArticleFactory(corpus=team.corpus, title=f"Batch {n}")
        AnnotationFactory(claim=ClaimFactory(article=article), annotator=owner)
    filters = exports.ExportFilters()
    with CaptureQueriesContext(connection) as captured:
        rows = list(exports.read_articles(team.corpus, filters, batch_size=2))
    assert len(rows) == 6
    # One query finds the articles (`PLANNED_AT_ONCE` at a time), then eight per batch of (at
    # most) two articles, three batches.
    assert len(captured) == 1 + 8 * 3


def _batches_read(monkeypatch) -> list[list[int]]:
    """The article ids of each batch the reader reads, in order, filled as the export runs."""
    seen: list[list[int]] = []
    original = export_reader._read_batch

    def spy(filters, names, run, article_ids, parts):
        seen.append(list(article_ids))
        return original(filters, names, run, article_ids, parts)

    monkeypatch.setattr(export_reader, "_read_batch", spy)
    return seen


def test_reader_closes_a_batch_once_its_texts_reach_the_byte_budget(team, monkeypatch):
    texts = ["é" * 500, "a" * 300, "b" * 300, "c" * 2000, "d" * 10]  # é is two bytes
    made = [
        ArticleFactory(corpus=team.corpus, title=f"Sized {n}", text=t) for n, t in enumerate(texts)
    ]
    ids = [a.pk for a in made]
    filters = exports.ExportFilters(article_ids=tuple(ids))
    seen = _batches_read(monkeypatch)
    rows = list(exports.read_articles(team.corpus, filters, batch_bytes=1000))
    assert [row.text for row in rows] == texts
    # 1000 bytes: the first article alone reaches it; the next two stay under it (600 bytes)
    # until the third joins them; the last one is a batch of its own.
    assert seen == [ids[:1], ids[1:4], ids[4:]]


def test_the_reader_finds_the_articles_a_page_of_ids_at_a_time(team, monkeypatch):
    """The articles' ids and sizes are read `PLANNED_AT_ONCE` at a time, the batches cut from
    them: every article once, in id order, and one more query only when a page was full."""
    monkeypatch.setattr(export_reader, "PLANNED_AT_ONCE", 4)
    for n in range(5):
        ArticleFactory(corpus=team.corpus, title=f"Paged {n}")
    seen = _batches_read(monkeypatch)
    with CaptureQueriesContext(connection) as captured:
        rows = list(exports.read_articles(team.corpus, exports.ExportFilters(), batch_size=3))
    ids = list(
        Article.objects.filter(corpus=team.corpus).order_by("id").values_list("id", flat=True)
    )
    assert [int(row.id) for row in rows] == ids
    assert len(ids) == 6
    assert seen == [ids[:3], ids[3:]]
    # Two pages of ids (the first full), then eight queries for each of the two batches.
    assert len(captured) == 2 + 8 * 2


def _reader_threads() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "export-reader" and t.is_alive()]


def test_an_error_in_the_reader_is_raised_to_the_consumer_and_the_reader_stops(team, monkeypatch):
    for n in range(4):
        ArticleFactory(corpus=team.corpus, title=f"Err {n}")
    original = export_reader._read_batch
    calls = []

    def failing(filters, names, run, article_ids, parts):
        calls.append(article_ids)
        if len(calls) == 2:
            raise RuntimeError("the reader broke")
        return original(filters, names, run, article_ids, parts)

    monkeypatch.setattr(export_reader, "_read_batch", failing)
    rows = exports.read_articles(team.corpus, exports.ExportFilters(), batch_size=2)
    with pytest.raises(RuntimeError, match="the reader broke"):
        list(rows)
    assert _reader_threads() == []
    # The connection is this thread's own again.
    assert Article.objects.filter(corpus=team.corpus).count() == 5


def test_a_failing_query_in_the_reader_raises_a_database_error(team, monkeypatch):
    from django.db import DatabaseError

    def broken(filters, names, run, article_ids, parts):
        run(Article.objects.extra(tables=["no_such_table"]).values_list("id"))

    monkeypatch.setattr(export_reader, "_read_batch", broken)
    with pytest.raises(DatabaseError, match="no_such_table"):
        list(exports.read_articles(team.corpus, exports.ExportFilters()))
    assert _reader_threads() == []


def test_an_abandoned_export_stops_its_reader(team):
    for n in range(6):
        ArticleFactory(corpus=team.corpus, title=f"Gone {n}")
    rows = exports.read_articles(team.corpus, exports.ExportFilters(), batch_size=2)
    first = next(rows)
    assert first.title
    # PostgreSQL reads in a thread one batch ahead; SQLite in the consumer's thread (reader.py).
    assert len(_reader_threads()) == (1 if connection.vendor == "postgresql" else 0)
    rows.close()
    assert _reader_threads() == []
    assert Article.objects.filter(corpus=team.corpus).count() == 7


def test_rows_of_claims_left_out_inside_the_batch_range_are_not_written(team):
    """The reader reads the child tables of a batch by its id range when the ids nearly fill
    it (`InIds(loose=True)`): the annotations, evidence, reviews, comments and relations of
    claims in that range that the export leaves out (another article, the trash) come back
    from the database and must be dropped."""
    owner = team.owner
    kept = ArticleFactory(corpus=team.corpus, title="Kept", text="x" * 40)
    other = ArticleFactory(corpus=team.corpus, title="Other", text="y" * 40)
    claims = [
        ClaimFactory(article=article, start=k * 3, end=k * 3 + 2)
        for k, article in enumerate([kept, kept, other, kept, kept, kept])
    ]
    for claim in claims:
        annotation = AnnotationFactory(claim=claim, annotator=owner, topic=team.topic)
        EvidenceFactory(annotation=annotation)
        ReviewFactory(claim=claim, curator=owner, topic=team.topic)
        CommentFactory(claim=claim, author=owner)
    trashed = claims[4]
    Claim.objects.filter(pk=trashed.pk).update(deleted_at=timezone.now())
    RelationFactory(source_claim=claims[2], target_claim=claims[0])  # from the other article
    RelationFactory(source_claim=claims[3], target_claim=trashed)  # to the trash
    RelationFactory(source_claim=trashed, target_claim=claims[5])  # from the trash
    kept_relation = RelationFactory(source_claim=claims[0], target_claim=claims[1])
    spec = exports.parse_export_params(team.corpus, {"format": ["jsonl"], "article": [kept.pk]})

    with CaptureQueriesContext(connection) as captured:
        (article,) = list(exports.read_articles(team.corpus, spec.filters))

    exported = [claims[0], claims[1], claims[3], claims[5]]
    assert [c.id for c in article.claims] == [str(c.pk) for c in exported]
    for claim in article.claims:
        assert len(claim.annotations) == 1
        assert len(claim.annotations[0].evidence) == 1
        assert claim.review is not None
        assert len(claim.comments) == 1
    assert [(r.id, r.source, r.target) for r in article.relations] == [
        (str(kept_relation.pk), 0, 1)
    ]
    # The annotations were read by the claims' range alone (ids 0-5 for 4 claims).
    (annotation_query,) = [q["sql"] for q in captured if 'FROM "articles_annotation"' in q["sql"]]
    assert "BETWEEN" in annotation_query
    assert "ANY" not in annotation_query and "json_each" not in annotation_query


def test_the_cyclic_collector_is_off_while_an_export_reads_and_back_after(team, monkeypatch):
    import gc

    for n in range(4):
        ArticleFactory(corpus=team.corpus, title=f"Collected {n}")
    assert gc.isenabled()
    rows = exports.read_articles(team.corpus, exports.ExportFilters(), batch_size=2)
    next(rows)
    assert not gc.isenabled()
    assert len(list(rows)) == 4
    assert gc.isenabled()

    # Abandoned half-way: back on when the generator is closed.
    rows = exports.read_articles(team.corpus, exports.ExportFilters(), batch_size=2)
    next(rows)
    rows.close()
    assert gc.isenabled()

    # Overlapping pauses: on again only when the last one ends.
    with export_reader.collector_paused():
        with export_reader.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()

    # Turned off by someone else before: left off.
    gc.disable()
    try:
        assert len(list(exports.read_articles(team.corpus, exports.ExportFilters()))) == 5
        assert not gc.isenabled()
    finally:
        gc.enable()

    # An error in the reader: back on.
    def failing(filters, names, run, article_ids, parts):
        raise RuntimeError("the reader broke")

    monkeypatch.setattr(export_reader, "_read_batch", failing)
    with pytest.raises(RuntimeError):
        list(exports.read_articles(team.corpus, exports.ExportFilters()))
    assert gc.isenabled()


@pytest.mark.parametrize("fmt", ["brat", "csv", "aif"])
def test_a_format_reading_only_its_parts_writes_the_same_bytes(team, rich, fmt):
    """The lighter formats skip the queries for what they do not write: the same format made
    to read everything writes the same content (the brat zip compared entry by entry)."""
    spec = exports.parse_export_params(team.corpus, {"format": [fmt]})
    assert spec.format.parts < exports.PARTS
    reading_all = dataclasses.replace(
        spec, format=dataclasses.replace(spec.format, parts=exports.PARTS)
    )
    light, full = (b"".join(exports.stream(s)) for s in (spec, reading_all))
    if fmt == "brat":
        light_zip, full_zip = (zipfile.ZipFile(io.BytesIO(b)) for b in (light, full))
        names = light_zip.namelist()
        assert names == full_zip.namelist() and names
        assert all(light_zip.read(n) == full_zip.read(n) for n in names)
    else:
        assert light == full
        assert len(light) > 200


def test_without_the_context_part_the_texts_csv_does_not_write_are_not_read(team, rich):
    """CSV's parts leave out "context": the articles' texts and the claims' prefixes, suffixes
    and timestamps come back as None (not read); with it, as stored."""
    csv_parts = exports.parse_export_params(team.corpus, {"format": ["csv"]}).format.parts
    assert "context" not in csv_parts
    filters = exports.ExportFilters()
    lights = list(exports.read_articles(team.corpus, filters, parts=csv_parts))
    fulls = list(exports.read_articles(team.corpus, filters))
    assert any(c.prefix for a in fulls for c in a.claims)
    for light, full in zip(lights, fulls, strict=True):
        assert full.text and full.created_at and full.language is not None
        assert (light.text, light.author, light.created_at, light.language) == (None,) * 4
        assert (light.id, light.title, light.text_version) == (
            full.id, full.title, full.text_version,
        )  # fmt: skip
        for light_claim, claim in zip(light.claims, full.claims, strict=True):
            assert claim.created_at
            assert (light_claim.prefix, light_claim.suffix, light_claim.created_at) == (None,) * 3
            assert (light_claim.exact, light_claim.summary) == (claim.exact, claim.summary)


# --- Management command ---------------------------------------------------------------------


def test_export_command_writes_the_same_bytes_as_the_api(team, client, rich, tmp_path):
    _, api_body = export(client, format="jsonl")
    target = tmp_path / "chips.jsonl"
    call_command("export_corpus", "chips", "--format", "jsonl", "--output", str(target))
    assert target.read_bytes() == api_body
    _, csv_body = export(client, format="csv", annotator="anna")
    csv_target = tmp_path / "chips.csv"
    call_command(
        "export_corpus", "chips", "--format", "csv", "--annotator", "anna", "-o", str(csv_target)
    )
    assert csv_target.read_bytes() == csv_body


def test_export_command_rejects_bad_filters(team, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="status"):
        call_command("export_corpus", "chips", "--status", "final", "-o", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="No corpus"):
        call_command("export_corpus", "missing", "-o", str(tmp_path / "x"))


# Any text a database can hold: every code point but the surrogates (and NUL, which
# PostgreSQL refuses).
_stored_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))


@settings(max_examples=200, deadline=None)
@given(
    text=_stored_text,
    labels=st.lists(_stored_text, max_size=3),
    numbers=st.tuples(st.integers(0, 2**62), st.integers(0, 2**31), st.none() | st.integers(1, 5)),
)
def test_jsonl_line_equals_json_dumps_for_any_text(text, labels, numbers):
    from articles.exports import jsonl

    big, small, confidence = numbers
    stamp = "2025-01-31T12:00:00.000000Z"
    annotation = exports.AnnotationRow(
        str(big), text, text, "support", labels, confidence, text, "draft", stamp, stamp,
        evidence=[
            exports.SpanEvidenceRow("span", small, small + len(text), text, "study", "supports"),
            exports.SourceEvidenceRow("source", text, text, text, "other", "undermines"),
        ],
    )  # fmt: skip
    claim = exports.ClaimRow(
        str(small), small, small + 1, text, text, text, text, labels, text, stamp, stamp,
        exports.AnchorRow("fuzzy", 0.8, 2),
        annotations=[annotation],
        review=exports.ReviewRow(text, "accepted", None, "oppose", text, stamp, stamp),
        comments=[exports.CommentRow(str(big), text, text, stamp)],
    )  # fmt: skip
    article = exports.ArticleRow(
        str(big), text, text, text, text, None, "en", 2, stamp, stamp,
        claims=[claim],
        relations=[exports.RelationRow(str(small), 0, 0, "supports", text, stamp)],
    )  # fmt: skip
    expected = json.dumps(jsonl.article_dict(article), ensure_ascii=False, separators=(",", ":"))
    assert jsonl.article_line(article) == expected.encode() + b"\n"


def test_jsonl_written_directly_equals_json_dumps_of_the_dict(team, rich):
    """The fast writer must give exactly json.dumps' bytes, tricky strings included."""
    from articles.exports import jsonl

    rich.claims.rules.summary = (
        'Quotes " and \\ backslash, tab\t, NUL-free control \x01\x1f, DEL \x7f'
    )
    rich.claims.rules.save()
    Annotation.objects.filter(claim=rich.claims.families, annotator=team.annotator).update(
        note='line\nbreak \u2028 separator, \U0001f469\u200d\U0001f469 emoji, "quoted"',
        labels=['a "label"', "b\\c"],
    )
    rows = list(exports.read_articles(team.corpus, exports.ExportFilters()))
    assert rows
    for row in rows:
        expected = json.dumps(jsonl.article_dict(row), ensure_ascii=False, separators=(",", ":"))
        assert jsonl.article_line(row) == expected.encode() + b"\n"


def _group_of(claim) -> dict | None:
    link = ClaimGroupMember.objects.filter(claim=claim).select_related("group").first()
    return {"id": str(link.group_id), "label": link.group.label} if link else None


def _reference_line(article) -> dict:
    """The JSONL line of an article rebuilt from model instances, the slow obvious way (without
    timestamps), to hold the batched reader's row assembly to."""

    def evidence(e):
        if e.kind == "span":
            keys = ("kind", "start", "end", "exact", "evidence_type", "role")
        else:
            keys = ("kind", "url", "title", "quote", "evidence_type", "role")
        return {key: getattr(e, key) for key in keys}

    claims = list(Claim.objects.alive().filter(article=article).order_by("start", "-end", "id"))
    index = {claim.pk: n for n, claim in enumerate(claims)}
    lines = []
    for claim in claims:
        annotations = claim.annotations.order_by("annotator__username", "id")
        review = Review.objects.filter(claim=claim).first()
        lines.append(
            {
                "id": str(claim.pk),
                **{k: getattr(claim, k) for k in ("start", "end", "exact", "prefix", "suffix")},
                "summary": claim.summary,
                "labels": claim.labels,
                "created_by": claim.created_by.username,
                "anchor": {
                    "status": claim.anchor_status,
                    "score": claim.anchor_score,
                    "version": claim.anchor_version,
                },
                "annotations": [
                    {
                        "id": str(a.pk),
                        "annotator": a.annotator.username,
                        "topic": a.topic.label,
                        "stance": a.stance,
                        "labels": a.labels,
                        "confidence": a.confidence,
                        "note": a.note,
                        "status": a.status,
                        "evidence": [evidence(e) for e in a.evidence.order_by("position", "id")],
                    }
                    for a in annotations
                ],
                "review": None
                if review is None
                else {
                    "curator": review.curator.username,
                    "decision": review.decision,
                    "topic": review.topic.label if review.topic else None,
                    "stance": review.stance,
                    "note": review.note,
                },
                "comments": [
                    {"id": str(c.pk), "author": c.author.username, "text": c.text}
                    for c in claim.comments.order_by("created_at", "id")
                ],
                "group": _group_of(claim),
            }
        )
    relations = Relation.objects.filter(source_claim__in=claims, target_claim__in=claims)
    return {
        "id": str(article.pk),
        "title": article.title,
        "text": article.text,
        "author": article.author,
        "source_url": article.source_url,
        "published_on": article.published_on.isoformat() if article.published_on else None,
        "text_version": article.text_version,
        "language": article.language,
        "claims": lines,
        "relations": [
            {
                "id": str(r.pk),
                "source": index[r.source_claim_id],
                "target": index[r.target_claim_id],
                "kind": r.kind,
                "created_by": r.created_by.username,
            }
            for r in relations.order_by("id")
        ],
    }


def _without_timestamps(value):
    if isinstance(value, dict):
        for key in ("created_at", "updated_at"):
            if key in value:
                stamp = value.pop(key)
                assert isinstance(stamp, str) and stamp.endswith("Z") and "T" in stamp
        return {key: _without_timestamps(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_timestamps(item) for item in value]
    return value


def test_jsonl_lines_equal_a_reference_built_from_the_models(team, client, rich):
    """The batched reader (plain rows, assembled by hand) gives what the models say: emoji, CJK,
    right-to-left text, labels, evidence of both kinds, reviews, comments and relations."""
    AnnotationFactory(claim=rich.claims.cjk, annotator=team.annotator, labels=["x", "y"])
    CommentFactory(claim=rich.claims.rtl, author=team.annotator2, text="研究者 👩\u200d👧")
    group = ClaimGroup.objects.create(
        corpus=team.corpus, label="Same «claim»", created_by=team.owner
    )
    group.members.create(claim=rich.claims.cjk)
    _, body = export(client, format="jsonl")
    lines = [_without_timestamps(line) for line in jsonl_lines(body)]
    articles = Article.objects.alive().filter(corpus=team.corpus).order_by("id")
    assert lines == [_reference_line(article) for article in articles]
    assert any(line["relations"] for line in lines)


# --- Queries compiled once per export -----------------------------------------------------


def test_a_prepared_query_writes_what_django_compiles_for_the_same_ids(team):
    """`sql.Prepared` compiles a query once and writes each batch's ids into it: the SQL and
    parameters are those of the same queryset compiled with the ids, for dense, sparse, loose
    and empty id sets."""
    from articles.exports.sql import Bound, IdSlot, InIds, Prepared

    def queryset(ids, loose):
        return (
            Annotation.objects.filter(InIds("claim_id", ids, loose=loose), stance="support")
            .order_by("claim_id")
            .values_list("id", "note")
        )

    cases = [list(range(10, 20)), [5, 900, 40_000], [1, 2, 3, 7], [3], []]
    for loose in (False, True):
        slot = IdSlot("claims")
        prepared = Prepared(queryset(slot, loose), slot)
        for ids in cases:
            compiled = queryset(ids, loose).query.get_compiler(using="default").as_sql()
            assert prepared(ids) == Bound(compiled[0], tuple(compiled[1]))
    with pytest.raises(ValueError, match="no single place"):
        Prepared(queryset([1], False), IdSlot("claims"))


_TRICKY = (
    'Curly \u201cquotes\u201d and \u2018single\u2019, a backslash \\ and "straight" ones, '
    "tab\t, controls \x01\x1f, DEL \x7f, line\nbreak, \u2028 and \u2029 separators, "
    "emoji \U0001f469\u200d\U0001f469\u200d\U0001f467 and \U0001f680, CJK \u7814\u7a76, "
    'combining q\u0307, right-to-left \u05e9\u05dc\u05d5\u05dd, {"json": [1, 2]} </script>'
)
assert unicodedata.normalize("NFC", _TRICKY) == _TRICKY


def _golden_corpus(team):
    """The rich corpus, plus articles, claims and notes in the characters that escaping gets
    wrong (quotes, backslashes, controls, separators, astral emoji), a claim group and a
    review without a topic, spread over several batches."""
    rich = build_rich_corpus(team)
    tricky = _TRICKY
    articles = []
    for n in range(3):
        article = ArticleFactory(
            corpus=team.corpus, title=f"{tricky[:40]} {n}", text=f"{tricky} {n}. {TEXT}"
        )
        articles.append(article)
        claim = claim_at(article, tricky[:60], labels=["Claim", "«é»"], summary=tricky[-30:])
        other = claim_at(article, "Families say chip prices doubled")
        annotation = AnnotationFactory(
            claim=claim, annotator=team.annotator2, note=tricky, labels=[tricky[:9]]
        )
        AnnotationFactory(claim=claim, annotator=team.annotator, stance="oppose")
        span_evidence(annotation, "Families say", role="undermines")
        EvidenceFactory(
            annotation=annotation, quote=tricky, title=tricky[:20], url="https://e.x/\\"
        )
        ReviewFactory(
            claim=other, curator=team.curator, decision="rejected", topic=None, note=tricky
        )
        CommentFactory(claim=claim, author=team.curator, text=tricky)
        RelationFactory(source_claim=other, target_claim=claim, kind="rephrases")
    group = ClaimGroup.objects.create(corpus=team.corpus, label=tricky[:30], created_by=team.owner)
    group.members.create(claim=rich.claims.cjk)
    return articles


class _CompiledWithTheIds:
    """The reader before `sql.Prepared`, for the golden comparison: each batch's querysets
    built again and compiled by Django with the batch's ids in their `InIds`."""

    def __init__(self, queryset, *slots) -> None:
        self.queryset, self.slots = queryset, slots

    def __call__(self, *ids):
        from articles.exports.sql import Bound, Ids, InIds

        found: dict[int, InIds] = {}  # a node may be reached by two paths (a lookup's lhs)

        def visit(node) -> None:
            if isinstance(node, InIds):
                found[id(node)] = node
                return
            for child in getattr(node, "children", ()):
                visit(child)
            for side in ("lhs", "rhs"):
                if hasattr(node, side):
                    visit(getattr(node, side))
            if hasattr(node, "get_source_expressions"):
                for expression in node.get_source_expressions():
                    visit(expression)

        query = self.queryset.query
        for part in (query, *query.combined_queries):
            visit(part.where)
        by_slot = {
            id(slot): [int(i) for i in (batch.values if isinstance(batch, Ids) else batch)]
            for slot, batch in zip(self.slots, ids, strict=True)
        }
        assert sorted(id(node.slot) for node in found.values()) == sorted(by_slot)
        for node in found.values():
            node.slot, node.ids = None, by_slot[id(node.slot)]
        sql, params = query.get_compiler(using=self.queryset.db).as_sql()
        return Bound(sql, tuple(params))


def _all_bytes(spec) -> bytes | dict[str, bytes]:
    body = b"".join(exports.stream(spec))
    if spec.format.name != "brat":
        return body
    archive = zipfile.ZipFile(io.BytesIO(body))
    return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("fmt", ["jsonl", "w3c", "brat", "csv", "aif"])
@pytest.mark.parametrize(
    "params",
    [{}, {"annotator": ["anna"]}, {"status": ["submitted"]}, {"gold_only": ["true"]}],
    ids=["all", "annotator", "status", "gold_only"],
)
def test_every_format_writes_the_same_bytes_as_with_queries_compiled_per_batch(
    team, monkeypatch, fmt, params
):
    """Golden comparison: each format's bytes, with the reader's queries compiled once per
    export and each batch's ids written into them, equal the bytes with every query built and
    compiled by Django with the ids for each batch (the reader before `sql.Prepared`), over
    batches of one and of several articles, on a corpus of tricky text."""
    _golden_corpus(team)
    spec = exports.parse_export_params(team.corpus, {"format": [fmt], **params})
    monkeypatch.setattr(export_reader, "FIRST_BATCH", 1)  # a first batch of one article
    # A cache of compiled queries of this test's own, the process's restored after it: the side
    # with `_CompiledWithTheIds` finds the plan's query compiled by the first (IdIs, which the
    # stand-in does not rewrite), and any stand-in it keeps there (one batch's ids written into
    # it) must not serve later exports. Sharing the process's cache, an overflow between the
    # two sides (`_COMPILED_KEPT`) made the stand-ins kept, and failed other tests at random.
    monkeypatch.setattr(export_reader, "_COMPILED", {})
    prepared = _all_bytes(spec)

    original = export_reader._read_batch

    def built_per_batch(filters, names, run, article_ids, parts):
        names.queries = None
        names._names_query = None
        return original(filters, names, run, article_ids, parts)

    monkeypatch.setattr(export_reader, "_read_batch", built_per_batch)
    monkeypatch.setattr(export_reader, "Prepared", _CompiledWithTheIds)
    # JSONL on SQLite: the database writes the rows' JSON (`fragments`), its queries likewise.
    original_lines = export_fragments._batch_lines

    def lines_built_per_batch(queries, names, run, article_ids):
        names._names_query = None
        fresh = export_fragments._FragmentQueries(queries.filters)
        return original_lines(fresh, names, run, article_ids)

    monkeypatch.setattr(export_fragments, "_batch_lines", lines_built_per_batch)
    monkeypatch.setattr(export_fragments, "Prepared", _CompiledWithTheIds)
    assert _all_bytes(spec) == prepared
    assert prepared
    if fmt == "jsonl" and not params:
        assert isinstance(prepared, bytes)
        # Not str.splitlines: it also splits at U+2028, which JSON leaves unescaped.
        lines = [json.loads(line) for line in prepared.split(b"\n")[:-1]]
        assert len(lines) == 5
        assert sum(line["text"].startswith(_TRICKY) for line in lines) == 3


def test_update_stamps_equal_to_or_apart_from_the_creation_stamps_are_exported_as_stored(team):
    """The reader asks the database for an update stamp only where it differs from the creation
    stamp (`sql.IsoTextUnlessSame`) and repeats the creation text otherwise: both cases, for
    every row kind that has the two stamps."""
    import datetime as dt

    def iso(value):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    created = timezone.now().replace(microsecond=120000) - timedelta(days=3)
    later = created + timedelta(hours=5, microseconds=7)
    rows, ids = {}, []
    for name, updated in (("same", created), ("apart", later)):
        article = ArticleFactory(corpus=team.corpus, title=name)
        claim = ClaimFactory(article=article)
        annotation = AnnotationFactory(claim=claim, annotator=team.owner, topic=team.topic)
        review = ReviewFactory(claim=claim, curator=team.owner, topic=team.topic)
        for model, pk in (
            (Article, article.pk),
            (Claim, claim.pk),
            (Annotation, annotation.pk),
            (Review, review.pk),
        ):
            model.objects.filter(pk=pk).update(created_at=created, updated_at=updated)
        rows[name] = updated
        ids.append(article.pk)

    filters = exports.ExportFilters(article_ids=tuple(ids))
    exported = list(exports.read_articles(team.corpus, filters))
    assert [article.title for article in exported] == ["same", "apart"]
    for article in exported:
        expected = (iso(created), iso(rows[article.title]))
        (claim,) = article.claims
        (annotation,) = claim.annotations
        assert claim.review is not None
        for row in (article, claim, annotation, claim.review):
            assert (row.created_at, row.updated_at) == expected
    assert iso(created) != iso(later)


def test_rows_without_comments_or_evidence_share_one_empty_list_that_stays_empty(team):
    """The reader hands claims without comments and annotations without evidence one shared
    empty list (`reader._NONE_YET`) and gives a row its own list on its first child."""
    article = ArticleFactory(corpus=team.corpus, text="x" * 60)
    bare, commented = (ClaimFactory(article=article, start=k * 20, end=k * 20 + 9) for k in (0, 1))
    for claim in (bare, commented):
        AnnotationFactory(claim=claim, annotator=team.owner, topic=team.topic)
    backed = AnnotationFactory(claim=commented, annotator=team.annotator, topic=team.topic)
    EvidenceFactory(annotation=backed)
    EvidenceFactory(annotation=backed)
    CommentFactory(claim=commented, author=team.owner)
    CommentFactory(claim=commented, author=team.owner)

    filters = exports.ExportFilters(article_ids=(article.pk,))
    (row,) = list(exports.read_articles(team.corpus, filters))
    first, second = row.claims
    assert first.comments == [] and len(second.comments) == 2
    assert first.comments is export_reader._NONE_YET
    evidence = {a.annotator: len(a.evidence) for a in second.annotations}
    assert evidence == {team.owner.username: 0, team.annotator.username: 2}
    assert first.annotations[0].evidence == []
    assert export_reader._NONE_YET == []
