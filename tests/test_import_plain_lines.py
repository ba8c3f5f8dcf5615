"""The JSONL import's two planners (articles/imports/jsonl.py): `_plan_plain` for the common line
and `_plan_checked`, every check with its message. Whatever the line, the plain planner either
gives up (None) or plans exactly what the full checks plan; a line the full checks refuse, it
always gives up on, so every error is still worded by the full checks."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from articles.imports import ImportContext, jsonl
from articles.imports.jsonl import LineProblems
from articles.models import Topic
from tests.test_exports import build_rich_corpus, export, jsonl_lines

pytestmark = pytest.mark.django_db

# Curly quotes, an em dash, astral emoji, a ZWJ family, CJK, a combining mark, right to left.
TEXT = (
    "Chips matter \u2014 \u201cthey said\u201d. \U0001f680 Prices doubled in \u7814\u7a76\u8005 "
    "labs. Rules fail \U0001f469\u200d\U0001f469\u200d\U0001f467. Caf\u00e9 q\u0307 "
    "\u05e9\u05dc\u05d5\u05dd end."
)


def _span(text: str, words: str) -> dict[str, Any]:
    start = text.index(words)
    end = start + len(words)
    return {
        "start": start,
        "end": end,
        "exact": words,
        "prefix": text[max(0, start - 32) : start],
        "suffix": text[end : end + 32],
    }


def plain_line() -> dict[str, Any]:
    """The benchmark's shape and more: offsets with their quote and context, annotations with
    every field, evidence of both kinds, a relation."""
    return {
        "title": "Plain",
        "text": TEXT,
        "author": "A. Writer",
        "published_on": "2024-05-01",
        "id": 17,  # ignored, as every key the line does not define
        "claims": [
            {
                **_span(TEXT, "Prices doubled"),
                "summary": "  Prices up.  ",
                "labels": [],
                "created_by": "anna",
                "annotations": [
                    {
                        "annotator": "anna",
                        "topic": "Chips are scarce",
                        "stance": "support",
                        "labels": [],
                        "confidence": 3,
                        "note": " A note.\r\n",
                        "status": "submitted",
                        "evidence": [
                            {"kind": "span", **_span(TEXT, "Rules fail"), "role": "undermines"},
                            {"kind": "source", "url": "https://example.org/r", "title": "R"},
                        ],
                    },
                    {"annotator": "arjun", "stance": "oppose", "evidence": []},
                ],
                "review": None,
                "comments": [],
                "group": None,
            },
            {"start": 0, "end": 5, "annotations": [{"annotator": "olivia", "stance": "neutral"}]},
            {**_span(TEXT, "\U0001f469\u200d\U0001f469\u200d\U0001f467"), "annotations": []},
        ],
        "relations": [{"source": 1, "target": 0, "kind": "supports"}],
    }


def normalised_line() -> dict[str, Any]:
    """A text the import normalises (CR LF, a combining mark composed): offsets are mapped."""
    raw = "Caf\u0065\u0301 time.\r\nPrices rose in labs.\r\nRules failed."
    start = raw.index("Prices rose")
    return {
        "title": "CRLF",
        "text": raw,
        "claims": [
            {
                "start": start,
                "end": start + len("Prices rose"),
                "annotations": [
                    {
                        "annotator": "anna",
                        "stance": "support",
                        "evidence": [{"start": raw.index("Rules"), "end": len(raw) - 1}],
                    }
                ],
            }
        ],
    }


def rarer_line() -> dict[str, Any]:
    """A review, comments and a group (planned by the full checks claim by claim) and
    suggestions."""
    data = plain_line()
    data["claims"][0]["review"] = {"curator": "carmen", "decision": "accepted", "stance": "oppose"}
    data["claims"][1]["comments"] = [{"author": "carmen", "text": "Looks right."}]
    data["claims"][2]["group"] = {"label": "Families"}
    data["suggestions"] = [
        {"model": "m@1", "start": 0, "end": 5, "stance": "support", "score": 0.5}
    ]
    return data


def _context(team) -> ImportContext:
    return ImportContext(actor=team.owner, corpus=team.corpus)


def _plans(context: ImportContext, data: Any):
    """(plain, full) for one line; full is None when the checks refuse it."""
    if isinstance(data, dict):
        context.load_members(jsonl._usernames(data))
    try:
        full = jsonl._plan_checked(context, copy.deepcopy(data))
    except LineProblems:
        full = None
    return jsonl._plan_plain(context, copy.deepcopy(data)), full


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every value inside a line (keys and indexes), the line's own last."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))
    yield path


def _replaced(data: Any, path: tuple, value: Any) -> Any:
    changed = copy.deepcopy(data)
    if not path:
        return value
    target = changed
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        if isinstance(target, dict):
            del target[path[-1]]
        else:
            target.pop(path[-1])
    else:
        target[path[-1]] = value
    return changed


_DELETE = object()
ODD_VALUES = [
    _DELETE,
    None,
    "",
    " ",
    0,
    1,
    -1,
    3,
    7,
    2**64,
    True,
    False,
    1.5,
    [],
    {},
    ["x"],
    "support",
    "submitted",
    "anna",
    "victor",  # a viewer
    "oscar",  # not a member
    "carmen",
    "Chips matter",
    "Prices",
    "a\x00b",
    "\ud800",
    "line\nbreak",
    "e\u0301",
    "x" * 2500,
]


@pytest.mark.parametrize("make", [plain_line, normalised_line, rarer_line])
def test_the_plain_planner_plans_what_the_full_checks_plan(team, make):
    context = _context(team)
    plain, full = _plans(context, make())
    assert full is not None
    assert plain == full


def test_the_plain_planner_takes_the_benchmarks_line_and_the_common_ones(team):
    """Not a silent fallback: the shapes of a large import go the plain way."""
    context = _context(team)
    for make in (plain_line, normalised_line, rarer_line):
        data = make()
        context.load_members(jsonl._usernames(data))
        assert jsonl._plan_plain(context, data) is not None, make.__name__


@pytest.mark.parametrize("make", [plain_line, normalised_line, rarer_line])
def test_a_changed_value_anywhere_is_planned_the_same_or_left_to_the_full_checks(team, make):
    base = make()
    context = _context(team)
    tried = refused = plain_taken = 0
    for path in _paths(base):
        for value in ODD_VALUES:
            if value is _DELETE and not path:
                continue
            data = _replaced(base, path, value)
            plain, full = _plans(context, data)
            tried += 1
            if full is None:
                refused += 1
                assert plain is None, (path, value)
            elif plain is not None:
                plain_taken += 1
                assert plain == full, (path, value)
    # The changes did both: many refused lines, and many the plain planner still took.
    assert refused > 100 and plain_taken > 20, (tried, refused, plain_taken)


def test_the_exported_lines_of_a_rich_corpus_are_planned_the_same(team, client):
    client.force_login(team.owner)
    build_rich_corpus(team)
    _, body = export(client, format="jsonl")
    context = _context(team)
    lines = jsonl_lines(body)
    assert lines
    for data in lines:
        plain, full = _plans(context, data)
        assert full is not None and plain is not None
        assert plain == full
        # Each of its values changed: the same, or left to the full checks.
        for path in _paths(data):
            for value in (None, "", 0, -1, [], "oscar", "victor", "\x00"):
                plain, full = _plans(context, _replaced(data, path, value))
                assert plain is None or plain == full, (path, value)


def test_errors_are_worded_by_the_full_checks_with_their_line_numbers(team):
    """A bad value in a plain line: the same message and line as before the plain planner."""
    from articles import imports

    good = plain_line()
    bad = plain_line()
    bad["claims"][0]["annotations"][0]["stance"] = "maybe"
    bad["claims"][1]["start"] = 10_000
    body = "\n".join(json.dumps(line) for line in (good, bad, good)).encode()
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="x.jsonl", data=body
        )
    assert failure.value.errors == [
        (
            2,
            "claims[0].annotations[0].stance: stance must be one of support, oppose, neutral; "
            "got 'maybe'.; claims[1].start: start (10000) is past the end of the text "
            f"({len(TEXT)} characters).",
        )
    ]
    assert not Topic.objects.filter(corpus=team.corpus, label="Chips are scarce").exists()


def test_a_username_the_database_cannot_compare_is_a_non_member_not_a_crash(team):
    from articles import imports

    data = plain_line()
    data["claims"][0]["annotations"][0]["annotator"] = "\ud800"
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner,
            corpus=team.corpus,
            role="owner",
            name="x.jsonl",
            data=json.dumps(data).encode(),
        )
    assert "is not a member of this corpus" in failure.value.errors[0][1]


# Numbers orjson reads differently from `json` (floats) and values it refuses where `json` reads
# them (a lone surrogate, NaN, an infinite number): the plain planner sees orjson's value.
ORJSON_DIFFERS = [2**64, 2**70, -(2**63) - 1, 10**30, -(10**30), float("nan"), float("inf")]


def _read_fast(data: Any) -> tuple[Any, Any]:
    """The line as the import reads it (_decode_fast): orjson's value, and `json`'s."""
    raw = json.dumps(data).encode()  # (a lone surrogate as its escape, which `json` reads)
    fast, problem, checked = jsonl._decode_fast(raw, True)
    if checked is None:  # orjson refused the line: `json` read it, and nothing else sees it
        return fast, fast
    assert problem is None
    return fast, checked()


@pytest.mark.parametrize("make", [plain_line, normalised_line, rarer_line])
def test_a_line_read_by_orjson_is_planned_as_json_reads_it(team, make):
    """Wherever a number orjson reads differently is put, or a value it refuses, the plain
    planner on orjson's value gives up or plans what the full checks plan on `json`'s."""
    base = make()
    context = _context(team)
    tried = refused = 0
    for path in _paths(base):
        for value in [*ORJSON_DIFFERS, "\ud800"]:
            fast, slow = _read_fast(_replaced(base, path, value))
            if isinstance(slow, dict):
                context.load_members(jsonl._usernames(slow))
            try:
                full = jsonl._plan_checked(context, copy.deepcopy(slow))
            except LineProblems:
                full = None
            plain = jsonl._plan_plain(context, copy.deepcopy(fast))
            tried += 1
            if full is None:
                refused += 1
                assert plain is None, (path, value)
            elif plain is not None:
                assert plain == full, (path, value)
    assert refused > 20, (tried, refused)


def test_a_number_past_64_bits_is_refused_in_the_words_json_gives_it(team):
    """orjson reads 10**30 as a float; the line's error still names the integer."""
    from articles import imports

    bad = plain_line()
    bad["claims"][1]["start"] = 10**30
    bad["claims"][0]["annotations"][0]["confidence"] = -(2**70)
    body = "\n".join(json.dumps(line) for line in (plain_line(), bad)).encode()
    with pytest.raises(imports.ImportFailed) as failure:
        imports.import_file(
            actor=team.owner, corpus=team.corpus, role="owner", name="x.jsonl", data=body
        )
    [(line, message)] = failure.value.errors
    assert line == 2
    assert f"got {-(2**70)}." in message, message  # an integer, not a float
    assert "start (a 100-bit number) is past the end" in message, message


def test_imported_articles_carry_their_texts_hash(team):
    """The planner hashes each text (normalised) for the writer: the hash the ORM would store."""
    import hashlib

    from articles import imports
    from articles.models import Article

    lines = [plain_line(), normalised_line(), rarer_line()]
    body = "\n".join(json.dumps(line) for line in lines).encode()
    result = imports.import_file(
        actor=team.owner, corpus=team.corpus, role="owner", name="x.jsonl", data=body
    )
    stored = Article.objects.filter(pk__in=result.article_ids).values_list("text", "text_sha256")
    assert len(stored) == 3
    for text, digest in stored:
        assert digest == hashlib.sha256(text.encode()).hexdigest()
