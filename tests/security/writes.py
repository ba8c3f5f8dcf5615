"""The blind annotator's own writes whose outcome could depend on the others' work: deleting her
claim that others tagged, linking claims the way someone already linked them, marking a claim
where someone's evidence lies, tagging a claim others tagged, editing her own objects with the
version she read before the others worked. Through the API and through the page (plain form
posts and htmx), each followed by the page a redirect leads to and by her claims lists.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from .noninterference import ARJUN_EVIDENCE, S4, World, at, pin_next_ids
from .recording import Answer, answer_of, difference

Steps = list[tuple[str, tuple[Answer, ...]]]


def _claims_views(w: World) -> list[tuple[str, str, bool]]:
    return [
        ("her claims list (API)", reverse("api-claims", kwargs={"id": w.article.pk}), False),
        ("her claim list (fragment)", reverse("article-claim-list", args=[w.article.pk]), True),
    ]


@dataclass(frozen=True)
class Write:
    label: str
    method: str
    url: Callable[[World], str]
    body: Callable[[World], Any] = lambda w: None
    api: bool = True
    htmx: bool = False
    if_match: Callable[[World], int] | None = None
    # Her answer without the others' work, proving the write does what it means.
    expect: tuple[int, ...] = (200,)
    views: Callable[[World], list[tuple[str, str, bool]]] = field(default=_claims_views)
    follow: bool = True  # GET the page a redirect leads to


def _claim(name: str) -> Callable[[World], str]:
    return lambda w: str(w.claims[name].pk)


def _v(key: str) -> Callable[[World], int]:
    return lambda w: w.own["versions"][key]


def _api_writes() -> list[Write]:
    claim = lambda name: lambda w: reverse("api-claim", kwargs={"id": w.claims[name].pk})  # noqa: E731
    mine = lambda w: reverse("api-annotation", kwargs={"id": w.own["annotations"][0].pk})  # noqa: E731
    article = lambda suffix: lambda w: reverse(suffix, kwargs={"id": w.article.pk})  # noqa: E731
    return [
        # In a blind corpus, before she submits, an annotator never deletes a claim (README,
        # "Blind mode, exactly"): whether others tagged it is what she must not learn.
        Write("API: delete her claim S1 (If-Match)", "DELETE", claim("S1"),
              if_match=_v("S1"), expect=(403,)),
        Write("API: edit her claim S1's summary (If-Match)", "PATCH", claim("S1"),
              lambda w: {"summary": "Hers, edited"}, if_match=_v("S1")),
        Write("API: link S3 attacks S1, as arjun did", "POST", article("api-relations"),
              lambda w: {"source": _claim("S3")(w), "target": _claim("S1")(w), "kind": "attacks"},
              expect=(201,)),
        Write("API: mark a claim where arjun's evidence lies", "POST", article("api-claims"),
              lambda w: dict(ARJUN_EVIDENCE), expect=(201,)),
        # One span, one claim (DESIGN.md): 409 naming S4, which she sees anyway (spans are shared).
        Write("API: mark a claim at S4's span (a claim already)", "POST", article("api-claims"),
              lambda w: dict(S4), expect=(409,)),
        Write("API: tag S4, which arjun tagged, with his evidence span", "POST",
              lambda w: reverse("api-annotations", kwargs={"id": w.claims["S4"].pk}),
              lambda w: {"stance": "support",
                         "evidence": [{"kind": "span", **ARJUN_EVIDENCE}]}, expect=(201,)),
        Write("API: change her tag on S1 (If-Match)", "PATCH", mine,
              lambda w: {"stance": "neutral", "note": "changed"}, if_match=_v("annotation")),
        Write("API: delete her tag on S1 (If-Match)", "DELETE", mine,
              if_match=_v("annotation"), expect=(204,)),
        Write("API: comment on S1", "POST",
              lambda w: reverse("api-comments", kwargs={"id": w.claims["S1"].pk}),
              lambda w: {"text": "anna again"}, expect=(201,)),
        Write("API: delete her link", "DELETE",
              lambda w: reverse("api-relation", kwargs={"id": w.own["relation"].pk}),
              expect=(204,)),
        # Suggestions arjun decided on too: on S1 (which she tagged already) and at S4's span
        # (his claim, which he tagged): her outcome must not depend on his decisions.
        Write("API: accept the suggestion on S1, as arjun did", "POST",
              lambda w: reverse("api-suggestion-accept", kwargs={"id": w.suggestions[0].pk}),
              lambda w: {}),
        Write("API: correct and accept the suggestion at S4's span", "POST",
              lambda w: reverse("api-suggestion-accept", kwargs={"id": w.suggestions[1].pk}),
              lambda w: {"stance": "neutral"}),
        Write("API: reject the suggestion arjun rejected", "POST",
              lambda w: reverse("api-suggestion-reject", kwargs={"id": w.suggestions[2].pk})),
        # After submitting she may see everything: only the answer itself is compared.
        Write("API: submit the article", "POST", article("api-submit"),
              views=lambda w: [], follow=False),
    ]  # fmt: skip


def _page_writes() -> list[Write]:
    def claim_url(name: str, claim: str) -> Callable[[World], str]:
        return lambda w: reverse(name, args=[w.claims[claim].pk])

    mine = lambda w: w.own["annotations"][0]  # noqa: E731
    writes = [
        ("delete her claim S1", claim_url("claim-delete", "S1"), lambda w: {}, (403,)),
        ("edit her claim S1's summary", claim_url("claim-edit", "S1"),
         lambda w: {"summary": "Hers, edited", "version": _v("S1")(w)}),
        ("set her claim S1's labels", claim_url("claim-labels", "S1"),
         lambda w: {"labels": ["policy"], "version": _v("S1")(w)}),
        ("link S3 attacks S1, as arjun did", claim_url("relation-create", "S3"),
         lambda w: {"target": _claim("S1")(w), "kind": "attacks"}),
        ("mark a claim where arjun's evidence lies",
         lambda w: reverse("claim-create", args=[w.article.pk]), lambda w: dict(ARJUN_EVIDENCE)),
        ("tag S4, which arjun tagged", claim_url("annotation-save", "S4"),
         lambda w: {"stance": "support"}),
        ("change her tag on S1", claim_url("annotation-save", "S1"),
         lambda w: {"stance": "neutral", "version": _v("annotation")(w)}),
        ("add evidence to her tag on S1", claim_url("evidence-add", "S1"),
         lambda w: {"kind": "span", **ARJUN_EVIDENCE, "version": _v("annotation")(w)}),
        ("remove evidence from her tag on S1",
         lambda w: reverse("evidence-delete", args=[mine(w).pk, w.own["evidence"][0].pk]),
         lambda w: {"version": _v("annotation")(w)}),
        ("delete her tag on S1", lambda w: reverse("annotation-delete", args=[mine(w).pk]),
         lambda w: {}),
        ("comment on S1", claim_url("comment-create", "S1"), lambda w: {"text": "anna again"}),
        ("delete her link", lambda w: reverse("relation-delete", args=[w.own["relation"].pk]),
         lambda w: {}),
    ]  # fmt: skip
    out = []
    for label, url, body, *refused in writes:
        plain, htmx = (refused[0], refused[0]) if refused else ((302,), (200,))
        out.append(Write(f"page: {label}", "POST", url, body, api=False, expect=plain))
        out.append(
            Write(f"page (htmx): {label}", "POST", url, body, api=False, htmx=True, expect=htmx)
        )
    # After submitting she may see everything: only the answer itself is compared.
    out.append(
        Write(
            "page: submit the article",
            "POST",
            lambda w: reverse("article-submit", args=[w.article.pk]),
            api=False,
            expect=(302,),
            views=lambda w: [],
            follow=False,
        )
    )
    return out


WRITES = _api_writes() + _page_writes()


def perform(client: Client, world: World, write: Write) -> Steps:
    """The write as the blind annotator, at her pinned moment with pinned new ids; then the
    page its redirect leads to (with the flash message) and the write's views. The client's
    cookies are restored afterwards."""
    pin_next_ids()
    cookies = copy.deepcopy(client.cookies)
    cache.clear()
    extra: dict[str, str] = {"HTTP_HX_REQUEST": "true"} if write.htmx else {}
    if write.if_match is not None:
        extra["HTTP_IF_MATCH"] = f'"{write.if_match(world)}"'
    body = write.body(world)
    steps: Steps = []
    try:
        with at(world.moments.anna):
            url = write.url(world)
            if write.api:
                data = json.dumps(body) if body is not None else ""
                response = client.generic(
                    write.method, url, data, content_type="application/json", **extra
                )
            else:
                response = client.post(url, body or {}, **extra)
            steps.append(("the answer", (answer_of(response),)))
            location = response.headers.get("Location", "")
            if write.follow and response.status_code in (301, 302, 303) and location[:1] == "/":
                steps.append((f"GET {location} (the redirect)", (answer_of(client.get(location)),)))
            for label, view, htmx in write.views(world):
                hx = {"HTTP_HX_REQUEST": "true"} if htmx else {}
                steps.append((label, (answer_of(client.get(view, **hx)),)))
    finally:
        client.cookies = cookies
    return steps


def write_report(without: dict[str, Steps], with_: dict[str, Steps]) -> str:
    """'' when every write went the same way, else each write's differing steps."""
    lines = []
    for label, steps in without.items():
        theirs = dict(with_[label])
        differing = [(step, a) for step, a in steps if theirs.get(step) != a]
        if len(theirs) != len(steps):
            differing.append(("the steps", ()))
        if not differing:
            continue
        lines.append(f"\n[{label}]")
        for step, answers in differing:
            lines.append(f"  {step}:")
            if step in theirs:
                lines += [f"      {line}" for line in difference(answers, theirs[step])]
            else:
                lines.append(f"      steps without: {[s for s, _ in steps]}, with: {list(theirs)}")
    if not lines:
        return ""
    n = sum(1 for line in lines if line.startswith("\n["))
    head = (
        f"{n} of {len(without)} writes of the blind annotator go differently once the others "
        "have worked:"
    )
    return head + "\n".join(lines)
