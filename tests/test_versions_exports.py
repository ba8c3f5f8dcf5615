"""Exports of an article whose text changed: every format says which text version its offsets
refer to and how each claim stands on it; orphans have no offsets anywhere; a JSONL export with
an orphan imports into an empty corpus with the orphan still an orphan."""

import csv
import io
import json
import zipfile

import pytest

from articles import imports, services
from articles.models import Claim, Role
from tests.factories import SAMPLE_TEXT, AnnotationFactory, ClaimFactory
from tests.test_exports import export, jsonl_lines
from tests.test_roundtrip import empty_corpus, without_ids

pytestmark = pytest.mark.django_db

PRICES = "Prices rose by 12% in a single quarter."
CRITICS = "Critics call the policy a gift to domestic rivals."
FIRST = "Restricting chip exports is shortsighted."


@pytest.fixture
def changed(team, client):
    """Three claims, tagged; then the figure corrected and the critics' sentence withdrawn."""
    client.force_login(team.owner)
    claims = {}
    for quote in (FIRST, PRICES, CRITICS):
        start = SAMPLE_TEXT.index(quote)
        claims[quote] = ClaimFactory(
            article=team.article, start=start, end=start + len(quote), created_by=team.annotator
        )
        AnnotationFactory(claim=claims[quote], annotator=team.annotator, topic=team.topic)
    services.article_text_replace(
        actor=team.owner,
        article=team.article,
        role=Role.OWNER,
        text=SAMPLE_TEXT.replace("12%", "21%").replace(CRITICS + " ", ""),
        version=None,
    )
    team.article.refresh_from_db()
    return claims


def test_jsonl_says_the_version_and_each_anchor(team, client, changed):
    _, body = export(client, format="jsonl")
    [line] = jsonl_lines(body)
    assert line["text_version"] == 2 and line["text"] == team.article.text
    by_quote = {c["exact"]: c for c in line["claims"]}
    orphan = by_quote[CRITICS]
    assert (orphan["start"], orphan["end"]) == (None, None)
    assert orphan["anchor"] == {"status": "orphaned", "score": 0.0, "version": 2}
    fuzzy = by_quote["Prices rose by 21% in a single quarter."]
    assert fuzzy["anchor"]["status"] == "fuzzy" and 0.75 <= fuzzy["anchor"]["score"] < 1
    assert line["text"][fuzzy["start"] : fuzzy["end"]] == fuzzy["exact"]
    assert by_quote[FIRST]["anchor"] == {"status": "exact", "score": 1.0, "version": 2}
    assert line["claims"][-1] is orphan  # orphans come after the placed claims


def test_csv_w3c_and_brat_leave_orphans_without_offsets(team, client, changed):
    _, body = export(client, format="csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    orphan = next(r for r in rows if r["claim_exact"] == CRITICS)
    assert (orphan["claim_start"], orphan["claim_end"]) == ("", "")
    assert orphan["claim_anchor_status"] == "orphaned" and orphan["text_version"] == "2"
    assert {r["claim_anchor_status"] for r in rows} == {"exact", "fuzzy", "orphaned"}

    _, body = export(client, format="w3c")
    items = json.loads(body)["first"]["items"]
    targets = {
        item["target"]["selector"][-1]["exact"]: item["target"]
        for item in items
        if item["motivation"] == "highlighting"
    }
    assert [s["type"] for s in targets[CRITICS]["selector"]] == ["TextQuoteSelector"]
    assert targets[CRITICS]["anchorStatus"] == "orphaned"
    assert [s["type"] for s in targets[FIRST]["selector"]] == [
        "TextPositionSelector",
        "TextQuoteSelector",
    ]
    assert targets[FIRST]["textVersion"] == 2

    _, body = export(client, format="brat")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        [ann] = [n for n in archive.namelist() if n.endswith(".ann")]
        lines = archive.read(ann).decode("utf-8").splitlines()
    covered = [line.split("\t")[2] for line in lines if line.startswith("T")]
    assert FIRST in covered and CRITICS not in covered
    assert len(covered) == 2


def test_an_orphan_survives_the_jsonl_round_trip(team, client, changed):
    _, first = export(client, format="jsonl")
    copy = empty_corpus(team, "copy")
    result = imports.import_file(
        actor=team.owner, corpus=copy, role=Role.OWNER, name="chips.jsonl", data=first
    )
    assert result.claims == 3
    orphan = Claim.objects.get(article__corpus=copy, exact=CRITICS)
    assert (orphan.start, orphan.end, orphan.anchor_status) == (None, None, "orphaned")
    assert orphan.prefix and orphan.annotations.count() == 1
    _, second = export(client, slug="copy", format="jsonl")

    def comparable(body):
        # The copy starts its own history: version 1, every placed claim exact on it.
        lines = without_ids(jsonl_lines(body))
        for line in lines:
            line.pop("text_version")
            for claim in line["claims"]:
                claim.pop("anchor")
        return lines

    assert comparable(second) == comparable(first)
