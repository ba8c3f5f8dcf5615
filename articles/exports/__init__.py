"""Corpus exports: one module per format, each a generator of byte chunks.

The package is split by concern; this module only gathers the names callers use:

- `params`: `parse_export_params` validates the request's parameters (all of them, before the
  first byte) through `filters.ExportFilterSet`, which also says what each filter selects;
- `reader`: `read_articles` reads the selected live articles in batches with everything hanging
  from them, on PostgreSQL in a reader thread one batch ahead of the writer (`sql`: its queries'
  expressions and how they run; `rows`: the `ArticleRow`s it hands to the writers);
- `spec`: `ExportFormat` and `ExportSpec`; `registry`: `FORMATS`, name -> format;
- `streaming`: `stream(spec)`, the bytes of an export read inside one transaction (one
  consistent snapshot), and the helpers writers share;
- `jsonl`, `w3c`, `brat`, `csv`, `aif`: the formats.

Imports point one way: the format modules import `spec`, `rows`, `reader` and `streaming`; the
registry imports the formats; `params` imports the registry; none of them imports this package.
Articles and claims in the trash are never exported.
"""

from django.conf import settings
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections

from ..filters import ExportFilters
from . import fragments, heap
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

# The memory `heap.grow` maps for an export, by database (MB of small objects, threads' malloc
# heaps, MB per heap): what a gunicorn worker's first export of issue 17's corpus took from the
# kernel on PostgreSQL (+31 MB: its two reader threads' heaps, the request's thread's, small
# objects). On SQLite the first export took 10 MB (2,500 faults more than the next ones): not
# worth as much resident memory in every worker.
WARM_MEMORY = {"postgresql": (16, 3, 6)}


def warm_up() -> None:
    """Ready what a server's first export would otherwise do on the way (the reader's queries
    compiled for every format without filters, and on SQLite the JSONL fragments' queries; the
    memory an export holds, `heap`); the WSGI entry point calls it in each worker. No database
    connection is opened."""
    compile_ahead({export_format.parts for export_format in FORMATS.values()})
    if fragments.available():  # SQLite writes JSONL's objects: its own queries
        fragments.fragment_queries(ExportFilters())
    sizes = WARM_MEMORY.get(connections[DEFAULT_DB_ALIAS].vendor)
    if sizes is not None and settings.EXPORT_WARM_MEMORY:
        heap.grow(*sizes)
        request_finished.connect(heap.top_up, dispatch_uid="export-heap-top-up")


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
