"""Spans of an old text placed again on a new text: through the edit, then by their quote.

See the package's docstring for the rules and the thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from rapidfuzz.distance import Levenshtein

from articles.anchoring import CONTEXT_LENGTH, context_around

from .diff import Differ, OffsetMap, fold, rapidfuzz_opcodes
from .search import EdlibFinder, FinderFactory

# Chosen on the generated development set (bench/bench_reanchor.py --tune): the lowest values
# that placed no span on the wrong words there, rounded up for a margin.
ACCEPT_SCORE = 0.75  # passage similarity (quote and its context) a placement needs
MIN_QUOTE_SIMILARITY = 0.6  # the quote alone: 1 - edits / length, whatever its context
NEAR_MARGIN = CONTEXT_LENGTH  # code points searched on each side of the mapped place first
UNIQUE_QUOTE_LENGTH = 24  # a verbatim quote this long, once in each text, is its own context
MAX_CANDIDATES = 1000  # best matches scored per search, the nearest to the mapped place kept

Status = Literal["exact", "moved", "fuzzy", "orphaned"]
_OUTSIDE = "\x00"  # marks the start or end of the text in a context (no text holds it)


class SpanLike(Protocol):
    """What re-anchoring reads of a span (``articles.anchoring.Span`` is one)."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def exact(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def suffix(self) -> str: ...


@dataclass(frozen=True)
class Anchor:
    """Where a span stands in the new text.

    A placed span (exact, moved, fuzzy) has ``exact == new_text[start:end]`` and the prefix and
    suffix around it in the new text. An orphan has ``start``/``end`` None and keeps its old
    ``exact``, ``prefix`` and ``suffix``; its score is that of the best place refused, capped
    by that place's quote similarity (so always below the threshold; 0 if none came near).
    """

    status: Status
    score: float
    start: int | None
    end: int | None
    exact: str
    prefix: str
    suffix: str

    @property
    def placed(self) -> bool:
        return self.start is not None


@dataclass(frozen=True)
class _Quote:
    """A span's quote and context, prepared once for scoring and searching."""

    exact: str
    folded: str
    before: str  # the prefix, behind a start-of-text mark when the text began within it
    after: str  # the suffix, followed by an end-of-text mark when the text ended within it


_Place = tuple[int, int, bool]  # start, end, vouched for without the context


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    score: float
    quote_similarity: float


class Reanchorer:
    """One old text, one new text, their difference computed once; then any number of spans.

    ``differ`` and ``finder`` are replaceable so that the benchmark can compare libraries on the
    same engine, and the thresholds so that it can choose them; the defaults are the ones
    measured best.
    """

    def __init__(
        self,
        old_text: str,
        new_text: str,
        *,
        differ: Differ = rapidfuzz_opcodes,
        finder: FinderFactory = EdlibFinder,
        accept_score: float = ACCEPT_SCORE,
        min_quote_similarity: float = MIN_QUOTE_SIMILARITY,
        unique_quote_length: int = UNIQUE_QUOTE_LENGTH,
    ) -> None:
        self.accept_score = accept_score
        self.min_quote_similarity = min_quote_similarity
        self.unique_quote_length = unique_quote_length
        self.old_text = old_text
        self.new_text = new_text
        folded_new = fold(new_text)
        opcodes = differ(fold(old_text), folded_new)
        self._map = OffsetMap(opcodes, len(old_text), len(new_text))
        self._find = finder(folded_new)

    def anchor_all(self, spans: Iterable[SpanLike]) -> list[Anchor]:
        return [self.anchor(span) for span in spans]

    def anchor(self, span: SpanLike) -> Anchor:
        """Place one span of the old text on the new text (see the package docstring)."""
        start, end, exact = span.start, span.end, span.exact
        if not 0 <= start < end <= len(self.old_text) or self.old_text[start:end] != exact:
            raise ValueError(f"span {start}-{end} does not select its exact in the old text")
        new_start, new_end, kept = self._map.span(start, end)
        verbatim = new_end - new_start == len(exact) and self.new_text.startswith(exact, new_start)
        if verbatim and kept:
            return self._placed(start, end, new_start, new_end, 1.0)

        quote = self._quote(span)
        margin = NEAR_MARGIN + len(exact) // 4
        lo, hi = new_start - margin, new_end + margin
        unique = self._unique(exact)
        near = self._search(quote, lo, hi, new_start)
        near.append((new_start, new_end, kept))
        if unique is not None and lo <= unique and unique + len(exact) <= hi:
            near.append((unique, unique + len(exact), True))
        best = self._best(quote, near, new_start)
        if best is None or not self._accepted(best):
            anywhere = self._search(quote, 0, len(self.new_text), new_start)
            if unique is not None and len(exact) >= self.unique_quote_length:
                anywhere.append((unique, unique + len(exact), True))
            found = self._best(quote, anywhere, new_start)
            if found is not None and (best is None or found.score > best.score):
                best = found
        if best is not None and self._accepted(best):
            return self._placed(start, end, best.start, best.end, best.score)
        return Anchor(
            status="orphaned",
            score=_shown(min(best.score, best.quote_similarity)) if best is not None else 0.0,
            start=None,
            end=None,
            exact=exact,
            prefix=span.prefix,
            suffix=span.suffix,
        )

    # --- Steps ---------------------------------------------------------------------------------

    def _quote(self, span: SpanLike) -> _Quote:
        prefix = span.prefix[-CONTEXT_LENGTH:]
        suffix = span.suffix[:CONTEXT_LENGTH]
        return _Quote(
            exact=span.exact,
            folded=fold(span.exact),
            before=prefix if len(prefix) == CONTEXT_LENGTH else _OUTSIDE + prefix,
            after=suffix if len(suffix) == CONTEXT_LENGTH else suffix + _OUTSIDE,
        )

    def _accepted(self, candidate: _Candidate) -> bool:
        return (
            candidate.score >= self.accept_score
            and candidate.quote_similarity >= self.min_quote_similarity
        )

    def _search(self, quote: _Quote, lo: int, hi: int, expected: int) -> list[_Place]:
        """The best approximate matches of the quote in ``new_text[lo:hi]``, nearest first."""
        max_distance = int(len(quote.exact) * (1 - self.min_quote_similarity))
        found = self._find(quote.folded, lo, hi, max_distance)
        found.sort(key=lambda match: abs(match[0] - expected))
        return [(start, end, False) for start, end, _distance in found[:MAX_CANDIDATES]]

    def _unique(self, exact: str) -> int | None:
        """The quote's place in the new text if it occurs exactly once there and in the old."""
        places = []
        for text in (self.old_text, self.new_text):
            first = text.find(exact)
            if first < 0 or text.find(exact, first + 1) >= 0:
                return None
            places.append(first)
        return places[1]

    def _best(self, quote: _Quote, places: list[_Place], expected: int) -> _Candidate | None:
        """The place whose passage is most like the old one; the nearest one on a tie."""
        best: _Candidate | None = None
        best_key: tuple[float, int] | None = None
        for start, end, vouched in places:
            if end <= start:
                continue
            candidate = self._score(quote, start, end, vouched)
            key = (candidate.score, -abs(start - expected))
            if best_key is None or key > best_key:
                best, best_key = candidate, key
        return best

    def _score(self, quote: _Quote, start: int, end: int, vouched: bool) -> _Candidate:
        """Similarity of the passage at ``start:end`` (quote and context) to the old passage.

        Each of the quote, the prefix and the suffix is scored by its normalised Levenshtein
        similarity on the real text (so a changed quotation mark costs a little), and the three
        are weighed by their lengths: a long quote speaks for itself, a short one is known by
        its context. A context cut short by the start or end of the text ends with a mark no
        text holds, so "at the very start" is itself a (one-character) part of the context.
        A place ``vouched`` for without its context (the difference kept the span's edges
        there, or the quote occurs once in each text and is long or still near its mapped
        place) scores at least its quote's own similarity: a sentence whose neighbours were
        rewritten is still itself.
        """
        text = self.new_text
        reach_before, reach_after = len(quote.before), len(quote.after)
        before = text[max(0, start - reach_before) : start]
        if start < reach_before:
            before = (_OUTSIDE + before)[-reach_before:]
        after = text[end : end + reach_after]
        if end + reach_after > len(text):
            after = (after + _OUTSIDE)[:reach_after]
        length = len(quote.exact)
        quote_similarity = Levenshtein.normalized_similarity(quote.exact, text[start:end])
        weighed = (
            length * quote_similarity
            + reach_before * Levenshtein.normalized_similarity(quote.before, before)
            + reach_after * Levenshtein.normalized_similarity(quote.after, after)
        )
        score = weighed / (length + reach_before + reach_after)
        if vouched:
            score = max(score, quote_similarity)
        return _Candidate(start, end, score, quote_similarity)

    def _placed(self, old_start: int, old_end: int, start: int, end: int, score: float) -> Anchor:
        exact = self.new_text[start:end]
        prefix, suffix = context_around(self.new_text, start, end)
        if exact != self.old_text[old_start:old_end]:
            status: Status = "fuzzy"
        elif (start, end) == (old_start, old_end):
            status = "exact"
        else:
            status = "moved"
        return Anchor(status, _shown(score), start, end, exact, prefix, suffix)


def _shown(score: float) -> float:
    """Four decimals, rounded down: a refused score never shows as the threshold itself."""
    return math.floor(score * 10_000) / 10_000


def reanchor(
    old_text: str,
    new_text: str,
    spans: Iterable[SpanLike],
    *,
    differ: Differ = rapidfuzz_opcodes,
    finder: FinderFactory = EdlibFinder,
) -> list[Anchor]:
    """Place every span of ``old_text`` on ``new_text``; one :class:`Anchor` per span, in order.

    The difference of the two texts is computed once, whatever the number of spans.
    """
    return Reanchorer(old_text, new_text, differ=differ, finder=finder).anchor_all(spans)
