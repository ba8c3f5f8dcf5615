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

import orjson

from ..anchoring import context_around
from . import parallel
from .reader import read_articles
from .rows import AnnotationRow, ArticleRow, ClaimRow, EvidenceRow, SpanEvidenceRow
from .spec import ExportFormat, ExportSpec
from .streaming import chunked

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


def _annotation(
    annotation: AnnotationRow, target: dict, article_iri: str, article: ArticleRow, iris: _Iris
) -> dict:
    body = [_text(annotation.stance, "classifying"), _text(annotation.topic, "identifying")]
    body += [_text(label, "tagging") for label in annotation.labels]
    if annotation.note:
        body.append(_text(annotation.note, "commenting"))
    body += [_evidence_body(e, article_iri, article.text) for e in annotation.evidence]
    result: dict[str, object] = {
        "id": f"{iris.api}/annotations/{annotation.id}",
        "type": "Annotation",
        "motivation": "assessing",
        "created": annotation.created_at,
        "modified": annotation.updated_at,
        "creator": _person(annotation.annotator),
        "status": annotation.status,
        "body": body,
        "target": target,
    }
    if annotation.confidence is not None:
        result["confidence"] = annotation.confidence
    return result


def _items(article: ArticleRow, iris: _Iris) -> Iterator[dict]:
    article_iri = iris.article(article.id)
    # Each claim's target, built once: every item on the claim points at it (same dict, same
    # JSON), and relations name claims by index.
    targets = [_claim_target(article_iri, claim) for claim in article.claims]
    for claim, target in zip(article.claims, targets, strict=True):
        claim_iri = iris.claim(claim.id)
        highlight = {
            "id": claim_iri,
            "type": "Annotation",
            "motivation": "highlighting",
            "created": claim.created_at,
            "modified": claim.updated_at,
            "creator": _person(claim.created_by),
            "target": target,
        }
        body = [_text(claim.summary, "describing")] if claim.summary else []
        body += [_text(label, "tagging") for label in claim.labels]
        if claim.group is not None:
            # The claim group it belongs to: the same claim across the corpus.
            body.append(
                {
                    **_text(claim.group["label"], "classifying"),
                    "id": iris.group(claim.group["id"]),
                }
            )
        if body:
            highlight["body"] = body
        yield highlight
        for annotation in claim.annotations:
            yield _annotation(annotation, target, article_iri, article, iris)
        review = claim.review
        if review is not None:
            body = [_text(review.decision, "moderating")]
            if review.stance:
                body.append(_text(review.stance, "classifying"))
            if review.topic:
                body.append(_text(review.topic, "identifying"))
            if review.note:
                body.append(_text(review.note, "commenting"))
            yield {
                "id": f"{claim_iri}/review",
                "type": "Annotation",
                "motivation": "moderating",
                "created": review.created_at,
                "modified": review.updated_at,
                "creator": _person(review.curator),
                "body": body,
                "target": target,
            }
        for comment in claim.comments:
            yield {
                "id": f"{claim_iri}/comments#{comment.id}",
                "type": "Annotation",
                "motivation": "commenting",
                "created": comment.created_at,
                "creator": _person(comment.author),
                "body": _text(comment.text, "commenting"),
                "target": target,
            }
    for relation in article.relations:
        yield {
            "id": f"{iris.api}/relations/{relation.id}",
            "type": "Annotation",
            "motivation": "linking",
            "created": relation.created_at,
            "creator": _person(relation.created_by),
            "body": [
                {**targets[relation.target], "purpose": "linking"},
                _text(relation.kind, "classifying"),
            ],
            "target": targets[relation.source],
        }


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
    # Open the collection and its page, stream the items, then close with the total.
    yield encode(head)[:-1] + b',"first":' + encode({**page, "startIndex": 0})[:-1] + b',"items":['
    total = 0
    if parallel.applies(spec.using):
        total = yield from _first_without_comma(
            parallel.write_in_two(spec.corpus, spec.filters, spec.format.parts, _Items(iris))
        )
    else:
        articles = read_articles(spec.corpus, spec.filters, parts=spec.format.parts)
        for count, text in items(articles, iris):
            yield (b",\n" if total else b"\n") + text
            total += count
    yield b'\n]},"total":%d}\n' % total


def items(articles: Iterable[ArticleRow], iris: _Iris) -> Iterator[tuple[int, bytes]]:
    """Each article's items as JSON joined by `,\\n`, with their number (articles without
    items left out). Reads no database."""
    encode = orjson.dumps
    for article in articles:
        encoded = [encode(item) for item in _items(article, iris)]
        if encoded:
            yield len(encoded), b",\n".join(encoded)


class _Items:
    """A batch's items, each article's after a `,\\n` (`parallel.BatchWriter`)."""

    def __init__(self, iris: _Iris) -> None:
        self.iris = iris
        self.count = 0

    def pieces(self, articles: Iterable[ArticleRow]) -> Iterator[bytes]:
        for count, text in items(articles, self.iris):
            self.count += count
            yield b",\n" + text


def _first_without_comma(chunks: Generator[bytes, None, int]) -> Generator[bytes, None, int]:
    """The chunks, the first item's separator `,\\n` made `\\n`; returns the items' count."""
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
    return chunked(_pieces(spec))


FORMAT = ExportFormat(
    name="w3c",
    extension="jsonld",
    content_type='application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"',
    writer=write,
)
