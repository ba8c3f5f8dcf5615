"""Everything a member can GET, as a list of probes built from the URL resolver, the API schema,
the FilterSets and the query parameters the HTML views read; and the recording of the answers.

Nothing here names a URL one by one: the URL patterns come from the resolver (matrix.py's walk),
their parameters are filled by the kind of object the path segment before them names (a kind the
walk does not know is reported, so a new URL fails until the walk knows how to fill it), the API
lists' query parameters come from the OpenAPI schema and their values from the FilterSets of
articles/filters.py, and the pages' query parameters from PAGE_PARAMS, which a test compares with
what the views read.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import re
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import django_filters
from django.core.cache import cache
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.urls import resolve, reverse
from drf_spectacular.generators import SchemaGenerator

from articles import filters as filter_module
from articles import review_selectors
from articles.views import annotate, pages

from .matrix import discovered_patterns
from .noninterference import MISSING_ID, MISSING_SLUG, NO_MEMBER

MISSING = {MISSING_ID, MISSING_SLUG, NO_MEMBER}

# --- Probes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One GET: `name` is the URL pattern's name; `follow` follows the API's `next` links and
    records every page; `htmx` sends the header htmx sends."""

    name: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    htmx: bool = False
    follow: bool = False

    @property
    def url(self) -> str:
        return self.path + ("?" + urlencode(self.query) if self.query else "")

    def __str__(self) -> str:
        tags = [t for t, on in (("htmx", self.htmx), ("following next", self.follow)) if on]
        return f"GET {self.url}" + (f" [{', '.join(tags)}]" if tags else "")


# The kind of object a URL parameter names, by the path segment before it.
SEGMENT_KINDS = {
    "corpora": "corpus",
    "articles": "article",
    "claims": "claim",
    "annotations": "annotation",
    "evidence": "evidence",
    "relations": "relation",
    "topics": "topic",
    "members": "member",
    "tokens": "token",
    "comments": "comment",
    "reviews": "review",
}
KNOWN_KWARGS = {"slug", "pk", "id", "username", "evidence_id"}
_KWARG = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


def url_kinds(route: str) -> tuple[dict[str, str], list[str]]:
    """({kwarg: kind}, problems) for a route string such as "claims/<int:pk>/panel"."""
    kinds, problems = {}, []
    for match in _KWARG.finditer(route):
        kwarg = match.group(1) or match.group(2)
        segment = route[: match.start()].rstrip("/").rsplit("/", 1)[-1].lstrip("^")
        kind = SEGMENT_KINDS.get(segment)
        if kwarg not in KNOWN_KWARGS or kind is None:
            problems.append(f"{route}: URL parameter {kwarg!r} after {segment!r}")
        else:
            kinds[kwarg] = kind
    return kinds, problems


# Query parameters whose values are objects of a kind, or members' usernames, or words.
ID_PARAMS = {"article": "article", "claim": "claim", "topic": "topic", "pick": "claim"}
USER_PARAMS = {"annotator", "created_by", "actor"}
WORDS = ["chip", "secret", "arjun", "zzz"]  # "secret" is only in the others' notes and comments
TEXT_PARAMS = {"title": WORDS, "language": ["en", "ja"], "q": WORDS}


def page_params(world) -> dict[str, dict[str, list[str]]]:
    """{page url name: {parameter: values}}: every query parameter the HTML views read, with
    every value they accept (test_the_walk_knows_every_query_parameter_the_views_read)."""
    ids, users, dates = world.ids, world.members(), world.moments.dates()
    queue = {
        "article": ids("article"),
        "annotator": users,
        "topic": ids("topic"),
        "state": list(review_selectors.QUEUE_STATES),
    }
    days = sorted({d[:10] for d in dates})
    return {
        "corpus": {
            "q": WORDS,
            "status": [key for key, _ in pages.STATUS_FILTERS if key],
            "mine": ["1"],
            "disagreements": ["1"],
            "page": ["1", "2"],
        },
        "article": {"claim": ids("claim"), "filter": list(annotate.FILTERS)},
        "article-claim-list": {"filter": list(annotate.FILTERS)},
        "relation-targets": {"q": WORDS, "pick": ids("claim")},
        "corpus-review": {**queue, "page": ["2"]},
        "review-claim": queue,
        "corpus-agreement": {
            "article": ids("article"),
            "status": ["submitted", "all"],
            "format": ["csv"],
        },
        "corpus-audit": {
            "actor": users,
            "verb": ["annotation.create", "review.create", "comment.create"],
            "object_type": ["annotation", "review", "comment", "relation"],
            "since": days,
            "until": days,
            "page": ["2"],
        },
        "corpus-assignments": {"page": ["2"]},
        "corpus-trash": {"apage": ["2"], "cpage": ["2"]},
    }


_READS = [
    re.compile(r"request\.GET\.(?:get|getlist)\(\s*[\"'](\w+)[\"']"),
    re.compile(r"request\.GET\[\s*[\"'](\w+)[\"']\s*\]"),
    re.compile(
        r"paginate\(\s*request\s*,[^()]*(?:\([^()]*\)[^()]*)*?,\s*\d+\s*,\s*[\"'](\w+)[\"']"
    ),
]


def parameters_the_views_read() -> set[str]:
    """The query parameter names the HTML views read, found in their source: request.GET
    look-ups, paginate()'s page parameter, and the fields of the filter dataclasses built
    with from_query(request.GET)."""
    names: set[str] = set()
    for source in sorted(Path(annotate.__file__).parent.glob("*.py")):
        text = source.read_text()
        for pattern in _READS:
            names.update(pattern.findall(text))
        if re.search(r"paginate\(", text):
            names.add("page")
        for class_name in re.findall(r"(\w+)\.from_query\(\s*request\.GET", text):
            cls = getattr(review_selectors, class_name)
            names.update(f.name for f in dataclasses.fields(cls) if f.name != "errors")
    return names


# --- API query parameters: the schema says which, the FilterSets say what values -----------


def filtersets() -> list[type[django_filters.FilterSet]]:
    return [
        cls
        for cls in vars(filter_module).values()
        if isinstance(cls, type)
        and issubclass(cls, django_filters.FilterSet)
        and cls.__module__ == filter_module.__name__
    ]


def api_query_parameters() -> dict[str, list[dict[str, Any]]]:
    """{API url name: the GET's documented query parameters} from the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found: dict[str, list[dict[str, Any]]] = {}
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        name = resolve(re.sub(r"\{[^}]+\}", "1", path)).url_name
        parameters = operations["get"].get("parameters", [])
        found[name] = [p for p in parameters if p["in"] == "query"]
    return found


def _filterset_for(names: set[str]) -> type[django_filters.FilterSet] | None:
    """The FilterSet behind a list: the largest whose filters the list documents."""
    matching = [fs for fs in filtersets() if set(fs.base_filters) <= names]
    return max(matching, key=lambda fs: len(fs.base_filters), default=None)


def _filter_values(name: str, filter_: django_filters.Filter, world) -> list[str] | None:
    """A filter's values, from its type: each choice, true/false, the world's ids of the kind
    the name says, each member's username, dates around the others' work; plus a bad one."""
    if isinstance(filter_, django_filters.ChoiceFilter):
        return [str(value) for value, _ in filter_.extra["choices"]] + ["bogus"]
    if isinstance(filter_, django_filters.BooleanFilter):
        return ["true", "false", "maybe"]
    if isinstance(filter_, django_filters.DateFilter | django_filters.DateTimeFilter):
        return [*world.moments.dates(), "yesterday"]
    if isinstance(filter_, filter_module.IdFilter):
        kind = ID_PARAMS.get(name)
        return None if kind is None else [*world.ids(kind), "not-an-id"]
    if isinstance(filter_, django_filters.CharFilter):
        if name in USER_PARAMS:
            return [*world.members(), NO_MEMBER]
        return TEXT_PARAMS.get(name)
    return None


def _schema_values(parameter: dict[str, Any], world) -> list[str] | None:
    """Values of a documented parameter no FilterSet describes (exports, agreement)."""
    name, schema = parameter["name"], parameter.get("schema", {})
    item = schema.get("items", schema)
    if "enum" in item:
        return [str(v) for v in item["enum"]] + ["bogus"]
    if item.get("type") == "boolean":
        return ["true", "false", "maybe"]
    if item.get("format") in ("date-time", "date"):
        return [*world.moments.dates(), "yesterday"]
    if name in ID_PARAMS:
        return [*world.ids(ID_PARAMS[name]), "not-an-id"]
    if name in USER_PARAMS:
        return [*world.members(), NO_MEMBER]
    return TEXT_PARAMS.get(name)


PAGINATION = {"cursor", "page_size"}  # walked by following `next` with page_size=1
# The bad value of each type of parameter: its error is asked once per URL pattern (for its
# first fill), not for every object.
BAD_VALUES = {"bogus", "maybe", "yesterday", "not-an-id"}


def api_variants(world) -> tuple[dict[str, dict[str, list[str]]], set[str], list[str]]:
    """({API url name: {parameter: values}}, the paginated lists, problems)."""
    variants: dict[str, dict[str, list[str]]] = {}
    paginated: set[str] = set()
    problems: list[str] = []
    for name, parameters in api_query_parameters().items():
        names = {p["name"] for p in parameters}
        filterset = _filterset_for(names)
        filters = filterset.base_filters if filterset else {}
        values: dict[str, list[str]] = {}
        for parameter in parameters:
            pname = parameter["name"]
            if pname in PAGINATION:
                paginated.add(name)
                continue
            found = (
                _filter_values(pname, filters[pname], world)
                if pname in filters
                else _schema_values(parameter, world)
            )
            if found is None:
                problems.append(f"{name}: no values for query parameter {pname!r}")
            else:
                values[pname] = found
        variants[name] = values
    return variants, paginated, problems


def filters_not_walked(variants: dict[str, dict[str, list[str]]]) -> list[str]:
    """Filters of articles/filters.py that no walked list offers (a FilterSet in use but not
    documented would otherwise escape the walk)."""
    walked = {(name, p) for name, params in variants.items() for p in params}
    missing = []
    for filterset in filtersets():
        users = [n for n, params in variants.items() if set(filterset.base_filters) <= set(params)]
        if not users:
            missing.append(f"{filterset.__name__}: no API list documents all its filters")
        for filter_name in filterset.base_filters:
            if not any((user, filter_name) in walked for user in users):
                missing.append(f"{filterset.__name__}.{filter_name}")
    return missing


# --- The walk ------------------------------------------------------------------------------


def walk(world) -> tuple[list[Probe], list[str]]:
    """(every probe, problems): every URL pattern with every fill of its parameters, the htmx
    variant of each page, each query parameter value of pages and API lists, and each API list
    page by page. Query variants are asked only for objects that exist (or will)."""
    probes: list[Probe] = []
    problems: list[str] = []
    api, paginated, api_problems = api_variants(world)
    problems += api_problems
    problems += filters_not_walked(api)
    page = page_params(world)
    for name, route in sorted(discovered_patterns().items()):
        if name == route:
            problems.append(f"{route}: a URL pattern without a name")
            continue
        is_api = route.startswith("api/")
        kinds, url_problems = url_kinds(route)
        problems += url_problems
        if url_problems:
            continue
        choices = [[(k, v) for v in (world.ids(kind) or [])] for k, kind in kinds.items()]
        first = True
        for fill in product(*choices):
            path = reverse(name, kwargs=dict(fill))
            exists = all(v not in MISSING for _, v in fill)
            params = (api if is_api else page).get(name, {}) if exists else {}
            probes.append(Probe(name, path))
            if not is_api:
                probes.append(Probe(name, path, htmx=True))
            for param, values in params.items():
                probes += [
                    Probe(name, path, ((param, v),))
                    for v in values
                    if first or v not in BAD_VALUES
                ]
            first = first and not exists
            if is_api and exists and name in paginated:
                probes.append(Probe(name, path, (("page_size", "1"),), follow=True))
    unread = parameters_the_views_read() - {p for params in page.values() for p in params}
    problems += [f"the views read the query parameter {p!r}: add it to PAGE_PARAMS" for p in unread]
    return probes, problems


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


def difference(without: tuple[Answer, ...], with_: tuple[Answer, ...], limit: int = 8) -> list[str]:
    """What changed, in a few readable lines: status, headers, then the body's changed lines."""
    out = []
    if len(without) != len(with_):
        out.append(f"{len(without)} pages without the others' work, {len(with_)} with it")
    for number, (a, b) in enumerate(zip(without, with_, strict=False), start=1):
        page = f"page {number}: " if len(without) > 1 else ""
        if a.status != b.status:
            out.append(f"{page}status {a.status} without the others' work, {b.status} with it")
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
