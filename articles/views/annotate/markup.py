"""HTML built in Python, for the parts of the page a template loop renders too slowly (a long
article's thousands of text segments, a thousand claim list items).

One helper, `fill`, puts values into markup written as constants beside the code that uses them:
it escapes every value, so no caller escapes (or forgets to) by hand. Only markup that `fill` (or
`join`) returned is inserted as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape


class Html(str):
    """Markup built by `fill` or `join`: inserted into other markup as it is."""

    __slots__ = ()


def fill(template: str, **values: str | int) -> Html:
    """`template` (markup; a literal % is written %%) with each `%(name)s` replaced by its value:
    text escaped (quotes too, so the same value is safe in an attribute and in text), ints
    written as they are, Html kept. %-formatting: about twice as fast as str.format here."""
    for name, value in values.items():  # `values` is this call's own dict: filled in place
        if not isinstance(value, (Html, int)):
            values[name] = escape(value)
    return Html(template % values)


def join(parts: Iterable[Html]) -> Html:
    """Pieces of markup side by side, as one."""
    return Html("".join(parts))
