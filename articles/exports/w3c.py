"""W3C Web Annotation Data Model (JSON-LD): one AnnotationCollection, streamed.

The collection embeds its only page as `first`; its `items` are written one by one and `total`
comes last (JSON objects are unordered), so nothing is held back. Every Web Annotation targets
its article (`source`, an IRI under the site's API) through a TextPositionSelector (code points,
as the model defines them) and a TextQuoteSelector (`exact` with up to 32 code points of prefix
and suffix). What becomes a Web Annotation:

- each claim -> id `.../claims/{id}`, motivation highlighting; bodies: summary (describing),
  claim labels (tagging);
- each annotation -> `.../annotations/{id}`, assessing; stance (classifying), topic label
  (identifying), labels (tagging), note (commenting), evidence (linking);
- each review -> `.../claims/{id}/review`, moderating; decision (moderating), gold stance
  (classifying), gold topic (identifying), note (commenting);
- each comment -> `.../claims/{id}/comments#{comment id}`, commenting; its text (commenting);
- each relation -> `.../relations/{id}`, linking; target = the source claim, bodies = the
  target claim (a SpecificResource) and the kind (classifying).

So a claim without annotations still appears (as its highlighting annotation), and claim-level
data is not repeated in every annotation. Evidence is a SpecificResource body: a span of the
same article (with both selectors) or an outside source (`source` = its URL, the quote as a
TextQuoteSelector into that source, the title as `label`); a source with no URL is a
TextualBody. Four extension terms, defined in a second @context entry under the site's own
namespace, keep what the model has no term for: `confidence` and `status` on annotations,
`evidenceType` and `evidenceRole` on evidence.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from itertools import chain

import orjson

from ..anchoring import context_around
from . import parallel
from .reader import _Labels, _Names, _RawBatch, evidence_by_annotation, read_batches
from .rows import EvidenceRow, SpanEvidenceRow
from .spec import ExportFormat, ExportSpec
from .sql import ISO_TEXT
from .streaming import CHUNK_BYTES, Written, chunked

ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"


def _text(value: str, purpose: str) -> dict:
    return {"type": "TextualBody", "value": value, "format": "text/plain", "purpose": purpose}


def _person(username: str) -> dict:
    return {"type": "Person", "nickname": username}


class _Iris:
    def __init__(self, base_url: str):
        self.api = base_url.rstrip("/") + "/api/v1"

    def article(self, article_id: str) -> str:
        return f"{self.api}/articles/{article_id}"

    def claim(self, claim_id: str) -> str:
        return f"{self.api}/claims/{claim_id}"

    def group(self, group_id: str) -> str:
        return f"{self.api}/claim-groups/{group_id}"


def _selectors(
    start: int | None, end: int | None, exact: str, prefix: str, suffix: str
) -> list[dict]:
    """Position and quote; an orphan (no position in the current text) has its quote only."""
    quote = {"type": "TextQuoteSelector", "exact": exact, "prefix": prefix, "suffix": suffix}
    if start is None:
        return [quote]
    return [{"type": "TextPositionSelector", "start": start, "end": end}, quote]


def _evidence_body(evidence: EvidenceRow, article_iri: str, text: str) -> dict:
    extra = {"evidenceType": evidence.evidence_type, "evidenceRole": evidence.role}
    if isinstance(evidence, SpanEvidenceRow):  # kind == 'span'
        prefix, suffix = (
            ("", "")
            if evidence.start is None or evidence.end is None  # orphaned
            else context_around(text, evidence.start, evidence.end)
        )
        return {
            "type": "SpecificResource",
            "purpose": "linking",
            "source": article_iri,
            "selector": _selectors(evidence.start, evidence.end, evidence.exact, prefix, suffix),
            **extra,
        }
    if evidence.url:
        body: dict[str, object] = {
            "type": "SpecificResource",
            "purpose": "linking",
            "source": evidence.url,
        }
        if evidence.title:
            body["label"] = evidence.title
        if evidence.quote:
            body["selector"] = {"type": "TextQuoteSelector", "exact": evidence.quote}
        return {**body, **extra}
    value = " — ".join(v for v in (evidence.title, evidence.quote) if v)
    return {**_text(value, "linking"), **extra}


def _bodies(purpose: str) -> Written[bytes]:
    """TextualBodies of repeated values with this purpose."""
    return Written(lambda value: orjson.dumps(_text(value, purpose)))


# A note's TextualBody around its text's JSON (`_text(note, "commenting")`).
NOTE_OPEN = b'{"type":"TextualBody","value":'
NOTE_CLOSE = b',"format":"text/plain","purpose":"commenting"}'


class Items:
    """The collection's items, written straight from the reader's rows (`reader.read_batches`),
    batch by batch: no `ArticleRow` is assembled. Reads no database, so any process holding a
    batch's rows can write its share of the items (IRIs under `base_url`). One per export: it
    keeps the encoded forms of what repeats.

    Each item is the JSON orjson writes for the item's dict (the keys in the order of the module
    docstring's model; tests compare the two on hostile rows), put together from pieces: what
    repeats is encoded once (`streaming.Written`: people, bodies, an annotation's creator,
    status, stance and topic together, a label list's bodies; each claim's target once per
    claim, shared by every item on the claim and the relations that name it), people's text by
    orjson per item, and ids (the database's integers) and timestamps (RFC 3339 text,
    `sql.IsoText`), which hold nothing JSON escapes, written into the item's text as they are."""

    def __init__(self, base_url: str) -> None:
        self.iris = _Iris(base_url)
        self.api = orjson.dumps(self.iris.api)[1:-1].decode()  # as it stands inside a string
        self.labels = _Labels()
        self.names = _Names()  # replaced by the reader's (`batch`)
        encode = orjson.dumps
        self.people: Written[bytes] = Written(
            lambda user_id: encode(_person(self.names.users[user_id]))
        )
        self.tagging, self.classifying = _bodies("tagging"), _bodies("classifying")
        self.identifying, self.moderating = _bodies("identifying"), _bodies("moderating")
        # The bodies of a stored label list, each after a comma.
        self.label_bodies: Written[bytes] = Written(
            lambda text: b"".join(b"," + self.tagging[label] for label in self.labels(text))
        )
        # An annotation's keys from its creator to its topic's body, by what they are made of.
        self.assessments: Written[bytes] = Written(
            lambda key: b"".join(
                (
                    b',"creator":',
                    self.people[key[0]],
                    b',"status":',
                    encode(key[1]),
                    b',"body":[',
                    self.classifying[key[2]],
                    b",",
                    self.identifying[self.names.topics[key[3]]],
                )
            )
        )

    def batch(self, raw: _RawBatch, names: _Names) -> Iterator[list[bytes]]:
        """Each article's items, each Web Annotation's JSON (UTF-8, no separator), in order: per
        claim its highlighting item, its annotations (by username), its review and its
        comments, then the article's relations (an article without claims gives an empty list);
        the caller joins them with `,\\n` and counts them for the collection's `total`.
        `names` is the reader's, which knows every id of the rows."""
        if names is not self.names:
            self.names = names
            self.people.clear()
            self.assessments.clear()
        encode = orjson.dumps
        iris, api, people = self.iris, self.api, self.people
        tagging, classifying = self.tagging, self.classifying
        identifying, moderating = self.identifying, self.moderating
        label_bodies, assessments = self.label_bodies, self.assessments
        users, topics, groups = names.users, names.topics, raw.groups
        iso = ISO_TEXT  # the timestamps as the database sent them, as text (`sql.IsoText`)

        # The rows grouped by what they hang from, in a first pass; then each article's items,
        # one article at a time (only one article's items are held).
        claim_rows: dict[int, list[tuple]] = {row[0]: [] for row in raw.articles}
        exported: dict[int, tuple] = {}  # claim id -> its row
        for row in raw.claims:
            claim_rows[row[0]].append(row)
            exported[row[1]] = row
        evidence = evidence_by_annotation(raw.evidence)
        # Annotations by claim; they come by annotator id within a claim, and are sorted by
        # username where that order differs. Rows of claims this batch does not export
        # (`InIds(loose=True)`) are never asked for.
        annotations: dict[int, list[tuple]] = {}
        unsorted: list[int] = []
        current_claim, previous = None, ""
        held_rows: list[tuple] = []
        for row in raw.annotations:
            claim_id: int = row[0]
            annotator = users[row[2]]
            if claim_id != current_claim:
                current_claim = claim_id
                held_rows = annotations[claim_id] = [row]
            else:
                held_rows.append(row)
                if annotator < previous and (not unsorted or unsorted[-1] != claim_id):
                    unsorted.append(claim_id)
            previous = annotator
        # One annotation per claim and annotator, so the username alone orders a claim's items.
        for claim_id in unsorted:
            annotations[claim_id].sort(key=lambda row: users[row[2]])
        reviews = {row[0]: row for row in raw.reviews}
        comments: dict[int, list[tuple]] = {}
        for row in raw.comments:
            comments.setdefault(row[0], []).append(row)
        relations: dict[int, list[tuple]] = {}
        for row in raw.relations:
            # Both ends must be exported claims (the trash and the filters may leave one out).
            if row[1] in exported and row[2] in exported:
                relations.setdefault(exported[row[1]][0], []).append(row)

        def target_of(claim_row: tuple) -> bytes:
            """The claim's target (its article's IRI, both selectors), encoded once per article
            (kept for the article's items only: the heap stays that of one article's items)."""
            found = targets.get(claim_row[1])
            if found is None:
                (article_id, claim_id, start, end, exact, prefix, suffix, *_, anchor_status, _,
                 anchor_version) = claim_row[:12]  # fmt: skip
                # textVersion (an extension): the text version the selectors refer to.
                found = targets[claim_id] = encode(
                    {
                        "type": "SpecificResource",
                        "source": iris.article(str(article_id)),
                        "selector": _selectors(start, end, exact, prefix, suffix),
                        "textVersion": anchor_version,
                        "anchorStatus": anchor_status,
                    }
                )
            return found

        for article_id, _, text, *_ in raw.articles:
            # Each claim's target: every item on the claim points at it (the same JSON), and
            # relations name it.
            targets: dict[int, bytes] = {}
            items: list[bytes] = []
            add = items.append
            article_iri = iris.article(str(article_id))
            for claim_row in claim_rows[article_id]:
                claim_id, summary, created_by = claim_row[1], claim_row[7], claim_row[8]
                label_text, created_at, updated_at = claim_row[12:15]
                claim_iri = f"{api}/claims/{claim_id}"
                created = iso[created_at]
                modified = created if updated_at is None else iso[updated_at]
                target = target_of(claim_row)
                body = [encode(_text(summary, "describing"))] if summary else []
                for label in self.labels(label_text):
                    body.append(tagging[label])
                group = groups.get(claim_id) if groups else None
                if group is not None:
                    # The claim group it belongs to: the same claim across the corpus.
                    body.append(
                        encode(
                            {**_text(group["label"], "classifying"), "id": iris.group(group["id"])}
                        )
                    )
                add(
                    b"".join(
                        (
                            f'{{"id":"{claim_iri}","type":"Annotation","motivation":"highlighting",'
                            f'"created":"{created}","modified":"{modified}",'
                            '"creator":'.encode(),
                            people[created_by],
                            b',"target":',
                            target,
                            b',"body":[' + b",".join(body) + b"]}" if body else b"}",
                        )
                    )
                )
                # What closes each annotation's item: its body list, then the claim's target.
                close = b'],"target":' + target
                for (
                    _, annotation_id, annotator_id, topic_id, stance, confidence, note, status,
                    label_text, created_at, updated_at,
                ) in annotations.get(claim_id, ()):  # fmt: skip
                    extra = label_bodies[label_text]
                    if note:
                        extra += b"," + NOTE_OPEN + encode(note) + NOTE_CLOSE
                    if evidence and (its := evidence.get(annotation_id)) is not None:
                        written = encode([_evidence_body(e, article_iri, text) for e in its])
                        extra += b"," + written[1:-1]
                    created = iso[created_at]
                    modified = created if updated_at is None else iso[updated_at]
                    add(
                        b"".join(
                            (
                                f'{{"id":"{api}/annotations/{annotation_id}","type":"Annotation",'
                                f'"motivation":"assessing","created":"{created}",'
                                f'"modified":"{modified}"'.encode(),
                                assessments[annotator_id, status, stance, topic_id],
                                extra,
                                close,
                                b"}"
                                if confidence is None
                                else b',"confidence":%d}' % confidence
                                if type(confidence) is int  # the column's type; else: orjson
                                else b',"confidence":' + encode(confidence) + b"}",
                            )
                        )
                    )
                if (review := reviews.get(claim_id)) is not None:
                    _, curator, decision, topic_id, stance, note, created_at, updated_at = review
                    created = iso[created_at]
                    modified = created if updated_at is None else iso[updated_at]
                    body = [moderating[decision]]
                    if stance:
                        body.append(classifying[stance])
                    if topic := topics[topic_id]:
                        body.append(identifying[topic])
                    if note:
                        body.append(NOTE_OPEN + encode(note) + NOTE_CLOSE)
                    add(
                        b"".join(
                            (
                                f'{{"id":"{claim_iri}/review","type":"Annotation",'
                                f'"motivation":"moderating","created":"{created}",'
                                f'"modified":"{modified}","creator":'.encode(),
                                people[curator],
                                b',"body":[',
                                b",".join(body),
                                close,
                                b"}",
                            )
                        )
                    )
                for _, comment_id, author, comment, created_at in comments.get(claim_id, ()):
                    add(
                        b"".join(
                            (
                                f'{{"id":"{claim_iri}/comments#{comment_id}","type":"Annotation",'
                                f'"motivation":"commenting","created":"{iso[created_at]}",'
                                '"creator":'.encode(),
                                people[author],
                                b',"body":',
                                NOTE_OPEN,
                                encode(comment),
                                NOTE_CLOSE,
                                b',"target":',
                                target,
                                b"}",
                            )
                        )
                    )
            for relation_id, source_id, target_id, kind, created_by, created_at in relations.get(
                article_id, ()
            ):
                add(
                    b"".join(
                        (
                            f'{{"id":"{api}/relations/{relation_id}","type":"Annotation",'
                            f'"motivation":"linking","created":"{iso[created_at]}",'
                            '"creator":'.encode(),
                            people[created_by],
                            # The target claim's target with a purpose after its keys, the kind.
                            b',"body":[',
                            target_of(exported[target_id])[:-1],
                            b',"purpose":"linking"},',
                            classifying[kind],
                            b'],"target":',
                            target_of(exported[source_id]),
                            b"}",
                        )
                    )
                )
            yield items


def _pieces(spec: ExportSpec) -> Iterator[bytes]:
    encode = orjson.dumps
    iris = _Iris(spec.base_url)
    collection = spec.collection_url or (f"{iris.api}/corpora/{spec.corpus.slug}/export?format=w3c")
    context = [
        ANNO_CONTEXT,
        {
            "aa": f"{iris.api}/ns#",
            "confidence": "aa:confidence",
            "status": "aa:status",
            "evidenceType": "aa:evidenceType",
            "evidenceRole": "aa:evidenceRole",
        },
    ]
    head = {
        "@context": context,
        "id": collection,
        "type": "AnnotationCollection",
        "label": spec.corpus.name,
    }
    page = {"id": f"{collection}#page-1", "type": "AnnotationPage", "partOf": collection}
    # Open the collection and its page, stream the items, then close with the total. Chunks
    # of about CHUNK_BYTES: the items joined by `,\n` behind the separator that follows the
    # previous chunk's last item (an empty first piece), the opening before the first.
    opening = encode(head)[:-1] + b',"first":' + encode({**page, "startIndex": 0})[:-1]
    opening += b',"items":[\n'
    if parallel.applies(spec.using):
        yield from chunked(_pieces_in_two(spec, opening[:-1]))
        return
    total = 0
    buffer: list[bytes] = []
    size = 0
    writer = Items(spec.base_url)
    names = _Names()
    batches = read_batches(spec.corpus, spec.filters, names, parts=spec.format.parts)
    for pieces in chain.from_iterable(writer.batch(raw, names) for raw in batches):
        buffer += pieces
        size += sum(map(len, pieces))
        if size >= CHUNK_BYTES:
            total += len(buffer)
            yield opening + b",\n".join(buffer) if opening else b",\n".join([b"", *buffer])
            buffer, size, opening = [], 0, b""
    tail = b'\n]},"total":%d}\n' % (total + len(buffer))
    if opening and not buffer:  # no item at all
        yield opening[:-1] + tail
    else:
        yield (opening + b",\n".join(buffer) if opening else b",\n".join([b"", *buffer])) + tail


def _pieces_in_two(spec: ExportSpec, opening: bytes) -> Iterator[bytes]:
    """Every other batch's items written by a second process (`parallel`), each article's
    behind `,\\n`: the first item's separator becomes the opening's line break."""
    yield opening
    total = yield from _first_without_comma(
        parallel.write_in_two(spec.corpus, spec.filters, spec.format.parts, _Items(spec.base_url))
    )
    yield b'\n]},"total":%d}\n' % total


class _Items:
    """A batch's items, each article's after a `,\\n` (`parallel.BatchWriter`); `count` is how
    many were written, for the collection's `total`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.items = Items(base_url)
        self.count = 0

    def __reduce__(self) -> tuple:
        # Sent to the resident second process (`parallel.Resident`) before it writes anything:
        # a new one there, counting from 0 (its memos hold closures, which do not pickle).
        return (_Items, (self.base_url,))

    def pieces(self, raw: _RawBatch, names: _Names) -> Iterator[bytes]:
        for items in self.items.batch(raw, names):
            if items:
                self.count += len(items)
                yield b",\n" + b",\n".join(items)


def _first_without_comma(chunks: Generator[bytes, None, int]) -> Generator[bytes, None, int]:
    """The chunks, the first one's leading `,\\n` made `\\n`; returns the items' count."""
    first = True
    try:
        while True:
            try:
                chunk = next(chunks)
            except StopIteration as done:
                return done.value
            if first:
                chunk, first = b"\n" + chunk[2:], False
            yield chunk
    finally:
        chunks.close()  # an abandoned export: the second process is ended at once


def write(spec: ExportSpec) -> Iterator[bytes]:
    """The export's chunks (`_pieces`: the items' JSON joined into chunks as they come)."""
    return _pieces(spec)


FORMAT = ExportFormat(
    name="w3c",
    extension="jsonld",
    content_type='application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
    writer=write,
)
