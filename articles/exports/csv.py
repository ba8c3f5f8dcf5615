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

from ..spreadsheet import FORMULA_CHARS
from . import parallel
from .jsonl import evidence_dict
from .reader import read_articles
from .rows import ArticleRow
from .spec import ExportFormat, ExportSpec
from .streaming import CHUNK_BYTES, Written, compact_json

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

HEADER = csv.writer(_Line()).writerow(COLUMNS)


def quoted(value: str) -> str:
    """A cell as the csv module writes it (its default dialect, `QUOTE_MINIMAL`): in double
    quotes, its own doubled, when it holds a quote, a comma, CR or LF (the delimiter, the quote
    character and the line terminator's characters); as it is otherwise, empty included (a row
    of several cells; tests compare the two on every string of a hostile alphabet)."""
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return f'"{value}"'
    return value


def text_cell(value: str | None) -> str:
    """A cell of people's text: neutralised (a single quote before a formula's first character,
    as `spreadsheet.neutralise`), then quoted as the csv module would. None is empty."""
    if not value:
        return ""
    if value[0] in FORMULA_CHARS:
        value = "'" + value
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return f'"{value}"'
    return value


def rows(articles: Iterable[ArticleRow]) -> Iterator[str]:
    """The CSV text of the rows (everything after the header), one piece per article that has
    claims: its rows, each ended by `\\r\\n`. Reads no database: it only writes the rows it is
    given, so any process holding `ArticleRow`s can write its share of an export.

    Cells are written by hand, the bytes of `csv.writer(...).writerow` (`quoted`, `text_cell`):
    every cell that holds people's text is neutralised and quoted as needed; the others are
    numbers, ids (the database's integers), timestamps, fixed words (stance, status, decision,
    anchor status), which hold no quote, comma or line break and cannot start a formula, and
    the evidence's JSON array, quoted. The claim's cells (the article's, the claim's, the
    review's, the anchor's and the group's) are written once per claim and joined to each
    annotation's; names, topics and label lists repeat, so their cells are looked up."""
    # Names, topics and joined label lists repeat: their cells are looked up.
    cell: Written[str] = Written(text_cell)
    empty_annotation = "," * 11
    for article in articles:
        if not article.claims:
            continue
        lines = []
        head = f"{article.id},{text_cell(article.title)},"
        tail = f"{article.text_version},"
        for claim in article.claims:
            labels = claim.labels
            claim_part = (
                f"{head}{claim.id},{'' if claim.start is None else claim.start},"
                f"{'' if claim.end is None else claim.end},{text_cell(claim.exact)},"
                f"{text_cell(claim.summary)},"
                f"{cell['|'.join(labels)] if labels else ''},{cell[claim.created_by]},"
            )
            review = claim.review
            group = claim.group
            anchor = claim.anchor
            rest = (
                (
                    f",{review.decision},{cell[review.topic or '']},{review.stance},"
                    f"{cell[review.curator]},{text_cell(review.note)},"
                )
                if review is not None
                else ",,,,,,"
            ) + (
                f"{tail}{anchor.status},{anchor.score},"
                + (f"{group['id']},{text_cell(group['label'])}\r\n" if group else ",\r\n")
            )
            annotations = claim.annotations
            if not annotations:
                lines.append(f"{claim_part}{empty_annotation}{rest}")
                continue
            for a in annotations:
                labels = a.labels
                evidence = a.evidence
                confidence = a.confidence
                note = a.note
                lines.append(
                    f"{claim_part}{a.id},{cell[a.annotator]},{cell[a.topic]},{a.stance},"
                    f"{cell['|'.join(labels)] if labels else ''},"
                    f"{'' if confidence is None else confidence},{text_cell(note) if note else ''},"
                    f"{a.status},{len(evidence)},"
                    f"{quoted(_evidence_json(evidence)) if evidence else ''},"
                    f"{a.created_at},{a.updated_at}{rest}"
                )
        yield "".join(lines)


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
        # The header, then the rows, every other batch written by a second process.
        yield HEADER.encode("utf-8")
        yield from parallel.write_in_two(spec.corpus, spec.filters, spec.format.parts, _Rows())
        return
    buffer = [HEADER]
    size = 0
    for piece in rows(read_articles(spec.corpus, spec.filters, parts=spec.format.parts)):
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_CHARS:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


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
