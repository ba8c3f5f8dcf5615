"""HTML built in Python, for the parts of the page a template loop renders too slowly (a long
article's thousands of text segments, a thousand claim list items).

One helper, `element`, writes every tag: it escapes every attribute value and every piece of text
it is given, so that no caller writes markup or escaping by hand. Only what `element` itself
returned (`Html`) is inserted unescaped.
"""

from __future__ import annotations

from html import escape

# Python names of attributes -> HTML names: class_ -> class, data_s -> data-s.
_NAMES: dict[str, str] = {}


class Html(str):
    """Markup that `element` built: nested into another element as it is."""

    __slots__ = ()


def _name(python_name: str) -> str:
    name = _NAMES.get(python_name)
    if name is None:
        name = _NAMES[python_name] = python_name.rstrip("_").replace("_", "-")
    return name


def element(tag: str, *children: str, **attributes: str | int | None) -> Html:
    """`<tag attributes>children</tag>`: plain-text children are escaped, `Html` children kept;
    attribute values are escaped (ints written as they are); None leaves an attribute out.
    Attributes keep the order given (tests and the page's script read some of them)."""
    attrs = "".join(
        f' {_name(name)}="{value if isinstance(value, int) else escape(value)}"'
        for name, value in attributes.items()
        if value is not None
    )
    inner = "".join(
        child if type(child) is Html else escape(child, quote=False) for child in children
    )
    return Html(f"<{tag}{attrs}>{inner}</{tag}>")


def join(parts: list[Html]) -> Html:
    """Elements side by side, as one piece of markup."""
    return Html("".join(parts))
