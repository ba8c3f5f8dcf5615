"""Native JSONL: one article per line, lossless (imports back into an empty corpus unchanged).

The line is DESIGN.md's native line. Every key is always present (empty string, empty list or
null when unset) so that the shape is stable; ids (as strings) and timestamps (RFC 3339, UTC)
are extra keys that an import ignores. Relations name their claims by index in `claims`.

`article_dict` states the line as a dict; `article_line` writes the same bytes from the rows
with orjson (see there).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace

import orjson

from ..models import Article, Suggestion, SuggestionDecision
from . import fragments, parallel, sqlite_resident
from .fragments import fragment_lines
from .reader import _assemble, _Labels, _Names, _RawBatch, read_articles
from .rows import AnnotationRow, ArticleRow, ClaimRow, EvidenceRow
from .spec import PARTS, ExportFormat, ExportSpec
from .streaming import chunked


def evidence_dict(evidence: EvidenceRow) -> dict:
    if evidence.kind == "span":
        return {
            "kind": "span",
            "start": evidence.start,
            "end": evidence.end,
            "exact": evidence.exact,
            "evidence_type": evidence.evidence_type,
            "role": evidence.role,
        }
    return {
        "kind": "source",
        "url": evidence.url,
        "title": evidence.title,
        "quote": evidence.quote,
        "evidence_type": evidence.evidence_type,
        "role": evidence.role,
    }


def annotation_dict(annotation: AnnotationRow) -> dict:
    return {
        "id": str(annotation.id),
        "annotator": annotation.annotator,
        "topic": annotation.topic,
        "stance": annotation.stance,
        "labels": annotation.labels,
        "confidence": annotation.confidence,
        "note": annotation.note,
        "status": annotation.status,
        "created_at": annotation.created_at,
        "updated_at": annotation.updated_at,
        "evidence": [evidence_dict(e) for e in annotation.evidence],
    }


def claim_dict(claim: ClaimRow) -> dict:
    review = claim.review
    return {
        "id": str(claim.id),
        "start": claim.start,
        "end": claim.end,
        "exact": claim.exact,
        "prefix": claim.prefix,
        "suffix": claim.suffix,
        "summary": claim.summary,
        "labels": claim.labels,
        "created_by": claim.created_by,
        "created_at": claim.created_at,
        "updated_at": claim.updated_at,
        "anchor": {
            "status": claim.anchor.status,
            "score": claim.anchor.score,
            "version": claim.anchor.version,
        },
        "annotations": [annotation_dict(a) for a in claim.annotations],
        "review": None
        if review is None
        else {
            "curator": review.curator,
            "decision": review.decision,
            "topic": review.topic,
            "stance": review.stance,
            "note": review.note,
            "created_at": review.created_at,
            "updated_at": review.updated_at,
        },
        "comments": [
            {
                "id": str(c.id),
                "author": c.author,
                "text": c.text,
                "created_at": c.created_at,
            }
            for c in claim.comments
        ],
        "group": claim.group,
    }


def article_dict(article: ArticleRow) -> dict:
    return {
        "id": str(article.id),
        "title": article.title,
        "text": article.text,
        "author": article.author,
        "source_url": article.source_url,
        "published_on": article.published_on,
        "language": article.language,
        "text_version": article.text_version,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "claims": [claim_dict(c) for c in article.claims],
        "relations": [
            {
                "id": str(r.id),
                "source": r.source,
                "target": r.target,
                "kind": r.kind,
                "created_by": r.created_by,
                "created_at": r.created_at,
            }
            for r in article.relations
        ],
    }


# --- Writing ---------------------------------------------------------------------------------

_DUMPS_OPTIONS = orjson.OPT_APPEND_NEWLINE


def article_line(article: ArticleRow) -> bytes:
    """The article's line, newline included: exactly the bytes of
    `json.dumps(article_dict(article), ensure_ascii=False, separators=(",", ":")) + "\n"` in
    UTF-8 (tests hold the two equal). The rows have the line's shape (see the reader), so orjson
    writes them as they are, without building the dicts: five times faster than json.dumps,
    which matters at a million annotations."""
    try:
        return orjson.dumps(article, option=_DUMPS_OPTIONS)
    except orjson.JSONEncodeError:
        # orjson refuses what json.dumps writes as an escape (a lone surrogate, an integer past
        # 64 bits); the databases hold neither, but one odd line must not break an export.
        text = json.dumps(article_dict(article), ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", "surrogatepass") + b"\n"


def write(spec: ExportSpec) -> Iterator[bytes]:
    if spec.filters.include_suggestions:
        return chunked(with_suggestions(spec))
    if spec.format.parts == PARTS and fragments.available():
        # SQLite writes the rows' JSON itself, the same bytes (`fragments`); PostgreSQL and
        # `include_suggestions` (a page of articles at a time) keep the reader's rows. Every
        # other batch written by the worker's second process, when it has one.
        if sqlite_resident.applies(spec.using):
            return sqlite_resident.write_in_two(spec.corpus, spec.filters, PARTS, None)
        return chunked(fragment_lines(spec.corpus, spec.filters))
    if parallel.applies(spec.using):
        return parallel.write_in_two(spec.corpus, spec.filters, spec.format.parts, _Lines())
    articles = read_articles(spec.corpus, spec.filters, parts=spec.format.parts)
    return chunked(map(article_line, articles))


class _Lines:
    """The lines of a batch of articles (`parallel.BatchWriter`)."""

    count = 0

    def __init__(self) -> None:
        self.labels = _Labels()

    def pieces(self, raw: _RawBatch, names: _Names) -> Iterator[bytes]:
        return map(article_line, _assemble(raw, self.labels, names))


FORMAT = ExportFormat(
    name="jsonl", extension="jsonl", content_type="application/x-ndjson", writer=write
)


# --- Suggestions (include_suggestions=true) ----------------------------------------------------

SUGGESTION_PAGE = 500


def suggestions_by_article(article_ids: list[int]) -> dict[int, list[dict]]:
    """The suggestions on these articles as the line's `suggestions` (what the import reads, plus
    ids, who stored them and everyone's decisions): two queries."""
    decisions: dict[int, list[dict]] = defaultdict(list)
    for suggestion_id, who, state, at in (
        SuggestionDecision.objects.filter(suggestion__article_id__in=article_ids)
        .order_by("suggestion_id", "decided_at", "id")
        .values_list("suggestion_id", "decided_by__username", "state", "decided_at")
    ):
        decisions[suggestion_id].append(
            {"decided_by": who, "state": state, "decided_at": at.isoformat()}
        )
    found: dict[int, list[dict]] = defaultdict(list)
    for row in (
        Suggestion.objects.filter(article_id__in=article_ids)
        .order_by("article_id", "start", "-end", "id")
        .values(
            "article_id",
            "id",
            "model",
            "start",
            "end",
            "exact",
            "prefix",
            "suffix",
            "topic__label",
            "stance",
            "labels",
            "score",
            "created_by__username",
            "created_at",
        )
    ):
        found[row["article_id"]].append(
            {
                "id": str(row["id"]),
                "model": row["model"],
                "start": row["start"],
                "end": row["end"],
                "exact": row["exact"],
                "prefix": row["prefix"],
                "suffix": row["suffix"],
                "topic": row["topic__label"],
                "stance": row["stance"] or None,
                "labels": row["labels"],
                "score": row["score"],
                "created_by": row["created_by__username"],
                "created_at": row["created_at"].isoformat(),
                "decisions": decisions.get(row["id"], []),
            }
        )
    return found


def with_suggestions(spec: ExportSpec) -> Iterator[bytes]:
    """Each line with a `suggestions` key. The articles are read a page of ids at a time: the
    page's suggestions first, then its articles through the reader (whose thread has the
    connection to itself while it runs)."""
    selected = spec.filters.select_articles(Article.objects.alive().filter(corpus=spec.corpus))
    last = 0
    while True:
        page = list(selected.filter(pk__gt=last).values_list("id", flat=True)[:SUGGESTION_PAGE])
        if not page:
            return
        last = page[-1]
        suggestions = suggestions_by_article(page)
        filters = replace(spec.filters, article_ids=tuple(page))
        for article in read_articles(spec.corpus, filters, parts=spec.format.parts):
            line = article_line(article)
            extra = orjson.dumps(suggestions.get(int(article.id), []))
            yield line[:-2] + b',"suggestions":' + extra + b"}\n"
