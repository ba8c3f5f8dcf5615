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
from collections.abc import Iterator

import orjson

from ..spreadsheet import FORMULA_CHARS
from . import parallel
from .jsonl import evidence_dict
from .reader import _Labels, _Names, _RawBatch, evidence_by_annotation, read_batches
from .spec import ExportFormat, ExportSpec
from .sql import ISO_TEXT
from .streaming import Written, chunked, compact_json

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


class Rows:
    """The CSV text of an export's rows (everything after the header), written straight from
    the reader's rows (`reader.read_batches`), batch by batch: no `ArticleRow` is assembled.
    Reads no database, so any process holding a batch's rows can write its share of an export.
    One per export: it keeps the cells of what repeats.

    Cells are written by hand, the bytes of `csv.writer(...).writerow` (`quoted`, `text_cell`):
    every cell that holds people's text is neutralised and quoted as needed; the others are
    numbers, ids (the database's integers), timestamps, fixed words (stance, status, decision,
    anchor status), which hold no quote, comma or line break and cannot start a formula, and
    the evidence's JSON array, quoted. The claim's cells (the article's, the claim's, the
    review's, the anchor's and the group's) are written once per claim and joined to each
    annotation's; names, topics and label lists repeat, so their cells are looked up by the
    ids and the stored label text the rows hold."""

    def __init__(self) -> None:
        self.labels = _Labels()
        self.names = _Names()  # replaced by the reader's (`batch`)
        self.people: Written[str] = Written(lambda user_id: text_cell(self.names.users[user_id]))
        self.topics: Written[str] = Written(
            lambda topic_id: text_cell(self.names.topics[topic_id] or "")
        )
        self.label_lists: Written[str] = Written(
            lambda text: text_cell("|".join(self.labels(text)))
        )

    def batch(self, raw: _RawBatch, names: _Names) -> Iterator[bytes]:
        """The batch's rows in UTF-8, one piece per article that has claims: its rows, each ended by
        `\\r\\n`, in the order `reader.read_articles` gives (claims in text order, a claim's
        annotations by username); `names` is the reader's, which knows every id of the rows."""
        if names is not self.names:
            self.names = names
            self.people.clear()
            self.topics.clear()
        people, topics, label_lists = self.people, self.topics, self.label_lists
        groups = raw.groups
        iso = ISO_TEXT  # the timestamps as the database sent them, as text (`sql.IsoText`)

        evidence = evidence_by_annotation(raw.evidence)

        reviews: dict[int, str] = {}
        for claim_id, curator, decision, topic_id, stance, note, *_ in raw.reviews:
            reviews[claim_id] = (
                f",{decision},{topics[topic_id]},{stance},{people[curator]},{text_cell(note)},"
            )

        heads = {
            article_id: (f"{article_id},{text_cell(title)},", f"{text_version},")
            for article_id, title, _, _, _, _, _, text_version, *_ in raw.articles
        }
        # Each claim's cells before and after the annotation's, and the claims of each article
        # in order.
        parts: dict[int, tuple[bytes, bytes]] = {}
        article_claims: dict[int, list[int]] = {}
        current_article, in_article = None, []
        for (
            article_id, claim_id, start, end, exact, _, _, summary, created_by,
            anchor_status, anchor_score, _, label_text, *_,
        ) in raw.claims:  # fmt: skip
            if article_id != current_article:
                current_article = article_id
                in_article = article_claims[article_id] = []
                head, tail = heads[article_id]
            in_article.append(claim_id)
            group = groups.get(claim_id) if groups else None
            parts[claim_id] = (
                f"{head}{claim_id},{'' if start is None else start},"
                f"{'' if end is None else end},{text_cell(exact)},{text_cell(summary)},"
                f"{label_lists[label_text]},{people[created_by]},".encode(),
                (
                    f"{reviews.get(claim_id, ',,,,,,')}{tail}{anchor_status},{anchor_score},"
                    + (f"{group['id']},{text_cell(group['label'])}\r\n" if group else ",\r\n")
                ).encode(),
            )

        # Each annotation's cells, by claim (joined to the claim's once per article, as UTF-8:
        # a claim's text often holds a character outside Latin-1, which would widen every
        # row's str); they come by annotator id within a claim, and are sorted by username
        # where that order differs.
        lines: dict[int, list[bytes]] = {}
        annotators: dict[int, list[str]] = {}
        unsorted: list[int] = []
        users = names.users
        current_claim, skipped, previous = None, False, ""
        held_lines: list[bytes] = []
        held_names: list[str] = []
        for (
            claim_id, annotation_id, annotator_id, topic_id, stance, confidence, note, status,
            label_text, created_at, updated_at,
        ) in raw.annotations:  # fmt: skip
            annotator = users[annotator_id]
            if claim_id != current_claim:
                current_claim = claim_id
                # A claim this batch does not export (`InIds(loose=True)`): skipped.
                if skipped := claim_id not in parts:
                    continue
                held_lines = lines[claim_id] = []
                held_names = annotators[claim_id] = []
            elif skipped:
                continue
            elif annotator < previous and (not unsorted or unsorted[-1] != claim_id):
                unsorted.append(claim_id)
            previous = annotator
            held_names.append(annotator)
            its = evidence.get(annotation_id) if evidence else None
            created = iso[created_at]
            modified = created if updated_at is None else iso[updated_at]
            held_lines.append(
                f"{annotation_id},{people[annotator_id]},{topics[topic_id]},{stance},"
                f"{label_lists[label_text]},{'' if confidence is None else confidence},"
                f"{text_cell(note) if note else ''},{status},"
                f"{len(its) if its else 0},{quoted(_evidence_json(its)) if its else ''},"
                f"{created},{modified}".encode()
            )
        # One annotation per claim and annotator, so the username alone orders a claim's rows.
        for claim_id in unsorted:
            lines[claim_id] = [
                line for _, line in sorted(zip(annotators[claim_id], lines[claim_id], strict=True))
            ]

        empty_annotation = [b"," * 11]
        for article_id in heads:
            claim_ids = article_claims.get(article_id)
            if not claim_ids:
                continue
            text: list[bytes] = []
            for claim_id in claim_ids:
                claim_part, rest = parts[claim_id]
                its_lines = lines.get(claim_id, empty_annotation)
                # The claim's cells, an annotation's, the rest; the claim's, the next one's, ...
                text += (claim_part, (rest + claim_part).join(its_lines), rest)
            yield b"".join(text)


def _evidence_json(evidence: list) -> str:
    """The evidence as a compact JSON array (the native line's evidence objects): orjson writes
    the rows as they are (their fields are those objects' keys, in order), the same text as
    `json.dumps(..., ensure_ascii=False, separators=(",", ":"))`."""
    try:
        return orjson.dumps(evidence).decode()
    except orjson.JSONEncodeError:  # what json.dumps writes as an escape (see jsonl)
        return compact_json()([evidence_dict(e) for e in evidence])


def write(spec: ExportSpec) -> Iterator[bytes]:
    writer = _Rows()
    if parallel.applies(spec.using):
        # The header, then the rows, every other batch written by a second process.
        yield HEADER.encode("utf-8")
        yield from parallel.write_in_two(spec.corpus, spec.filters, spec.format.parts, writer)
        return
    yield from chunked(_pieces(spec, writer.rows))


def _pieces(spec: ExportSpec, rows: Rows) -> Iterator[bytes]:
    yield HEADER.encode("utf-8")
    names = _Names()
    for raw in read_batches(spec.corpus, spec.filters, names, parts=spec.format.parts):
        yield from rows.batch(raw, names)


class _Rows:
    """A batch's rows as one piece of UTF-8 (`parallel.BatchWriter`)."""

    count = 0

    def __init__(self) -> None:
        self.rows = Rows()

    def __reduce__(self) -> tuple:
        # Sent to the resident second process (`parallel.Resident`) before it writes anything:
        # a new one there (its memos hold closures, which do not pickle).
        return (_Rows, ())

    def pieces(self, raw: _RawBatch, names: _Names) -> list[bytes]:
        text = b"".join(self.rows.batch(raw, names))
        return [text] if text else []  # no empty chunk


FORMAT = ExportFormat(
    name="csv",
    extension="csv",
    content_type="text/csv; charset=utf-8",
    writer=write,
    parts=frozenset({"annotations", "evidence", "reviews"}),
)
