"""Exports carry the claim group: JSONL (and its import restores it), AIF (MA nodes between the
group's claims), W3C (a classifying body naming the group) and CSV (two closing columns)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from articles import imports
from articles.models import ClaimGroup, ClaimGroupMember, Role
from tests.factories import ArticleFactory, ClaimFactory
from tests.test_exports import export, jsonl_lines
from tests.test_roundtrip import empty_corpus, without_ids

LABEL = 'Chip rules are "shortsighted" & <b>late</b>'


@pytest.fixture
def grouped(team, client):
    """Three claims in three articles; the first two in one group, the third in none."""
    client.force_login(team.owner)
    claims = [
        ClaimFactory(article=team.article, start=0, end=20),
        ClaimFactory(article=ArticleFactory(corpus=team.corpus), start=0, end=20),
        ClaimFactory(article=ArticleFactory(corpus=team.corpus), start=0, end=20),
    ]
    group = ClaimGroup.objects.create(corpus=team.corpus, label=LABEL, created_by=team.curator)
    for claim in claims[:2]:
        group.members.create(claim=claim)
    return group, claims


def test_jsonl_claims_name_their_group_and_the_import_restores_it(team, client, grouped):
    group, claims = grouped
    _, body = export(client, format="jsonl")
    lines = jsonl_lines(body)
    groups = [c["group"] for line in lines for c in line["claims"]]
    assert groups == [{"id": str(group.pk), "label": LABEL}] * 2 + [None]

    copy = empty_corpus(team, "copy")
    imports.import_file(actor=team.owner, corpus=copy, role=Role.OWNER, name="c.jsonl", data=body)
    restored = ClaimGroup.objects.get(corpus=copy)
    assert restored.label == LABEL and restored.pk != group.pk
    assert ClaimGroupMember.objects.filter(group=restored).count() == 2
    _, again = export(client, slug="copy", format="jsonl")
    assert without_ids(jsonl_lines(again)) == without_ids(lines)
    # Imported a second time into the same corpus: the claims join the group of that label.
    imports.import_file(actor=team.owner, corpus=copy, role=Role.OWNER, name="c.jsonl", data=body)
    assert ClaimGroup.objects.filter(corpus=copy).count() == 1
    assert ClaimGroupMember.objects.filter(group=restored).count() == 4


def test_a_bad_group_makes_the_line_bad(team):
    line = {
        "title": "T",
        "text": "Some text here.",
        "claims": [{"start": 0, "end": 4, "group": {"label": ""}}],
    }
    data = json.dumps(line).encode() + b"\n"
    with pytest.raises(imports.ImportFailed) as failed:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role=Role.OWNER, name="x.jsonl", data=data
        )
    assert "claims[0].group.label" in str(failed.value.errors)
    assert not ClaimGroup.objects.exists()


def test_aif_links_the_group_claims_by_ma_nodes(client, grouped):
    group, claims = grouped
    _, body = export(client, format="aif")
    document = json.loads(body)
    ma = [n for n in document["nodes"] if n["type"] == "MA"]
    assert [n["nodeID"] for n in ma] == [f"g{group.pk}-c{claims[1].pk}"]
    edges = {(e["fromID"], e["toID"]) for e in document["edges"]}
    node = ma[0]["nodeID"]
    assert edges == {(f"c{claims[0].pk}", node), (node, f"c{claims[1].pk}")}
    ids = {n["nodeID"] for n in document["nodes"]}
    assert all(e["fromID"] in ids and e["toID"] in ids for e in document["edges"])


def test_w3c_names_the_group(client, grouped):
    group, claims = grouped
    _, body = export(client, format="w3c")
    items = json.loads(body)["first"]["items"]
    highlights = {i["id"].rsplit("/", 1)[-1]: i for i in items if i["motivation"] == "highlighting"}
    body_of = highlights[str(claims[0].pk)]["body"]
    assert {
        "type": "TextualBody",
        "value": LABEL,
        "format": "text/plain",
        "purpose": "classifying",
        "id": f"http://testserver/api/v1/claim-groups/{group.pk}",
    } in body_of
    assert "body" not in highlights[str(claims[2].pk)]


def test_csv_names_the_group(client, grouped):
    group, claims = grouped
    _, body = export(client, format="csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    by_claim = {row["claim_id"]: row for row in rows}
    assert by_claim[str(claims[0].pk)]["claim_group_id"] == str(group.pk)
    assert by_claim[str(claims[0].pk)]["claim_group_label"] == LABEL
    assert by_claim[str(claims[2].pk)]["claim_group_label"] == ""
