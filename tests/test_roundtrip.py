"""Export JSONL -> import into an empty corpus -> export again: the same corpus comes back.

The corpus carries emoji (a ZWJ family), CJK, combining marks, right-to-left text, relations of
every kind, evidence spans and outside sources, reviews (accepted and rejected), comments,
several annotators, draft and submitted annotations, and trash that must not travel.
"""

from __future__ import annotations

import io
import zipfile

from articles import imports
from articles.models import Corpus, Membership, Role, Topic
from tests.test_exports import build_rich_corpus, export, jsonl_lines

VOLATILE = {"id", "created_at", "updated_at"}


def without_ids(value):
    """Drop what an import cannot keep: ids and timestamps."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def empty_corpus(team, slug: str) -> Corpus:
    """A corpus without articles, with the team's members: the import names users who must be
    members of it."""
    corpus = Corpus.objects.create(slug=slug, name="Copy", created_by=team.owner)
    for user, role in [
        (team.owner, Role.OWNER),
        (team.curator, Role.CURATOR),
        (team.annotator, Role.ANNOTATOR),
        (team.annotator2, Role.ANNOTATOR),
    ]:
        Membership.objects.create(corpus=corpus, user=user, role=role)
    return corpus


def test_jsonl_round_trip_gives_the_same_corpus(team, client):
    client.force_login(team.owner)
    build_rich_corpus(team)
    _, first = export(client, format="jsonl")
    copy = empty_corpus(team, "copy")
    result = imports.import_file(
        actor=team.owner, corpus=copy, role=Role.OWNER, name="chips.jsonl", data=first
    )
    original = jsonl_lines(first)
    assert result.articles == len(original) == 2
    assert result.claims == sum(len(line["claims"]) for line in original)
    assert result.relations == 3 and result.reviews == 2 and result.comments == 2
    assert list(Topic.objects.filter(corpus=copy).values_list("label", flat=True)) == [
        team.topic.label
    ]
    _, second = export(client, slug="copy", format="jsonl")
    again = jsonl_lines(second)
    assert without_ids(again) == without_ids(original)
    # Nothing was lost on the way: the texts are byte for byte the same, emoji and all.
    assert [line["text"] for line in again] == [line["text"] for line in original]
    assert "👩\u200d👩\u200d👧" in again[1]["text"] and "q\u0307" in again[1]["text"]
    # ... and the copy exports again to the same bytes once ids and timestamps are aside.
    copy2 = empty_corpus(team, "copy2")
    imports.import_file(
        actor=team.owner, corpus=copy2, role=Role.OWNER, name="copy.jsonl", data=second
    )
    _, third = export(client, slug="copy2", format="jsonl")
    assert without_ids(jsonl_lines(third)) == without_ids(again)


def test_brat_round_trip_of_one_layer(team, client):
    """A single-layer brat export (gold_only) imports back with the same spans and stances."""
    client.force_login(team.owner)
    rich = build_rich_corpus(team)
    _, body = export(client, format="brat", gold_only="true")
    copy = empty_corpus(team, "brat-copy")
    Topic.objects.create(corpus=copy, label="Gold")
    result = imports.import_file(
        actor=team.owner, corpus=copy, role=Role.OWNER, name="chips.zip", data=body
    )
    assert result.articles == 1 and result.claims == 1 and result.annotations == 1
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert any(n.endswith(".ann") for n in names)
    _, again = export(client, slug="brat-copy", format="jsonl")
    (line,) = jsonl_lines(again)
    (claim,) = line["claims"]
    families = rich.claims.families
    assert line["text"] == rich.article.text
    assert (claim["start"], claim["end"], claim["exact"]) == (
        families.start,
        families.end,
        families.exact,
    )
    assert claim["labels"] == ["MajorClaim"]
    assert claim["annotations"][0]["stance"] == "oppose"  # the gold stance, "Against"
    evidence = claim["annotations"][0]["evidence"]
    assert [(e["exact"], e["role"]) for e in evidence] == [
        ("研究者は別の見方をしている。", "supports")
    ]
