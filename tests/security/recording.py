"""Recording what a member gets, and saying readably how two recordings differ.

Each probe is asked with the same cookies (restored after every request) and fresh throttle
counters, so every answer depends only on the data and the request. Only CSRF tokens (masked
forms of the client's fixed secret, new on every response) and CSP nonces are normalised.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.cache import cache
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.urls import reverse

from .noninterference import MISSING_ID
from .walk import Probe

# --- Recording -----------------------------------------------------------------------------

CSRF_SECRET = "nonintERFERENCEcsrfSECRET0123456"  # the client's csrftoken cookie (32 chars)
_TOKEN = re.compile(rb"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
_NONCE = re.compile(rb"nonce=\"[^\"]*\"|'nonce-[^']*'")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def normalise(body: bytes) -> bytes:
    """CSRF tokens (masked forms of the client's secret, new on every response) and CSP nonces
    become placeholders; nothing else is touched."""

    def token(match: re.Match) -> bytes:
        ours = _unmask_cipher_token(match.group().decode()) == CSRF_SECRET
        return b"<csrf>" if ours else match.group()

    return _NONCE.sub(b"nonce=<nonce>", _TOKEN.sub(token, body))


def answer_of(response) -> Answer:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = [(k.lower(), normalise(v.encode()).decode()) for k, v in response.headers.items()]
    for name, morsel in response.cookies.items():
        # The CSRF cookie carries the secret; a session key is random by design.
        value = {"csrftoken": "<csrf>", "sessionid": "<session>"}.get(name, morsel.value)
        headers.append((f"set-cookie {name}", value))
    return Answer(response.status_code, tuple(sorted(headers)), normalise(body))


def client_for(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF_SECRET
    return client


def request(client: Client, method: str, url: str, **kwargs: Any):
    """One request with the client's cookies restored afterwards (every probe starts from the
    same state) and fresh throttle counters."""
    cookies = copy.deepcopy(client.cookies)
    cache.clear()
    try:
        return client.generic(method, url, **kwargs)
    finally:
        client.cookies = cookies


MAX_PAGES = 30


def record(client: Client, probes: list[Probe]) -> dict[Probe, tuple[Answer, ...]]:
    answers: dict[Probe, tuple[Answer, ...]] = {}
    for probe in probes:
        extra = {"HTTP_HX_REQUEST": "true"} if probe.htmx else {}
        url, chain = probe.url, []
        while url and len(chain) < MAX_PAGES:
            response = request(client, "GET", url, **extra)
            chain.append(answer_of(response))
            url = None
            if probe.follow and response.status_code == 200:
                following = response.json().get("next")
                url = following and urlsplit(following)._replace(scheme="", netloc="").geturl()
        answers[probe] = tuple(chain)
    return answers


# --- Differences, readably -----------------------------------------------------------------


def _lines(answer: Answer) -> list[str]:
    content_type = dict(answer.headers).get("content-type", "")
    text = answer.body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            parts = [json.loads(line) for line in text.splitlines() if line.strip()]
            return json.dumps(parts, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
        except ValueError:
            pass
    if "html" in content_type:
        text = re.sub(r">\s*<", ">\n<", text)
    return [line.strip()[:160] for line in text.splitlines() if line.strip()]


WITH_AND_WITHOUT = ("without the others' work", "with it")


def difference(
    without: tuple[Answer, ...],
    with_: tuple[Answer, ...],
    limit: int = 8,
    names: tuple[str, str] = WITH_AND_WITHOUT,
) -> list[str]:
    """What changed, in a few readable lines: status, headers, then the body's changed lines."""
    out = []
    if len(without) != len(with_):
        out.append(f"{len(without)} pages {names[0]}, {len(with_)} {names[1]}")
    for number, (a, b) in enumerate(zip(without, with_, strict=False), start=1):
        page = f"page {number}: " if len(without) > 1 else ""
        if a.status != b.status:
            out.append(f"{page}status {a.status} {names[0]}, {b.status} {names[1]}")
        ha, hb = dict(a.headers), dict(b.headers)
        for key in sorted(ha.keys() | hb.keys()):
            if key != "content-length" and ha.get(key) != hb.get(key):
                out.append(f"{page}header {key}: {ha.get(key)!r} -> {hb.get(key)!r}")
        if a.body != b.body:
            changed = [
                line
                for line in difflib.unified_diff(_lines(a), _lines(b), lineterm="", n=0)
                if line[:1] in "+-" and not line.startswith(("+++", "---"))
            ]
            out += [f"{page}{line}" for line in changed[:limit]]
            if len(changed) > limit:
                out.append(f"{page}... {len(changed) - limit} more changed lines")
            if not changed:
                out.append(f"{page}the bodies differ (binary or whitespace)")
    return out


def report(
    without: dict[Probe, tuple[Answer, ...]],
    with_: dict[Probe, tuple[Answer, ...]],
    who: str = "the blind annotator",
) -> tuple[dict[Probe, list[str]], str]:
    """({probe: difference}, a readable report grouped by URL name)."""
    differing = {p: difference(without[p], with_[p]) for p in without if without[p] != with_[p]}
    by_name: dict[str, list[Probe]] = {}
    for probe in differing:
        by_name.setdefault(probe.name, []).append(probe)
    paths = {p.path for p in differing}
    lines = [
        f"{len(differing)} of {len(without)} probes ({len(paths)} URLs, {len(by_name)} URL "
        f"patterns) answer {who} differently once the others have worked:"
    ]
    for name in sorted(by_name):
        lines.append(f"\n[{name}] {len(by_name[name])} probes")
        for probe in by_name[name]:
            lines.append(f"  {probe}")
            lines += [f"      {line}" for line in differing[probe]]
    return differing, "\n".join(lines)


def existence_leaks(
    answers: dict[Probe, tuple[Answer, ...]], theirs: dict[str, list[str]]
) -> list[str]:
    """Probes naming one object the others created whose answer is not the answer for an id
    that never exists (with that id written as theirs): the object's existence shows."""
    leaks = []
    for probe, got in answers.items():
        named = [(kind, k, v) for kind, k, v in probe.fill if v in theirs.get(kind, ())]
        if len(named) != 1:
            continue
        _, kwarg, their_id = named[0]
        kwargs = {k: v for _, k, v in probe.fill} | {kwarg: MISSING_ID}
        reference = dataclasses.replace(probe, path=reverse(probe.name, kwargs=kwargs))
        if reference not in answers:
            continue  # query variants are asked for existing objects only
        expected = tuple(
            Answer(
                a.status,
                tuple((h, v.replace(MISSING_ID, their_id)) for h, v in a.headers),
                a.body.replace(MISSING_ID.encode(), their_id.encode()),
            )
            for a in answers[reference]
        )
        if got != expected:
            lines = difference(expected, got, 4, (f"for id {MISSING_ID}", f"for {their_id}"))
            leaks.append(f"  {probe}: {'; '.join(lines)}")
    return leaks
