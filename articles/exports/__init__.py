"""Corpus exports: one module per format, each a generator of byte chunks.

The package is split by concern; this module only gathers the names callers use:

- `params`: `parse_export_params` validates the request's parameters (all of them, before the
  first byte) through `filters.ExportFilterSet`, which also says what each filter selects;
- `reader`: `read_articles` reads the selected live articles in batches with everything hanging
  from them, on PostgreSQL in a reader thread one batch ahead of the writer (`sql`: its queries'
  expressions and how they run; `rows`: the `ArticleRow`s it hands to the writers), and
  `read_batches` the same batches as the queries' rows, which CSV and W3C write from directly;
- `spec`: `ExportFormat` and `ExportSpec`; `registry`: `FORMATS`, name -> format;
- `streaming`: `stream(spec)`, the bytes of an export read inside one transaction (one
  consistent snapshot), and the helpers writers share;
- `parallel`: on PostgreSQL, a large export's every other batch read, assembled and written by
  a forked second process in the same snapshot (JSONL, CSV, W3C);
- `jsonl`, `w3c`, `brat`, `csv`, `aif`: the formats.

Imports point one way: the format modules import `spec`, `rows`, `reader`, `streaming` and
`parallel` (which imports `reader` and `streaming`); the registry imports the formats; `params`
imports the registry; none of them imports this package.
Articles and claims in the trash are never exported.
"""

from ..filters import ExportFilters
from . import fragments
from .params import parse_export_params
from .reader import compile_ahead, read_articles
from .registry import FORMATS
from .rows import (
    AnchorRow,
    AnnotationRow,
    ArticleRow,
    ClaimRow,
    CommentRow,
    EvidenceRow,
    RelationRow,
    ReviewRow,
    SourceEvidenceRow,
    SpanEvidenceRow,
)
from .spec import PARTS, ExportFormat, ExportSpec
from .streaming import CHUNK_BYTES, chunked, compact_json, stream


def warm_up() -> None:
    """Ready what a server's first export would otherwise do on the way (the reader's queries
    compiled for every format without filters, and on SQLite the JSONL fragments' queries); the
    WSGI entry point calls it."""
    compile_ahead({export_format.parts for export_format in FORMATS.values()})
    if fragments.available():  # SQLite writes JSONL's objects: its own queries
        fragments.fragment_queries(ExportFilters())


__all__ = [
    "CHUNK_BYTES",
    "FORMATS",
    "PARTS",
    "AnnotationRow",
    "AnchorRow",
    "ArticleRow",
    "ClaimRow",
    "CommentRow",
    "EvidenceRow",
    "ExportFilters",
    "ExportFormat",
    "ExportSpec",
    "RelationRow",
    "ReviewRow",
    "SourceEvidenceRow",
    "SpanEvidenceRow",
    "chunked",
    "compact_json",
    "parse_export_params",
    "read_articles",
    "stream",
    "warm_up",
]
