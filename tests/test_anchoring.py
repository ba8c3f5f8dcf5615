"""Offsets, normalisation and quote anchoring (articles/anchoring.py).

Texts mix the characters that make offsets drift elsewhere: astral emoji, ZWJ sequences,
skin-tone modifiers, flags, CJK, combining marks, right-to-left scripts, CRLF and a BOM.
"""

import unicodedata

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from articles.anchoring import (
    CONTEXT_LENGTH,
    Span,
    check_text,
    codepoint_to_utf16_offset,
    context_around,
    find_span,
    normalize_text,
    resolve_span,
    utf16_offset_to_codepoint,
    validate_span,
)

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # 👩‍👩‍👧: 5 code points, 8 UTF-16 units
UKRAINE = "\U0001f1fa\U0001f1e6"  # 🇺🇦: two regional indicators
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍🏽: emoji + skin-tone modifier
E_ACUTE_DECOMPOSED = "e\u0301"  # NFC turns it into U+00E9

FRAGMENTS = [
    "the",
    "export",
    "chips",
    "are",
    "not",
    "effective",
    "a",
    "aa",
    " ",
    "  ",
    ", ",
    ".",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\U0001f600",  # 😀
    "\U0001f680",  # 🚀
    THUMBS_UP_MEDIUM,
    "\U0001f44b\U0001f3ff",  # 👋🏿
    FAMILY,
    "\U0001f468\u200d\U0001f4bb",  # 👨‍💻
    UKRAINE,
    "\U0001f1ef\U0001f1f5",  # 🇯🇵
    "中文",
    "漢字の",
    "한국어",
    E_ACUTE_DECOMPOSED,
    "caf" + E_ACUTE_DECOMPOSED,
    "a\u0308",  # ä decomposed
    "\u0301",  # a combining mark on whatever precedes it
    "n\u0303o",
    "مرحبا",
    "السلام",
    "שלום",
    "עולם",
    "\u200f",  # right-to-left mark
    "\u00e9",  # é precomposed
    "\U0001d400",  # 𝐀, astral but not emoji
]

regional_indicator_pair = st.tuples(
    st.integers(0x1F1E6, 0x1F1FF), st.integers(0x1F1E6, 0x1F1FF)
).map(lambda pair: chr(pair[0]) + chr(pair[1]))
fragment = st.one_of(
    st.sampled_from(FRAGMENTS),
    regional_indicator_pair,
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4E3F), max_size=3),
)
raw_texts = st.builds(
    lambda bom, parts: ("\ufeff" if bom else "") + "".join(parts),
    st.booleans(),
    st.lists(fragment, min_size=1, max_size=25),
)
texts = raw_texts.map(normalize_text).filter(bool)


@st.composite
def text_and_span(draw):
    text = draw(texts)
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, len(text)))
    return text, start, end


def error_fields(excinfo) -> set[str]:
    return set(excinfo.value.message_dict)


def error_text(excinfo) -> str:
    return " ".join(m for messages in excinfo.value.message_dict.values() for m in messages)


def all_matches(text: str, exact: str, prefix: str = "", suffix: str = "") -> list[int]:
    """Reference: every position where the quote matches, by brute force."""
    return [
        i
        for i in range(len(text) - len(exact) + 1)
        if text[i : i + len(exact)] == exact
        and text[:i].endswith(prefix)
        and text[i + len(exact) :].startswith(suffix)
    ]


# normalize_text ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(raw_texts)
def test_normalize_text_is_idempotent_nfc_without_cr_or_bom(raw):
    normalised = normalize_text(raw)
    assert normalize_text(normalised) == normalised
    assert "\r" not in normalised
    assert "\ufeff" not in normalised
    assert unicodedata.is_normalized("NFC", normalised)
    assert normalised.count("\n") == raw.count("\n") + raw.count("\r") - raw.count("\r\n")


def test_normalize_text_examples():
    assert normalize_text("\ufeffHello\r\nworld\rend") == "Hello\nworld\nend"
    assert normalize_text("caf" + E_ACUTE_DECOMPOSED) == "caf\u00e9"
    assert normalize_text("\r\r\n\n") == "\n\n\n"
    assert normalize_text("") == ""


# validate_span -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text_and_span())
def test_validate_span_accepts_every_valid_span_with_its_context(case):
    text, start, end = case
    span = validate_span(text, start, end)
    assert (span.start, span.end) == (start, end)
    assert text[span.start : span.end] == span.exact
    assert span.prefix == text[max(0, start - CONTEXT_LENGTH) : start]
    assert span.suffix == text[end : end + CONTEXT_LENGTH]
    assert (span.prefix, span.suffix) == context_around(text, start, end)
    # The same exact, verbatim or decomposed (NFD) as some clients send it, is accepted too.
    assert validate_span(text, start, end, span.exact) == span
    assert validate_span(text, start, end, unicodedata.normalize("NFD", span.exact)) == span


@st.composite
def text_and_any_offsets(draw):
    """Offsets anywhere: near 0, near the end of the text (off by one either way), or huge."""
    text = draw(texts)

    def offset():
        return draw(
            st.integers(-2, 2)
            | st.integers(len(text) - 2, len(text) + 2)
            | st.integers(0, len(text))
            | st.integers(-(10**20), 10**20)
        )

    return text, offset(), offset()


@settings(max_examples=300, deadline=None)
@given(text_and_any_offsets())
def test_validate_span_refuses_out_of_range_reversed_and_empty(case):
    text, start, end = case
    if 0 <= start < end <= len(text):
        assert validate_span(text, start, end).exact == text[start:end]
        return
    with pytest.raises(ValidationError) as excinfo:
        validate_span(text, start, end)
    fields = error_fields(excinfo)
    if start < 0 or start > len(text):
        assert "start" in fields
    if end < 0 or end > len(text) or (0 <= start <= len(text) and start >= end):
        assert "end" in fields
    assert fields <= {"start", "end"}


NOT_INTEGERS = ["3", "", " 3", 3.0, 3.5, float("nan"), float("inf"), True, False, b"3", [3], {}]


@pytest.mark.parametrize("bad", NOT_INTEGERS, ids=repr)
def test_validate_span_refuses_non_integer_offsets(bad):
    text = "The lab trained its model on low-end chips."
    with pytest.raises(ValidationError) as excinfo:
        validate_span(text, bad, 5)
    assert error_fields(excinfo) == {"start"}
    assert "start must be an integer" in error_text(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        validate_span(text, 0, bad)
    assert error_fields(excinfo) == {"end"}


def test_validate_span_boundaries():
    text = f"{FAMILY} ok"  # 8 code points
    assert validate_span(text, 0, 8).exact == text
    assert validate_span(text, 7, 8).exact == "k"
    for start, end, field in [(0, 9, "end"), (8, 9, "end"), (9, 10, "start"), (8, 8, "end")]:
        with pytest.raises(ValidationError) as excinfo:
            validate_span(text, start, end)
        assert field in error_fields(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        validate_span("", 0, 1)
    assert error_fields(excinfo) == {"end"}


def test_validate_span_messages_name_the_values():
    text = "x" * 52
    with pytest.raises(ValidationError) as excinfo:
        validate_span(text, 3, 57)
    assert excinfo.value.message_dict == {
        "end": ["end (57) is past the end of the text (52 characters)."]
    }
    with pytest.raises(ValidationError) as excinfo:
        validate_span(text, -1, 4)
    assert excinfo.value.message_dict == {"start": ["start (-1) must not be negative."]}
    with pytest.raises(ValidationError) as excinfo:
        validate_span(text, 9, 4)
    assert excinfo.value.message_dict == {
        "end": ["end (4) is before start (9); start must be less than end."]
    }
    with pytest.raises(ValidationError) as excinfo:
        validate_span(text, 4, 4)
    assert error_fields(excinfo) == {"end"}
    assert "empty" in error_text(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        validate_span(text, "3", 3.0)
    assert excinfo.value.message_dict == {
        "start": ['start must be an integer, not the string "3".'],
        "end": ["end must be an integer, not the number 3.0."],
    }


def test_validate_span_survives_huge_integers():
    with pytest.raises(ValidationError) as excinfo:
        validate_span("short text", 0, 10**5000)
    assert error_fields(excinfo) == {"end"}
    assert "past the end of the text (10 characters)" in error_text(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        validate_span("short text", -(10**5000), 3)
    assert error_fields(excinfo) == {"start"}


@settings(max_examples=200, deadline=None)
@given(text_and_span(), st.text(max_size=6))
def test_validate_span_refuses_a_mismatched_exact(case, other):
    text, start, end = case
    assume("\x00" not in other and normalize_text(other) != text[start:end])
    with pytest.raises(ValidationError) as excinfo:
        validate_span(text, start, end, other)
    assert error_fields(excinfo) == {"exact"}
    assert f"from {start} to {end}" in error_text(excinfo)


@pytest.mark.parametrize("bad", [3, 3.0, b"abc", ["a"], {"exact": "abc"}], ids=repr)
def test_validate_span_refuses_a_non_string_exact(bad):
    with pytest.raises(ValidationError) as excinfo:
        validate_span("abc", 0, 3, bad)
    assert error_fields(excinfo) == {"exact"}
    assert "exact must be a string" in error_text(excinfo)


# find_span -----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text_and_span())
def test_find_span_finds_a_unique_quote_and_refuses_an_ambiguous_one(case):
    text, start, end = case
    exact = text[start:end]
    expected = all_matches(text, exact)
    assert start in expected
    if len(expected) == 1:
        span = find_span(text, exact)
        assert (span.start, span.end, span.exact) == (start, end, exact)
        assert (span.prefix, span.suffix) == context_around(text, start, end)
    else:
        with pytest.raises(ValidationError) as excinfo:
            find_span(text, exact)
        assert error_fields(excinfo) == {"exact"}
        message = error_text(excinfo)
        assert f"matches {len(expected)} places" in message
        assert "prefix or suffix" in message
        assert "start and end" in message


@settings(max_examples=200, deadline=None)
@given(text_and_span(), st.integers(0, CONTEXT_LENGTH), st.integers(0, CONTEXT_LENGTH))
def test_find_span_with_context_matches_the_reference(case, prefix_length, suffix_length):
    text, start, end = case
    exact = text[start:end]
    prefix = text[max(0, start - prefix_length) : start]
    suffix = text[end : end + suffix_length]
    expected = all_matches(text, exact, prefix, suffix)
    assert start in expected
    if len(expected) == 1:
        assert find_span(text, exact, prefix, suffix).start == start
    else:
        with pytest.raises(ValidationError) as excinfo:
            find_span(text, exact, prefix, suffix)
        assert f"matches {len(expected)} places" in error_text(excinfo)


@settings(max_examples=200, deadline=None)
@given(texts, st.sampled_from(FRAGMENTS), st.sampled_from(["", "\u2603", "zz"]))
def test_find_span_reports_a_quote_that_is_not_in_the_text(text, piece, extra):
    exact = normalize_text(piece + extra)
    expected = all_matches(text, exact) if exact else []
    if not exact:
        with pytest.raises(ValidationError) as excinfo:
            find_span(text, piece + extra)
        assert error_fields(excinfo) == {"exact"}
        assert "empty" in error_text(excinfo)
    elif not expected:
        with pytest.raises(ValidationError) as excinfo:
            find_span(text, piece + extra)
        assert error_fields(excinfo) == {"exact"}
        assert error_text(excinfo).endswith(") was not found in the text.")
    elif len(expected) == 1:
        assert find_span(text, piece + extra).start == expected[0]


def test_find_span_counts_overlapping_occurrences():
    with pytest.raises(ValidationError) as excinfo:
        find_span("aaa", "aa")
    assert error_fields(excinfo) == {"exact"}
    assert "matches 2 places in the text (starting at 0, 1)" in error_text(excinfo)
    assert find_span("aaa", "aa", prefix="a") == Span(1, 3, "aa", "a", "")
    assert find_span("aaa", "aa", suffix="a") == Span(0, 2, "aa", "", "a")


def test_find_span_names_the_context_that_rules_out_every_match():
    text = "chips are cheap; chips are scarce"
    with pytest.raises(ValidationError) as excinfo:
        find_span(text, "chips", prefix="memory ")
    assert error_fields(excinfo) == {"prefix"}
    assert "occurs 2 times" in error_text(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        find_span(text, "chips are", suffix=" plenty")
    assert error_fields(excinfo) == {"suffix"}
    with pytest.raises(ValidationError) as excinfo:
        find_span(text, "chips are", prefix="; ", suffix=" cheap")
    assert error_fields(excinfo) == {"suffix"}
    assert "after the given prefix" in error_text(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        find_span(text, "are", suffix=" ")
    assert "even with the given suffix" in error_text(excinfo)
    assert find_span(text, "chips are", suffix=" scarce").start == 17


def test_find_span_matches_a_decomposed_quote_against_nfc_text():
    text = normalize_text("Le caf\u00e9 est ferm\u00e9.")
    span = find_span(text, "caf" + E_ACUTE_DECOMPOSED)
    assert (span.start, span.end, span.exact) == (3, 7, "caf\u00e9")
    assert validate_span(text, 3, 7, "caf" + E_ACUTE_DECOMPOSED) == span


def test_find_span_after_a_zwj_family_lands_on_the_code_point_start():
    text = normalize_text(f"{FAMILY} moved to Kyiv {UKRAINE} with {THUMBS_UP_MEDIUM} hopes")
    span = find_span(text, "moved to Kyiv")
    assert span.start == 6  # 5 code points of the family + one space
    assert span.end == 6 + len("moved to Kyiv")
    assert span.prefix == FAMILY + " "
    assert codepoint_to_utf16_offset(text, span.start) == 9  # what the browser counts
    later = find_span(text, "with")
    assert text[later.start : later.end] == "with"
    assert later.start == 6 + len("moved to Kyiv ") + 2 + 1


def test_find_span_ignores_crlf_and_bom_in_quotes():
    text = normalize_text("\ufeffFirst line\r\nsecond line")
    assert text == "First line\nsecond line"
    span = find_span(text, "\ufeffline\r\nsecond", prefix="First ")
    assert (span.start, span.end) == (6, 17)
    assert resolve_span(text, exact="line\rsecond").start == 6


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("exact", "lab\x00", "NUL"),
        ("exact", "\ud800", "unpaired surrogate (U+D800)"),
        ("exact", "\udfffx", "unpaired surrogate (U+DFFF)"),
        ("prefix", "The\x00", "NUL"),
        ("suffix", " trained\ud83d", "unpaired surrogate (U+D83D)"),
        ("prefix", 5, "must be a string"),
        ("suffix", ["x"], "must be a string"),
    ],
)
def test_quotes_with_unstorable_characters_are_refused(field, value, words):
    text = "The lab trained its model on low-end chips."
    quote = {"exact": "lab", "prefix": None, "suffix": None, field: value}
    with pytest.raises(ValidationError) as excinfo:
        find_span(text, quote["exact"], quote["prefix"], quote["suffix"])
    assert error_fields(excinfo) == {field}
    assert words in error_text(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        resolve_span(text, **quote)
    assert error_fields(excinfo) == {field}
    with pytest.raises(ValidationError) as excinfo:
        resolve_span(text, start=4, end=7, **quote)
    assert error_fields(excinfo) == {field}


def test_check_text():
    check_text("fine 👩‍👩‍👧 text")
    with pytest.raises(ValidationError) as excinfo:
        check_text("ab\x00c")
    assert excinfo.value.message_dict == {
        "text": [
            "text contains a NUL character (U+0000) at position 2; NUL characters cannot be stored."
        ]
    }
    with pytest.raises(ValidationError) as excinfo:
        check_text("x\ud83d\ude00", field="title")
    assert error_fields(excinfo) == {"title"}
    assert "position 1" in error_text(excinfo)


# resolve_span --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text_and_span())
def test_resolve_span_round_trips_offsets_and_quotes(case):
    text, start, end = case
    span = resolve_span(text, start=start, end=end)
    assert span == validate_span(text, start, end)
    # A client echoing every selector back is accepted and gets the same span.
    assert (
        resolve_span(
            text, start=start, end=end, exact=span.exact, prefix=span.prefix, suffix=span.suffix
        )
        == span
    )
    expected = all_matches(text, span.exact, span.prefix, span.suffix)
    assert start in expected
    if len(expected) == 1:
        assert resolve_span(text, exact=span.exact, prefix=span.prefix, suffix=span.suffix) == span
    else:
        with pytest.raises(ValidationError) as excinfo:
            resolve_span(text, exact=span.exact, prefix=span.prefix, suffix=span.suffix)
        assert error_fields(excinfo) == {"exact"}


def test_resolve_span_requires_both_offsets_or_a_quote():
    text = "Restricting chip exports is shortsighted."
    with pytest.raises(ValidationError) as excinfo:
        resolve_span(text, start=3)
    assert error_fields(excinfo) == {"end"}
    assert "end is missing" in error_text(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        resolve_span(text, end=4, exact="chip")
    assert error_fields(excinfo) == {"start"}
    with pytest.raises(ValidationError) as excinfo:
        resolve_span(text)
    assert error_fields(excinfo) == {"exact"}
    assert "start and end" in error_text(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        resolve_span(text, prefix="Restricting ")
    assert error_fields(excinfo) == {"exact"}
    assert resolve_span(text, exact="chip") == Span(12, 16, "chip", "Restricting ", text[16:])


def test_resolve_span_checks_the_exact_and_context_given_with_offsets():
    text = "Restricting chip exports is shortsighted."
    with pytest.raises(ValidationError) as excinfo:
        resolve_span(text, start=12, end=16, exact="chips")
    assert error_fields(excinfo) == {"exact"}
    with pytest.raises(ValidationError) as excinfo:
        resolve_span(text, start=12, end=16, prefix="Banning ", suffix=" imports")
    assert error_fields(excinfo) == {"prefix", "suffix"}
    span = resolve_span(text, start=12, end=16, exact="chip", prefix="ing ", suffix=" ex")
    assert (span.prefix, span.suffix) == ("Restricting ", " exports is shortsighted.")


# UTF-16 conversions (what the browser counts) --------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(texts)
def test_utf16_conversions_agree_with_the_utf16_encoding(text):
    for index in range(len(text) + 1):
        units = len(text[:index].encode("utf-16-le")) // 2
        assert codepoint_to_utf16_offset(text, index) == units
        assert utf16_offset_to_codepoint(text, units) == index
    total = len(text.encode("utf-16-le")) // 2
    boundaries = {codepoint_to_utf16_offset(text, i) for i in range(len(text) + 1)}
    for offset in set(range(total + 1)) - boundaries:
        with pytest.raises(ValidationError) as excinfo:
            utf16_offset_to_codepoint(text, offset)
        assert "surrogate pair" in error_text(excinfo)


def test_utf16_conversions_refuse_bad_offsets():
    text = f"a{UKRAINE}b"  # UTF-16: a, 2 + 2 units of flag, b = 6
    assert [utf16_offset_to_codepoint(text, o) for o in (0, 1, 3, 5, 6)] == [0, 1, 2, 3, 4]
    for offset in (2, 4):
        with pytest.raises(ValidationError) as excinfo:
            utf16_offset_to_codepoint(text, offset)
        assert error_fields(excinfo) == {"offset"}
    for bad in (-1, 7, 10**5000, "3", 1.0, True, None):
        with pytest.raises(ValidationError) as excinfo:
            utf16_offset_to_codepoint(text, bad)
        assert error_fields(excinfo) == {"offset"}
    for bad in (-1, 5, 10**5000, "3", 1.0, False, None):
        with pytest.raises(ValidationError) as excinfo:
            codepoint_to_utf16_offset(text, bad)
        assert error_fields(excinfo) == {"index"}
