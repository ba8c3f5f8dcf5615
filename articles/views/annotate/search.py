"""Finding the other end of a relation: the claims whose text holds the words typed in the
relation form (or its number in the list), or the one claim picked in the text."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from ... import selectors
from ...models import Article

RELATION_MATCHES = 20  # at most this many claims offered for a search
MATCH_CONTEXT = 30  # code points shown before the first matching word
MATCH_CHARS = 120
QUERY_CHARS = 200  # longer queries are cut: no claim excerpt is that long anyway


@dataclass(frozen=True, slots=True)
class ClaimMatch:
    """A claim offered as a relation's other end: its number in the list and an excerpt cut
    into (text, is a searched word) pieces."""

    id: int
    number: int
    pieces: tuple[tuple[str, bool], ...]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def search_terms(query: str) -> list[str]:
    return [_fold(word) for word in query.split()][:10]


def _match_pieces(text: str, terms: list[str]) -> tuple[tuple[str, bool], ...]:
    """An excerpt of `text` around its first searched word, with every searched word marked.
    Case folding can change a string's length (ß -> ss), so words are located in the folded
    text only when folding kept its length; otherwise the excerpt is shown unmarked."""
    text = " ".join(text.split())
    folded = _fold(text)
    spans: list[tuple[int, int]] = []
    if len(folded) == len(text):
        for term in terms:
            at = folded.find(term)
            while term and at >= 0:
                spans.append((at, at + len(term)))
                at = folded.find(term, at + len(term))
    spans.sort()
    begin = max(0, spans[0][0] - MATCH_CONTEXT) if spans else 0
    if begin:  # start the excerpt at a word boundary
        space = text.rfind(" ", 0, begin)
        begin = space + 1 if space >= 0 and begin - space < 15 else begin
    stop = min(len(text), begin + MATCH_CHARS)
    pieces: list[tuple[str, bool]] = [("…", False)] if begin else []
    here = begin
    for start, end in spans:
        start, end = max(start, here), min(end, stop)
        if start >= end:
            continue
        if start > here:
            pieces.append((text[here:start], False))
        pieces.append((text[start:end], True))
        here = end
    if here < stop:
        pieces.append((text[here:stop], False))
    if stop < len(text):
        pieces.append(("…", False))
    return tuple(pieces)


def claim_matches(
    claims: list[tuple[int, str]],
    query: str,
    *,
    exclude: int,
    limit: int = RELATION_MATCHES,
) -> tuple[list[ClaimMatch], int]:
    """The claims (id, text; in text order, numbered from 1 as the list numbers them) whose text
    holds every word of `query`, case aside, other than `exclude`. A query that is a number
    ("12" or "#12") puts that claim first. Returns at most `limit` matches and how many more
    there were."""
    terms = search_terms(query)
    if not terms:
        return [], 0
    wanted = query.strip().lstrip("#")
    number = int(wanted) if wanted.isdigit() and len(wanted) < 7 else None
    first: list[tuple[int, int, str]] = []
    found: list[tuple[int, int, str]] = []
    for n, (claim_id, text) in enumerate(claims, start=1):
        if claim_id == exclude:
            continue
        if n == number:
            first.append((claim_id, n, text))
            continue
        folded = _fold(text)
        if all(term in folded for term in terms):
            found.append((claim_id, n, text))
    hits = first + found
    matches = [
        ClaimMatch(claim_id, n, _match_pieces(text, [] if n == number else terms))
        for claim_id, n, text in hits[:limit]
    ]
    return matches, max(0, len(hits) - limit)


def claim_picked(
    claims: list[tuple[int, str]], picked: int | None, *, exclude: int
) -> list[ClaimMatch]:
    """The one claim picked in the text, as a match (none if it is not another claim here)."""
    for n, (claim_id, text) in enumerate(claims, start=1):
        if claim_id == picked and claim_id != exclude:
            return [ClaimMatch(claim_id, n, _match_pieces(text, []))]
    return []


def _claim_texts(article: Article) -> list[tuple[int, str]]:
    """Every live claim of the article as (id, text), in the list's order: one query."""
    return list(selectors.claim_outline_for_article(article).values_list("id", "exact"))


def relation_search(
    article: Article, claim_id: int, *, query: str = "", picked: int | None = None
) -> dict[str, Any]:
    """The relation form's choices: the claims matching `query`, or the one `picked` in the text
    (a pick that names no claim, 0, is answered "not another claim")."""
    claims = _claim_texts(article)
    if picked is not None:
        matches, more = claim_picked(claims, picked, exclude=claim_id), 0
        picked_id = matches[0].id if matches else None
    else:
        matches, more = claim_matches(claims, query, exclude=claim_id)
        picked_id = None
    return {
        "relation_query": query.strip(),
        "relation_matches": matches,
        "relation_more": more,
        "relation_picked": picked_id,
        "relation_pick_failed": picked is not None and not matches,
    }


def only_match(search: dict[str, Any], query: str) -> int:
    """The one claim matching the words typed without choosing (no JavaScript, or Enter in the
    search box), or a ValidationError offering the several matches (or saying there is none)."""
    matches: list[ClaimMatch] = search["relation_matches"]
    if len(matches) == 1:
        return matches[0].id
    if matches:
        raise ValidationError(f"Several claims match “{query}”: choose one.")
    raise ValidationError(f"No other claim matches “{query}”.")
