"""Corpus imports: native JSONL, brat zips and single articles; all or nothing, every bad line
reported, size limits (413), content types (415), zip safety, permissions, the command."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from articles import imports, selectors
from articles.imports import OffsetMap
from articles.imports import brat as brat_import
from articles.models import (
    Annotation,
    Article,
    Assignment,
    AuditEvent,
    Claim,
    Comment,
    Corpus,
    Evidence,
    Membership,
    Relation,
    Review,
    Role,
    Topic,
)

URL = "/api/v1/corpora/{slug}/import"
TEXT = "Chips matter. 👩‍👩‍👧 Prices doubled in 研究者 labs. Rules fail."


def line(**overrides) -> dict:
    start = TEXT.index("Prices doubled")
    data = {
        "title": "An op-ed",
        "text": TEXT,
        "claims": [
            {
                "start": start,
                "end": start + len("Prices doubled"),
                "exact": "Prices doubled",
                "labels": [],
                "annotations": [
                    {
                        "annotator": "anna",
                        "topic": "Chips are scarce",
                        "stance": "support",
                        "confidence": 3,
                        "note": "A note.",
                        "evidence": [
                            {"kind": "span", "exact": "Rules fail.", "evidence_type": "example"},
                            {"kind": "source", "url": "https://example.org/r", "title": "R"},
                        ],
                    },
                    {"annotator": "arjun", "stance": "oppose", "status": "submitted"},
                ],
                "review": {"curator": "carmen", "decision": "accepted", "stance": "oppose"},
                "comments": [{"author": "carmen", "text": "Looks right."}],
            },
            {"exact": "Chips matter."},
        ],
        "relations": [{"source": 1, "target": 0, "kind": "supports"}],
    }
    data.update(overrides)
    return data


def jsonl(*lines) -> bytes:
    return b"".join(
        (item if isinstance(item, bytes) else json.dumps(item, ensure_ascii=False).encode()) + b"\n"
        for item in lines
    )


def post(client, body: bytes, content_type: str, slug: str = "chips", **params):
    url = URL.format(slug=slug)
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(url, data=body, content_type=content_type)


def counts(corpus) -> tuple:
    return (
        Article.objects.filter(corpus=corpus).count(),
        Claim.objects.filter(article__corpus=corpus).count(),
        Annotation.objects.filter(claim__article__corpus=corpus).count(),
        Topic.objects.filter(corpus=corpus).count(),
    )


# --- JSONL ----------------------------------------------------------------------------------


def test_jsonl_import_creates_everything_and_audits(team, client):
    client.force_login(team.owner)
    response = post(
        client, jsonl(line(), {"title": "Bare", "text": "Just text."}), "application/x-ndjson"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: v for k, v in body.items() if not k.endswith("_ids")} == {
        "articles": 2,
        "claims": 2,
        "annotations": 2,
        "evidence": 2,
        "relations": 1,
        "reviews": 1,
        "comments": 1,
        "topics": 1,
        "suggestions": 0,
    }
    article = Article.objects.get(corpus=team.corpus, title="An op-ed")
    assert article.created_by == team.owner
    claim = Claim.objects.get(article=article, exact="Prices doubled")
    assert article.text[claim.start : claim.end] == "Prices doubled"
    anna = Annotation.objects.get(claim=claim, annotator=team.annotator)
    assert anna.topic.label == "Chips are scarce"  # created
    assert anna.status == "draft" and anna.confidence == 3
    arjun = Annotation.objects.get(claim=claim, annotator=team.annotator2)
    assert arjun.topic == team.topic  # absent: the corpus's first topic
    assert arjun.status == "submitted"
    span = Evidence.objects.get(annotation=anna, kind="span")
    assert article.text[span.start : span.end] == "Rules fail."
    review = Review.objects.get(claim=claim)
    assert (review.curator, review.topic, review.stance) == (team.curator, team.topic, "oppose")
    relation = Relation.objects.get(target_claim=claim)
    assert relation.source_claim.exact == "Chips matter." and relation.kind == "supports"
    assert Comment.objects.get(claim=claim).author == team.curator
    event = AuditEvent.objects.get(verb="corpus.import")
    assert event.corpus == team.corpus and event.actor == team.owner
    assert event.after["articles"] == 2 and event.after["format"] == "jsonl"


def test_every_bad_line_is_reported_and_nothing_is_written(team, client):
    client.force_login(team.owner)
    before = counts(team.corpus)
    bad_user = line()
    bad_user["claims"][0]["annotations"][0]["annotator"] = "zed"
    bad_offsets = line()
    bad_offsets["claims"][0]["end"] = 10_000
    wrong_exact = line()
    wrong_exact["claims"][0]["exact"] = "Prices tripled"
    bad_stance = line()
    bad_stance["claims"][0]["annotations"][1]["stance"] = "maybe"
    body = jsonl(
        line(),
        bad_user,
        line(title="Fine too"),
        b'{"title": "broken", ',
        bad_offsets,
        b"",
        wrong_exact,
        bad_stance,
        [1, 2],
    )
    response = post(client, body, "application/x-ndjson")
    assert response.status_code == 400
    payload = response.json()
    reported = {item["line"]: item["reason"] for item in payload["lines"]}
    assert sorted(reported) == [2, 4, 5, 7, 8, 9]
    assert "claims[0].annotations[0].annotator: annotator 'zed' is not a member" in reported[2]
    assert "Not valid JSON" in reported[4]
    assert "claims[0].end" in reported[5] and "past the end" in reported[5]
    assert "claims[0].exact" in reported[7] and "does not match" in reported[7]
    assert "claims[0].annotations[1].stance" in reported[8]
    assert "JSON object" in reported[9]
    assert payload["errors"]["file"][0].startswith("line 2: ")
    assert "6 problems" in payload["detail"] and "nothing was imported" in payload["detail"]
    assert counts(team.corpus) == before
    assert not Topic.objects.filter(label="Chips are scarce").exists()
    assert not AuditEvent.objects.filter(verb="corpus.import").exists()


def test_two_bad_lines_listed_both(team, client):
    client.force_login(team.owner)
    before = counts(team.corpus)
    response = post(
        client,
        jsonl(
            {"title": "ok", "text": "fine"}, {"title": "", "text": "x"}, {"title": "y", "text": ""}
        ),
        "application/x-ndjson",
    )
    assert response.status_code == 400
    assert [item["line"] for item in response.json()["lines"]] == [2, 3]
    assert counts(team.corpus) == before


def test_submitted_annotations_record_a_submitted_assignment(team):
    second = line(title="Second")
    # anna submitted here on the second claim, drafted on the first: her article is submitted.
    second["claims"][0]["annotations"][0]["status"] = "draft"
    second["claims"][1]["annotations"] = [
        {"annotator": "anna", "stance": "support", "status": "submitted"}
    ]
    imports.import_file(
        actor=team.owner,
        corpus=team.corpus,
        role="owner",
        name="x.jsonl",
        data=jsonl(line(), second, {"title": "Bare", "text": "Just text."}),
    )
    first = Article.objects.get(corpus=team.corpus, title="An op-ed")
    other = Article.objects.get(corpus=team.corpus, title="Second")
    rows = Assignment.objects.filter(article__corpus=team.corpus).values_list(
        "article_id", "annotator__username", "state"
    )
    assert sorted(rows) == sorted(
        [
            (first.pk, "arjun", "submitted"),  # anna only drafted on the first article
            (other.pk, "anna", "submitted"),
            (other.pk, "arjun", "submitted"),
        ]
    )
    assert not Assignment.objects.filter(
        article__corpus=team.corpus, submitted_at__isnull=True
    ).exists()
    assert selectors.has_submitted(user=team.annotator2, article=first)
    assert not selectors.has_submitted(user=team.annotator, article=first)


def test_jsonl_rules_match_the_api(team):
    def reasons(data: dict) -> str:
        with pytest.raises(imports.ImportFailed) as failure:
            imports.import_file(
                actor=team.owner, corpus=team.corpus, role="owner", name="x.jsonl", data=jsonl(data)
            )
        return failure.value.errors[0][1]

    twice = line()
    twice["claims"][0]["annotations"][1]["annotator"] = "anna"
    assert "annotated this claim twice" in reasons(twice)
    assert "not a claim index" in reasons(
        line(relations=[{"source": 0, "target": 5, "kind": "supports"}])
    )
    assert "itself" in reasons(line(relations=[{"source": 0, "target": 0, "kind": "supports"}]))
    no_gold = line()
    no_gold["claims"][0]["review"] = {"curator": "carmen", "decision": "accepted"}
    assert "gold stance" in reasons(no_gold)
    ambiguous = line(text="same same", claims=[{"exact": "same"}], relations=[])
    assert "ambiguous" in reasons(ambiguous)
    team.corpus.claim_labels = ["Claim"]
    team.corpus.save()
    labelled = line(claims=[{"exact": "Chips matter.", "labels": ["Other"]}], relations=[])
    assert "labels" in reasons(labelled)


def test_offsets_refer_to_the_text_as_given_and_follow_normalisation(team):
    raw = "Caf\u0065\u0301 time.\r\nPrices rose."
    start = raw.index("Prices rose")
    data = {"title": "CRLF", "text": raw, "claims": [{"start": start, "end": start + 11}]}
    imports.import_file(
        actor=team.owner, corpus=team.corpus, role="owner", name="a.jsonl", data=jsonl(data)
    )
    article = Article.objects.get(title="CRLF")
    claim = Claim.objects.get(article=article)
    assert article.text == "Café time.\nPrices rose."
    assert article.text[claim.start : claim.end] == "Prices rose"
    assert claim.start == start - 2  # one combining mark composed, one CR dropped


def test_offset_map_maps_positions_through_normalisation():
    raw = "\ufeffa\r\nb"
    mapping = OffsetMap(raw, "a\nb", [0, 1, 2, 3, 4, 5])
    assert [mapping(p) for p in (1, 2, 4)] == [0, 1, 2]
    assert OffsetMap("same", "same")(3) == 3


def test_absent_topic_in_a_corpus_without_topics_is_an_error(team):
    empty = Corpus.objects.create(slug="empty", name="Empty", created_by=team.owner)
    Membership.objects.create(corpus=empty, user=team.annotator, role=Role.ANNOTATOR)
    data = {
        "title": "T",
        "text": "A claim here.",
        "claims": [
            {"exact": "A claim", "annotations": [{"annotator": "anna", "stance": "support"}]}
        ],
    }
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=empty, role="owner", name="a.jsonl", data=jsonl(data)
        )
    assert "no topic" in failure.value.errors[0][1]
    data["claims"][0]["annotations"][0]["topic"] = "Named"
    result = imports.import_file(
        actor=team.owner, corpus=empty, role="owner", name="a.jsonl", data=jsonl(data)
    )
    assert result.topics == 1 and Topic.objects.get(corpus=empty).label == "Named"


def test_an_empty_file_is_refused(team, client):
    client.force_login(team.owner)
    response = post(client, b"\n\n", "application/x-ndjson")
    assert response.status_code == 400
    assert "no article" in response.json()["errors"]["file"][0]


def test_many_bad_lines_are_capped_and_counted(team, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ERRORS", 3)
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.jsonl", data=b"x\n" * 5
        )
    assert len(failure.value.errors) == 3 and failure.value.more == 2
    assert "5 problems" in str(failure.value)


# --- Single articles ------------------------------------------------------------------------


def test_plain_text_with_title(team, client):
    client.force_login(team.owner)
    response = post(
        client, "Line one.\r\nLine two 👩‍👩‍👧.".encode(), "text/plain; charset=utf-8", title="Plain"
    )
    assert response.status_code == 201
    article = Article.objects.get(title="Plain")
    assert article.text == "Line one.\nLine two 👩‍👩‍👧."


def test_plain_text_without_title_takes_its_first_line(team, client):
    client.force_login(team.owner)
    assert post(client, b"\n  Headline here\nBody.", "text/plain").status_code == 201
    assert Article.objects.filter(title="Headline here").exists()


def test_html_is_cleaned_to_text_and_never_kept_as_markup(team):
    page = (
        b"<html><head><title>Chips &amp; rules</title><script>alert(1)</script>"
        b"<style>p{}</style></head><body><h1>Head</h1><p>First <b>bold</b> para.</p>"
        b"<p>Second para.</p></body></html>"
    )
    imports.import_file(
        actor=team.owner, corpus=team.corpus, role="owner", name="p.html", data=page
    )
    article = Article.objects.get(title="Chips & rules")
    assert "First bold para." in article.text and "Second para." in article.text
    assert "<" not in article.text and "alert" not in article.text


def test_markdown_title_from_heading_and_text_kept(team):
    imports.import_file(
        actor=team.owner,
        corpus=team.corpus,
        role="owner",
        name="n.md",
        data=b"# The heading\n\nBody *text*.",
    )
    assert Article.objects.get(title="The heading").text == "# The heading\n\nBody *text*."


def test_text_file_title_from_its_name_and_utf8_required(team):
    imports.import_file(
        actor=team.owner, corpus=team.corpus, role="owner", name="dir/my-op-ed.txt", data=b"Body."
    )
    assert Article.objects.filter(title="my-op-ed").exists()
    with pytest.raises(imports.ImportFailed, match="problem") as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="b.txt", data=b"caf\xe9"
        )
    assert failure.value.status == 400 and "not valid UTF-8" in failure.value.errors[0][1]


def test_content_not_the_name_decides(team):
    """A text file with an odd name is read as text; binary data is refused (415) whatever its
    name, with what it looks like and what the import reads."""
    imports.import_file(
        actor=team.owner, corpus=team.corpus, role="owner", name="notes.data", data=b"Plain."
    )
    assert Article.objects.get(title="notes").text == "Plain."
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.txt", data=b"\x00\x01\x02"
        )
    assert failure.value.status == 415
    assert "a.txt looks like binary data" in failure.value.errors[0][1]
    assert ".docx" in failure.value.errors[0][1]


# --- Limits and content types ---------------------------------------------------------------


def test_body_over_the_limit_is_413(team, client, settings):
    settings.IMPORT_MAX_BYTES = 50
    client.force_login(team.owner)
    response = post(client, jsonl({"title": "t", "text": "x" * 100}), "application/x-ndjson")
    assert response.status_code == 413
    assert not Article.objects.filter(title="t").exists()
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.txt", data=b"x" * 51
        )
    assert failure.value.status == 413


def test_single_article_over_the_text_limit_is_413(team, client, settings):
    settings.ARTICLE_MAX_CHARS = 10
    client.force_login(team.owner)
    response = post(client, b"x" * 11, "text/plain", title="Long")
    assert response.status_code == 413
    assert response.json()["errors"]["file"] == [
        "The text has 11 characters; an article holds at most 10 characters."
    ]


@pytest.mark.parametrize("content_type", ["application/json", "application/msword", "image/png"])
def test_wrong_content_type_is_415(team, client, content_type):
    client.force_login(team.owner)
    response = post(client, b"{}", content_type)
    assert response.status_code == 415
    assert "application/x-ndjson" in response.json()["detail"]


def test_multipart_upload(team, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(team.owner)
    upload = SimpleUploadedFile("batch.ndjson", jsonl({"title": "Uploaded", "text": "Body."}))
    response = client.post(URL.format(slug="chips"), {"file": upload})
    assert response.status_code == 201 and response.json()["articles"] == 1
    assert Article.objects.filter(title="Uploaded").exists()
    odd = SimpleUploadedFile("batch.exe", b"MZ\x90\x00\x03\x00\x00\x00")
    response = client.post(URL.format(slug="chips"), {"file": odd})
    assert response.status_code == 415
    assert "batch.exe looks like a Windows program" in response.json()["errors"]["file"][0]
    assert client.post(URL.format(slug="chips"), {"other": "x"}).status_code == 400


def test_import_permissions(team, client):
    body = jsonl({"title": "t", "text": "x"})
    assert post(client, body, "application/x-ndjson").status_code == 401
    for user in (team.curator, team.annotator, team.viewer):
        client.force_login(user)
        assert post(client, body, "application/x-ndjson").status_code == 403
    client.force_login(team.outsider)
    assert post(client, body, "application/x-ndjson").status_code == 404
    assert not Article.objects.filter(title="t").exists()
    with pytest.raises(Exception, match="owner"):
        imports.import_file(
            actor=team.curator, corpus=team.corpus, role="curator", name="a.txt", data=b"x"
        )


# --- brat -----------------------------------------------------------------------------------

ESSAY = (
    "Essay title\n\nSchools should teach coding. It builds 👩‍👩‍👧 skills. "
    "Some disagree, citing cost."
)


def essay_ann(text: str = ESSAY) -> str:
    def t(tid, kind, needle):
        start = text.index(needle)
        return f"{tid}\t{kind} {start} {start + len(needle)}\t{needle}"

    return (
        "\n".join(
            [
                t("T1", "MajorClaim", "Schools should teach coding"),
                t("T2", "Claim", "It builds 👩‍👩‍👧 skills"),
                t("T3", "Premise", "Some disagree, citing cost"),
                t("T4", "Evidence", "citing cost"),
                "A1\tStance T2 For",
                "A2\tStance T3 Against",
                "A3\tEvidenceType T4 statistic",
                "R1\tsupports Arg1:T2 Arg2:T1\t",
                "R2\tattacks Arg1:T3 Arg2:T1\t",
                "R3\tattacks Arg1:T4 Arg2:T3\t",
                "#1\tAnnotatorNotes T1\tThe thesis.",
            ]
        )
        + "\n"
    )


def make_zip(files: dict[str, str | bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content if isinstance(content, bytes) else content.encode())
    return buffer.getvalue()


def test_brat_zip_import(team, client):
    client.force_login(team.owner)
    body = make_zip(
        {
            "essays/essay001.txt": ESSAY,
            "essays/essay001.ann": essay_ann(),
            "essays/essay002.txt": "No annotations here.",
            "annotation.conf": "[entities]\nClaim\n",
        }
    )
    response = post(client, body, "application/zip")
    assert response.status_code == 201, response.json()
    assert response.json()["articles"] == 2 and response.json()["claims"] == 3
    article = Article.objects.get(title="essay001")
    claims = {c.exact: c for c in Claim.objects.filter(article=article)}
    assert set(claims) == {
        "Schools should teach coding",
        "It builds 👩‍👩‍👧 skills",
        "Some disagree, citing cost",
    }
    for claim in claims.values():
        assert article.text[claim.start : claim.end] == claim.exact
    assert claims["Schools should teach coding"].labels == ["MajorClaim"]
    assert claims["Schools should teach coding"].summary == "The thesis."
    skills = claims["It builds 👩‍👩‍👧 skills"]
    assert skills.start == ESSAY.index("It builds")  # code points, not UTF-16 units
    annotation = Annotation.objects.get(claim=skills)
    assert (annotation.annotator, annotation.stance, annotation.topic) == (
        team.owner,
        "support",
        team.topic,
    )
    premise = claims["Some disagree, citing cost"]
    evidence = Evidence.objects.get(annotation__claim=premise)
    assert (evidence.exact, evidence.evidence_type, evidence.role) == (
        "citing cost",
        "statistic",
        "undermines",
    )
    kinds = set(
        Relation.objects.filter(source_claim__article=article).values_list(
            "kind", "target_claim__exact"
        )
    )
    assert kinds == {
        ("supports", "Schools should teach coding"),
        ("attacks", "Schools should teach coding"),
    }
    assert Article.objects.filter(title="essay002").exists()


def test_brat_fragments_separated_by_whitespace_become_one_span(team):
    text = "First line\nsecond line."
    ann = "T1\tClaim 0 10;11 17\tFirst line second\nA1\tStance T1 Against\n"
    imports.import_file(
        actor=team.owner,
        corpus=team.corpus,
        role="owner",
        name="a.zip",
        data=make_zip({"a.txt": text, "a.ann": ann}),
    )
    claim = Claim.objects.get(article__title="a")
    assert claim.exact == "First line\nsecond"


def test_brat_errors_name_the_file_and_line(team):
    before = counts(team.corpus)
    ann = "\n".join(
        [
            "T1\tClaim 0 7\tSchools",  # text does not match (the .txt starts with "Essay")
            "T2\tPerson 0 5\tEssay",
            "T3\tClaim 0 5\tEssay",
            "A1\tStance T3 For",
            "A2\tStance T3 Against",
            "R1\tsupports Arg1:T3 Arg2:T9\t",
            "E1\tEvent:T3",
            "T4\tClaim 5 900\tx",
        ]
    )
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner,
            corpus=team.corpus,
            role="owner",
            name="a.zip",
            data=make_zip({"e.txt": ESSAY, "e.ann": ann, "orphan.ann": ""}),
        )
    errors = failure.value.errors
    by_line = {line: reason for line, reason in errors if line is not None}
    assert "does not match" in by_line[1] and by_line[1].startswith("e.ann: T1")
    assert "Person" in by_line[2]
    assert "two stances" in by_line[5]
    assert "T9" in by_line[6]
    assert "not imported" in by_line[7]
    assert "outside the text" in by_line[8]
    assert any("orphan.ann" in reason and "no matching .txt" in reason for _, reason in errors)
    assert counts(team.corpus) == before


def test_brat_evidence_needs_a_stance_on_its_claim(team):
    ann = "T1\tClaim 0 5\tEssay\nT2\tEvidence 6 11\ttitle\nR1\tsupports Arg1:T2 Arg2:T1\t\n"
    with pytest.raises(imports.ImportFailed, match="problem") as failure:
        imports.import_file(
            actor=team.owner,
            corpus=team.corpus,
            role="owner",
            name="a.zip",
            data=make_zip({"e.txt": ESSAY, "e.ann": ann}),
        )
    assert "no Stance" in failure.value.errors[0][1]


# --- Zip safety -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/etc/passwd.txt", "absolute path"),
        ("../outside.txt", "'..'"),
        ("essays/../../x.txt", "'..'"),
        ("C:/windows.txt", "absolute path"),
        ("..\\evil.ann", "'..'"),
    ],
)
def test_zip_entries_escaping_the_folder_are_refused(team, name, reason):
    data = make_zip({"fine.txt": "Fine.", name: "Evil."})
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.zip", data=data
        )
    assert failure.value.status == 400
    assert any(name in r and reason in r for _, r in failure.value.errors)
    assert not Article.objects.filter(title="fine").exists()


def test_zip_bomb_is_refused_before_extraction(team, monkeypatch):
    data = make_zip({"bomb.txt": b"\0" * (3 * 1024 * 1024)})
    read = []
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda self, *a: read.append(a) or b"")
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.zip", data=data
        )
    assert failure.value.status == 413
    assert (
        "bomb.txt" in failure.value.errors[0][1]
        and "compression bomb" in failure.value.errors[0][1]
    )
    assert read == []


def test_zip_total_size_and_entry_count_are_limited(team, settings, monkeypatch):
    settings.IMPORT_MAX_BYTES = 10_000
    data = make_zip({"a.txt": "x" * 6000, "b.txt": "y" * 6000})
    assert len(data) < 10_000
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.zip", data=data
        )
    assert failure.value.status == 413 and "expands to 12,000 bytes" in failure.value.errors[0][1]
    monkeypatch.setattr(brat_import, "MAX_ENTRIES", 2)
    data = make_zip({"a.txt": "A.", "b.txt": "B.", "c.txt": "C."})
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.zip", data=data
        )
    assert failure.value.status == 413 and "3 entries" in failure.value.errors[0][1]


def test_not_a_zip(team, client):
    client.force_login(team.owner)
    response = post(client, b"PK but not really", "application/zip")
    assert response.status_code == 400
    assert "Not a zip" in response.json()["errors"]["file"][0]


# --- Management command ---------------------------------------------------------------------


def test_import_command(team, tmp_path, capsys):
    path = tmp_path / "batch.jsonl"
    path.write_bytes(jsonl(line()))
    call_command("import_corpus", "chips", str(path), "--as", "carmen")
    article = Article.objects.get(title="An op-ed")
    assert article.created_by == team.curator
    assert "1 articles" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(jsonl({"title": "x"}, {"title": "y"}))
    with pytest.raises(CommandError, match="2 problems"):
        call_command("import_corpus", "chips", str(bad))
    assert "line 1:" in capsys.readouterr().err
    with pytest.raises(CommandError, match="No user"):
        call_command("import_corpus", "chips", str(path), "--as", "nobody")


def test_a_username_with_nul_is_a_non_member_not_a_crash(team):
    data = line()
    data["claims"][0]["annotations"][0]["annotator"] = "an\x00na"
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="a.jsonl", data=jsonl(data)
        )
    assert "is not a member of this corpus" in failure.value.errors[0][1]
