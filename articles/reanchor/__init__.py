"""Re-anchoring: the spans of an article placed again after its text changed.

Given the old text, the new text (both NFC; offsets are code points, as everywhere in the
project) and spans of the old text (``start``, ``end``, ``exact``, and the ``prefix`` /
``suffix`` of up to 32 code points that ``articles.anchoring`` stores), :func:`reanchor`
returns one :class:`Anchor` per span, in Hypothesis's spirit (position first, then quote):

1. **Through the edit.** The two texts are diffed once (rapidfuzz; on *folded* texts, where
   quotes, dashes and whitespace have one form each and lengths are unchanged) and the span's
   offsets are mapped through the difference. If the quote *and its stored context* are
   unchanged there, or everything on one side of the span is, the span is ``exact`` (same
   offsets) or ``moved`` (shifted), with score 1.
2. **By its quote, near the mapped place.** Otherwise the quote is searched approximately
   (edlib, at most ``len(exact) * (1 - MIN_QUOTE_SIMILARITY)`` edits) around the mapped region
   (``NEAR_MARGIN`` code points plus a quarter of the quote's length on each side), the mapped
   region itself being a candidate too. Each candidate is scored by how much its *passage* is
   like the old one: the normalised Levenshtein similarity of the quote (weighing its length)
   and of the 32 code points before and after it (weighing 32 each), so that a long quote
   speaks for itself and a short one is known by its context. The best candidate is kept if
   that score is at least ``ACCEPT_SCORE``, its quote alone at least ``MIN_QUOTE_SIMILARITY``
   like the old one, and the passage at least ``MIN_EVIDENCE`` code points long.
3. **By its quote, anywhere.** If nothing near is kept (a paragraph moved, a diff that paired
   a repeated phrase with the wrong copy), the whole text is searched the same way.
4. **Vouched for.** If still nothing is like the old passage, a place known to be the span's
   without its context is kept when its quote alone scores ``ACCEPT_SCORE``: the region
   between the span's first and last characters when the difference kept both in unchanged
   runs of at least 24 code points (a sentence whose neighbours were rewritten and whose
   figure was corrected), or the one occurrence of a quote that occurs exactly once in each
   text and is at least ``UNIQUE_QUOTE_LENGTH`` code points long or still near its place.
5. Otherwise the span is **orphaned**: no offsets, its old quote and context kept, score 0.

A placed span always has ``exact == new_text[start:end]`` (its new exact is read from the new
text) and says how it got there: ``exact``/``moved`` when that text equals the old one,
``fuzzy`` when it differs. The thresholds were chosen on a generated development set
(``bench/bench_reanchor.py --tune``: newsroom edits of article prose, with the true place of
every span tracked through the edits): on 16,000 spans, no span was placed on words other than
its own from ``ACCEPT_SCORE`` 0.65 with ``UNIQUE_QUOTE_LENGTH`` 24 (16 was not safe), and
``ACCEPT_SCORE`` is set a step higher, at 0.75, as a margin. ``MIN_QUOTE_SIMILARITY`` did not
change the wrong placements between 0.5 and 0.7; it is 0.6, the meaning of "a similar
passage": most of the quote is still there. The benchmark reports the result on edits
generated from other seeds.
"""

from .diff import OffsetMap, fold, rapidfuzz_opcodes
from .engine import (
    ACCEPT_SCORE,
    MIN_EVIDENCE,
    MIN_QUOTE_SIMILARITY,
    NEAR_MARGIN,
    UNIQUE_QUOTE_LENGTH,
    Anchor,
    Reanchorer,
    SpanLike,
    Status,
    reanchor,
)
from .search import EdlibFinder, RapidfuzzFinder

__all__ = [
    "ACCEPT_SCORE",
    "MIN_EVIDENCE",
    "MIN_QUOTE_SIMILARITY",
    "NEAR_MARGIN",
    "UNIQUE_QUOTE_LENGTH",
    "Anchor",
    "EdlibFinder",
    "OffsetMap",
    "RapidfuzzFinder",
    "Reanchorer",
    "SpanLike",
    "Status",
    "fold",
    "rapidfuzz_opcodes",
    "reanchor",
]
