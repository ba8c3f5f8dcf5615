"""Spans of an old text placed again on a new text: through the edit, then by their quote.

See the package's docstring for the rules and the thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, Protocol

from rapidfuzz.distance import Levenshtein

from articles.anchoring import CONTEXT_LENGTH, context_around

from .diff import Differ, OffsetMap, fold, rapidfuzz_opcodes
from .search import EdlibFinder, Finder, FinderFactory

# Chosen on the generated development set (bench/bench_reanchor.py --tune); how, in the package
# docstring.
ACCEPT_SCORE = 0.75  # passage similarity (quote and its context) a placement needs
MIN_QUOTE_SIMILARITY = 0.6  # the quote alone: 1 - edits / length, whatever its context
NEAR_MARGIN = CONTEXT_LENGTH  # code points searched on each side of the mapped place first
MIN_EVIDENCE = CONTEXT_LENGTH  # code points of quote and context needed to judge by similarity
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
    ``exact``, ``prefix`` and ``suffix``, and scores 0. The score of a placed span says how
    sure the placement is: 1 when the quote and its context are unchanged where the difference
    put it, otherwise the similarity that accepted it (at least ``ACCEPT_SCORE``).
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
    passage_similarity: float  # the quote and its context, weighed by their lengths
    quote_similarity: float
    vouched: bool  # the place is known to be the span's without its context

    @property
    def score(self) -> float:
        return max(self.passage_similarity, self.quote_similarity if self.vouched else 0.0)


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
        self._folded_new = fold(new_text)
        opcodes = differ(fold(old_text), self._folded_new)
        self._map = OffsetMap(opcodes, len(old_text), len(new_text))
        self._finder = finder

    @cached_property
    def _find(self) -> Finder:
        """Built on first use: when every span is kept through the edit, no search is needed."""
        return self._finder(self._folded_new)

    def anchor_all(self, spans: Iterable[SpanLike]) -> list[Anchor]:
        return [self.anchor(span) for span in spans]

    def anchor(self, span: SpanLike) -> Anchor:
        """Place one span of the old text on the new text (see the package docstring)."""
        start, end, exact = span.start, span.end, span.exact
        if not 0 <= start < end <= len(self.old_text) or self.old_text[start:end] != exact:
            raise ValueError(f"span {start}-{end} does not select its exact in the old text")
        quote = self._quote(span)
        new_start, new_end, kept = self._map.span(start, end)
        if self._intact(quote, new_start, new_end) or (
            self._map.unchanged_around(start, end)
            and self.new_text.startswith(exact, new_start)
            and new_end - new_start == len(exact)
        ):
            return self._placed(start, end, new_start, new_end, 1.0)

        margin = NEAR_MARGIN + len(exact) // 4
        lo, hi = new_start - margin, new_end + margin
        unique = self._unique(exact)
        places = self._search(quote, lo, hi, new_start)
        places.append((new_start, new_end, kept))
        if unique is not None and lo <= unique and unique + len(exact) <= hi:
            places.append((unique, unique + len(exact), True))
        candidates = [self._score(quote, *place) for place in places]
        best = self._choose(candidates, quote, new_start, vouching=False)
        if best is None:
            places = self._search(quote, 0, len(self.new_text), new_start)
            if unique is not None and len(exact) >= self.unique_quote_length:
                places.append((unique, unique + len(exact), True))
            candidates += [self._score(quote, *place) for place in places]
            best = self._choose(candidates, quote, new_start, vouching=True)
        if best is not None:
            return self._placed(start, end, best.start, best.end, best.score)
        return Anchor(
            status="orphaned",
            score=0.0,
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

    def _intact(self, quote: _Quote, start: int, end: int) -> bool:
        """Whether the quote and its whole stored context are unchanged at ``start:end``."""
        text = self.new_text
        before = quote.before.lstrip(_OUTSIDE)
        after = quote.after.rstrip(_OUTSIDE)
        return (
            end - start == len(quote.exact)
            and text.startswith(quote.exact, start)
            and text.startswith(before, start - len(before))
            and text.startswith(after, end)
            and (len(before) == len(quote.before) or start == len(before))
            and (len(after) == len(quote.after) or end + len(after) == len(text))
        )

    def _choose(
        self, candidates: list[_Candidate], quote: _Quote, expected: int, *, vouching: bool
    ) -> _Candidate | None:
        """The candidate to place the span on, or None.

        First the passage most like the old one (quote and context; the nearest to
        ``expected`` on a tie) is found; it, or a candidate overlapping it (the same passage,
        other boundaries), is accepted when its passage similarity reaches ``accept_score`` and
        its quote ``min_quote_similarity``. When that passage is refused (its quote too
        changed), no lesser passage elsewhere is taken instead: in text that repeats itself the
        next best is another copy of the words, not the span. A passage shorter than
        ``MIN_EVIDENCE`` (a short quote near the start or end of a short text) says too little
        to be accepted on its similarity.

        With ``vouching`` (tried only after the whole text was searched, so that a phrase the
        difference paired with a repeated one, "a spokesperson said", never beats the place
        whose context still matches), a place vouched for is accepted on its quote's own
        similarity.
        """
        if not candidates:
            return None

        def nearest_best(candidate: _Candidate) -> tuple[float, int]:
            return candidate.passage_similarity, -abs(candidate.start - expected)

        passage = max(candidates, key=nearest_best)
        if len(quote.exact) + len(quote.before) + len(quote.after) >= MIN_EVIDENCE:
            accepted = [
                candidate
                for candidate in candidates
                if (candidate is passage or self._other_bounds(candidate, passage, quote))
                and candidate.passage_similarity >= self.accept_score
                and candidate.quote_similarity >= self.min_quote_similarity
            ]
            if accepted:
                return max(accepted, key=nearest_best)
        if vouching:
            threshold = max(self.accept_score, self.min_quote_similarity)
            vouched = [c for c in candidates if c.vouched and c.quote_similarity >= threshold]
            if vouched:
                return max(vouched, key=lambda c: (c.quote_similarity, -abs(c.start - expected)))
        return None

    def _other_bounds(self, candidate: _Candidate, passage: _Candidate, quote: _Quote) -> bool:
        """Whether ``candidate`` is ``passage`` with other boundaries.

        It must overlap it and not be the old quote word for word: beside a passage whose
        quote was edited, a verbatim copy is the next copy in text that repeats itself
        (a run of newlines split by an insertion), not the span.
        """
        overlaps = candidate.start < passage.end and passage.start < candidate.end
        verbatim = self.new_text[candidate.start : candidate.end] == quote.exact
        return overlaps and not verbatim

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

    def _score(self, quote: _Quote, start: int, end: int, vouched: bool) -> _Candidate:
        """Similarity of the passage at ``start:end`` (quote and context) to the old passage.

        Each of the quote, the prefix and the suffix is scored by its normalised Levenshtein
        similarity on the real text (so a changed quotation mark costs a little); the quote
        weighs its length and each side of the context ``CONTEXT_LENGTH``: a long quote speaks
        for itself, a short one is known by its context. A side cut short by the start or end
        of the text is compared with a mark of that start or end in front or behind, and still
        weighs a full side: being at the very start of the text is telling.
        A place ``vouched`` for without its context (the difference kept the span's edges
        there, or the quote occurs once in each text and is long or still near its mapped
        place) may also be accepted on its quote's own similarity: a sentence whose neighbours
        were rewritten is still itself.
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
            + CONTEXT_LENGTH * Levenshtein.normalized_similarity(quote.before, before)
            + CONTEXT_LENGTH * Levenshtein.normalized_similarity(quote.after, after)
        )
        passage = weighed / (length + 2 * CONTEXT_LENGTH)
        return _Candidate(start, end, passage, quote_similarity, vouched)

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
