"""Annotation guidelines as owners write them (Markdown) and as members read them (HTML):
markdown-it-py renders CommonMark with raw HTML off, then nh3 keeps only an allow-list of tags
and attributes, so neither a <script>, an on* handler nor a javascript: link survives."""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

MAX_GUIDELINES_CHARS = 100_000

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_MARKDOWN.enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li",
    "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


def render_guidelines(text: str) -> SafeString:
    """The guidelines as safe HTML (an empty string for none)."""
    if not text.strip():
        return mark_safe("")  # noqa: S308 - nothing to escape
    html = _MARKDOWN.render(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
