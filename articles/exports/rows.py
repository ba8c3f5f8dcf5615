"""What a writer receives: one article at a time, with everything that hangs from it.

The rows have the native JSONL line's shape: its keys as fields, in its order, ids as strings,
so that the JSONL writer hands them to orjson as they are (it writes a dataclass's fields in
order, the fields named with a leading underscore left out). Other formats read the attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SpanEvidenceRow:
    kind: str  # "span"
    start: int | None  # None when orphaned by a text change (the old exact is kept)
    end: int | None
    exact: str
    evidence_type: str
    role: str
    # What the other kind has, empty here (class attributes: not written to JSONL).
    url = title = quote = ""


@dataclass
class SourceEvidenceRow:
    kind: str  # "source"
    url: str
    title: str
    quote: str
    evidence_type: str
    role: str
    start = end = None
    exact = ""


EvidenceRow = SpanEvidenceRow | SourceEvidenceRow


@dataclass
class AnnotationRow:
    id: str
    annotator: str
    topic: str
    stance: str
    labels: list
    confidence: int | None
    note: str
    status: str
    created_at: str
    updated_at: str
    evidence: list[EvidenceRow] = field(default_factory=list)


@dataclass
class ReviewRow:
    curator: str
    decision: str
    topic: str | None
    stance: str
    note: str
    created_at: str
    updated_at: str


@dataclass
class CommentRow:
    id: str
    author: str
    text: str
    created_at: str


@dataclass
class AnchorRow:
    """How the claim stands on the exported text version (see services.versions)."""

    status: str  # exact, moved, fuzzy, orphaned
    score: float
    version: int  # the text version it was placed on


@dataclass
class ClaimRow:
    id: str
    start: int | None  # None for an orphan (anchor.status "orphaned"): no place in this text
    end: int | None
    exact: str
    prefix: str
    suffix: str
    summary: str
    labels: list
    created_by: str
    created_at: str
    updated_at: str
    anchor: AnchorRow
    annotations: list[AnnotationRow] = field(default_factory=list)
    review: ReviewRow | None = None
    comments: list[CommentRow] = field(default_factory=list)
    group: dict | None = None  # the claim's group, {"id", "label"}, or None


@dataclass
class RelationRow:
    id: str
    source: int  # index of the source claim in its article's `claims`
    target: int
    kind: str
    created_by: str
    created_at: str


@dataclass
class ArticleRow:
    id: str
    title: str
    text: str
    author: str
    source_url: str
    published_on: str | None
    language: str
    text_version: int  # the version of `text` that every offset of the line refers to
    created_at: str
    updated_at: str
    claims: list[ClaimRow] = field(default_factory=list)
    relations: list[RelationRow] = field(default_factory=list)
