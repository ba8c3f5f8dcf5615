"""One article from a Word (.docx) file, read with python-docx.

The body is read in document order, content controls opened: each paragraph (headings included)
becomes a paragraph of the text, separated by blank lines; list items become lines starting with
"• ", one after the other; a table becomes one line per row, its cells joined by " | " (a merged
cell once). Inside a paragraph, tracked insertions count and tracked deletions do not; manual
line breaks stay line breaks, tabs and runs of spaces become one space. Text boxes, headers,
footers, footnotes and comments are not part of the article.

The title is the document's title property, else the first paragraph styled Title, else the
first styled Heading 1, else the file name. Author, creation date and language come from the
document's properties (python-docx's own template values excepted).

The archive is checked like a brat zip (entry count, total size, compression bombs) before
python-docx opens it, since it reads every part into memory.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from . import Errors, ImportContext, ImportFailed, PlannedArticle
from .text import single_article

_SPACES = re.compile(r"[ \t\u00a0]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PLACEHOLDER_TITLES = re.compile(r"^(?:untitled.*|document\d*|word document|.*\.docx?)$", re.I)
# What python-docx's default template says of every document made from it.
_TEMPLATE_AUTHOR = "python-docx"
_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Inside a paragraph: what holds no article text (deletions, properties, field codes, drawings
# and the text boxes within them).
_SKIPPED = {"del", "moveFrom", "pPr", "rPr", "instrText", "delText", "fldChar", "drawing", "pict"}


def plan(
    context: ImportContext,
    file: IO[bytes],
    *,
    name: str,
    title: str | None,
    errors: Errors,
    **_options: Any,
) -> Iterator[list[PlannedArticle]]:
    document = _open(file, name)
    blocks = list(_blocks(document))
    text = _assemble(blocks)
    if not text:
        raise ImportFailed([(None, f"{_label(name)} holds no text.")])
    metadata = _metadata(document)
    found_title = metadata.pop("title", None) or _heading_title(blocks)
    yield [
        single_article(
            name=name, title=title, found_title=found_title, text=text, metadata=metadata
        )
    ]


def _label(name: str) -> str:
    return os.path.basename(name) if name else "This Word file"


def _open(file: IO[bytes], name: str) -> Any:
    import docx

    from .brat import DAMAGED, check_archive

    try:
        with zipfile.ZipFile(file) as archive:
            check_archive(archive.infolist())
    except DAMAGED as error:
        raise _damaged(name, error) from None
    file.seek(0)
    try:
        return docx.Document(file)
    except Exception as error:  # python-docx and lxml raise many kinds on damaged parts
        raise _damaged(name, error) from None


def _damaged(name: str, error: Exception) -> ImportFailed:
    reason = str(error).strip() or type(error).__name__
    return ImportFailed(
        [
            (
                None,
                f"{_label(name)} cannot be read as a Word file; it may be damaged "
                f"({reason[:200]}).",
            )
        ]
    )


# --- The body, in order ----------------------------------------------------------------------


def _local(tag: Any) -> str:
    """The name of a WordprocessingML element; "" for other namespaces, comments and such."""
    return tag[len(_W) :] if isinstance(tag, str) and tag.startswith(_W) else ""


def _blocks(document: Any) -> Iterator[tuple[str, str, str]]:
    """(kind, style name, text) for each paragraph ("paragraph", "list") and table row
    ("row") of the body, in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = document.element.body

    def walk(element: Any, parent: Any) -> Iterator[tuple[str, str, str]]:
        for child in element.iterchildren():
            tag = _local(child.tag)
            if tag == "p":
                paragraph = Paragraph(child, parent)
                style = _style_name(paragraph)
                kind = "list" if _is_list_item(child, style) else "paragraph"
                yield kind, style, _paragraph_text(child)
            elif tag == "tbl":
                yield from _rows(Table(child, parent), walk)
            elif tag in ("sdt", "sdtContent", "customXml", "ins"):
                yield from walk(child, parent)

    yield from walk(body, document)


def _rows(table: Any, walk: Any) -> Iterator[tuple[str, str, str]]:
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue  # a merged cell is listed once per grid column it spans
            seen.add(id(cell._tc))
            parts = [text for _kind, _style, text in walk(cell._tc, cell) if text]
            cells.append(" ".join(" ".join(part.split("\n")) for part in parts))
        if any(cells):
            yield "row", "", " | ".join(cells)


def _style_name(paragraph: Any) -> str:
    try:
        return str(paragraph.style.name or "")
    except (KeyError, AttributeError, ValueError):
        return ""


def _is_list_item(element: Any, style: str) -> bool:
    properties = element.pPr
    numbered = properties is not None and properties.numPr is not None
    return numbered or style.startswith("List")


def _paragraph_text(element: Any) -> str:
    """The text of a paragraph element: runs, hyperlinks, fields and tracked insertions, but
    not tracked deletions or text boxes; line breaks kept, spaces collapsed."""
    pieces: list[str] = []

    def visit(node: Any) -> None:
        for child in node.iterchildren():
            tag = _local(child.tag)
            if not tag or tag in _SKIPPED:
                continue
            if tag == "t":
                pieces.append(child.text or "")
            elif tag == "tab" and _local(node.tag) == "r":
                pieces.append("\t")
            elif tag in ("br", "cr"):
                pieces.append("\n")
            elif tag == "noBreakHyphen":
                pieces.append("-")
            else:
                visit(child)

    visit(element)
    raw_lines = "".join(pieces).split("\n")
    lines = (_SPACES.sub(" ", _CONTROLS.sub("", raw)).strip() for raw in raw_lines)
    return "\n".join(line for line in lines if line)


def _assemble(blocks: list[tuple[str, str, str]]) -> str:
    """Paragraphs apart by blank lines; consecutive list items and table rows on their lines."""
    parts: list[str] = []
    previous = ""
    for kind, _style, text in blocks:
        if not text:
            continue
        if kind == "list":
            text = "• " + text
        if parts:
            parts.append("\n" if kind == previous and kind in ("list", "row") else "\n\n")
        parts.append(text)
        previous = kind
    return "".join(parts)


def _heading_title(blocks: list[tuple[str, str, str]]) -> str | None:
    for wanted in ("Title", "Heading 1"):
        for _kind, style, text in blocks:
            if style == wanted and text.strip():
                return " ".join(text.split())
    return None


def _metadata(document: Any) -> dict[str, Any]:
    """Title, author, published_on and language from the core properties."""
    found: dict[str, Any] = {}
    try:
        properties = document.core_properties
        title = " ".join((properties.title or "").split())
        if title and not _PLACEHOLDER_TITLES.match(title):
            found["title"] = title
        author = " ".join((properties.author or "").split())
        if author and author != _TEMPLATE_AUTHOR:
            found["author"] = author[:300]
        created = properties.created
        if isinstance(created, datetime) and created.replace(tzinfo=None) != _TEMPLATE_CREATED:
            found["published_on"] = created.date()
        if language := " ".join((properties.language or "").split()):
            found["language"] = language[:35]
    except Exception:  # metadata is a bonus: damaged properties are skipped, the text still read
        return found
    return found
