"""Text normalisation and span anchoring, in Unicode code points.

Every position in the project counts code points of the stored (normalised) article text, start
inclusive, end exclusive, as the W3C TextPositionSelector does. A span arrives either as offsets
(``start``/``end``, with an optional ``exact`` that must match) or as a quote (``exact`` with
optional ``prefix``/``suffix``, the TextQuoteSelector), and leaves as a :class:`Span` carrying
both. Bad client input always ends in a ``ValidationError`` keyed by the offending field.

This module imports nothing from the project, so any layer (models, services, imports, tests)
can use it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError

CONTEXT_LENGTH = 32  # code points of prefix/suffix kept around a span

_BYTE_ORDER_MARK = "\ufeff"
# Any surrogate code point in a Python str is unpaired: JSON decoding already joins valid pairs.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_QUOTE_SHOWN = 40  # code points of a client string repeated back in an error message
_POSITIONS_SHOWN = 5  # match positions listed in an ambiguity error


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    exact: str
    prefix: str
    suffix: str


def normalize_text(text: str) -> str:
    """Return ``text`` as it is stored and matched: no byte-order mark, ``\\n`` newlines, NFC.

    Every U+FEFF is dropped, not only a leading one: inside a text it is the leftover of files
    concatenated with their BOMs, and a quote copied from such a text would otherwise lose its
    own leading U+FEFF and stop matching. The function is idempotent.
    """
    text = text.replace(_BYTE_ORDER_MARK, "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def check_text(text: str, field: str = "text") -> None:
    """Refuse a value that is not a string or that PostgreSQL / UTF-8 cannot store."""
    if not isinstance(text, str):
        raise ValidationError({field: f"{field} must be a string, not {_describe(text)}."})
    bad = _UNSTORABLE.search(text)
    if bad is None:
        return
    char = bad.group()
    position = bad.start()
    if char == "\x00":
        message = (
            f"{field} contains a NUL character (U+0000) at position {position}; "
            "NUL characters cannot be stored."
        )
    else:
        message = (
            f"{field} contains an unpaired surrogate (U+{ord(char):04X}) at position {position}; "
            "it is not a valid Unicode character and cannot be stored."
        )
    raise ValidationError({field: message})


def context_around(text: str, start: int, end: int) -> tuple[str, str]:
    """Return (prefix, suffix): up to CONTEXT_LENGTH code points before start and after end."""
    return text[max(0, start - CONTEXT_LENGTH) : start], text[end : end + CONTEXT_LENGTH]


def validate_span(text: str, start: object, end: object, exact: str | None = None) -> Span:
    """Check offsets into the (already normalised) ``text`` and return the span they select.

    ``exact``, when given, is normalised and must equal ``text[start:end]``.
    """
    errors: dict[str, str] = {}
    length = len(text)
    start_value = _integer_or_error("start", start, errors)
    end_value = _integer_or_error("end", end, errors)
    if start_value is not None:
        if start_value < 0:
            errors["start"] = f"start ({_show_int(start_value)}) must not be negative."
        elif start_value > length:
            errors["start"] = (
                f"start ({_show_int(start_value)}) is past the end of the text "
                f"({_characters(length)})."
            )
    if end_value is not None:
        if end_value < 0:
            errors["end"] = f"end ({_show_int(end_value)}) must not be negative."
        elif end_value > length:
            errors["end"] = (
                f"end ({_show_int(end_value)}) is past the end of the text ({_characters(length)})."
            )
    if not errors and start_value is not None and end_value is not None:
        if start_value == end_value:
            errors["end"] = (
                f"The span is empty: start and end are both {start_value}; "
                "a span must cover at least one character."
            )
        elif end_value < start_value:
            errors["end"] = (
                f"end ({end_value}) is before start ({start_value}); start must be less than end."
            )
    if errors or start_value is None or end_value is None:
        raise ValidationError(errors)
    selected = text[start_value:end_value]
    if exact is not None:
        check_text(exact, "exact")
        # Raw equality first, so a quote copied verbatim from the text always matches.
        if exact != selected and normalize_text(exact) != selected:
            raise ValidationError(
                {
                    "exact": (
                        f"exact ({_show(exact)}) does not match the text from {start_value} "
                        f"to {end_value}, which is {_show(selected)}."
                    )
                }
            )
    prefix, suffix = context_around(text, start_value, end_value)
    return Span(start=start_value, end=end_value, exact=selected, prefix=prefix, suffix=suffix)


def find_span(text: str, exact: str, prefix: str | None = None, suffix: str | None = None) -> Span:
    """Find the one place in the (already normalised) ``text`` that the quote selects.

    ``exact``, ``prefix`` and ``suffix`` are normalised first. A match counts only if the text
    before it ends with ``prefix`` and the text after it starts with ``suffix``; overlapping
    occurrences are separate matches. Zero or several matches are refused.
    """
    check_text(exact, "exact")
    needle = normalize_text(exact)
    if not needle:
        raise ValidationError({"exact": "exact is empty; give the text of the span to find."})
    before = _optional_context("prefix", prefix)
    after = _optional_context("suffix", suffix)

    occurrences = _occurrences(text, needle)
    with_prefix = (
        [m for m in occurrences if _ends_with_at(text, before, m)] if before else occurrences
    )
    matches = (
        [m for m in with_prefix if text.startswith(after, m + len(needle))]
        if after
        else with_prefix
    )

    if len(matches) == 1:
        start = matches[0]
        end = start + len(needle)
        found_prefix, found_suffix = context_around(text, start, end)
        return Span(start=start, end=end, exact=needle, prefix=found_prefix, suffix=found_suffix)
    if not occurrences:
        raise ValidationError({"exact": f"exact ({_show(needle)}) was not found in the text."})
    if not with_prefix:
        raise ValidationError(
            {
                "prefix": (
                    f"exact ({_show(needle)}) occurs {_times(len(occurrences))} in the text, "
                    f"but never right after prefix ({_show(before)})."
                )
            }
        )
    if not matches:
        where = "after the given prefix" if before else "in the text"
        raise ValidationError(
            {
                "suffix": (
                    f"exact ({_show(needle)}) occurs {_times(len(with_prefix))} {where}, "
                    f"but never right before suffix ({_show(after)})."
                )
            }
        )
    if before or after:
        given = " and ".join(
            name for name, value in (("prefix", before), ("suffix", after)) if value
        )
        where = f"in the text even with the given {given}"
        advice = "make prefix or suffix longer"
    else:
        where = "in the text"
        advice = "add prefix or suffix (the text right before or after the span)"
    raise ValidationError(
        {
            "exact": (
                f"exact ({_show(needle)}) is ambiguous: it matches {len(matches)} places {where} "
                f"(starting at {_positions(matches)}); {advice}, or give start and end, "
                "to say which one is meant."
            )
        }
    )


def resolve_span(
    text: str,
    *,
    start: object = None,
    end: object = None,
    exact: str | None = None,
    prefix: str | None = None,
    suffix: str | None = None,
) -> Span:
    """Turn a client's span, by offsets or by quote, into a validated :class:`Span`.

    With ``start`` and ``end``, an ``exact`` must match the selected text, and a ``prefix`` /
    ``suffix`` must match the text right before / after it (a mismatch means the client anchored
    against a different text). Without offsets, ``exact`` (plus optional context) is searched.
    """
    if start is None and end is None:
        if exact is None:
            raise ValidationError(
                {
                    "exact": (
                        "No span was given: send start and end, or exact "
                        "(optionally with prefix and suffix)."
                    )
                }
            )
        return find_span(text, exact, prefix=prefix, suffix=suffix)
    if start is None or end is None:
        missing, given = ("start", "end") if start is None else ("end", "start")
        raise ValidationError(
            {
                missing: (
                    f"{missing} is missing: {given} was given, so send {missing} too "
                    "(or send exact instead of offsets)."
                )
            }
        )
    span = validate_span(text, start, end, exact)
    before = _optional_context("prefix", prefix)
    after = _optional_context("suffix", suffix)
    errors: dict[str, str] = {}
    if before and not _ends_with_at(text, before, span.start):
        errors["prefix"] = (
            f"prefix ({_show(before)}) does not match the text right before start "
            f"({span.start}), which ends with {_show(span.prefix)}."
        )
    if after and not text.startswith(after, span.end):
        errors["suffix"] = (
            f"suffix ({_show(after)}) does not match the text right after end "
            f"({span.end}), which starts with {_show(span.suffix)}."
        )
    if errors:
        raise ValidationError(errors)
    return span


def utf16_offset_to_codepoint(text: str, offset: int) -> int:
    """Convert a JavaScript (UTF-16 code unit) offset into ``text`` to a code point index."""
    errors: dict[str, str] = {}
    value = _integer_or_error("offset", offset, errors)
    if value is None:
        raise ValidationError(errors)
    if value < 0:
        raise ValidationError({"offset": f"offset ({_show_int(value)}) must not be negative."})
    units = 0
    for index, char in enumerate(text):
        if units == value:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
        if units > value:
            raise ValidationError(
                {
                    "offset": (
                        f"offset ({value}) falls inside the surrogate pair of "
                        f"U+{ord(char):X} at code point {index}; it is not a character boundary."
                    )
                }
            )
    if units == value:
        return len(text)
    raise ValidationError(
        {
            "offset": (
                f"offset ({_show_int(value)}) is past the end of the text "
                f"({units} UTF-16 code units)."
            )
        }
    )


def codepoint_to_utf16_offset(text: str, index: int) -> int:
    """Convert a code point index into ``text`` to a JavaScript (UTF-16 code unit) offset."""
    errors: dict[str, str] = {}
    value = _integer_or_error("index", index, errors)
    if value is None:
        raise ValidationError(errors)
    if not 0 <= value <= len(text):
        raise ValidationError(
            {
                "index": (
                    f"index ({_show_int(value)}) is outside the text "
                    f"(0 to {_characters(len(text))})."
                )
            }
        )
    return value + len(_ASTRAL.findall(text, 0, value))


# Helpers ---------------------------------------------------------------------------------------


def _integer_or_error(field: str, value: object, errors: dict[str, str]) -> int | None:
    """Return ``value`` as an int, or record why it is not one (bool, float, str are refused)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if value is None:
        errors[field] = f"{field} is missing; it must be an integer."
    else:
        errors[field] = f"{field} must be an integer, not {_describe(value)}."
    return None


def _optional_context(field: str, value: str | None) -> str:
    """Normalise an optional prefix or suffix; absent means the empty string (no constraint)."""
    if value is None:
        return ""
    check_text(value, field)
    return normalize_text(value)


def _occurrences(text: str, needle: str) -> list[int]:
    """Every start position of ``needle`` in ``text``, overlapping ones included."""
    found = []
    position = text.find(needle)
    while position != -1:
        found.append(position)
        position = text.find(needle, position + 1)
    return found


def _ends_with_at(text: str, context: str, position: int) -> bool:
    """Whether ``text[:position]`` ends with ``context`` (without copying the text)."""
    begin = position - len(context)
    return begin >= 0 and text.startswith(context, begin, position)


def _describe(value: object) -> str:
    """Name a wrong-typed client value without risking a huge or failing repr."""
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    return f"a value of type {type(value).__name__}"


def _show(value: str) -> str:
    """A client string as a JSON-quoted snippet, shortened for error messages."""
    if len(value) > _QUOTE_SHOWN:
        value = value[:_QUOTE_SHOWN] + "…"
    return json.dumps(value, ensure_ascii=False)


def _show_int(value: int) -> str:
    # str() of an int above ~4300 digits raises ValueError on Python 3.11.
    if abs(value) < 10**18:
        return str(value)
    return f"a {value.bit_length()}-bit {'negative ' if value < 0 else ''}number"


def _characters(count: int) -> str:
    return f"{count} character{'' if count == 1 else 's'}"


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _positions(matches: list[int]) -> str:
    shown = ", ".join(str(m) for m in matches[:_POSITIONS_SHOWN])
    return shown + (", …" if len(matches) > _POSITIONS_SHOWN else "")
