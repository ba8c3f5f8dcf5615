"""The difference between two versions of a text, and old offsets mapped through it.

Both texts are first *folded*: a one-for-one character translation that makes typographic
quotes, apostrophes, dashes and every kind of whitespace compare equal to their plain forms.
Folding never changes a text's length, so an offset into the folded text is an offset into the
real one; it only keeps a house-style change ("…" to “…”, a reflowed paragraph) from turning the
whole article into one long edit. Whether a span's text is *really* unchanged is always decided
on the real text.

The difference is computed once for all spans, by rapidfuzz (bit-parallel, in C): a banded
Levenshtein alignment of the folded texts finds the long unchanged runs (with a distance hint
its cost grows with the size of the edits, not with the square of the article), and the
stretches between them are aligned again by insertions and deletions only.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from rapidfuzz.distance import Indel, Levenshtein

# (tag, old_start, old_end, new_start, new_end), as difflib's get_opcodes() gives them.
Opcode = tuple[str, int, int, int, int]
# Any function that turns (old, new) into opcodes covering both texts in order.
Differ = Callable[[str, str], Sequence[Opcode]]

_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u301d\u301e\uff02"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2039\u203a\u2032\uff07"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_FOLD = str.maketrans(
    {
        **dict.fromkeys(_DOUBLE_QUOTES, '"'),
        **dict.fromkeys(_SINGLE_QUOTES, "'"),
        **dict.fromkeys(_DASHES, "-"),
        **dict.fromkeys(_SPACES, " "),
    }
)
# Band width rapidfuzz starts from; it widens the band by itself when the texts differ more.
_MIN_DISTANCE_HINT = 256
# An equal run this long is no accident of the alignment: it anchors the diff and the spans.
ANCHOR_RUN = 24
# Stretches between anchors are realigned up to this product of lengths (20,000 x 20,000 code
# points: about 0.05 s); a larger one is a rewrite, left as one replaced block.
_MAX_REALIGNED = 20_000 * 20_000
# A new text keeping less than this share of the old one's word trigrams is not diffed at all.
REWRITE_SHARE = 0.25
_MIN_REWRITE_CHECK = 10_000  # code points: below this the diff is cheap whatever the texts


def fold(text: str) -> str:
    """Return ``text`` with quotes, dashes and spaces in one plain form each, same length."""
    return text.translate(_FOLD)


def rapidfuzz_opcodes(old: str, new: str) -> list[Opcode]:
    """Opcodes turning ``old`` into ``new``: rapidfuzz, Levenshtein first, then Indel between.

    The banded Levenshtein alignment is fast but pairs unrelated characters by substitution
    where a passage was rewritten, leaving short accidental "equal" runs in the middle of an
    edit. Only its long equal runs (``ANCHOR_RUN`` code points or more, which do not happen by
    accident in prose) are kept as anchors; the stretches between them are aligned again with
    the Indel distance (insertions and deletions only: a longest common subsequence, what a
    reader calls a diff), which is slower per character but sees only the edited stretches.

    The banded alignment costs about the article's length times the distance: for a text
    rewritten wholesale that is the square of its length (5 s for 200 kB), for nothing to map.
    Such a text is one replaced block, and every span is then looked for by its quote.
    """
    if _rewritten(old, new):
        return [("replace", 0, len(old), 0, len(new))] if old or new else []
    hint = max(_MIN_DISTANCE_HINT, abs(len(old) - len(new)))
    coarse = Levenshtein.opcodes(old, new, score_hint=hint)
    anchors = [
        (op.src_start, op.src_end, op.dest_start, op.dest_end)
        for op in coarse
        if op.tag == "equal" and op.src_end - op.src_start >= ANCHOR_RUN
    ]
    result: list[Opcode] = []
    old_at = new_at = 0
    ends = (len(old), len(old), len(new), len(new))
    for old_start, old_end, new_start, new_end in [*anchors, ends]:
        if old_start > old_at or new_start > new_at:
            result.extend(_realigned(old, new, old_at, old_start, new_at, new_start))
        if old_end > old_start:
            result.append(("equal", old_start, old_end, new_start, new_end))
        old_at, new_at = old_end, new_end
    return result


def _rewritten(old: str, new: str) -> bool:
    """Whether fewer than ``REWRITE_SHARE`` of the old text's word trigrams are left in the new.

    Edits, moves, reflowed lines and changed quotation marks (the texts are folded) keep most
    trigrams; only a different text loses most of them.
    """
    if len(old) < _MIN_REWRITE_CHECK:
        return False
    old_words, new_words = old.split(), new.split()
    old_trigrams = set(zip(old_words, old_words[1:], old_words[2:], strict=False))
    new_trigrams = set(zip(new_words, new_words[1:], new_words[2:], strict=False))
    if not old_trigrams:
        return False
    return len(old_trigrams & new_trigrams) < REWRITE_SHARE * len(old_trigrams)


def _realigned(
    old: str, new: str, old_start: int, old_end: int, new_start: int, new_end: int
) -> list[Opcode]:
    """Indel opcodes of ``old[old_start:old_end]`` against ``new[new_start:new_end]``."""
    if (old_end - old_start) * (new_end - new_start) > _MAX_REALIGNED:
        # A text replaced wholesale: no alignment of it is worth the time.
        return [("replace", old_start, old_end, new_start, new_end)]
    return [
        (
            op.tag,
            old_start + op.src_start,
            old_start + op.src_end,
            new_start + op.dest_start,
            new_start + op.dest_end,
        )
        for op in Indel.opcodes(old[old_start:old_end], new[new_start:new_end])
    ]


class OffsetMap:
    """Old offsets to new ones, through the opcodes of a difference.

    A span's start is mapped through the block that holds its first character and its end
    through the block that holds its last, so an insertion right before or right after a span
    stays outside it. Inside an equal block the mapping is exact; inside a replaced block it is
    proportional (a guess the quote search then corrects); a deleted block maps to the place
    where its text was.
    """

    def __init__(self, opcodes: Sequence[Opcode], old_length: int, new_length: int) -> None:
        # Insertions hold no old character, so they never contain an old position.
        blocks: list[Opcode] = []
        for op in opcodes:
            if op[2] <= op[1]:
                continue
            last = blocks[-1] if blocks else None
            if last and op[0] == last[0] == "equal" and (op[1], op[3]) == (last[2], last[4]):
                blocks[-1] = ("equal", last[1], op[2], last[3], op[4])
            else:
                blocks.append(op)
        self._blocks = blocks
        self._starts = [op[1] for op in blocks]
        self._old_length, self._new_length = old_length, new_length
        self._check(old_length, new_length)
        first, last = (blocks[0], blocks[-1]) if blocks else (None, None)
        # The texts' common prefix and suffix, as far as the difference kept them.
        self._same_prefix = first[2] if first and first[0] == "equal" and first[3] == 0 else 0
        self._same_suffix = (
            last[2] - last[1] if last and last[0] == "equal" and last[4] == new_length else 0
        )

    def _check(self, old_length: int, new_length: int) -> None:
        """Refuse opcodes that do not cover the old text in order (a broken differ)."""
        position = 0
        for _tag, old_start, old_end, new_start, new_end in self._blocks:
            if old_start != position or not 0 <= new_start <= new_end <= new_length:
                raise ValueError("the opcodes do not cover the old text in order")
            position = old_end
        if position != old_length:
            raise ValueError("the opcodes do not cover the whole old text")

    def unchanged_around(self, start: int, end: int) -> bool:
        """Whether everything before the span, or everything after it, is unchanged.

        Then the span is where the mapping puts it beyond doubt, whatever its context: the
        whole text on one side of it is the same.
        """
        return end <= self._same_prefix or start >= self._old_length - self._same_suffix

    def span(self, start: int, end: int) -> tuple[int, int, bool]:
        """Where the old span ``start:end`` went, and whether both its edges were kept.

        An edge is kept when its character lies in an equal block that is not an accident of
        the alignment: at least ``ANCHOR_RUN`` code points long, or running to the start or the
        end of both texts. (Where a passage was rewritten or moved, the alignment pairs short
        runs of letters at random: "go" in a sentence that left may be paired with the "go" of
        "good" in the one that came.) With both edges kept, the difference vouches that the new
        region between them is where the span's text is.
        """
        new_start, start_kept = self._start(start)
        new_end, end_kept = self._end(end)
        return new_start, max(new_start, new_end), start_kept and end_kept

    def _start(self, position: int) -> tuple[int, bool]:
        """Where the character at old ``position`` went."""
        tag, old_start, old_end, new_start, new_end = self._blocks[
            bisect_right(self._starts, position) - 1
        ]
        if tag == "equal":
            return new_start + position - old_start, self._trusted(
                old_start, old_end, new_start, new_end
            )
        share = (position - old_start) * (new_end - new_start) // (old_end - old_start)
        return new_start + share, False

    def _end(self, position: int) -> tuple[int, bool]:
        """Where the boundary right after the character at old ``position - 1`` went."""
        tag, old_start, old_end, new_start, new_end = self._blocks[
            bisect_left(self._starts, position) - 1
        ]
        if tag == "equal":
            return new_start + position - old_start, self._trusted(
                old_start, old_end, new_start, new_end
            )
        covered = (position - old_start) * (new_end - new_start)
        return new_start - (-covered // (old_end - old_start)), False

    def _trusted(self, old_start: int, old_end: int, new_start: int, new_end: int) -> bool:
        """Whether an equal block is long enough, or placed well enough, not to be chance."""
        return (
            old_end - old_start >= ANCHOR_RUN
            or old_start == new_start == 0
            or (old_end == self._old_length and new_end == self._new_length)
        )
