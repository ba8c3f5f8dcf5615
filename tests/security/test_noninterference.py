"""Blind mode means noninterference (DESIGN.md): before the blind annotator has submitted an
article, nothing anyone else wrote on it reaches her, in any form. The test of it: every page,
fragment, list (with every filter), count, export and error she can reach is identical whether or
not the others have worked, and so is the outcome of her own writes.

How: the world (noninterference.py) holds her own work; the others' work is done inside a
savepoint; she walks everything (walk.py) and the answers are recorded (recording.py); the
savepoint is rolled back and she walks again. Only CSRF tokens and CSP nonces are normalised.
Both walks run at the same pinned moment, so no clock reading can differ; the objects the others
create keep their ids in the walk without them, where those ids are as missing as any (each kind
of id is also asked with one that never exists, the reference "missing" answer, in both walks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from django.urls import reverse

from .matrix import discovered_patterns, isolated
from .noninterference import MISSING_ID, World, at, build_world, others_work
from .recording import Answer, client_for, existence_leaks, record, report
from .walk import Probe, parameters_the_views_read, walk
from .writes import WRITES, perform, write_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_request_log() -> Iterator[None]:
    """Thousands of expected 403/404/405 answers: their logged tracebacks cost seconds."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture
def world(team) -> World:
    return build_world(team)


def _walk_with_and_without(world: World, user, keep: Callable[[Probe], bool] = lambda p: True):
    """(probes, answers without the others' work, answers with it), `user` asking the probes
    of the walk that `keep` keeps."""
    client = client_for(user)

    def with_others():
        others_work(world)
        probes, problems = walk(world)
        assert not problems, "The walk does not know how to fill:\n" + "\n".join(problems)
        probes = [p for p in probes if keep(p)]
        with at(world.moments.anna):
            return probes, record(client, probes)

    probes, answers_with = isolated(with_others)
    with at(world.moments.anna):
        answers_without = record(client, probes)
    return probes, answers_without, answers_with


def test_the_walk_covers_every_url_filter_and_page_parameter(world):
    """Every URL pattern, each filter of each FilterSet with each of its values, every export
    format, and every query parameter the views read; and the others' future ids."""
    isolated(lambda: others_work(world))
    probes, problems = walk(world)
    assert not problems, "\n".join(problems)
    assert {p.name for p in probes} == set(discovered_patterns())
    asked = {(p.name, k, v) for p in probes for k, v in p.query}
    slug, article = world.corpus.slug, world.article.pk
    for expected in [
        ("api-claims", "decision", "accepted"),
        ("api-claims", "decision", "rejected"),
        ("api-claims", "reviewed", "true"),
        ("api-claims", "reviewed", "false"),
        ("api-claims", "annotator", "arjun"),
        ("api-annotations", "status", "submitted"),
        ("api-articles", "state", "submitted"),
        ("api-corpus-agreement", "status", "submitted"),
        ("corpus", "status", "submitted"),
        ("article", "filter", "disagreements"),
        ("corpus-agreement", "format", "csv"),
        *[("api-corpus-export", "format", f) for f in ("jsonl", "w3c", "brat", "csv", "aif")],
    ]:
        assert expected in asked, expected
    urls = {p.url for p in probes}
    for kind in ("annotation", "relation"):
        for their_id in world.theirs[kind]:
            assert any(f"/{their_id}" in url for url in urls), (kind, their_id)
    assert reverse("api-claim", kwargs={"id": MISSING_ID}) in urls
    assert f"/api/v1/corpora/{slug}/export?format=aif" in urls
    assert any(p.follow and p.path == f"/api/v1/articles/{article}/claims" for p in probes)
    assert parameters_the_views_read() >= {"claim", "filter", "q", "status", "page", "state"}


def test_everything_the_blind_annotator_reads_is_the_same_whether_or_not_others_worked(world):
    probes, without, with_ = _walk_with_and_without(world, world.blind)
    assert len(probes) > 800
    # Without the others' work their ids are missing ones: the reference answer holds there.
    assert not existence_leaks(without, world.theirs), existence_leaks(without, world.theirs)
    differing, text = report(without, with_)
    existing = existence_leaks(with_, world.theirs)
    if existing:
        text += (
            f"\n\nOf these, {len(existing)} answer for the others' objects otherwise than for an "
            "id that never exists:\n" + "\n".join(existing)
        )
    if differing:
        pytest.fail(text, pytrace=False)


def test_the_walk_sees_the_others_work_when_a_curator_walks(world):
    """The same walk, as the curator, who sees everything: it must find the others' work, or
    the blind annotator's clean walk would prove nothing. Every URL with every fill, htmx and
    page by page, but of the query variants only the claims list's (they would double the
    time, and the blind walk asks them all)."""
    probes, without, with_ = _walk_with_and_without(
        world,
        world.users["curator"],
        keep=lambda p: not p.query or p.follow or p.name == "api-claims",
    )
    differing, text = report(without, with_, who="the curator")
    names = {p.name for p in differing}
    assert names >= {
        "api-annotations",
        "api-annotation",
        "api-review",
        "api-comments",
        "api-relations",
        "api-claims",
        "article",
        "claim-panel",
        "review-claim",
        "claim-thread",
        "corpus-review",
        "api-corpus-agreement",
        "api-suggestions",
    }, text
    queries = {dict(p.query).get("decision") for p in differing if p.name == "api-claims"}
    assert {"accepted", "rejected"} <= queries
    # The others' ids: answered as missing ones before their work, as theirs after it.
    assert not existence_leaks(without, world.theirs)
    shown = "\n".join(existence_leaks(with_, world.theirs))
    for kind, name in (("annotation", "api-annotation"), ("relation", "api-relation")):
        for their_id in world.theirs[kind]:
            assert f"GET {reverse(name, kwargs={'id': their_id})}: " in shown, shown
    # No difference comes from the recording itself: the login page is the same.
    assert not [p for p in differing if p.name in ("login", "tokens")]


def _answers_status(answers: tuple[Answer, ...]) -> int:
    return answers[0].status


def test_the_blind_annotators_own_writes_answer_the_same_whether_or_not_others_worked(world):
    """Each of her writes, in its own savepoint, once after the others' work and once without
    it: the answer, the page a redirect leads to (with its message) and her claims list
    afterwards must be the same. Her new objects get the same ids in both runs."""
    client = client_for(world.blind)

    def run_all():
        return {w.label: isolated(lambda w=w: perform(client, world, w)) for w in WRITES}

    def with_others():
        others_work(world)
        return run_all()

    with_ = isolated(with_others)
    without = run_all()
    unexpected = [
        f"{w.label}: {_answers_status(without[w.label][0][1])}, not one of {w.expect}"
        for w in WRITES
        if _answers_status(without[w.label][0][1]) not in w.expect
    ]
    assert not unexpected, "Writes that did not do what the test meant:\n" + "\n".join(unexpected)
    text = write_report(without, with_)
    if text:
        pytest.fail(text, pytrace=False)
