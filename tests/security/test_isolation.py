"""Isolation: every URL pattern × method × actor answers as the permission design says, another
corpus's ids (in the URL or in the body) reach nothing, and a refused write changes nothing.

The routes and their rules are in matrix.py. Every request runs in a savepoint that is rolled back,
so each one meets the same data; refused writes are checked against a fingerprint of the whole
database taken just before and just after the request.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from .matrix import (
    ACTORS,
    ANY_USER,
    MATRIX,
    MEMBERS,
    METHODS,
    OK,
    SKIPPED_PREFIXES,
    Call,
    Route,
    changes,
    clients_for,
    discovered_patterns,
    fingerprint,
    isolated,
    secrets_of,
    send,
    url_of,
    verdict,
)

pytestmark = pytest.mark.django_db


def _attempt(client, route, method, call, world, url, *, baseline: dict | None):
    """(response, what changed since `baseline`) for one request, rolled back afterwards.
    Every request starts from the same data, so one baseline fingerprint serves them all."""

    def run():
        response = send(client, route, method, call, world, url)
        return response, changes(baseline, fingerprint()) if baseline is not None else []

    return isolated(run)


def test_the_matrix_names_every_url_pattern():
    discovered = discovered_patterns()
    unlisted = sorted(set(discovered) - set(MATRIX))
    gone = sorted(set(MATRIX) - set(discovered))
    assert not unlisted, f"URL patterns without an entry in tests/security/matrix.py: {unlisted}"
    assert not gone, f"Matrix entries for URL names that no longer exist: {gone}"
    assert set(discovered) == set(MATRIX)
    assert SKIPPED_PREFIXES == ("admin/", "static/", "api/schema/", "api/docs/")
    for name, route in MATRIX.items():
        assert route.calls, name
        assert set(route.calls) <= set(METHODS), name


@pytest.mark.parametrize("actor", ACTORS)
def test_every_route_answers_each_actor_as_the_permissions_say(worlds, actor):
    world, _ = worlds
    clients = clients_for(world)
    baseline = fingerprint()
    failures = []
    for name, route in MATRIX.items():
        url = url_of(name, world)
        client = clients[(actor, route.api)]
        for method, call in route.calls.items():
            expected = call.rule.expected(actor)
            watch = method != "GET" and expected != OK
            response, changed = _attempt(
                client, route, method, call, world, url, baseline=baseline if watch else None
            )
            problem = verdict(response, api=route.api, expected=expected, call=call)
            if problem:
                failures.append(f"{method} {url} [{name}] as {actor}: {problem}, not {expected}")
            if changed:
                failures.append(
                    f"{method} {url} [{name}] as {actor} was refused but changed {changed}"
                )
    assert not failures, f"{len(failures)} wrong answers:\n" + "\n".join(failures)


def test_another_corpus_ids_in_urls_are_404_for_every_member(worlds):
    """Members of corpus A (every role, the owner too) asking for corpus B's objects."""
    world_a, world_b = worlds
    clients = clients_for(world_a)
    baseline = fingerprint()
    failures = []
    n_checked = 0
    for name, route in MATRIX.items():
        if not route.params(world_b) or not route.scoped:
            continue  # not inside a corpus (dashboard, tokens page, an invitation's link...)
        url = url_of(name, world_b)
        for actor in MEMBERS:
            client = clients[(actor, route.api)]
            for method, call in route.calls.items():
                watched = baseline if method != "GET" else None
                response, changed = _attempt(
                    client, route, method, call, world_b, url, baseline=watched
                )
                n_checked += 1
                if response.status_code != 404:
                    failures.append(
                        f"{method} {url} [{name}] as A's {actor}: {response.status_code}"
                    )
                if changed:
                    failures.append(f"{method} {url} [{name}] as A's {actor} changed {changed}")
    assert n_checked > 200
    assert not failures, f"{len(failures)} leaks:\n" + "\n".join(failures)


def test_methods_outside_the_matrix_are_405(worlds):
    """The matrix lists every method a view answers: any other is refused with 405."""
    world, _ = worlds
    clients = clients_for(world)
    failures = []
    for name, route in MATRIX.items():
        url = url_of(name, world)
        client = clients[(route.probe, route.api)]
        for method in METHODS:
            if method in route.calls:
                continue
            response, _ = _attempt(client, route, method, None, world, url, baseline=None)
            if response.status_code != 405:
                failures.append(f"{method} {url} [{name}]: {response.status_code}")
    assert not failures, "Methods answered but missing from the matrix:\n" + "\n".join(failures)


def _body_cases(a, b) -> list[tuple[str, bool, str, str, Any, set[int]]]:
    """(actor, api?, method, url, body, accepted statuses): corpus B's ids, or users outside
    corpus A, named inside requests about corpus A, by members allowed to make the request."""
    article = reverse("api-article", kwargs={"id": a.article.pk})
    api_claim = f"/api/v1/claims/{a.reviewed_claim.pk}"
    refused = {400, 404}
    # Pages answer some refusals with a redirect carrying an error message.
    page_refused = {302, 400, 404}
    outside = {"stance": "support", "topic": str(b.topic.pk)}
    return [
        # A relation between a claim of A and a claim of B, either way round.
        ("annotator", True, "POST", f"{article}/relations",
         {"source": str(a.claim.pk), "target": str(b.claim.pk), "kind": "attacks"}, refused),
        ("annotator", True, "POST", f"{article}/relations",
         {"source": str(b.claim.pk), "target": str(a.claim.pk), "kind": "attacks"}, refused),
        ("annotator", False, "POST", reverse("relation-create", args=[a.claim.pk]),
         {"target": b.claim.pk, "kind": "attacks"}, refused),
        ("annotator", False, "POST", reverse("relation-create", args=[a.claim.pk]),
         {"target": b.claim.pk, "kind": "attacks", "direction": "in"}, refused),
        # B's topic, by id or by label, in an annotation or a review.
        ("annotator", True, "POST", f"{api_claim}/annotations", outside, refused),
        ("annotator", True, "POST", f"{api_claim}/annotations",
         {"stance": "support", "topic": b.topic.label}, refused),
        ("annotator", True, "PATCH", f"/api/v1/annotations/{a.annotation.pk}",
         {"topic": str(b.topic.pk), "version": a.annotation.version}, refused),
        ("annotator", True, "PUT", f"/api/v1/annotations/{a.annotation.pk}",
         {**outside, "version": a.annotation.version}, refused),
        ("annotator", False, "POST", reverse("annotation-save", args=[a.reviewed_claim.pk]),
         outside, refused),
        ("curator", True, "PUT", f"{api_claim}/review",
         {"decision": "accepted", "version": a.review.version, **outside}, refused),
        ("curator", False, "POST", reverse("review-claim", args=[a.reviewed_claim.pk]),
         {"decision": "accepted", "version": a.review.version, **outside}, refused),
        # Evidence must lie in the claim's own article.
        ("annotator", True, "PATCH", f"/api/v1/annotations/{a.annotation.pk}",
         {"evidence": [{"kind": "span", "start": 0, "end": len(a.article.text) + 1}],
          "version": a.annotation.version}, refused),
        ("annotator", True, "PATCH", f"/api/v1/annotations/{a.annotation.pk}",
         {"evidence": [{"kind": "span", "exact": "a sentence only corpus B has"}],
          "version": a.annotation.version}, refused),
        # Someone else's evidence (annotator2's in A, or B's) through my annotation.
        ("annotator", False, "POST",
         reverse("evidence-delete", args=[a.annotation.pk, a.other_evidence.pk]), {}, refused),
        ("annotator", False, "POST",
         reverse("evidence-delete", args=[a.annotation.pk, b.evidence.pk]), {}, refused),
        # Assignments naming B's article or a user outside A.
        ("curator", True, "POST", f"/api/v1/corpora/{a.corpus.slug}/assignments",
         {"article": str(b.article.pk), "annotator": a.member.username}, refused),
        ("curator", True, "POST", f"/api/v1/corpora/{a.corpus.slug}/assignments",
         {"article": str(a.article.pk), "annotator": b.users["outsider"].username}, refused),
        ("curator", False, "POST", reverse("corpus-assignments", args=[a.corpus.slug]),
         {"action": "assign", "article": b.article.pk, "annotator": a.member.username},
         page_refused),
        ("curator", False, "POST", reverse("corpus-assignments", args=[a.corpus.slug]),
         {"action": "assign", "article": a.article.pk, "annotator": "oscar"}, page_refused),
        ("curator", False, "POST", reverse("corpus-assignments", args=[a.corpus.slug]),
         {"action": "unassign", "assignment": b.assignment.pk}, page_refused),
        ("curator", False, "POST", reverse("corpus-assignments", args=[a.corpus.slug]),
         {"action": "balance", "per_article": "1", "annotators": ["oscar"]}, page_refused),
        # B's topics, members and trash through A's settings and trash pages.
        ("owner", False, "POST", reverse("corpus-settings", args=[a.corpus.slug]),
         {"action": "topic_update", "topic": b.spare_topic.pk, "label": "Mine now",
          "version": b.spare_topic.version}, page_refused),
        ("owner", False, "POST", reverse("corpus-settings", args=[a.corpus.slug]),
         {"action": "topic_delete", "topic": b.spare_topic.pk}, page_refused),
        ("owner", False, "POST", reverse("corpus-settings", args=[a.corpus.slug]),
         {"action": "member_role", "username": "bianca", "role": "viewer"}, page_refused),
        ("owner", False, "POST", reverse("corpus-settings", args=[a.corpus.slug]),
         {"action": "member_remove", "username": "oscar"}, page_refused),
        ("owner", False, "POST", reverse("corpus-trash", args=[a.corpus.slug]),
         {"action": "restore_article", "article": b.trashed_article.pk}, page_refused),
        ("owner", False, "POST", reverse("corpus-trash", args=[a.corpus.slug]),
         {"action": "purge_article", "article": b.trashed_article.pk, "confirm": "yes"},
         page_refused),
        ("owner", False, "POST", reverse("corpus-trash", args=[a.corpus.slug]),
         {"action": "restore_claim", "claim": b.trashed_claim.pk}, page_refused),
        ("owner", True, "PATCH", f"/api/v1/corpora/{a.corpus.slug}/members/oscar",
         {"role": "viewer"}, refused),
        # Filters naming B's objects: refused, or simply nothing of B's shown.
        ("owner", True, "GET",
         f"/api/v1/corpora/{a.corpus.slug}/export?article={b.article.pk}", None, refused),
        ("curator", True, "GET",
         f"/api/v1/corpora/{a.corpus.slug}/agreement?article={b.article.pk}", None, refused),
        ("curator", False, "GET",
         reverse("corpus-agreement", args=[a.corpus.slug]) + f"?article={b.article.pk}", None,
         {200}),
        ("curator", False, "GET",
         reverse("corpus-review", args=[a.corpus.slug]) + f"?article={b.article.pk}"
         f"&topic={b.topic.pk}", None, {200}),
        ("viewer", False, "GET",
         reverse("article", args=[a.article.pk]) + f"?claim={b.claim.pk}", None, {200}),
        ("viewer", True, "GET",
         f"{article}/claims?annotator={b.users['outsider'].username}", None, {200, 400}),
    ]  # fmt: skip


def test_another_corpus_ids_in_bodies_and_filters_reach_nothing(worlds):
    world_a, world_b = worlds
    clients = clients_for(world_a)
    baseline = fingerprint()
    secrets = secrets_of(world_b)
    failures = []
    for actor, api, method, url, body, accepted in _body_cases(world_a, world_b):
        route = Route(api=api)
        call = Call(ANY_USER, body=lambda w, body=body: body)
        response, changed = _attempt(
            clients[(actor, api)], route, method, call, world_a, url, baseline=baseline
        )
        where = f"{method} {url} {body} as {actor}"
        if response.status_code not in accepted:
            failures.append(f"{where}: {response.status_code}, not one of {sorted(accepted)}")
        if changed:
            failures.append(f"{where} changed {changed}")
        text = response.content.decode(errors="replace")
        # An error message may quote what the client sent; anything else of B's is a leak.
        sent = f"{url} {body}"
        shown = [secret for secret in secrets if secret in text and secret not in sent]
        if shown:
            failures.append(f"{where} showed corpus B's {shown}")
    assert not failures, "\n".join(failures)


def test_blind_mode_hides_other_annotators_work_until_submit(worlds):
    """In blind corpus A the annotator cannot open annotator2's annotation, even by id, nor
    see their evidence or the review; after submitting the article, they can."""
    world, _ = worlds
    clients = clients_for(world)
    api = clients[("annotator", True)]
    theirs = f"/api/v1/annotations/{world.other_annotation.pk}"
    review = f"/api/v1/claims/{world.reviewed_claim.pk}/review"
    assert api.get(theirs).status_code == 404
    assert api.delete(theirs).status_code == 404
    assert api.patch(theirs, {"note": "x"}, format="json").status_code == 404
    assert api.get(review).status_code == 404
    listed = api.get(f"/api/v1/claims/{world.claim.pk}/annotations").json()["results"]
    assert [item["id"] for item in listed] == [str(world.annotation.pk)]
    page = clients[("annotator", False)].get(
        reverse("article", args=[world.article.pk]) + f"?claim={world.claim.pk}"
    )
    assert page.status_code == 200
    assert world.other_evidence.title not in page.content.decode()
    assert world.annotation.claim_id == world.claim.pk
    assert api.post(f"/api/v1/articles/{world.article.pk}/submit").status_code == 200
    assert api.get(theirs).status_code == 200
    assert api.get(review).status_code == 200
    # Still not theirs to change.
    assert api.patch(theirs, {"note": "x"}, format="json").status_code == 403


GARBAGE_JSON = b'{"stance": ["not", "json"'
GARBAGE_FORM = {"version": "x", "stance": "?", "target": "-1", "text": "", "action": "?"}


@pytest.mark.parametrize("actor", ["outsider", "viewer"])
def test_bad_bodies_do_not_come_before_the_permission_answer(worlds, actor):
    """A malformed body from someone who may not make the request gets the 404 or 403 the
    matrix gives, never a 400 that would answer before the permission check."""
    world, _ = worlds
    clients = clients_for(world)
    baseline = fingerprint()
    failures = []
    for name, route in MATRIX.items():
        url = url_of(name, world)
        for method, call in route.calls.items():
            expected = call.rule.expected(actor)
            if method == "GET" or expected == OK:
                continue
            garbage = GARBAGE_JSON if route.api else GARBAGE_FORM
            bad = Call(call.rule, body=lambda w, garbage=garbage: garbage)
            response, changed = _attempt(
                clients[(actor, route.api)], route, method, bad, world, url, baseline=baseline
            )
            if response.status_code != expected or changed:
                failures.append(f"{method} {url} [{name}]: {response.status_code} {changed}")
    assert not failures, f"expected the permission answer first, as {actor}:\n" + "\n".join(
        failures
    )
