"""CSV: one row per annotation, flat, for spreadsheets and pandas.

UTF-8 without a byte-order mark, a header row, RFC 4180 quoting, `\\r\\n` row ends (the csv
module's default). The columns and their order are fixed (`COLUMNS`). A claim that keeps no
annotation (nobody tagged it yet, or the filters left none) still gets one row, with the
annotation columns empty, so every exported claim appears. Lists (labels) are joined with `|`;
evidence is a JSON array in one cell; the claim's group (id and label) closes the row; offsets
count code points, like everywhere in the project.

Spreadsheet formula injection: any cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with a single quote, so Excel, LibreOffice and Google Sheets show it as text.
The claim text itself is therefore altered in such cells; JSONL is the lossless format.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

import orjson

from ..spreadsheet import neutralise
from . import parallel
from .jsonl import evidence_dict
from .reader import read_articles
from .rows import ArticleRow
from .spec import ExportFormat, ExportSpec
from .streaming import CHUNK_BYTES, compact_json

COLUMNS = (
    "article_id",
    "article_title",
    "claim_id",
    "claim_start",
    "claim_end",
    "claim_exact",
    "claim_summary",
    "claim_labels",
    "claim_created_by",
    "annotation_id",
    "annotator",
    "topic",
    "stance",
    "annotation_labels",
    "confidence",
    "note",
    "status",
    "evidence_count",
    "evidence",
    "annotation_created_at",
    "annotation_updated_at",
    "review_decision",
    "gold_topic",
    "gold_stance",
    "curator",
    "review_note",
    # Articles that change: the text version the offsets refer to, and how the claim stands on
    # it (an orphan's start and end are empty).
    "text_version",
    "claim_anchor_status",
    "claim_anchor_score",
    "claim_group_id",
    "claim_group_label",
)


class _Line:
    """A file whose `write` hands back what it was given: `csv.writer(_Line()).writerow(cells)`
    answers the row's CSV text."""

    def write(self, text: str) -> str:
        return text


# Rows are joined into chunks of about this many characters before they are encoded.
CHUNK_CHARS = CHUNK_BYTES


def rows(articles: Iterable[ArticleRow]) -> Iterator[str]:
    """The rows of these articles as CSV text (everything after the header; no database read),
    with every cell that holds people's text neutralised (`_`); the other cells are numbers,
    ids, timestamps, fixed words (stance, status, decision) and the evidence's JSON array, which
    cannot start a formula.

    A row is the claim's cells, the annotation's, then the review's (and the claim's anchor and
    group). The csv module quotes each cell on its own, so the claim's and the review's parts are
    written once per claim and joined to each annotation's part: the writer then handles 12
    cells per row instead of 31 (it was half of the export's time). Names repeat, so their
    neutralised form is looked up, not recomputed."""
    _ = neutralise
    to_csv = csv.writer(_Line()).writerow
    names: dict[str, object] = {}

    def name(value: str) -> object:
        safe = names.get(value)
        if safe is None:
            safe = names[value] = _(value)
        return safe

    empty_annotation = to_csv([""] * 12)[:-2]
    for article in articles:
        title = _(article.title)
        for claim in article.claims:
            claim_part = to_csv(
                [
                    article.id,
                    title,
                    claim.id,
                    claim.start,
                    claim.end,
                    _(claim.exact),
                    _(claim.summary),
                    _("|".join(claim.labels)),
                    name(claim.created_by),
                ]
            )[:-2]
            review = claim.review
            review_part = (
                [
                    review.decision,
                    name(review.topic or ""),
                    review.stance,
                    name(review.curator),
                    _(review.note),
                ]
                if review is not None
                else ["", "", "", "", ""]
            )
            review_part += [article.text_version, claim.anchor.status, claim.anchor.score]
            group = claim.group
            review_part += [group["id"], _(group["label"])] if group else ["", ""]
            rest = to_csv(review_part)
            if not claim.annotations:
                yield f"{claim_part},{empty_annotation},{rest}"
            for a in claim.annotations:
                annotation_part = to_csv(
                    [
                        a.id,
                        name(a.annotator),
                        name(a.topic),
                        a.stance,
                        _("|".join(a.labels)),
                        "" if a.confidence is None else a.confidence,
                        _(a.note),
                        a.status,
                        len(a.evidence),
                        _evidence_json(a.evidence) if a.evidence else "",
                        a.created_at,
                        a.updated_at,
                    ]
                )[:-2]
                yield f"{claim_part},{annotation_part},{rest}"


def _evidence_json(evidence: list) -> str:
    """The evidence as a compact JSON array (the native line's evidence objects): orjson writes
    the rows as they are (their fields are those objects' keys, in order), the same text as
    `json.dumps(..., ensure_ascii=False, separators=(",", ":"))`."""
    try:
        return orjson.dumps(evidence).decode()
    except orjson.JSONEncodeError:  # what json.dumps writes as an escape (see jsonl)
        return compact_json()([evidence_dict(e) for e in evidence])


def write(spec: ExportSpec) -> Iterator[bytes]:
    if parallel.applies(spec.using):
        yield from _write_in_two(spec)
        return
    buffer = [csv.writer(_Line()).writerow(COLUMNS)]
    size = 0
    for line in rows(read_articles(spec.corpus, spec.filters, parts=spec.format.parts)):
        buffer.append(line)
        size += len(line)
        if size >= CHUNK_CHARS:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


def _write_in_two(spec: ExportSpec) -> Iterator[bytes]:
    """The header, then the rows of every other batch written by a second process
    (`parallel`)."""
    yield csv.writer(_Line()).writerow(COLUMNS).encode("utf-8")
    yield from parallel.write_in_two(spec.corpus, spec.filters, spec.format.parts, _Rows())


class _Rows:
    """A batch's rows as one piece of UTF-8 (`parallel.BatchWriter`)."""

    count = 0

    def pieces(self, articles: Iterable[ArticleRow]) -> list[bytes]:
        text = "".join(rows(articles))
        return [text.encode("utf-8")] if text else []  # no empty chunk


FORMAT = ExportFormat(
    name="csv",
    extension="csv",
    content_type="text/csv; charset=utf-8",
    writer=write,
    parts=frozenset({"annotations", "evidence", "reviews"}),
)
