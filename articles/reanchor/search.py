"""Approximate search of a quote in (a stretch of) the new text.

A finder is built once per new text and then asked, for each quote, for the places in
``text[lo:hi]`` that match it with the fewest edits (at most ``max_distance``). It answers
``(start, end, distance)`` triples, ends exclusive, in offsets of the whole text.

:class:`EdlibFinder` is the one in use: edlib's infix alignment (Myers' bit-vector algorithm in
C) gives every best place at once, so a quote that occurs several times yields several
candidates for the context to choose from. edlib compares bytes of an alphabet of at most 256
symbols, so the text is encoded once into one byte per character; a text with more distinct
characters than that (a long CJK article) is encoded per query instead, every character the
quote lacks becoming one "no match" byte, which keeps the edit distances exact.
:class:`RapidfuzzFinder` (rapidfuzz's best partial alignment, its boundaries then polished)
takes the few quotes that themselves hold more than 255 distinct characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

import edlib
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

Match = tuple[int, int, int]  # start, end (exclusive), edit distance

_NO_MATCH = 0  # the byte standing for a character the quote does not contain
_MAX_SYMBOLS = 255  # byte values 1..255 for characters, 0 for "no match"


class Finder(Protocol):
    def __call__(self, pattern: str, lo: int, hi: int, max_distance: int) -> list[Match]: ...


# Built once per (folded) new text.
FinderFactory = Callable[[str], Finder]


class EdlibFinder:
    """Every best infix match of a quote, through edlib, on the text encoded once."""

    def __init__(self, text: str) -> None:
        self._text = text
        alphabet = sorted(set(text))
        self._codes: dict[str, int] | None = None
        self._encoded = b""
        if len(alphabet) <= _MAX_SYMBOLS:
            self._codes = {char: code for code, char in enumerate(alphabet, start=1)}
            table = {ord(char): code for char, code in self._codes.items()}
            self._encoded = text.translate(table).encode("latin-1")
        self._fallback = RapidfuzzFinder(text)

    def __call__(self, pattern: str, lo: int, hi: int, max_distance: int) -> list[Match]:
        lo, hi = max(0, lo), min(len(self._text), hi)
        if not pattern or hi <= lo:
            return []
        if self._codes is not None:
            codes = self._codes
            query = bytes(codes.get(char, _NO_MATCH) for char in pattern)
            target = self._encoded[lo:hi]
        else:
            distinct = sorted(set(pattern))
            if len(distinct) > _MAX_SYMBOLS or "\x00" in distinct:
                return self._fallback(pattern, lo, hi, max_distance)
            codes = {char: code for code, char in enumerate(distinct, start=1)}
            query = bytes(codes[char] for char in pattern)
            others = re.compile("[^" + "".join(re.escape(char) for char in distinct) + "]")
            reduced = others.sub("\x00", self._text[lo:hi])
            table = {ord(char): code for char, code in codes.items()}
            target = reduced.translate(table).encode("latin-1")
        result = edlib.align(query, target, mode="HW", task="locations", k=max_distance)
        distance = result["editDistance"]
        if distance < 0:
            return []
        # edlib ends are inclusive; a start of None cannot happen with task="locations".
        return [(lo + start, lo + end + 1, distance) for start, end in result["locations"]]


class RapidfuzzFinder:
    """The one best match of a quote: rapidfuzz's partial alignment, boundaries polished."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __call__(self, pattern: str, lo: int, hi: int, max_distance: int) -> list[Match]:
        lo, hi = max(0, lo), min(len(self._text), hi)
        if not pattern or hi <= lo:
            return []
        window = self._text[lo:hi]
        if len(window) <= len(pattern):
            start, end = 0, len(window)
        else:
            found = fuzz.partial_ratio_alignment(pattern, window)
            if found is None:
                return []
            start, end = found.dest_start, found.dest_end
        start, end, distance = _polish(pattern, window, start, end, max_distance + 2)
        if distance > max_distance or end <= start:
            return []
        return [(lo + start, lo + end, distance)]


def _polish(pattern: str, window: str, start: int, end: int, reach: int) -> Match:
    """Move each boundary by up to ``reach`` characters while that lowers the edit distance.

    rapidfuzz aligns windows as long as the quote; an edited passage is longer or shorter.
    """
    best = Levenshtein.distance(pattern, window[start:end])
    for _ in range(2):
        for candidate in range(max(0, start - reach), min(end, start + reach + 1)):
            distance = Levenshtein.distance(pattern, window[candidate:end])
            if distance < best:
                best, start = distance, candidate
        for candidate in range(max(start + 1, end - reach), min(len(window), end + reach) + 1):
            distance = Levenshtein.distance(pattern, window[start:candidate])
            if distance < best:
                best, end = distance, candidate
    return start, end, best
