"""Everything a member can GET, as a list of probes built from the URL resolver, the API schema,
the FilterSets and the query parameters the HTML views read.

Nothing here names a URL one by one: the URL patterns come from the resolver (matrix.py's walk),
their parameters are filled by the kind of object the path segment before them names (a kind the
walk does not know is reported, so a new URL fails until the walk knows how to fill it), the API
lists' query parameters come from the OpenAPI schema and their values from the FilterSets of
articles/filters.py, and the pages' query parameters from PAGE_PARAMS, which a test compares with
what the views read.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import django_filters
from django import forms
from django.urls import resolve, reverse
from drf_spectacular.generators import SchemaGenerator

from articles import filters as filter_module
from articles import review_selectors
from articles.views import pages
from articles.views.annotate.claim_list import FILTERS as CLAIM_LIST_FILTERS

from .matrix import discovered_patterns
from .noninterference import MISSING_ID, MISSING_SLUG, NO_MEMBER

MISSING = {MISSING_ID, MISSING_SLUG, NO_MEMBER}

# --- Probes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One GET: `name` is the URL pattern's name; `follow` follows the API's `next` links and
    records every page; `htmx` sends the header htmx sends; `fill` says how the path was made,
    as (kind, URL parameter, value)."""

    name: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    htmx: bool = False
    follow: bool = False
    fill: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)

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
    "notices": "notice",
    "versions": "version",
    "invitations": "invitation",  # an invitation's id (revoke) or its key (the link)
    "reset": "reset-user",  # a password reset link: the user's id in base64, then its token
    "<uidb64>": "reset-token",
    "suggestions": "suggestion",
    "claim-groups": "group",
    "jobs": "job",
}
KNOWN_KWARGS = {"slug", "pk", "id", "username", "evidence_id", "number", "key", "uidb64", "token"}
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
TEXT_PARAMS = {
    "title": WORDS,
    "language": ["en", "ja"],
    "q": WORDS,
    "model": ["m@1", "zzz@1"],
    "min_score": ["0.5", "0.95", "bogus"],
    "limit": ["1", "3", "50", "bogus"],  # similar claims: how many
}

# The suggestions panel's filters (views/suggestions.py), read wherever the claim list renders.
SUGGESTION_PANEL = {"sg_model": ["m@1", "zzz@1"], "sg_min": ["0.5", "0.95", "bogus"]}


def page_params(world) -> dict[str, dict[str, list[str]]]:
    """{page url name: {parameter: values}}: every query parameter the HTML views read, with
    every value they accept (walk() reports a parameter the views read that is missing here)."""
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
        "article-versions": {"a": ["1", "2", "9"], "b": ["1", "2"]},
        "article": {
            "claim": ids("claim"),
            "filter": list(CLAIM_LIST_FILTERS),
            **SUGGESTION_PANEL,
        },
        "article-claim-list": {"filter": list(CLAIM_LIST_FILTERS), **SUGGESTION_PANEL},
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
        "claim-merge": {"into": ids("claim")},
        "corpus-suggestions": {"format": ["csv"]},
        # The export menu's form: forwarded to the API's export (its own values, and "any").
        "corpus-export": {
            "format": ["jsonl", "csv", ""],
            "gold_only": ["true", "false"],
            "status": ["draft", "submitted", ""],
            "annotator": users,
            "article": ids("article"),
        },
        "corpus-trash": {"apage": ["2"], "cpage": ["2"]},
    }


_READS = [
    re.compile(r"request\.GET\.(?:get|getlist)\(\s*[\"'](\w+)[\"']"),
    re.compile(r"request\.GET\[\s*[\"'](\w+)[\"']\s*\]"),
    re.compile(
        r"paginate\(\s*request\s*,[^()]*(?:\([^()]*\)[^()]*)*?,\s*\d+\s*,\s*[\"'](\w+)[\"']"
    ),
]


def _class_named(name: str) -> type | None:
    """A class of the app's modules by name (the filter dataclasses and FilterSets)."""
    for module_name, module in sorted(sys.modules.items()):
        if module_name.split(".")[0] == "articles" and isinstance(
            getattr(module, name, None), type
        ):
            return getattr(module, name)
    return None


def parameters_the_views_read() -> set[str]:
    """The query parameter names the HTML views read, found in their source (every module under
    articles/views): request.GET look-ups, paginate()'s page parameter, the fields of the filter
    dataclasses built with from_query(request.GET), the filters of FilterSets and the fields of
    forms given request.GET. A class it cannot find is returned as "<ClassName>", which no page
    parameter matches."""
    names: set[str] = set()
    for source in sorted(Path(pages.__file__).parent.rglob("*.py")):
        text = source.read_text()
        for pattern in _READS:
            names.update(pattern.findall(text))
        if re.search(r"paginate\(", text):
            names.add("page")
        built = r"(\w+)\.from_query\(\s*request\.GET\b|(\w+(?:FilterSet|Form))\(\s*request\.GET\b"
        for class_name in {a or b for a, b in re.findall(built, text)}:
            cls = _class_named(class_name)
            if cls is not None and dataclasses.is_dataclass(cls):
                names.update(f.name for f in dataclasses.fields(cls) if f.name != "errors")
            elif cls is not None and issubclass(cls, django_filters.FilterSet):
                names.update(cls.base_filters)
            elif cls is not None and issubclass(cls, forms.BaseForm):
                names.update(cls.base_fields)
            else:
                names.add(f"<{class_name}>")
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


def api_parameters_undocumented(documented: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Query parameters the API code reads by name (request.query_params.get) that no GET
    documents: the walk takes the API's parameters from the schema, so they would escape it."""
    names: set[str] = set()
    for source in sorted(Path(filter_module.__file__).parent.joinpath("api").glob("*.py")):
        names.update(re.findall(r"query_params\.get\(\s*[\"'](\w+)[\"']", source.read_text()))
    known = {p["name"] for parameters in documented.values() for p in parameters}
    # The import's `title` (a POST: the name of a pasted file) is no reading.
    return names - known - {"title"}


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


def api_variants(
    world, documented: dict[str, list[dict[str, Any]]]
) -> tuple[dict[str, dict[str, list[str]]], set[str], list[str]]:
    """({API url name: {parameter: values}}, the paginated lists, problems)."""
    variants: dict[str, dict[str, list[str]]] = {}
    paginated: set[str] = set()
    problems: list[str] = []
    for name, parameters in documented.items():
        names = {p["name"] for p in parameters}
        filterset = _filterset_for(names)
        filters = filterset.base_filters if filterset else {}
        values: dict[str, list[str]] = {}
        for parameter in parameters:
            pname = parameter["name"]
            if pname in PAGINATION:
                paginated.add(name)
                continue
            found = _filter_values(pname, filters[pname], world) if pname in filters else None
            # A filter whose type says nothing of its values (the export's): the schema does.
            found = found if found is not None else _schema_values(parameter, world)
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
    documented = api_query_parameters()
    api, paginated, api_problems = api_variants(world, documented)
    problems += api_problems
    problems += [
        f"the API reads the undocumented query parameter {name!r}"
        for name in sorted(api_parameters_undocumented(documented))
    ]
    problems += filters_not_walked(api)
    page = page_params(world)
    for name, route in sorted(discovered_patterns().items()):
        if name == route:
            problems.append(f"{route}: a URL pattern without a name")
            continue
        is_api = route.startswith("api/")
        kinds, url_problems = url_kinds(route)
        url_problems += [f"{route}: the world has no {kind}" for kind in kinds.values()
                         if world.ids(kind) is None]  # fmt: skip
        problems += url_problems
        if url_problems:
            continue
        choices = [[(kind, k, v) for v in world.ids(kind)] for k, kind in kinds.items()]
        first = True
        for fill in product(*choices):
            path = reverse(name, kwargs={k: v for _, k, v in fill})
            exists = all(v not in MISSING for _, _, v in fill)
            params = (api if is_api else page).get(name, {}) if exists else {}
            probes.append(Probe(name, path, fill=fill))
            if not is_api:
                probes.append(Probe(name, path, htmx=True, fill=fill))
            for param, values in params.items():
                probes += [
                    Probe(name, path, ((param, v),), fill=fill)
                    for v in values
                    if first or v not in BAD_VALUES
                ]
            first = first and not exists
            if is_api and exists and name in paginated:
                probes.append(Probe(name, path, (("page_size", "1"),), follow=True, fill=fill))
    unread = parameters_the_views_read() - {p for params in page.values() for p in params}
    problems += [f"the views read the query parameter {p!r}: add it to PAGE_PARAMS" for p in unread]
    return probes, problems
