"""brat standoff, in the layout of the argument-annotated essays corpus, as a streamed zip.

Per article `<id>-<slug of title>.txt` (the text, UTF-8) and `.ann`; `annotation.conf` at the
root declares the types so that brat opens the folder as is. In the `.ann`:

- `T` lines: each claim, typed by the first of its labels that is MajorClaim, Claim or Premise,
  else `Claim`; each distinct evidence span, typed `Evidence`. A span that crosses line breaks
  is written as fragments split at the `\\n`s (`T1<tab>Claim 0 12;13 40<tab>...`), as brat does.
- `A` lines: `A1<tab>Stance T1 For|Against|Neutral` (support, oppose, neutral). With the
  `annotator` filter, that annotator's stance; otherwise the curator's gold stance when the claim
  was accepted (always with `gold_only`); otherwise each distinct stance the annotators gave,
  one line each. Evidence spans get `EvidenceType` attributes.
- `R` lines: `R1<tab>supports|attacks|rephrases Arg1:T2 Arg2:T1<tab>` for relations between
  claims, and evidence -> claim (supports for supporting evidence, attacks for undermining).
- `#` lines: `AnnotatorNotes` on a claim for its summary, each annotator's note
  (`username: note`) and each outside-source evidence (line breaks become spaces).

Offsets are character offsets into the .txt, counted in Unicode code points (what brat, a
Python program, counts), never bytes or UTF-16 units.

The zip is written to a non-seekable sink (entries carry data descriptors, ZIP64 records are
added when sizes or offsets need them) and drained after every entry. Memory is flat except for
the zip's central directory, which the format puts at the end: a few hundred bytes per article.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

from django.utils.text import slugify

from ..filters import ExportFilters
from .reader import read_articles
from .rows import ArticleRow, ClaimRow, SpanEvidenceRow
from .spec import ExportFormat, ExportSpec

CLAIM_TYPES = ("MajorClaim", "Claim", "Premise")
STANCE_VALUES = {"support": "For", "oppose": "Against", "neutral": "Neutral"}
EVIDENCE_RELATION = {"supports": "supports", "undermines": "attacks"}
COMPRESS_LEVEL = 1  # text still shrinks ~3x; higher levels cost far more time than they save

ANNOTATION_CONF = """\
[entities]
MajorClaim
Claim
Premise
Evidence

[relations]
supports\tArg1:<ENTITY>, Arg2:<ENTITY>
attacks\tArg1:<ENTITY>, Arg2:<ENTITY>
rephrases\tArg1:<ENTITY>, Arg2:<ENTITY>

[events]

[attributes]
Stance\tArg:<ENTITY>, Value:For|Against|Neutral
EvidenceType\tArg:Evidence, Value:study|statistic|expert|example|anecdote|official|other
"""


class _Sink:
    """A write-only, non-seekable file for ZipFile; `drain()` hands over what was written."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """Part of the file protocol ZipFile types; it never closes a file it was handed."""

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The pieces of [start, end) between line breaks (brat spans do not cross lines)."""
    pieces = []
    position = start
    while position < end:
        newline = text.find("\n", position, end)
        stop = end if newline == -1 else newline
        if stop > position:
            pieces.append((position, stop))
        position = stop + 1
    return pieces


def _t_line(tid: str, kind: str, text: str, start: int | None, end: int | None) -> str | None:
    if start is None or end is None:  # an orphan: no place in this text, no T line
        return None
    pieces = fragments(text, start, end)
    if not pieces:
        return None
    offsets = ";".join(f"{a} {b}" for a, b in pieces)
    covered = " ".join(text[a:b] for a, b in pieces)
    return f"{tid}\t{kind} {offsets}\t{covered}"


def _one_line(value: str) -> str:
    return " ".join(value.split("\n")).replace("\t", " ")


def _stances(claim: ClaimRow, filters: ExportFilters) -> list[str]:
    review = claim.review
    gold = review.stance if review is not None and review.decision == "accepted" else ""
    if filters.gold_only or (gold and filters.annotator_id is None):
        return [gold] if gold else []
    return list(dict.fromkeys(a.stance for a in claim.annotations))


def ann_text(article: ArticleRow, filters: ExportFilters) -> str:
    """The .ann file of one article."""
    text = article.text
    t_lines: list[str] = []
    a_lines: list[str] = []
    r_lines: list[str] = []
    notes: list[tuple[str, str]] = []
    claim_tid: dict[int, str] = {}
    evidence_tid: dict[tuple[int | None, int | None], str] = {}
    evidence_links: set[tuple[str, str, str]] = set()

    def new_t(kind: str, start: int | None, end: int | None) -> str | None:
        tid = f"T{len(t_lines) + 1}"
        line = _t_line(tid, kind, text, start, end)
        if line is None:
            return None
        t_lines.append(line)
        return tid

    def new_a(name: str, tid: str, value: str) -> None:
        a_lines.append(f"A{len(a_lines) + 1}\t{name} {tid} {value}")

    def new_r(kind: str, source: str, target: str) -> None:
        r_lines.append(f"R{len(r_lines) + 1}\t{kind} Arg1:{source} Arg2:{target}\t")

    for index, claim in enumerate(article.claims):
        kind = next((label for label in claim.labels if label in CLAIM_TYPES), "Claim")
        tid = new_t(kind, claim.start, claim.end)
        if tid is not None:
            claim_tid[index] = tid
    for index, claim in enumerate(article.claims):
        tid = claim_tid.get(index)
        if tid is None:
            continue
        for stance in _stances(claim, filters):
            new_a("Stance", tid, STANCE_VALUES[stance])
        if claim.summary:
            notes.append((tid, claim.summary))
        for annotation in claim.annotations:
            if annotation.note:
                notes.append((tid, f"{annotation.annotator}: {annotation.note}"))
            for evidence in annotation.evidence:
                if not isinstance(evidence, SpanEvidenceRow):  # kind "source"
                    source = " ".join(
                        v for v in (evidence.title, evidence.url, evidence.quote) if v
                    )
                    notes.append(
                        (tid, f"evidence ({evidence.evidence_type}, {evidence.role}): {source}")
                    )
                    continue
                key = (evidence.start, evidence.end)
                if key not in evidence_tid:
                    etid = new_t("Evidence", evidence.start, evidence.end)
                    if etid is None:
                        continue
                    evidence_tid[key] = etid
                    new_a("EvidenceType", etid, evidence.evidence_type)
                link = (evidence_tid[key], tid, EVIDENCE_RELATION[evidence.role])
                if link not in evidence_links:
                    evidence_links.add(link)
                    new_r(link[2], link[0], link[1])
    for relation in article.relations:
        source_tid = claim_tid.get(relation.source)
        target_tid = claim_tid.get(relation.target)
        if source_tid and target_tid:
            new_r(relation.kind, source_tid, target_tid)
    note_lines = [
        f"#{n}\tAnnotatorNotes {tid}\t{_one_line(value)}"
        for n, (tid, value) in enumerate(notes, start=1)
    ]
    lines = t_lines + a_lines + r_lines + note_lines
    return "\n".join(lines) + "\n" if lines else ""


def file_stem(article: ArticleRow) -> str:
    return f"{article.id}-{slugify(article.title)[:60].strip('-') or 'article'}"


def _entry(name: str, moment: str | None) -> zipfile.ZipInfo:
    # `moment` is the database's text, "YYYY-MM-DD HH:MM:SS..."; zip times start in 1980.
    stamp = (1980, 1, 1, 0, 0, 0)
    if moment and moment[:4] >= "1980":
        fields = ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19))
        year, month, day, hour, minute, second = (int(moment[a:b]) for a, b in fields)
        stamp = (year, month, day, hour, minute, second)
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def write(spec: ExportSpec) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, moment: str | None, data: str) -> None:
            archive.writestr(_entry(name, moment), data.encode(), compresslevel=COMPRESS_LEVEL)

        add("annotation.conf", None, ANNOTATION_CONF)
        for article in read_articles(spec.corpus, spec.filters, parts=spec.format.parts):
            stem = file_stem(article)
            add(f"{stem}.txt", article.updated_at, article.text)
            add(f"{stem}.ann", article.updated_at, ann_text(article, spec.filters))
            yield sink.drain()
    yield sink.drain()


FORMAT = ExportFormat(
    name="brat",
    extension="zip",
    content_type="application/zip",
    writer=write,
    parts=frozenset({"annotations", "evidence", "reviews", "relations", "context"}),
)
