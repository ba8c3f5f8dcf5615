"""Sentences of an article with their offsets, by pysbd (a rule-based splitter: abbreviations,
decimals, quotations), paragraph by paragraph.

Offsets are code points of the stored text, like every span of the app: Python's str indexes
are code points, so a sentence found at index i of the text starts at code point i whatever
emoji or CJK come before it. Each sentence is trimmed of the white space around it.
"""

from __future__ import annotations

import functools
import re

PARAGRAPH = re.compile(r"[^\n]+")
MAX_SENTENCE_CHARS = 2_000  # longer "sentences" (tables, lists run together) are not claims


@functools.lru_cache(maxsize=4)
def _segmenter(language: str):
    import pysbd

    return pysbd.Segmenter(language=language, clean=False, char_span=False)


def _language(code: str) -> str:
    """pysbd's language for an article's language code; English when it has none."""
    from pysbd.languages import LANGUAGE_CODES

    short = (code or "en").split("-")[0].lower()
    return short if short in LANGUAGE_CODES else "en"


def sentences(text: str, language: str = "en") -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, in order, `text[start:end]` never empty and
    never starting or ending with white space."""
    segmenter = _segmenter(_language(language))
    spans: list[tuple[int, int]] = []
    for paragraph in PARAGRAPH.finditer(text):
        body = paragraph.group()
        cursor = 0
        for piece in segmenter.segment(body):
            if not piece:
                continue
            # pysbd keeps every character with clean=False: the pieces follow one another; a
            # piece it changed after all is looked for from where the last one ended.
            at = cursor if body.startswith(piece, cursor) else body.find(piece.strip(), cursor)
            if at < 0:
                continue
            start, end = at, at + len(piece)
            cursor = end
            while start < end and body[start].isspace():
                start += 1
            while end > start and body[end - 1].isspace():
                end -= 1
            if start < end and end - start <= MAX_SENTENCE_CHARS:
                spans.append((paragraph.start() + start, paragraph.start() + end))
    return spans
