"""One article from a plain-text, Markdown or HTML file.

- Text and Markdown must be UTF-8 (a byte-order mark is dropped); Markdown is kept verbatim (it
  reads fine as plain text and its offsets stay those of the file).
- HTML is turned into clean text by inscriptis (block layout kept as line breaks, scripts and
  styles dropped) and is never rendered; its encoding is UTF-8, else the charset its <meta>
  declares, else Windows-1252.
- The title is, in order: the `title` given (the API's `?title=`, the page's title field), the
  first `# ` heading of a Markdown file, the HTML <title>, the file name without its extension
  (so a .txt file's title is its name), the first line (a body sent to the API has no name).
- A text over ARTICLE_MAX_CHARS is refused (413) with the limit in characters.
"""

from __future__ import annotations

import codecs
import contextlib
import html
import os
import re
from collections.abc import Iterator
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError

from .. import anchoring, services
from . import Errors, ImportContext, ImportFailed, PlannedArticle

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_MARKDOWN_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")


def _decode_utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFailed(
            [(None, f"{name or 'The text'} is not valid UTF-8 (byte {error.start + 1}).")]
        ) from None


def _decode_html(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(codecs.lookup(declared.group(1).decode("ascii")).name, "replace")
        except LookupError:
            pass
    return data.decode("cp1252", "replace")


def html_to_text(markup: str) -> str:
    from inscriptis import get_text

    text = get_text(markup)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def plan(
    context: ImportContext,
    file: IO[bytes],
    *,
    name: str,
    title: str | None,
    kind: str,
    errors: Errors,
    **_options,
) -> Iterator[list[PlannedArticle]]:
    data = file.read()
    found_title = None
    if kind == "html":
        markup = _decode_html(data)
        match = _HTML_TITLE.search(markup)
        if match:
            found_title = " ".join(html.unescape(match.group(1)).split())
        text = html_to_text(markup)
    else:
        text = _decode_utf8(data, name)
        if kind == "markdown":
            match = _MARKDOWN_HEADING.search(text)
            found_title = match.group(1) if match else None
    yield [single_article(name=name, title=title, found_title=found_title, text=text)]


def file_stem(name: str) -> str:
    """The file name without its folder and extension: the title of last resort."""
    return os.path.splitext(os.path.basename((name or "").replace("\\", "/")))[0]


def single_article(
    *,
    name: str,
    title: str | None,
    found_title: str | None,
    text: str,
    metadata: dict[str, object] | None = None,
) -> PlannedArticle:
    """One validated article from a file: the title is the one given, else the one the file
    holds, else the file name without its extension, else the first line. `metadata` (author,
    published_on, language, read from a document) is kept only where it is valid."""
    first_line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    chosen = next(
        (t for t in (title, found_title, file_stem(name), first_line[:200]) if t and t.strip()),
        "",
    )
    extra: services.ArticleFields = {}
    for key, value in (metadata or {}).items():
        # A document's own metadata is a bonus, never a reason to refuse the document.
        with contextlib.suppress(ValidationError):
            extra.update(services.clean_article_fields({key: value}, partial=True))
    try:
        fields = services.clean_article_fields({"title": chosen, "text": text})
    except services.PayloadTooLarge:
        length = len(anchoring.normalize_text(text))
        raise ImportFailed(
            [(None, too_long(name, length, settings.ARTICLE_MAX_CHARS))], status=413
        ) from None
    except ValidationError as error:
        raise ImportFailed(
            [(None, f"{field}: {' '.join(texts)}") for field, texts in error.message_dict.items()]
        ) from None
    fields.update(extra)
    return PlannedArticle(fields=fields)


def too_long(name: str, length: int, limit: int, *, more: bool = False) -> str:
    """The article limit in characters, in words (not the setting's name)."""
    what = f"The text of {os.path.basename(name)}" if name else "The text"
    has = f"more than {length:,}" if more else f"{length:,}"
    return f"{what} has {has} characters; an article holds at most {limit:,} characters."
