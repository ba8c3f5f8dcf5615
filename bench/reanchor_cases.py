"""Generated newsroom edits for the re-anchoring benchmark, with every span's true fate known.

Articles are the demo corpus's prose (articles/demo/articles/*.md) or text generated from it by a
word-bigram chain (with quoted speech, figures and a sprinkle of accented, CJK, Arabic, Hebrew and
emoji words, so that offsets are code points that matter). Edits are the ones a newsroom makes:
a corrected figure, a changed word, an inserted phrase, an added sentence or paragraph, a
withdrawn sentence, a rewritten clause, paragraphs swapped, a sentence moved, straight quotes
made typographic, whitespace reflowed, a typo fixed.

Each edit is applied to a :class:`Draft` that records, for every character of the current text,
the offset in the original text it came from (``-1`` for inserted or changed characters). A span
is then *intact* (all its characters survive, in order, contiguous: its true place is known
exactly), *edited* (some survive: its true region runs from the first to the last survivor) or
*gone* (none survive), and a placement is judged against that.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from articles.anchoring import Span, context_around, normalize_text

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "articles" / "demo" / "articles"
EXTRA_WORDS = [
    "Zürich", "São", "Paulo", "naïve", "café", "北京", "東京の", "한국어", "القاهرة", "שלום",
    "😀", "🚀", "👩\u200d👩\u200d👧", "🇺🇦", "👍🏽", "e\u0301tude", "Ångström", "𝐀",
]  # fmt: skip
SPEAKERS = ["the minister", "a spokesperson", "Ms Okafor", "the analyst", "one official"]
INSERTED_PHRASES = [
    ", officials said,", " reportedly", ", according to the ministry,", " (updated)", " also",
    ", it emerged,", " in March",
]  # fmt: skip
WORD = re.compile(r"\w+")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
SENTENCE = re.compile(r"[^\s][^.!?\n]*[.!?]+[\"”’']?")
PARAGRAPH = re.compile(r"[^\n]+")


def demo_texts() -> list[str]:
    """The demo articles' plain text (their front matter dropped)."""
    texts = []
    for path in sorted(DEMO.glob("*.md")):
        raw = path.read_text(encoding="utf-8")
        body = raw.split("---", 2)[2] if raw.startswith("---") else raw
        texts.append(normalize_text(body.strip()))
    return texts


class Prose:
    """A word-bigram chain over the demo articles, writing sentences and paragraphs."""

    def __init__(self) -> None:
        self.follow: dict[str, list[str]] = defaultdict(list)
        self.starts: list[str] = []
        for text in demo_texts():
            for paragraph in text.split("\n"):
                words = paragraph.split()
                for index, word in enumerate(words):
                    if index == 0 or words[index - 1][-1] in ".!?":
                        self.starts.append(word)
                    if index + 1 < len(words):
                        self.follow[word].append(words[index + 1])
        self.vocabulary = sorted({w.strip('.,;:!?"()') for w in self.follow} - {""})

    def words(self, rng: random.Random, count: int) -> str:
        out = [rng.choice(self.vocabulary) for _ in range(count)]
        return " ".join(w if rng.random() > 0.03 else rng.choice(EXTRA_WORDS) for w in out)

    def sentence(self, rng: random.Random) -> str:
        word = rng.choice(self.starts)
        out = [word]
        while not (word[-1] in ".!?" and len(out) >= 5) and len(out) < 40:
            word = rng.choice(self.follow.get(word) or self.starts)
            out.append(word if rng.random() > 0.02 else rng.choice(EXTRA_WORDS))
        sentence = " ".join(out)
        if sentence[-1] not in ".!?":
            sentence += "."
        roll = rng.random()
        if roll < 0.15:
            return f'"{sentence[:-1]}," {rng.choice(SPEAKERS)} said.'
        if roll < 0.3:
            figure = f"{rng.randint(1, 99)}.{rng.randint(0, 9)}"
            return f"{sentence[:-1]}, up {figure} percent from {rng.randint(1990, 2024)}."
        return sentence

    def paragraph(self, rng: random.Random) -> str:
        return " ".join(self.sentence(rng) for _ in range(rng.randint(2, 6)))

    def article(self, rng: random.Random, size: int) -> str:
        paragraphs: list[str] = []
        total = 0
        while total < size:
            paragraphs.append(self.paragraph(rng))
            total += len(paragraphs[-1]) + 2
        return normalize_text("\n\n".join(paragraphs))


@dataclass
class Draft:
    """A text being edited, each character remembering its offset in the original (or -1)."""

    text: str
    origin: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.origin:
            self.origin = list(range(len(self.text)))

    def replace(self, start: int, end: int, new: str) -> None:
        self.text = self.text[:start] + new + self.text[end:]
        self.origin[start:end] = [-1] * len(new)

    def move(self, start: int, end: int, to: int) -> None:
        """Cut ``text[start:end]`` and paste it at ``to`` (an offset of the text before the cut)."""
        piece, origin = self.text[start:end], self.origin[start:end]
        self.replace(start, end, "")
        if to > start:
            to -= end - start
        self.text = self.text[:to] + piece + self.text[to:]
        self.origin[to:to] = origin


# --- Edits (each returns False when the text offers nothing to apply it to) --------------------


def _pick(rng: random.Random, pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = list(pattern.finditer(text))
    return rng.choice(found) if found else None


def corrected_figure(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    match = _pick(rng, NUMBER, draft.text)
    if match is None:
        return word_changed(draft, rng, prose)
    figure = match.group()
    while figure == match.group():
        figure = (
            f"{rng.randint(1, 99)}.{rng.randint(0, 9)}"
            if "." in figure
            else str(rng.randint(1, 2030))
        )
    draft.replace(match.start(), match.end(), figure)
    return True


def word_changed(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    match = _pick(rng, WORD, draft.text)
    if match is None:
        return False
    draft.replace(match.start(), match.end(), rng.choice(prose.vocabulary))
    return True


def phrase_inserted(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    match = _pick(rng, WORD, draft.text)
    if match is None:
        return False
    draft.replace(match.end(), match.end(), rng.choice(INSERTED_PHRASES))
    return True


def sentence_added(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    match = _pick(rng, SENTENCE, draft.text)
    at = match.end() if match else len(draft.text)
    draft.replace(at, at, " " + prose.sentence(rng))
    return True


def paragraph_added(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    match = _pick(rng, PARAGRAPH, draft.text)
    if match is None or rng.random() < 0.2:
        draft.replace(0, 0, prose.paragraph(rng) + "\n\n")
    else:
        draft.replace(match.end(), match.end(), "\n\n" + prose.paragraph(rng))
    return True


def sentence_withdrawn(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    match = _pick(rng, SENTENCE, draft.text)
    if match is None:
        return False
    end = match.end() + (draft.text[match.end() : match.end() + 1] == " ")
    draft.replace(match.start(), end, "")
    return True


def clause_rewritten(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    words = list(WORD.finditer(draft.text))
    if len(words) < 12:
        return False
    first = rng.randrange(len(words) - 10)
    last = first + rng.randint(2, 9)
    draft.replace(words[first].start(), words[last].end(), prose.words(rng, rng.randint(2, 10)))
    return True


def paragraphs_swapped(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    paragraphs = list(PARAGRAPH.finditer(draft.text))
    if len(paragraphs) < 3:
        return sentence_moved(draft, rng, prose)
    index = rng.randrange(len(paragraphs) - 2)
    first, second, third = paragraphs[index : index + 3]
    # "first, break, second, break, third" becomes "second, break, first, break, third".
    draft.move(first.start(), second.start(), third.start())
    return True


def sentence_moved(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    sentences = list(SENTENCE.finditer(draft.text))
    if len(sentences) < 3:
        return False
    moved, target = rng.sample(sentences, 2)
    end = moved.end() + (draft.text[moved.end() : moved.end() + 1] == " ")
    if moved.start() <= target.start() < end:
        return False
    draft.move(moved.start(), end, target.start())
    if end == moved.end():  # the sentence had no space after it: give it one
        at = target.start() + (end - moved.start()) * (target.start() < moved.start())
        draft.replace(at, at, " ")
    return True


def quotes_typographic(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    whole = rng.random() < 0.3
    match = None if whole else _pick(rng, PARAGRAPH, draft.text)
    start, end = (match.start(), match.end()) if match else (0, len(draft.text))
    opening, changed = True, False
    for index in range(start, end):
        char = draft.text[index]
        if char == '"':
            draft.replace(index, index + 1, "“" if opening else "”")
            opening, changed = not opening, True
        elif char == "'":
            draft.replace(index, index + 1, "’")
            changed = True
    return changed


def whitespace_reflowed(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    match = _pick(rng, PARAGRAPH, draft.text)
    if match is None:
        return False
    roll = rng.random()
    if roll < 0.5:  # hard-wrapped at about 72 columns
        column = 0
        for index in range(match.start(), match.end()):
            column += 1
            if draft.text[index] == " " and column > 72:
                draft.replace(index, index + 1, "\n")
                column = 0
    elif roll < 0.8:  # two spaces after each full stop
        for index in reversed(range(match.start(), match.end())):
            if draft.text[index] == "." and draft.text[index + 1 : index + 2] == " ":
                draft.replace(index + 1, index + 1, " ")
    else:  # the paragraph joined to the next one
        following = draft.text[match.end() : match.end() + 2]
        if following != "\n\n":
            return False
        draft.replace(match.end(), match.end() + 2, " ")
    return True


def typo_fixed(draft: Draft, rng: random.Random, prose: Prose) -> bool:
    words = [m for m in WORD.finditer(draft.text) if len(m.group()) >= 4]
    if not words:
        return False
    word = rng.choice(words)
    at = rng.randrange(word.start() + 1, word.end() - 1)
    if rng.random() < 0.5:
        draft.replace(at, at + 1, "")
    else:
        draft.replace(at, at, draft.text[at])
    return True


EDITS = [
    corrected_figure, word_changed, phrase_inserted, sentence_added, paragraph_added,
    sentence_withdrawn, clause_rewritten, paragraphs_swapped, sentence_moved,
    quotes_typographic, whitespace_reflowed, typo_fixed,
]  # fmt: skip


def edit(text: str, rng: random.Random, prose: Prose, count: int) -> Draft:
    """Apply ``count`` random newsroom edits to ``text``."""
    draft = Draft(text)
    done = 0
    while done < count:
        done += rng.choice(EDITS)(draft, rng, prose)
    return draft


# --- Spans and their fate -----------------------------------------------------------------------


def spans(text: str, rng: random.Random, count: int) -> list[Span]:
    """Claims and evidence as people mark them: sentences, clauses, short phrases, and a few
    arbitrary stretches that start or end inside a word."""
    sentences = list(SENTENCE.finditer(text))
    words = list(WORD.finditer(text))
    out: list[Span] = []
    while len(out) < count:
        roll = rng.random()
        if roll < 0.4 and sentences:
            match = rng.choice(sentences)
            start, end = match.start(), match.end()
        elif roll < 0.85 and len(words) > 12:
            first = rng.randrange(len(words) - 12)
            last = first + (rng.randint(2, 11) if roll < 0.65 else rng.randint(0, 2))
            start, end = words[first].start(), words[last].end()
        else:
            start = rng.randrange(len(text) - 1)
            end = min(len(text), start + rng.randint(3, 80))
        if text[start:end].strip():
            prefix, suffix = context_around(text, start, end)
            out.append(Span(start, end, text[start:end], prefix, suffix))
    return out


@dataclass(frozen=True)
class Fate:
    kind: str  # "intact" | "edited" | "gone"
    start: int | None  # the true region in the new text (None when gone)
    end: int | None


def fates(draft: Draft, old_length: int, spans_: list[Span]) -> list[Fate]:
    where = [-1] * old_length
    for position, origin in enumerate(draft.origin):
        if origin >= 0:
            where[origin] = position
    out = []
    for span in spans_:
        places = [where[i] for i in range(span.start, span.end) if where[i] >= 0]
        if not places:
            out.append(Fate("gone", None, None))
        elif places == list(range(places[0], places[0] + span.end - span.start)):
            out.append(Fate("intact", places[0], places[-1] + 1))
        else:
            out.append(Fate("edited", min(places), max(places) + 1))
    return out


OUTCOMES = [
    "exact",  # intact, placed on its own words at the same offsets
    "moved",  # intact, placed on its own words elsewhere
    "fuzzy",  # edited (or, rarely, intact) and placed over what is left of it
    "orphan, gone",  # its text is gone: orphaned, as it must be
    "orphan, edited",  # some of its text is left, too little or too changed to place
    "orphan, intact",  # missed: its text is there unchanged, yet it was orphaned
    "WRONG",  # placed on other words
]


def judge(anchor, fate: Fate) -> str:  # noqa: ANN001 (an articles.reanchor.Anchor)
    """The outcome of one placement against the span's true fate."""
    if not anchor.placed:
        return f"orphan, {fate.kind}"
    if fate.kind == "gone":
        return "WRONG"
    if fate.kind == "intact" and anchor.status in ("exact", "moved"):
        return anchor.status if (anchor.start, anchor.end) == (fate.start, fate.end) else "WRONG"
    overlaps = anchor.start < fate.end and fate.start < anchor.end
    return "fuzzy" if overlaps else "WRONG"
