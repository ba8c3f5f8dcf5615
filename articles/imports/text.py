"""One article from a plain-text, Markdown or HTML file.

- Text and Markdown must be UTF-8 (a byte-order mark is dropped); Markdown is kept verbatim (it
  reads fine as plain text and its offsets stay those of the file).
- HTML is turned into clean text by inscriptis (block layout kept as line breaks, scripts and
  styles dropped) and is never rendered; its encoding is UTF-8, else the charset its <meta>
  declares, else Windows-1252.
- The title is, in order: the `title` given (the API's `?title=`), the first `# ` heading of a
  Markdown file, the HTML <title>, the file name without its extension, the first line.
"""

from __future__ import annotations

import codecs
import html
import os
import re
from collections.abc import Iterator
from typing import IO

from django.core.exceptions import ValidationError

from .. import services
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
    stem = os.path.splitext(os.path.basename(name or ""))[0]
    first_line = next((line.strip() for line in text.split("\n") if line.strip()), "")
    chosen = next((t for t in (title, found_title, stem, first_line[:200]) if t and t.strip()), "")
    try:
        fields = services.clean_article_fields({"title": chosen, "text": text})
    except services.PayloadTooLarge as error:
        raise ImportFailed([(None, str(error))], status=413) from None
    except ValidationError as error:
        raise ImportFailed(
            [(None, f"{field}: {' '.join(texts)}") for field, texts in error.message_dict.items()]
        ) from None
    yield [PlannedArticle(fields=fields)]
