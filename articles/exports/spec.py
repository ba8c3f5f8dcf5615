"""What an export is: the format (its name, content type, writer and the parts it reads) and
the request for one export (corpus, format, filters, the addresses IRIs are built on).

The writers take an `ExportSpec`; the registry (`registry.FORMATS`) names the formats. Kept
apart from both so that a format module and the registry import this, never each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..filters import ExportFilters
from ..models import Corpus

# What hangs from a claim, beyond the claim itself, and "context": the article's text and its
# fields beyond its title and text version, each claim's prefix, suffix and timestamps (without
# it they are read as None). A format reads only the parts it writes.
PARTS = frozenset({"annotations", "evidence", "reviews", "comments", "relations", "context"})


@dataclass(frozen=True)
class ExportSpec:
    corpus: Corpus
    format: ExportFormat
    filters: ExportFilters
    # Absolute IRIs (W3C) are built from these; the API passes the request's own.
    base_url: str = "http://localhost:8000"
    collection_url: str = ""
    # The database alias the export reads from (the replica for a heavy read; articles.replica).
    using: str = "default"

    def filename(self) -> str:
        return f"{self.corpus.slug}.{self.format.extension}"


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str
    content_type: str
    writer: Callable[[ExportSpec], Iterator[bytes]]
    # The parts of the corpus it writes (`PARTS`): the reader skips the others' queries.
    parts: frozenset[str] = PARTS
