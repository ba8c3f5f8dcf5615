"""brat standoff import from a zip of `.txt`/`.ann` pairs (the argument-annotated essays layout).

Each `name.txt` becomes an article titled `name` (a `.txt` without `.ann` is an article without
claims; an `.ann` without `.txt` is an error). Other files (annotation.conf, README, ...) are
skipped. In the `.ann`:

- `T` lines typed MajorClaim, Claim or Premise become claims, the type kept as the claim's label;
  `Evidence` lines become evidence spans. A span in fragments (`0 5;6 10`) is accepted when only
  whitespace separates the fragments, and becomes one span. Every span's text is checked
  against the `.txt` at its offsets (code points, as brat counts).
- `A<tab>Stance Tn For|Against|Neutral` becomes the importing user's annotation of that claim
  (stance support|oppose|neutral, the corpus's first topic); two different stances on one claim
  are refused. `EvidenceType` attributes type evidence spans.
- `R<tab>supports|attacks|rephrases Arg1:Tx Arg2:Ty` between claims become relations; from an
  evidence span to a claim (supports|attacks), the evidence joins that claim's annotation, which
  therefore needs a stance.
- `#<tab>AnnotatorNotes Tn<tab>text` on a claim becomes its summary (several are joined by line
  breaks); notes on anything else are skipped.
- Anything else (events, normalisations, other types) is an error naming the line.

The archive is checked before anything is extracted (see `check_archive`), and nothing is ever
written to disk: entries are read in memory, each bounded by its declared size (a stream that
inflates past it is cut there, and then fails its checksum). An entry that cannot be read as
its headers describe it (sizes edited, a truncated or garbled deflate stream, a bad CRC) is an
error naming the entry, like any bad line: nothing is imported.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError

from .. import anchoring, services, validators
from ..models import EvidenceType
from . import (
    Errors,
    ImportContext,
    ImportFailed,
    OffsetMap,
    PlannedAnnotation,
    PlannedArticle,
    PlannedClaim,
)

MAX_ENTRIES = 10_000
MAX_RATIO = 100  # uncompressed / compressed, for entries over RATIO_FLOOR bytes
RATIO_FLOOR = 1024 * 1024
PAIRS_PER_CHUNK = 100
CLAIM_TYPES = ("MajorClaim", "Claim", "Premise")
STANCES = {"for": "support", "against": "oppose", "neutral": "neutral"}
RELATION_KINDS = ("supports", "attacks", "rephrases")
EVIDENCE_ROLES = {"supports": "supports", "attacks": "undermines"}
# Stored and deflated entries only: Python inflates bzip2 and LZMA members without a bound on
# what one read returns, so a small entry could expand without limit before its size is checked.
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
# What zipfile raises, reading a damaged archive or entry (found by corrupting real zips).
DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,  # a negative seek, a name that is not UTF-8
    NotImplementedError,  # a version or feature the headers claim
    RuntimeError,  # an encryption flag in a local header
    struct.error,
    OverflowError,
)
_FRAGMENT = re.compile(r"^(\d+) (\d+)$")
_DRIVE = re.compile(r"^[A-Za-z]:")


def _show(value: str) -> str:
    return json.dumps(value if len(value) <= 40 else value[:40] + "…", ensure_ascii=False)


def check_archive(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive before extracting anything: too many entries, too large in total, an
    entry that would escape the folder (absolute path, `..`), encrypted, compressed otherwise
    than stored or deflate, or a compression bomb."""
    limit = settings.IMPORT_MAX_BYTES
    if len(infos) > MAX_ENTRIES:
        raise ImportFailed(
            [(None, f"The zip has {len(infos):,} entries; at most {MAX_ENTRIES:,}.")], status=413
        )
    refused: list[tuple[int | None, str]] = []
    too_large = False
    total = 0
    for info in infos:
        name = info.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or _DRIVE.match(name):
            refused.append((None, f"{name}: an absolute path is not allowed in the zip."))
        elif ".." in parts:
            refused.append((None, f"{name}: a path with '..' is not allowed in the zip."))
        if info.flag_bits & 0x1:
            refused.append((None, f"{name}: encrypted entries are not supported."))
        elif info.compress_type not in METHODS and not info.is_dir():
            refused.append(
                (
                    None,
                    f"{name}: compression method {info.compress_type} is not supported; "
                    "zip it again with deflate (the usual method) or without compression.",
                )
            )
        total += info.file_size
        if info.file_size > RATIO_FLOOR and (
            info.compress_size == 0 or info.file_size / info.compress_size > MAX_RATIO
        ):
            too_large = True
            refused.append(
                (
                    None,
                    f"{name}: expands from {info.compress_size:,} to {info.file_size:,} bytes, "
                    f"more than {MAX_RATIO} times; refused as a compression bomb.",
                )
            )
    if total > limit:
        too_large = True
        refused.append(
            (
                None,
                f"The zip expands to {total:,} bytes; the limit is {limit:,} bytes "
                "(IMPORT_MAX_BYTES).",
            )
        )
    if refused:
        raise ImportFailed(refused, status=413 if too_large else 400)


@dataclass
class _Span:
    tid: str
    kind: str
    start: int
    end: int
    line: int
    claim_index: int | None = None
    evidence_type: str = "other"


@dataclass
class _Parsed:
    spans: dict[str, _Span] = field(default_factory=dict)
    stances: dict[str, tuple[str, int]] = field(default_factory=dict)
    relations: list[tuple[str, str, str, int]] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)


def _parse_fragments(offsets: str, raw: str) -> tuple[int, int, str]:
    """(start, end, text brat shows) of a possibly fragmented span; raise ValueError."""
    pieces = []
    for fragment in offsets.split(";"):
        match = _FRAGMENT.match(fragment.strip())
        if not match:
            raise ValueError(f"offsets {offsets!r} are not 'start end' pairs.")
        start, end = int(match.group(1)), int(match.group(2))
        if not 0 <= start < end <= len(raw):
            raise ValueError(
                f"offsets {start}-{end} are outside the text ({len(raw)} characters) or empty."
            )
        pieces.append((start, end))
    pieces.sort()
    for (_, end), (start, _) in zip(pieces, pieces[1:], strict=False):
        if start < end or raw[end:start].strip():
            raise ValueError(
                f"the fragments of {offsets!r} overlap or have text between them; "
                "only whitespace may separate the fragments of a span."
            )
    return pieces[0][0], pieces[-1][1], " ".join(raw[a:b] for a, b in pieces)


def _parse_ann(ann: str, raw: str, where: str, errors: Errors) -> _Parsed:
    parsed = _Parsed()
    attributes: list[tuple[str, str, str, int]] = []
    for number, line in enumerate(ann.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        ident, _, rest = line.partition("\t")
        head = ident[:1]

        def bad(reason: str, number: int = number, ident: str = ident) -> None:
            errors.add(number, f"{where}: {ident}: {reason}")

        if head == "T":
            description, _, shown = rest.partition("\t")
            kind, _, offsets = description.partition(" ")
            if kind not in (*CLAIM_TYPES, "Evidence"):
                bad(
                    f"entity type {kind!r} is not imported "
                    "(MajorClaim, Claim, Premise or Evidence)."
                )
                continue
            try:
                start, end, covered = _parse_fragments(offsets, raw)
            except ValueError as error:
                bad(str(error))
                continue
            if shown != covered:
                bad(
                    f"its text {_show(shown)} does not match the .txt at "
                    f"{offsets}, which is {_show(covered)}."
                )
                continue
            if ident in parsed.spans:
                bad("this id is used twice.")
                continue
            parsed.spans[ident] = _Span(ident, kind, start, end, number)
        elif head in ("A", "M"):
            words = rest.split()
            if len(words) not in (2, 3):
                bad("an attribute line is 'Name Tn Value'.")
                continue
            attributes.append((words[0], words[1], words[2] if len(words) == 3 else "", number))
        elif head == "R":
            words = rest.split("\t")[0].split()
            if len(words) != 3 or not all(":" in w for w in words[1:]):
                bad("a relation line is 'kind Arg1:Tx Arg2:Ty'.")
                continue
            if words[0] not in RELATION_KINDS:
                bad(f"relation type {words[0]!r} is not one of {', '.join(RELATION_KINDS)}.")
                continue
            arguments = dict(w.split(":", 1) for w in words[1:])
            if set(arguments) != {"Arg1", "Arg2"}:
                bad("a relation needs Arg1 and Arg2.")
                continue
            parsed.relations.append((words[0], arguments["Arg1"], arguments["Arg2"], number))
        elif head == "#":
            description, _, text = rest.partition("\t")
            words = description.split()
            if len(words) == 2 and words[0] == "AnnotatorNotes":
                parsed.notes.setdefault(words[1], []).append(text)
        else:
            bad("this kind of annotation (events, normalisations, ...) is not imported.")
    for name, target, value, number in attributes:
        span = parsed.spans.get(target)
        if span is None:
            errors.add(number, f"{where}: attribute {name} points to {target}, which is no span.")
        elif name == "Stance":
            stance = STANCES.get(value.lower())
            if span.kind == "Evidence" or stance is None:
                errors.add(
                    number,
                    f"{where}: Stance needs a claim and For, Against or Neutral; "
                    f"got {target} ({span.kind}) {value!r}.",
                )
            elif target in parsed.stances and parsed.stances[target][0] != stance:
                errors.add(
                    number,
                    f"{where}: {target} has two stances ({parsed.stances[target][0]} and "
                    f"{stance}); an import records one annotation per claim.",
                )
            else:
                parsed.stances[target] = (stance, number)
        elif name == "EvidenceType" and span.kind == "Evidence":
            if value not in EvidenceType.values:
                errors.add(
                    number,
                    f"{where}: EvidenceType must be one of {', '.join(EvidenceType.values)}.",
                )
            else:
                span.evidence_type = value
        else:
            errors.add(number, f"{where}: attribute {name!r} on {target} is not imported.")
    return parsed


def plan_pair(
    context: ImportContext, stem: str, raw: str, ann: str, ann_name: str, errors: Errors
) -> PlannedArticle | None:
    before = len(errors.items) + errors.more
    try:
        fields = services.clean_article_fields({"title": os.path.basename(stem), "text": raw})
    except services.PayloadTooLarge as error:
        errors.add(None, f"{stem}.txt: {error}")
        return None
    except ValidationError as error:
        for name, texts in error.message_dict.items():
            errors.add(None, f"{stem}.txt: {name}: {' '.join(texts)}")
        return None
    parsed = _parse_ann(ann, raw, ann_name, errors)
    text = fields["text"]
    offsets = OffsetMap(raw, text, [p for s in parsed.spans.values() for p in (s.start, s.end)])
    claims: list[PlannedClaim] = []
    resolved: dict[str, anchoring.Span] = {}
    for span in parsed.spans.values():
        try:
            resolved[span.tid] = anchoring.resolve_span(
                text,
                start=offsets(span.start),
                end=offsets(span.end),
                exact=anchoring.normalize_text(raw[span.start : span.end]),
            )
        except ValidationError as error:
            errors.add(
                span.line,
                f"{ann_name}: {span.tid}: the span cannot be placed in the normalised text "
                f"({' '.join(error.messages)}).",
            )
            continue
        if span.kind != "Evidence":
            try:
                labels = validators.validate_labels([span.kind], allowed=context.labels)
            except ValidationError as error:
                errors.add(span.line, f"{ann_name}: {span.tid}: {' '.join(error.messages)}")
                continue
            notes = "\n".join(parsed.notes.get(span.tid, []))
            try:
                summary = validators.validate_text(
                    notes, "summary", max_chars=validators.MAX_SUMMARY_CHARS
                ).strip()
            except ValidationError as error:
                errors.add(span.line, f"{ann_name}: {span.tid}: {' '.join(error.messages)}")
                continue
            span.claim_index = len(claims)
            claims.append(
                PlannedClaim(
                    span=resolved[span.tid],
                    summary=summary,
                    labels=labels,
                    created_by_id=context.actor.pk,
                )
            )
    annotations: dict[str, PlannedAnnotation] = {}
    for tid, (stance, number) in parsed.stances.items():
        span = parsed.spans[tid]
        if span.claim_index is None:
            continue
        try:
            topic = context.topic_label(None)
        except ValidationError as error:
            errors.add(number, f"{ann_name}: {tid}: {' '.join(error.messages)}")
            continue
        annotation = PlannedAnnotation(
            annotator_id=context.actor.pk,
            topic=topic,
            stance=stance,
            labels=[],
            confidence=None,
            note="",
            status="draft",
            evidence=[],
        )
        annotations[tid] = annotation
        claims[span.claim_index].annotations.append(annotation)
    relations = []
    seen = set()
    for kind, source_id, target_id, number in parsed.relations:
        source, target = parsed.spans.get(source_id), parsed.spans.get(target_id)
        if source is None or target is None:
            missing = source_id if source is None else target_id
            errors.add(number, f"{ann_name}: relation points to {missing}, which is no span.")
            continue
        if source_id not in resolved or target_id not in resolved:
            continue
        if target.kind == "Evidence" or (source.kind == "Evidence" and kind == "rephrases"):
            errors.add(
                number,
                f"{ann_name}: {kind} from {source_id} to {target_id}: relations go between "
                "claims, or from evidence to a claim (supports or attacks).",
            )
        elif source.kind == "Evidence":
            backed = annotations.get(target_id)
            if backed is None:
                errors.add(
                    number,
                    f"{ann_name}: evidence {source_id} backs {target_id}, which has no Stance "
                    "attribute; evidence belongs to an annotation, and an annotation needs a "
                    "stance.",
                )
                continue
            placed = resolved[source_id]
            backed.evidence.append(
                {
                    "kind": "span",
                    "start": placed.start,
                    "end": placed.end,
                    "exact": placed.exact,
                    "evidence_type": source.evidence_type,
                    "role": EVIDENCE_ROLES[kind],
                }
            )
        elif source_id == target_id:
            errors.add(number, f"{ann_name}: a claim cannot be related to itself.")
        elif (source_id, target_id, kind) in seen:
            errors.add(number, f"{ann_name}: {source_id} {kind} {target_id} is listed twice.")
        else:
            seen.add((source_id, target_id, kind))
            # No claim index: a span refused above, whose error fails the file anyway.
            if source.claim_index is not None and target.claim_index is not None:
                relations.append((source.claim_index, target.claim_index, kind, context.actor.pk))
    if len(errors.items) + errors.more > before:
        return None
    return PlannedArticle(fields=fields, claims=claims, relations=relations)


def _decode(data: bytes, name: str, errors: Errors) -> str | None:
    try:
        # brat reads its files as UTF-8 (a byte-order mark would count as a character).
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        errors.add(None, f"{name}: not valid UTF-8 (byte {error.start + 1}).")
        return None


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, errors: Errors) -> bytes | None:
    """The entry's bytes, never more than its declared size; None (and an error naming the
    entry) when it is damaged."""
    try:
        with archive.open(info) as stream:
            # read(n) inflates at most n bytes; ZipFile.read() would inflate the whole stream
            # (up to 2 GiB) before cutting it to the declared size.
            data = stream.read(info.file_size)
            # Reading on to the end of the stream makes zipfile check the CRC even when the
            # declared size is 0 (a stream with more in it is cut, and fails the check).
            stream.read(1)
    except DAMAGED as error:
        errors.add(None, f"{info.filename}: the entry is damaged and cannot be read ({error}).")
        return None
    if len(data) != info.file_size:
        errors.add(
            None,
            f"{info.filename}: the entry is damaged: the zip says it holds {info.file_size:,} "
            f"bytes, but it holds {len(data):,}.",
        )
        return None
    return data


def _wanted(info: zipfile.ZipInfo) -> bool:
    name = info.filename
    base = name.rsplit("/", 1)[-1]
    return (
        not info.is_dir()
        and not name.startswith("__MACOSX/")
        and not base.startswith("._")
        and base.lower().endswith((".txt", ".ann"))
    )


def plan(
    context: ImportContext, file: IO[bytes], *, errors: Errors, **_options
) -> Iterator[list[PlannedArticle]]:
    try:
        archive = zipfile.ZipFile(file)
    except DAMAGED as error:
        raise ImportFailed([(None, f"Not a zip file, or a damaged one ({error}).")]) from None
    with archive:
        infos = archive.infolist()
        check_archive(infos)
        pairs: dict[str, dict[str, zipfile.ZipInfo]] = {}
        for info in infos:
            if _wanted(info):
                stem, extension = os.path.splitext(info.filename)
                pairs.setdefault(stem, {})[extension.lower()] = info
        chunk: list[PlannedArticle] = []
        for stem in sorted(pairs):
            entries = pairs[stem]
            if ".txt" not in entries:
                errors.add(None, f"{entries['.ann'].filename}: no matching .txt file.")
                continue
            txt_data = read_entry(archive, entries[".txt"], errors)
            ann_info = entries.get(".ann")
            ann_data = read_entry(archive, ann_info, errors) if ann_info else b""
            if txt_data is None or ann_data is None:
                continue
            raw = _decode(txt_data, entries[".txt"].filename, errors)
            ann = _decode(ann_data, ann_info.filename, errors) if ann_info else ""
            if raw is None or ann is None:
                continue
            if ann.startswith("\ufeff"):
                ann = ann[1:]
            planned = plan_pair(
                context, stem, raw, ann, ann_info.filename if ann_info else stem, errors
            )
            if planned is not None:
                chunk.append(planned)
            if len(chunk) >= PAIRS_PER_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
