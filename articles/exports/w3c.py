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

from collections.abc import Generator, Iterable, Iterator
from itertools import chain

import orjson

from ..anchoring import context_around
from . import parallel
from .reader import _assemble, _Labels, _Names, _RawBatch, read_articles
from .rows import ArticleRow, ClaimRow, EvidenceRow, SpanEvidenceRow
from .spec import ExportFormat, ExportSpec
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


def _claim_target(source: str, claim: ClaimRow) -> dict:
    # textVersion (an extension): the article's text version the selectors refer to.
    return {
        "type": "SpecificResource",
        "source": source,
        "selector": _selectors(claim.start, claim.end, claim.exact, claim.prefix, claim.suffix),
        "textVersion": claim.anchor.version,
        "anchorStatus": claim.anchor.status,
    }


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


def items(articles: Iterable[ArticleRow], base_url: str) -> Iterator[bytes]:
    """The collection's items, each Web Annotation's JSON (UTF-8, no separator), in order
    (`article_items`, one after another)."""
    return chain.from_iterable(article_items(articles, base_url))


def article_items(articles: Iterable[ArticleRow], base_url: str) -> Iterator[list[bytes]]:
    """Each article's items, each Web Annotation's JSON (UTF-8, no separator), in order: per
    claim its highlighting item, its annotations, its review and its comments, then the
    article's relations (an article without claims gives an empty list). Reads no database: it
    only writes the rows it is given (IRIs under `base_url`), so any process holding
    `ArticleRow`s can write its share of the items; the caller joins them with `,\\n` and counts
    them for the collection's `total`.

    Each item is the JSON orjson writes for the item's dict (the keys in the order of the module
    docstring's model; tests compare the two on hostile rows), put together from pieces: what
    repeats is encoded once (`streaming.Written`; each claim's target once per claim, shared by
    every item on the claim and the relations that name it), people's text by orjson per item, and
    ids (the database's integers as text) and timestamps (RFC 3339 text, `sql.IsoText`), which
    hold nothing JSON escapes, written into the item's text as they are."""
    iris = _Iris(base_url)
    encode = orjson.dumps
    people: Written[bytes] = Written(lambda username: encode(_person(username)))
    tagging, classifying = _bodies("tagging"), _bodies("classifying")
    identifying, moderating = _bodies("identifying"), _bodies("moderating")
    # An annotation's keys from its creator to its topic's body, by what they are made of.
    assessments: Written[bytes] = Written(
        lambda key: b"".join(
            (
                b',"creator":',
                people[key[0]],
                b',"status":',
                encode(key[1]),
                b',"body":[',
                classifying[key[2]],
                b",",
                identifying[key[3]],
            )
        )
    )
    api = encode(iris.api)[1:-1].decode()  # as it stands inside a JSON string
    for article in articles:
        article_items: list[bytes] = []
        add = article_items.append
        article_iri = iris.article(article.id)
        # Each claim's target, encoded once: every item on the claim points at it (the same
        # JSON), and relations name claims by index.
        targets = [encode(_claim_target(article_iri, claim)) for claim in article.claims]
        for claim, target in zip(article.claims, targets, strict=True):
            claim_iri = f"{api}/claims/{claim.id}"
            body = [encode(_text(claim.summary, "describing"))] if claim.summary else []
            for label in claim.labels:
                body.append(tagging[label])
            group = claim.group
            if group is not None:
                # The claim group it belongs to: the same claim across the corpus.
                body.append(
                    encode({**_text(group["label"], "classifying"), "id": iris.group(group["id"])})
                )
            add(
                b"".join(
                    (
                        f'{{"id":"{claim_iri}","type":"Annotation","motivation":"highlighting",'
                        f'"created":"{claim.created_at}","modified":"{claim.updated_at}",'
                        '"creator":'.encode(),
                        people[claim.created_by],
                        b',"target":',
                        target,
                        b',"body":[' + b",".join(body) + b"]}" if body else b"}",
                    )
                )
            )
            # What closes each annotation's item: its body list, then the claim's target.
            close = b'],"target":' + target
            for annotation in claim.annotations:
                extra = b""
                for label in annotation.labels:
                    extra += b"," + tagging[label]
                if annotation.note:
                    extra += b"," + NOTE_OPEN + encode(annotation.note) + NOTE_CLOSE
                if annotation.evidence:
                    evidence = [
                        _evidence_body(e, article_iri, article.text) for e in annotation.evidence
                    ]
                    extra += b"," + encode(evidence)[1:-1]
                confidence = annotation.confidence
                add(
                    b"".join(
                        (
                            f'{{"id":"{api}/annotations/{annotation.id}","type":"Annotation",'
                            f'"motivation":"assessing","created":"{annotation.created_at}",'
                            f'"modified":"{annotation.updated_at}"'.encode(),
                            assessments[
                                annotation.annotator,
                                annotation.status,
                                annotation.stance,
                                annotation.topic,
                            ],
                            extra,
                            close,
                            b"}"
                            if confidence is None
                            else b',"confidence":%d}' % confidence
                            if type(confidence) is int  # the column's type; anything else: orjson
                            else b',"confidence":' + encode(confidence) + b"}",
                        )
                    )
                )
            review = claim.review
            if review is not None:
                body = [moderating[review.decision]]
                if review.stance:
                    body.append(classifying[review.stance])
                if review.topic:
                    body.append(identifying[review.topic])
                if review.note:
                    body.append(NOTE_OPEN + encode(review.note) + NOTE_CLOSE)
                add(
                    b"".join(
                        (
                            f'{{"id":"{claim_iri}/review","type":"Annotation",'
                            f'"motivation":"moderating","created":"{review.created_at}",'
                            f'"modified":"{review.updated_at}","creator":'.encode(),
                            people[review.curator],
                            b',"body":[',
                            b",".join(body),
                            close,
                            b"}",
                        )
                    )
                )
            for comment in claim.comments:
                add(
                    b"".join(
                        (
                            f'{{"id":"{claim_iri}/comments#{comment.id}","type":"Annotation",'
                            f'"motivation":"commenting","created":"{comment.created_at}",'
                            '"creator":'.encode(),
                            people[comment.author],
                            b',"body":',
                            NOTE_OPEN,
                            encode(comment.text),
                            NOTE_CLOSE,
                            b',"target":',
                            target,
                            b"}",
                        )
                    )
                )
        for relation in article.relations:
            add(
                b"".join(
                    (
                        f'{{"id":"{api}/relations/{relation.id}","type":"Annotation",'
                        f'"motivation":"linking","created":"{relation.created_at}",'
                        '"creator":'.encode(),
                        people[relation.created_by],
                        # The target claim's target with a purpose after its keys, the kind.
                        b',"body":[',
                        targets[relation.target][:-1],
                        b',"purpose":"linking"},',
                        classifying[relation.kind],
                        b'],"target":',
                        targets[relation.source],
                        b"}",
                    )
                )
            )
        yield article_items


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
    articles = read_articles(spec.corpus, spec.filters, parts=spec.format.parts)
    for pieces in article_items(articles, spec.base_url):
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
        self.count = 0
        self.labels = _Labels()

    def pieces(self, raw: _RawBatch, names: _Names) -> Iterator[bytes]:
        articles = _assemble(raw, self.labels, names)
        for items in article_items(articles, self.base_url):
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
