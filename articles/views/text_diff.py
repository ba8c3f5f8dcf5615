"""Two versions of a text side by side in one column: what was deleted, what was inserted, and
the unchanged text around it (long unchanged stretches shortened), for the edit preview and the
compare page. The alignment is the re-anchoring's own (articles.reanchor.rapidfuzz_opcodes), so
what a reader sees changed is what re-anchoring saw changed."""

from __future__ import annotations

from dataclasses import dataclass

from ..reanchor import rapidfuzz_opcodes

KEPT_CONTEXT = 120  # code points of unchanged text shown on each side of a change
MERGED_GAP = 8  # changes this close read as one rewritten passage, not a patchwork


@dataclass(frozen=True)
class Piece:
    kind: str  # "same", "del", "ins", "gap" (unchanged text left out)
    text: str


@dataclass(frozen=True)
class TextDiff:
    pieces: list[Piece]
    deleted: int  # code points
    inserted: int
    changes: int  # edited places

    @property
    def unchanged(self) -> bool:
        return self.changes == 0


def _word(char: str) -> bool:
    return char.isalnum()


def _cuts_word(*chars: str) -> bool:
    """Whether a change's first (or last) character, in either text, is part of a word."""
    return any(_word(c) for c in chars)


def _regions(old: str, new: str) -> list[list[int]]:
    """Changed regions [o1, o2, n1, n2], widened to whole words and merged when close."""
    regions: list[list[int]] = []
    for tag, o1, o2, n1, n2 in rapidfuzz_opcodes(old, new):
        if tag == "equal":
            continue
        # A change that cuts a word shows the whole word (the characters around a change are
        # equal in both texts); one that ends at a space or a mark stays as it is.
        firsts = old[o1:o2][:1] + new[n1:n2][:1]
        lasts = old[o1:o2][-1:] + new[n1:n2][-1:]
        if _cuts_word(*firsts):
            while o1 > 0 and n1 > 0 and _word(old[o1 - 1]) and old[o1 - 1] == new[n1 - 1]:
                o1, n1 = o1 - 1, n1 - 1
        if _cuts_word(*lasts):
            while o2 < len(old) and n2 < len(new) and _word(old[o2]) and old[o2] == new[n2]:
                o2, n2 = o2 + 1, n2 + 1
        if regions and o1 - regions[-1][1] <= MERGED_GAP:  # a word or two kept between
            regions[-1][1], regions[-1][3] = max(regions[-1][1], o2), max(regions[-1][3], n2)
        else:
            regions.append([o1, o2, n1, n2])
    return regions


def _same(text: str, *, first: bool, last: bool) -> list[Piece]:
    """Unchanged text, shortened in the middle (and at the text's ends) when long."""
    keep = KEPT_CONTEXT
    head = "" if first else text[:keep]
    tail = "" if last else text[-keep:]
    if len(text) <= len(head) + len(tail) + 20:
        return [Piece("same", text)] if text else []
    pieces = [Piece("same", head)] if head else []
    pieces.append(Piece("gap", f"{len(text) - len(head) - len(tail):,} unchanged characters"))
    if tail:
        pieces.append(Piece("same", tail))
    return pieces


def text_diff(old: str, new: str) -> TextDiff:
    regions = _regions(old, new)
    pieces: list[Piece] = []
    previous = 0
    deleted = inserted = 0
    for index, (o1, o2, n1, n2) in enumerate(regions):
        pieces += _same(old[previous:o1], first=index == 0, last=False)
        if o2 > o1:
            pieces.append(Piece("del", old[o1:o2]))
            deleted += o2 - o1
        if n2 > n1:
            pieces.append(Piece("ins", new[n1:n2]))
            inserted += n2 - n1
        previous = o2
    pieces += _same(old[previous:], first=not regions, last=True)
    return TextDiff(pieces, deleted, inserted, len(regions))
