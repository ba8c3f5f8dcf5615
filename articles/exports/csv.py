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
import io
from collections.abc import Iterator
from itertools import islice

from ..spreadsheet import neutralise
from .jsonl import evidence_dict
from .reader import read_articles
from .spec import ExportFormat, ExportSpec
from .streaming import compact_json

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
ROWS_PER_CHUNK = 500


def _rows(spec: ExportSpec) -> Iterator[list]:
    """The rows, with every cell that holds people's text neutralised (`_`); the other cells
    are numbers, ids, timestamps, fixed words (stance, status, decision) and the evidence's JSON
    array, which cannot start a formula. Claim and review cells are made once per claim."""
    _ = neutralise
    encode = compact_json()
    for article in read_articles(spec.corpus, spec.filters, parts=spec.format.parts):
        title = _(article.title)
        for claim in article.claims:
            claim_part = [
                article.id,
                title,
                claim.id,
                claim.start,
                claim.end,
                _(claim.exact),
                _(claim.summary),
                _("|".join(claim.labels)),
                _(claim.created_by),
            ]
            review = claim.review
            review_part = (
                [
                    review.decision,
                    _(review.topic or ""),
                    review.stance,
                    _(review.curator),
                    _(review.note),
                ]
                if review is not None
                else ["", "", "", "", ""]
            )
            review_part += [article.text_version, claim.anchor.status, claim.anchor.score]
            group = claim.group
            review_part += [group["id"], _(group["label"])] if group else ["", ""]
            if not claim.annotations:
                yield claim_part + [""] * 12 + review_part
            for a in claim.annotations:
                yield [
                    *claim_part,
                    a.id,
                    _(a.annotator),
                    _(a.topic),
                    a.stance,
                    _("|".join(a.labels)),
                    "" if a.confidence is None else a.confidence,
                    _(a.note),
                    a.status,
                    len(a.evidence),
                    encode([evidence_dict(e) for e in a.evidence]) if a.evidence else "",
                    a.created_at,
                    a.updated_at,
                    *review_part,
                ]


def write(spec: ExportSpec) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    rows = _rows(spec)
    while True:
        writer.writerows(islice(rows, ROWS_PER_CHUNK))
        chunk = buffer.getvalue()
        if not chunk:
            return
        yield chunk.encode("utf-8")
        buffer.seek(0)
        buffer.truncate()


FORMAT = ExportFormat(
    name="csv",
    extension="csv",
    content_type="text/csv; charset=utf-8",
    writer=write,
    parts=frozenset({"annotations", "evidence", "reviews"}),
)
