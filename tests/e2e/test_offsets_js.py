"""static/js/offsets.js, the browser's code-point arithmetic, run in Chromium on its own and held
to Python's: a Python str index is a code point, the unit of every offset in the project, and
`len(s.encode("utf-16-le")) // 2` is what JavaScript counts. Emoji (astral, ZWJ sequences,
flags), CJK, combining marks and right-to-left scripts are where the two units part.

One blank page serves the whole module (no server, no database), so the examples and the
property tests together take a few seconds."""

from bisect import bisect_left, bisect_right
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.e2e

OFFSETS_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "offsets.js"

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # woman, ZWJ, woman, ZWJ, girl
FAMILY4 = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
FLAGS = "\U0001f1eb\U0001f1f7\U0001f1ef\U0001f1f5"  # FR, JP: two regional indicators each
SAMPLES = {
    "empty": "",
    "ascii": "The export ban backfired.",
    "astral emoji": "Prices 😀 rose 🎉 twice 🧪",
    "zwj family": f"{FAMILY} family notes, {FAMILY4} too",
    "flags": f"{FLAGS} flags at both ends {FLAGS}",
    "cjk": "研究者は別の見方をしている。",
    "cjk astral": "𠜎𠜱𠝹 rare Han outside the BMP",
    "combining": "a café (e\u0301) about x\u0303 marks",
    "arabic": "مرحبا بالعالم is how the Cairo office greeted the news",
    "hebrew": "שלום עולם and then English",
    "paragraphs": "First paragraph 😀.\n\nSecond one, 研究.\n\nThird",
    "astral only": "😀",
    "astral at both ends": "😀middle🎉",
}

# Every conversion of one text at once (one round trip to the browser a text): code point
# k -> UTF-16 for k in -1..n+1, UTF-16 u -> code point for u in -1..len+1 (so between the halves
# of every surrogate pair too), and the round trip code points -> UTF-16 -> code points.
CONVERT_JS = """
(text) => {
  const O = window.Offsets;
  const n = O.length(text);
  const toUtf16 = [], fromUtf16 = [], roundTrip = [];
  for (let k = -1; k <= n + 1; k++) toUtf16.push(O.toUtf16(text, k));
  for (let u = -1; u <= text.length + 1; u++) fromUtf16.push(O.fromUtf16(text, u));
  for (let k = 0; k <= n; k++) roundTrip.push(O.fromUtf16(text, O.toUtf16(text, k)));
  return {length: n, units: text.length, split: O.split(text), toUtf16, fromUtf16, roundTrip};
}
"""


def utf16_len(text: str) -> int:
    """What JavaScript's `text.length` says: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def expected(text: str) -> dict:
    """CONVERT_JS's answer computed with Python's code-point indexes."""
    n = len(text)
    starts = [utf16_len(text[:k]) for k in range(n)]  # where each code point begins in UTF-16
    to_utf16 = [utf16_len(text[: max(k, 0)]) for k in range(-1, n + 2)]
    # A UTF-16 index counts the code points that begin before it: one inside a surrogate pair
    # counts that whole character (what text.slice(0, u) followed by Array.from counts).
    from_utf16 = [bisect_left(starts, u) for u in range(-1, utf16_len(text) + 2)]
    return {
        "length": n,
        "units": utf16_len(text),
        "split": list(text),
        "toUtf16": to_utf16,
        "fromUtf16": from_utf16,
        "roundTrip": list(range(n + 1)),
    }


@pytest.fixture(scope="module")
def js(browser):
    """A blank page with offsets.js loaded, shared by the module's tests (they only read it)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<html><body></body></html>")
    page.add_script_tag(path=str(OFFSETS_JS))
    yield page
    context.close()


def test_the_script_defines_one_frozen_namespace_and_leaks_nothing(js):
    assert js.evaluate("Object.keys(window.Offsets).sort()") == [
        "fromUtf16",
        "isWord",
        "length",
        "segmentAt",
        "snap",
        "split",
        "toUtf16",
    ]
    assert js.evaluate("Object.isFrozen(window.Offsets)") is True
    assert js.evaluate("typeof window.unitsAt + typeof window.snap + typeof window.WORD") == (
        "undefined" * 3
    )


@pytest.mark.parametrize("name", list(SAMPLES))
def test_conversions_both_ways_match_python(js, name):
    text = SAMPLES[name]
    assert js.evaluate(CONVERT_JS, text) == expected(text)


def test_the_units_really_differ_on_these_samples(js):
    """The samples exercise what they claim: JS and Python lengths part wherever astral
    characters are, and agree on BMP-only text (CJK, combining marks, Arabic, Hebrew)."""
    lengths = {
        name: js.evaluate("(t) => [t.length, Offsets.length(t)]", t) for name, t in SAMPLES.items()
    }
    assert lengths["zwj family"] == [utf16_len(SAMPLES["zwj family"]), len(SAMPLES["zwj family"])]
    assert lengths["zwj family"][0] - lengths["zwj family"][1] == 7  # seven astral emoji
    assert lengths["flags"][0] - lengths["flags"][1] == 8  # eight regional indicators
    assert lengths["astral only"] == [2, 1]
    for name in ("cjk", "combining", "arabic", "hebrew"):
        assert lengths[name][0] == lengths[name][1] == len(SAMPLES[name])
    assert lengths["empty"] == [0, 0]


def test_concrete_offsets_around_astral_characters(js):
    text = SAMPLES["zwj family"]  # the family is 5 code points, 8 UTF-16 units
    assert js.evaluate("(t) => Offsets.toUtf16(t, 5)", text) == 8
    assert js.evaluate("(t) => Offsets.fromUtf16(t, 8)", text) == 5
    assert text[5:] == js.evaluate("(t) => t.slice(Offsets.toUtf16(t, 5))", text)
    # Between the halves of the first emoji: the character counts as begun.
    assert js.evaluate("(t) => Offsets.fromUtf16(t, 1)", text) == 1
    # Ends of text, and past them: clamped.
    assert js.evaluate("(t) => Offsets.toUtf16(t, 1000)", text) == utf16_len(text)
    assert js.evaluate("(t) => Offsets.fromUtf16(t, 1000)", text) == len(text)
    assert js.evaluate("(t) => [Offsets.toUtf16(t, -3), Offsets.fromUtf16(t, -3)]", text) == [0, 0]
    assert js.evaluate("() => [Offsets.toUtf16('', 0), Offsets.fromUtf16('', 0)]") == [0, 0]
    assert js.evaluate("() => [Offsets.toUtf16('', 4), Offsets.fromUtf16('', 4)]") == [0, 0]


def test_segment_at_picks_the_segment_that_holds_an_offset(js):
    starts = [0, 5, 9, 20]
    find = "([starts, offset, isEnd]) => Offsets.segmentAt(starts, offset, isEnd)"
    # A start belongs to the segment it begins; an end to the segment it closes.
    assert js.evaluate(find, [starts, 5, False]) == 1
    assert js.evaluate(find, [starts, 5, True]) == 0
    assert js.evaluate(find, [starts, 0, False]) == 0
    assert js.evaluate(find, [starts, 0, True]) == 0
    assert js.evaluate(find, [starts, 7, True]) == 1
    assert js.evaluate(find, [starts, 99, False]) == 3
    assert js.evaluate(find, [[], 3, False]) == 0
    assert js.evaluate(find, [[4], 2, False]) == 0


SNAP_JS = "([text, start, end]) => Offsets.snap(Array.from(text), start, end)"


def snap(js, text: str, phrase: str) -> str:
    """Snap the first occurrence of `phrase` in `text`, by code-point offsets; the snapped text."""
    start = text.index(phrase)
    s, e = js.evaluate(SNAP_JS, [text, start, start + len(phrase)])
    return text[s:e]


def test_snap_grows_cut_words_and_trims_white_space(js):
    text = "The export ban backfired on its own makers"
    assert snap(js, text, "xport b") == "export ban"
    assert snap(js, text, " export ban ") == "export ban"
    assert snap(js, text, "export ban") == "export ban"
    assert js.evaluate(SNAP_JS, [text, 3, 4]) == [4, 4]  # one space: nothing left
    # Code points, not UTF-16 units: the emoji before the word does not shift it.
    emoji = f"{FAMILY} family notes 😀 open"
    assert snap(js, emoji, "amily no") == "family notes"
    assert snap(js, emoji, "pe") == "open"
    # Combining marks and apostrophes are part of a word; right-to-left words grow too.
    assert snap(js, "a cafe\u0301 (ok)", "caf") == "cafe\u0301"
    assert snap(js, "it’s done", "t’") == "it’s"
    assert snap(js, "مرحبا بالعالم today", "رحب") == "مرحبا"
    # Scripts without spaces between words are taken as selected.
    assert snap(js, "研究者は別の見方をしている。", "者は別") == "者は別"
    # The ends of the text.
    assert js.evaluate(SNAP_JS, ["word", 1, 4]) == [0, 4]
    assert js.evaluate(SNAP_JS, ["", 0, 0]) == [0, 0]


# Random text drawn from the alphabets above: whole clusters (so ZWJ sequences and flags occur
# intact) and their single code points (so they also occur cut apart).
CLUSTERS = [FAMILY, FAMILY4, "\U0001f1eb\U0001f1f7", "\U0001f1ef\U0001f1f5", "e\u0301", "x\u0303"]
CODE_POINTS = sorted(set("".join(SAMPLES.values()) + "".join(CLUSTERS) + " \n\t’'-_0123456789"))
texts = st.lists(
    st.one_of(st.sampled_from(CLUSTERS), st.sampled_from(CODE_POINTS)), max_size=40
).map("".join)


@settings(max_examples=100, deadline=None)
@given(text=texts)
def test_property_conversions_match_python_and_round_trip(js, text):
    got = js.evaluate(CONVERT_JS, text)
    assert got == expected(text)
    assert got["roundTrip"] == list(range(len(text) + 1))  # identity at every boundary


@settings(max_examples=100, deadline=None)
@given(text=texts, data=st.data())
def test_property_offsets_and_segments(js, text, data):
    """Random offsets into random text, and the text cut into random segments: each code point
    offset lands where Python's slicing puts it, in the segment bisect says holds it."""
    n = len(text)
    k = data.draw(st.integers(0, n), label="offset")
    cuts = sorted(data.draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=5), label="cuts"))
    starts = [0, *[c for c in cuts if c < n]]
    is_end = data.draw(st.booleans(), label="is_end")
    units, prefix, seg = js.evaluate(
        """([text, k, starts, isEnd]) => {
          const u = Offsets.toUtf16(text, k);
          return [u, text.slice(0, u), Offsets.segmentAt(starts, k, isEnd)];
        }""",
        [text, k, starts, is_end],
    )
    assert units == utf16_len(text[:k])
    assert prefix == text[:k]
    found = (bisect_left if is_end else bisect_right)(starts, k) - 1
    assert seg == max(found, 0)


@settings(max_examples=100, deadline=None)
@given(text=texts, data=st.data())
def test_property_snap_keeps_the_selection_and_is_stable(js, text, data):
    """A snapped selection stays inside the text, still covers every non-space character that
    was selected, has no white space at its ends, and snapping it again changes nothing."""
    if not text:
        return
    # A selection holds at least one code point (annotate.js never snaps a collapsed one).
    start = data.draw(st.integers(0, len(text) - 1), label="start")
    end = data.draw(st.integers(start + 1, len(text)), label="end")
    s, e = js.evaluate(SNAP_JS, [text, start, end])
    assert s >= 0 and e <= len(text)
    selected = [i for i in range(start, end) if not text[i].isspace()]
    if not selected:
        assert e <= s
        return
    assert s <= selected[0] and selected[-1] < e
    assert not text[s].isspace() and not text[e - 1].isspace()
    assert js.evaluate(SNAP_JS, [text, s, e]) == [s, e]
