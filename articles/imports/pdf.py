"""One article from a PDF: its text layer in reading order, its title and author from metadata.

pdfminer.six lays each page out (characters into lines, lines into boxes, boxes ordered
column by column), so two-column pages read down the first column and then the second, whatever
order the PDF drew them in. From the boxes:

- the lines of a box make one paragraph (joined by spaces) unless a line stops well short of the
  box's right edge (a heading, a list item, the last line of a paragraph); boxes are paragraphs
  separated by blank lines, and a paragraph cut by a page or column break (no closing
  punctuation, the next one starting in lower case) is joined up again;
- a word hyphenated at a line end is joined ("govern-" + "ment" = "government"), keeping the
  hyphen when the document spells the word with one elsewhere ("well-known");
- running headers and footers (the same text, digits aside, in the top or bottom margin of most
  pages) and bare page numbers are dropped; ligatures become letters; runs of spaces one space.

The title is the document's /Title (unless it is only a file name or "untitled"), else the first
line of the text if it looks like a title (short, no closing full stop), else the file name.
/Author, /CreationDate and the catalog's /Lang fill author, published_on and language.
A PDF without a text layer (a scan) and one locked by a password are refused with what to do.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any, BinaryIO, cast

from django.conf import settings

from . import Errors, ImportContext, ImportFailed, PlannedArticle
from .text import single_article, too_long

MARGIN_BAND = 0.1  # top and bottom share of the page where running headers and footers sit
SHORT_LINE = 0.8  # a line ending before this share of its box's width ends a paragraph
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st"})
_CID = re.compile(r"\(cid:\d+\)")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u00ad]")  # soft hyphens are line-break hints
_SPACES = re.compile(r"[ \t\u00a0]+")
_HYPHENATED = re.compile(r"(\w+)[-\u2010]$")
_WORD_START = re.compile(r"^(\w+)")
_WORDS = re.compile(r"\w+(?:[-\u2010]\w+)*")
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:;\"'”’)\]]$")
_PLACEHOLDER_TITLES = re.compile(
    r"^(?:untitled.*|document\d*|microsoft word\b.*"
    r"|.*\.(?:pdf|docx?|odt|rtf|txt|tex|html?|indd|qxd|pages|pptx?|xlsx?))$",
    re.IGNORECASE,
)
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")


@dataclass
class Box:
    """A block of text on a page: its lines (text, right edge) and where it sits."""

    lines: list[tuple[str, float]]
    x0: float
    x1: float
    top: float  # from the top of the page, as a share of its height
    bottom: float

    def key(self) -> str:
        """The text with digits blurred, to recognise a running header or footer."""
        return re.sub(r"\d+", "#", " ".join(text for text, _ in self.lines)).strip().lower()


def plan(
    context: ImportContext,
    file: IO[bytes],
    *,
    name: str,
    title: str | None,
    errors: Errors,
    **_options: Any,
) -> Iterator[list[PlannedArticle]]:
    pages, metadata = read_pdf(file, name)
    paragraphs = _paragraphs(_drop_running_lines(pages))
    text = "\n\n".join(paragraphs)
    if _CID.search(text) and len(_CID.findall(text)) * 8 > len(text) / 4:
        raise ImportFailed(
            [
                (
                    None,
                    f"{_label(name)}: the text of this PDF cannot be read (its fonts do not say "
                    "which letters they draw); export it again from the program that made it, "
                    "or OCR it.",
                )
            ]
        )
    text = _CID.sub("", text).strip()
    if not text:
        raise ImportFailed(
            [
                (
                    None,
                    f"{_label(name)} has no text layer (it is probably a scan); OCR it first, "
                    "then import it again.",
                )
            ]
        )
    found_title = metadata.pop("title", None) or _first_line_title(paragraphs)
    yield [
        single_article(
            name=name, title=title, found_title=found_title, text=text, metadata=metadata
        )
    ]


def _label(name: str) -> str:
    return os.path.basename(name) if name else "This PDF"


def read_pdf(file: IO[bytes], name: str) -> tuple[list[list[Box]], dict[str, Any]]:
    """The boxes of every page in reading order, and the metadata worth keeping.

    Stops early (413) once the text is clearly over the article limit: a huge PDF is not laid
    out to the end only to be refused."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    try:
        # The empty password opens a PDF locked only against printing or copying.
        document = PDFDocument(PDFParser(cast(BinaryIO, file)))
    except PDFPasswordIncorrect:
        raise ImportFailed(
            [
                (
                    None,
                    f"{_label(name)} is encrypted and needs a password to open; save an "
                    "unprotected copy and import that.",
                )
            ]
        ) from None
    except PDFEncryptionError as error:
        raise ImportFailed(
            [(None, f"{_label(name)} is encrypted in a way that cannot be opened ({error}).")]
        ) from None
    except Exception as error:  # pdfminer raises many kinds of errors on damaged files
        raise _damaged(name, error) from None
    metadata = _metadata(document)
    manager = PDFResourceManager()
    device = PDFPageAggregator(manager, laparams=LAParams(all_texts=True))
    interpreter = PDFPageInterpreter(manager, device)
    limit = settings.ARTICLE_MAX_CHARS
    pages: list[list[Box]] = []
    length = 0
    try:
        for page in PDFPage.create_pages(document):
            interpreter.process_page(page)
            boxes = _boxes(device.get_result())
            pages.append(boxes)
            length += sum(len(text) for box in boxes for text, _ in box.lines)
            if length > 2 * limit + 10_000:
                raise ImportFailed([(None, too_long(name, length, limit, more=True))], status=413)
    except ImportFailed:
        raise
    except Exception as error:
        raise _damaged(name, error) from None
    return pages, metadata


def _damaged(name: str, error: Exception) -> ImportFailed:
    reason = str(error).strip() or type(error).__name__
    return ImportFailed(
        [(None, f"{_label(name)} cannot be read as a PDF; it may be damaged ({reason[:200]}).")]
    )


def _boxes(layout: Any) -> list[Box]:
    """The text boxes of a laid-out page in pdfminer's reading order (figures opened)."""
    from pdfminer.layout import LTFigure, LTTextBox

    height = max(float(layout.height), 1.0)
    found: list[Box] = []

    def visit(items: Any) -> None:
        for item in items:
            if isinstance(item, LTTextBox):
                cleaned = ((_clean_line(line.get_text()), float(line.x1)) for line in item)
                lines = [(text, x1) for text, x1 in cleaned if text]
                if lines:
                    found.append(
                        Box(
                            lines=lines,
                            x0=float(item.x0),
                            x1=float(item.x1),
                            top=(layout.y1 - item.y1) / height,
                            bottom=(layout.y1 - item.y0) / height,
                        )
                    )
            elif isinstance(item, LTFigure):
                visit(item)

    visit(layout)
    return found


def _clean_line(text: str) -> str:
    text = _CONTROLS.sub("", text.translate(_LIGATURES).replace("\n", " "))
    return _SPACES.sub(" ", text).strip()


def _drop_running_lines(pages: list[list[Box]]) -> list[list[Box]]:
    """Without page numbers, and without running headers and footers: boxes in the margin
    bands whose text, digits aside, recurs on at least half the pages (and on two or more)."""
    in_margin = [
        [box.top < MARGIN_BAND or box.bottom > 1 - MARGIN_BAND for box in boxes] for boxes in pages
    ]
    counts: Counter[str] = Counter()
    for boxes, margins in zip(pages, in_margin, strict=True):
        counts.update({box.key() for box, margin in zip(boxes, margins, strict=True) if margin})
    needed = max(2, (len(pages) + 1) // 2)
    kept: list[list[Box]] = []
    for boxes, margins in zip(pages, in_margin, strict=True):
        kept.append(
            [
                box
                for box, margin in zip(boxes, margins, strict=True)
                if not margin
                or not (
                    counts[box.key()] >= needed
                    or (len(box.lines) == 1 and _PAGE_NUMBER.match(box.lines[0][0]))
                )
            ]
        )
    return kept


def _paragraphs(pages: list[list[Box]]) -> list[str]:
    """Boxes to paragraphs (see the module's docstring); line-end hyphens decided with the
    spellings the whole document uses."""
    spellings = Counter(
        word.lower()
        for boxes in pages
        for box in boxes
        for text, _ in box.lines
        for word in _WORDS.findall(text)
    )
    paragraphs: list[str] = []
    for boxes in pages:
        for box in boxes:
            width = max(box.x1 - box.x0, 1.0)
            current = ""
            for text, right in box.lines:
                current = _join(current, text, spellings) if current else text
                if right < box.x0 + SHORT_LINE * width and len(box.lines) > 1:
                    _append(paragraphs, current, spellings)
                    current = ""
            if current:
                _append(paragraphs, current, spellings)
    return paragraphs


def _append(paragraphs: list[str], paragraph: str, spellings: Counter[str]) -> None:
    """Add a paragraph, joining it to the previous one when a page or column break cut it."""
    if paragraphs:
        previous = paragraphs[-1]
        first = paragraph[:1]
        hyphenated = _HYPHENATED.search(previous) is not None
        ends_sentence = _SENTENCE_END.search(previous) is not None
        continues = (first.islower() or first.isdigit()) and hyphenated
        continues = continues or (first.islower() and not ends_sentence)
        if continues:
            paragraphs[-1] = _join(previous, paragraph, spellings)
            return
    paragraphs.append(paragraph)


def _join(left: str, right: str, spellings: Counter[str]) -> str:
    """Two lines of one paragraph: a hyphen at the break joins the word again."""
    hyphenated = _HYPHENATED.search(left)
    start = _WORD_START.match(right)
    if hyphenated and start:
        head, tail = hyphenated.group(1), start.group(1)
        if not (head[-1:].isalpha() and tail[:1].islower()):
            return left + right  # "1990-" + "2000", "Jean-" + "Luc": the hyphen stays
        joined, with_hyphen = (head + tail).lower(), f"{head}-{tail}".lower()
        if spellings[with_hyphen] > spellings[joined]:
            return left + right
        return left[: hyphenated.end(1)] + right
    return f"{left} {right}"


def _first_line_title(paragraphs: list[str]) -> str | None:
    """The first paragraph, when it reads like a title: under 200 characters, with a letter,
    not ending like a sentence or a clause."""
    first = paragraphs[0] if paragraphs else ""
    if 0 < len(first) <= 200 and re.search(r"[^\W\d_]", first) and not re.search(r"[.,;:]$", first):
        return first
    return None


def _metadata(document: Any) -> dict[str, Any]:
    """Title, author, published_on and language, where the PDF says them."""
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    def text(value: Any) -> str:
        value = resolve1(value)
        if isinstance(value, bytes):
            value = decode_text(value)
        if not isinstance(value, str):
            return ""
        return " ".join(_CONTROLS.sub("", value).split())

    found: dict[str, Any] = {}
    try:
        info = resolve1(document.info[0]) if document.info else {}
        info = info if isinstance(info, dict) else {}
        title = text(info.get("Title"))
        if title and not _PLACEHOLDER_TITLES.match(title):
            found["title"] = title
        if author := text(info.get("Author")):
            found["author"] = author[:300]
        if created := _pdf_date(text(info.get("CreationDate"))):
            found["published_on"] = created
        if language := text(document.catalog.get("Lang")):
            found["language"] = language[:35]
    except Exception:  # metadata is a bonus: damaged metadata is skipped, the text still read
        return found
    return found


def _pdf_date(value: str) -> date | None:
    """The day of a PDF date string (D:YYYYMMDDHHmmSS...)."""
    match = _PDF_DATE.match(value)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1))
    except ValueError:
        return None
