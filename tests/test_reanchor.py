"""Re-anchoring spans when an article's text changes (articles/reanchor).

The rule under test everywhere: a placed span always selects its new exact
(``exact == new_text[start:end]``), and a span is never placed on words other than its own;
when in doubt it is orphaned.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from articles.anchoring import CONTEXT_LENGTH, Span, context_around, normalize_text
from articles.reanchor import (
    ACCEPT_SCORE,
    Anchor,
    EdlibFinder,
    OffsetMap,
    RapidfuzzFinder,
    Reanchorer,
    fold,
    rapidfuzz_opcodes,
    reanchor,
)

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # 👩‍👩‍👧, a ZWJ sequence
UKRAINE = "\U0001f1fa\U0001f1e6"  # 🇺🇦
E_ACUTE_DECOMPOSED = "e\u0301"

ARTICLE = normalize_text(
    "\n\n".join(
        [
            "Chip curbs are a speed bump, not a wall",
            "Washington likes to describe its export controls on advanced AI chips as a wall. "
            "Three years into the experiment, a better image is a speed bump. It slows the "
            "traffic for a moment, and then the traffic adapts.",
            "Restricting chip exports has not stopped Chinese labs from building competitive "
            "models. Last autumn a start-up released a model that matched American systems on "
            'most public benchmarks. "We trained it on older, export-legal accelerators," its '
            "founder said.",
            "The controls also leak at every seam. Researchers counted 41 shell companies in "
            "Southeast Asia that imported restricted accelerators. Enforcement rests on a few "
            "dozen investigators reading paperwork for a market worth tens of billions of dollars"
            " a year.",
            "Meanwhile the policy has handed Beijing the one thing it could not manufacture for "
            "itself: political will. Sales of domestic accelerators rose 38 percent last year, "
            "the ministry said.",
            "None of this means the United States should ship its best chips anywhere. But the "
            "controls should be judged by what they achieve, not by what they promise.",
        ]
    )
)


def span_of(text: str, exact: str, occurrence: int = 0) -> Span:
    """The span selecting the ``occurrence``-th (0-based) appearance of ``exact``."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(exact, start + 1)
    prefix, suffix = context_around(text, start, start + len(exact))
    return Span(start, start + len(exact), exact, prefix, suffix)


def check_anchor(old: str, new: str, span: Span, anchor: Anchor) -> None:
    """What holds for every anchor, whatever happened to the text."""
    assert 0.0 <= anchor.score <= 1.0
    assert anchor.status in ("exact", "moved", "fuzzy", "orphaned")
    if anchor.status == "orphaned":
        assert (anchor.start, anchor.end) == (None, None)
        assert (anchor.exact, anchor.prefix, anchor.suffix) == (
            span.exact,
            span.prefix,
            span.suffix,
        )
        assert anchor.score == 0.0
        return
    assert anchor.start is not None and anchor.end is not None
    assert 0 <= anchor.start < anchor.end <= len(new)
    assert anchor.exact == new[anchor.start : anchor.end]
    assert (anchor.prefix, anchor.suffix) == context_around(new, anchor.start, anchor.end)
    if anchor.status == "exact":
        assert (anchor.start, anchor.end, anchor.exact) == (span.start, span.end, span.exact)
    elif anchor.status == "moved":
        assert anchor.exact == span.exact and anchor.start != span.start
    else:
        assert anchor.exact != span.exact
    assert anchor.score >= ACCEPT_SCORE


def run(old: str, new: str, spans: list[Span]) -> list[Anchor]:
    anchors = reanchor(old, new, spans)
    assert len(anchors) == len(spans)
    for span, anchor in zip(spans, anchors, strict=True):
        check_anchor(old, new, span, anchor)
    return anchors


# --- The pieces ---------------------------------------------------------------------------------


def test_fold_keeps_length_and_unifies_quotes_dashes_and_spaces():
    text = "“Yes” — she said ‘no’\u00a0and\nleft\u2009…"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded == "\"Yes\" - she said 'no' and left …"
    assert fold(FAMILY + "中文" + E_ACUTE_DECOMPOSED) == FAMILY + "中文" + E_ACUTE_DECOMPOSED


def test_offset_map_keeps_insertions_at_a_boundary_outside_the_span():
    old, new = "abcdef", "abcXYZdef"
    mapping = OffsetMap(rapidfuzz_opcodes(old, new), len(old), len(new))
    assert mapping.span(0, 3) == (0, 3, True)  # "abc": the insertion is after it
    assert mapping.span(3, 6) == (6, 9, True)  # "def": the insertion is before it
    assert mapping.span(2, 4)[:2] == (2, 7)  # "cd" now holds the insertion


def test_offset_map_refuses_opcodes_that_do_not_cover_the_old_text():
    with pytest.raises(ValueError, match="cover"):
        OffsetMap([("equal", 0, 3, 0, 3)], 5, 3)
    with pytest.raises(ValueError, match="order"):
        OffsetMap([("equal", 0, 3, 0, 3), ("equal", 4, 5, 3, 4)], 5, 4)


def test_rapidfuzz_opcodes_cover_both_texts_and_reproduce_the_new_one():
    old = ARTICLE
    new = ARTICLE.replace("41 shell", "forty-one shell").replace("a wall.", "a fortress.")
    ops = rapidfuzz_opcodes(old, new)
    rebuilt = "".join(new[j1:j2] if tag != "equal" else old[i1:i2] for tag, i1, i2, j1, j2 in ops)
    assert rebuilt == new
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            assert old[i1:i2] == new[j1:j2]


def words_text(seed: int, size: int) -> str:
    """Sentences of words drawn at random: texts of different seeds share almost no trigram."""
    rng = random.Random(seed)
    vocabulary = ARTICLE.replace(".", "").replace(",", "").split()
    out = ""
    while len(out) < size:
        out += " ".join(rng.choice(vocabulary) for _ in range(rng.randint(6, 20))) + ". "
    return out


def test_a_text_rewritten_wholesale_is_not_diffed_and_its_spans_are_orphaned():
    old, new = words_text(1, 30_000), words_text(2, 30_000)
    assert rapidfuzz_opcodes(old, new) == [("replace", 0, len(old), 0, len(new))]
    spans = [span_of(old, old[i : i + 60]) for i in range(0, 25_000, 5_000)]
    assert {a.status for a in run(old, new, spans)} == {"orphaned"}


def test_a_reflowed_long_text_is_still_diffed():
    old = words_text(3, 30_000)
    new = fold(old.replace(". ", ".\n"))  # folded as the engine does: newlines are spaces
    ops = rapidfuzz_opcodes(fold(old), new)
    assert ops == [("equal", 0, len(old), 0, len(new))]


def test_a_long_passage_replaced_is_one_block_and_the_rest_stays_mapped():
    kept, gone, came = words_text(4, 30_000), words_text(5, 25_000), words_text(6, 25_000)
    old, new = kept + gone, kept + came
    # 25,000 x 25,000 code points is past what is realigned character by character.
    assert rapidfuzz_opcodes(old, new) == [
        ("equal", 0, len(kept), 0, len(kept)),
        ("replace", len(kept), len(old), len(kept), len(new)),
    ]
    early, late = span_of(old, old[1_000:1_080]), span_of(old, old[40_000:40_080])
    early_anchor, late_anchor = run(old, new, [early, late])
    assert early_anchor.status == "exact"
    assert late_anchor.status == "orphaned"


def test_a_span_that_does_not_select_its_exact_is_refused():
    span = Span(0, 4, "Chop", "", "")
    with pytest.raises(ValueError, match="does not select"):
        reanchor(ARTICLE, ARTICLE, [span])


@pytest.mark.parametrize("finder", [EdlibFinder, RapidfuzzFinder])
def test_finders_locate_an_edited_quote(finder):
    text = fold(ARTICLE)
    quote = "Researchers counted 14 shell companys in Southeast Asia"
    found = finder(text)(quote, 0, len(text), 10)
    assert found, "the edited quote was not found"
    start, end, distance = found[0]
    assert text[start:end].startswith("Researchers counted 41 shell companies")
    assert 0 < distance <= 10


def test_edlib_finder_handles_a_text_of_more_than_256_distinct_characters():
    cjk = "".join(chr(0x4E00 + i) for i in range(600))  # 600 distinct ideographs
    text = cjk + "，出口管制措施正在发挥作用。" + cjk[::-1]
    finder = EdlibFinder(text)
    found = finder("出口管制措施正在发挥作用", 0, len(text), 3)
    assert [(s, e) for s, e, _ in found] == [(601, 613)]
    found = finder("出口管制措施正发挥作用", 0, len(text), 3)  # one character dropped
    assert found and found[0][2] == 1 and 600 <= found[0][0] <= 602


def test_a_quote_of_more_than_255_distinct_characters_is_found_by_the_fallback():
    quote = "".join(chr(0x4E00 + i) for i in range(300))
    text = "前言" + quote[:150] + "X" + quote[150:] + "后记"
    found = EdlibFinder(text)(quote, 0, len(text), 20)
    assert found and found[0][2] == 1
    assert text[found[0][0] : found[0][1]].replace("X", "") == quote


# --- Newsroom edits -----------------------------------------------------------------------------

CLAIM = "Restricting chip exports has not stopped Chinese labs from building competitive models."
FIGURE = "Researchers counted 41 shell companies in Southeast Asia"
QUOTED = '"We trained it on older, export-legal accelerators," its founder said.'
LAST = "But the controls should be judged by what they achieve, not by what they promise."
SHORT = "speed bump"  # occurs twice in the article: the title and the second paragraph


def article_spans() -> list[Span]:
    return [
        span_of(ARTICLE, CLAIM),
        span_of(ARTICLE, FIGURE),
        span_of(ARTICLE, QUOTED),
        span_of(ARTICLE, LAST),
        span_of(ARTICLE, SHORT, 1),
        span_of(ARTICLE, "political will"),
    ]


def test_an_unchanged_text_keeps_every_span_exactly():
    anchors = run(ARTICLE, ARTICLE, article_spans())
    assert [(a.status, a.score) for a in anchors] == [("exact", 1.0)] * 6


def test_a_corrected_figure_makes_its_span_fuzzy_and_leaves_the_others_alone():
    new = ARTICLE.replace("counted 41 shell", "counted 44 shell")
    claim, figure, quoted, last, short, will = run(ARTICLE, new, article_spans())
    assert figure.status == "fuzzy"
    assert figure.exact == FIGURE.replace("41", "44")
    assert figure.start == ARTICLE.index(FIGURE)
    assert figure.score > 0.9
    assert [a.status for a in (claim, quoted, short)] == ["exact"] * 3
    assert [a.status for a in (last, will)] == ["exact"] * 2


def test_an_added_paragraph_moves_the_spans_after_it_by_its_length():
    added = "Officials dispute that reading. They say the controls bought time.\n\n"
    at = ARTICLE.index("The controls also leak")
    new = ARTICLE[:at] + added + ARTICLE[at:]
    claim, figure, quoted, last, short, will = run(ARTICLE, new, article_spans())
    assert [a.status for a in (claim, quoted, short)] == ["exact"] * 3
    for anchor, exact in ((figure, FIGURE), (last, LAST), (will, "political will")):
        assert anchor.status == "moved"
        assert anchor.start == ARTICLE.index(exact) + len(added)


def test_a_withdrawn_sentence_orphans_its_span_and_nothing_else():
    new = ARTICLE.replace(QUOTED, "").replace("benchmarks. \n", "benchmarks.\n")
    claim, figure, quoted, last, short, will = run(ARTICLE, new, article_spans())
    assert quoted.status == "orphaned"
    assert quoted.exact == QUOTED
    assert claim.status == "exact"
    assert {figure.status, last.status, will.status} == {"moved"}
    assert figure.exact == FIGURE


def test_a_withdrawn_sentence_is_not_placed_on_the_same_words_elsewhere():
    old = ARTICLE.replace(LAST, LAST + " The controls also leak.")
    span = span_of(old, "The controls also leak.")  # the last words of the article
    assert old.count("The controls also leak") == 2
    new = old.replace(" The controls also leak.", "")
    (anchor,) = run(old, new, [span])
    assert anchor.status == "orphaned"


def test_paragraphs_swapped_are_found_where_they_went():
    paragraphs = ARTICLE.split("\n\n")
    paragraphs[2], paragraphs[3] = paragraphs[3], paragraphs[2]
    new = "\n\n".join(paragraphs)
    anchors = run(ARTICLE, new, article_spans())
    for anchor, span in zip(anchors, article_spans(), strict=True):
        assert anchor.status in ("exact", "moved")
        assert anchor.exact == span.exact
        expected = new.index(span.exact)
        if span.exact == SHORT:  # the second of its two occurrences
            expected = new.index(SHORT, expected + 1)
        assert anchor.start == expected


def test_typographic_quotes_make_the_quoted_span_fuzzy_with_a_high_score():
    new = ARTICLE.replace('"We', "“We").replace('," its', ",” its")
    claim, figure, quoted, last, short, will = run(ARTICLE, new, article_spans())
    assert quoted.status == "fuzzy"
    assert quoted.exact == QUOTED.replace('"We', "“We").replace('," its', ",” its")
    assert quoted.score > 0.95
    assert {claim.status, figure.status, last.status, short.status} == {"exact"}


def test_whitespace_reflowed_keeps_spans_on_their_words():
    wrapped = []
    for paragraph in ARTICLE.split("\n\n"):
        words, line, lines = paragraph.split(" "), "", []
        for word in words:
            if line and len(line) + len(word) > 60:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
        wrapped.append("\n".join(lines))
    new = "\n\n\n".join(wrapped)  # hard-wrapped, and paragraphs further apart
    anchors = run(ARTICLE, new, article_spans())
    for anchor, span in zip(anchors, article_spans(), strict=True):
        assert anchor.status in ("moved", "fuzzy", "exact")
        assert " ".join(anchor.exact.split()) == span.exact
        if anchor.status == "fuzzy":
            assert anchor.score > 0.9


def test_a_repeated_quote_keeps_to_its_own_occurrence():
    old = ARTICLE
    first, second = span_of(old, SHORT, 0), span_of(old, SHORT, 1)
    new = "Editor's note: updated on Friday.\n\n" + old.replace(
        "a speed bump. It", "a speed hump. It"
    )
    title, body = run(old, new, [first, second])
    assert title.status == "moved" and title.start == new.index(SHORT)
    assert body.status == "fuzzy" and body.exact == "speed hump"
    assert body.start == new.index("speed hump")


def test_a_repeated_quote_is_chosen_by_its_context_when_the_diff_cannot_tell():
    old = "Prices rose. Wages fell. Prices rose again in May. Rents rose."
    span = span_of(old, "Prices rose", 1)
    new = "Rents rose. Prices rose again in May. Wages fell. Prices rose."
    (anchor,) = run(old, new, [span])
    assert anchor.status == "moved"
    assert anchor.start == new.index("Prices rose again") and anchor.exact == "Prices rose"


def test_a_deleted_text_orphans_every_span():
    anchors = run(ARTICLE, "", article_spans())
    assert {a.status for a in anchors} == {"orphaned"}


def test_a_replaced_text_places_nothing_on_other_words():
    new = normalize_text(
        "An entirely different story: the harbour reopened on Monday after the storm, and "
        "fishermen said the catch was the best in years. The mayor thanked the volunteers."
    )
    anchors = run(ARTICLE, new, article_spans())
    assert {a.status for a in anchors} == {"orphaned"}


def test_spans_at_the_very_start_and_end_survive_text_added_around_them():
    spans = [span_of(ARTICLE, "Chip curbs"), span_of(ARTICLE, "what they promise.")]
    new = "UPDATED " + ARTICLE + " (Corrected.)"
    start, end = run(ARTICLE, new, spans)
    assert (start.status, start.start) == ("moved", 8)
    assert (end.status, end.start) == ("moved", len(new) - len(" (Corrected.)") - 18)


UNICODE_PIECES = [FAMILY, UKRAINE, "\U0001f44d\U0001f3fd", "中文", "漢字の", "مرحبا", "שלום"]


@pytest.mark.parametrize("piece", [*UNICODE_PIECES, "cafe\u0301", "\u200f"])
def test_astral_cjk_combining_and_rtl_text_before_and_inside_spans(piece):
    old = f"Start {piece} one. The claim {piece} holds here. The end {piece}."
    claim = span_of(old, f"The claim {piece} holds here.")
    end = span_of(old, f"The end {piece}.")
    inserted = f"{piece}{piece} inserted {piece}. "
    new = inserted + old.replace(f"claim {piece} holds", f"claim {piece}{piece} holds")
    claim_anchor, end_anchor = run(old, new, [claim, end])
    assert end_anchor.status == "moved"
    assert end_anchor.start == end.start + len(inserted) + len(piece)
    assert claim_anchor.status == "fuzzy"
    assert claim_anchor.exact == f"The claim {piece}{piece} holds here."
    assert claim_anchor.start == claim.start + len(inserted)


def test_one_reanchorer_serves_many_spans_with_one_diff():
    calls = []

    def counting_differ(old: str, new: str):
        calls.append(1)
        return rapidfuzz_opcodes(old, new)

    new = ARTICLE.replace("Last autumn", "Last spring")
    engine = Reanchorer(ARTICLE, new, differ=counting_differ)
    anchors = engine.anchor_all(article_spans() * 50)
    assert len(anchors) == 300 and calls == [1]


# --- Properties ---------------------------------------------------------------------------------

FRAGMENTS = [
    "the ", "export ", "chips ", "rose ", "4.2 ", "percent. ", "\n\n", ", ", '"', "“", "”", "  ",
    FAMILY, UKRAINE, "\U0001f600", "中文", "漢字の", "한국어", "مرحبا", "שלום", "\u200f",
    "caf\u00e9 ", "na\u0308ive ", "\u0301", "\U0001d400",
]  # fmt: skip
# Inserted text is drawn from characters no base text holds, so that an insertion can only be
# read one way (deleting from text that repeats itself is left ambiguous on purpose).
INSERTED = ["Q", "Z", "\u2603", "\U0001f984", "\u05d0\u05d1", "\u0915\u093f"]

base_texts = st.lists(st.sampled_from(FRAGMENTS), min_size=2, max_size=40).map("".join)


@st.composite
def text_and_span(draw, min_length: int = 1):
    text = draw(base_texts)
    assume(len(text) > min_length)
    start = draw(st.integers(0, len(text) - min_length))
    end = draw(st.integers(start + min_length, min(len(text), start + 60)))
    prefix, suffix = context_around(text, start, end)
    return text, Span(start, end, text[start:end], prefix, suffix)


def occurrences(text: str, quote: str) -> int:
    """How many times ``quote`` occurs in ``text``, overlapping occurrences counted."""
    return sum(text.startswith(quote, i) for i in range(len(text) - len(quote) + 1))


def common_affixes(old: str, new: str) -> tuple[int, int]:
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    return prefix, suffix


def outside_readings(old: str, new: str, span: Span) -> set[int]:
    """Where the span can be after one edit that left it alone: the edit was after it (same
    start) or before it (shifted by the change in length); a text that repeats itself around
    the edit may allow both readings. The texts are compared folded, as the re-anchoring diffs
    them: a curly quote and a straight one are the same character there, so deleting the
    first of `“""` may be read as deleting the last."""
    prefix, suffix = common_affixes(fold(old), fold(new))
    readings = set()
    if span.end <= prefix:
        readings.add(span.start)
    if len(old) - span.start <= suffix:
        readings.add(span.start + len(new) - len(old))
    return readings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_and_span(), st.data())
def test_one_edit_outside_a_span_shifts_it_by_exactly_the_change(case, data):
    old, span = case
    before = data.draw(st.booleans())
    lo, hi = (0, span.start) if before else (span.end, len(old))
    at = data.draw(st.integers(lo, hi))
    removed = data.draw(st.integers(0, (span.start if before else len(old)) - at))
    inserted = "".join(data.draw(st.lists(st.sampled_from(INSERTED), max_size=4)))
    assume(removed or inserted)
    # Whitespace is compared folded: deleting one newline of the run a span begins (or ends)
    # with, beside it ("\n\n" before "\nth" losing its first), cannot be told from deleting
    # the span's own, which may then be placed without it.
    cut = old[at : at + removed]
    assume(
        not (cut.isspace() and before and at + removed == span.start and span.exact[0].isspace())
    )
    assume(not (cut.isspace() and not before and at == span.end and span.exact[-1].isspace()))
    new = old[:at] + inserted + old[at + removed :]
    readings = outside_readings(old, new, span)
    assert readings  # the edit is outside the span by construction
    (anchor,) = run(old, new, [span])
    if anchor.placed:
        assert anchor.status in ("exact", "moved"), (anchor, readings)
        assert anchor.exact == span.exact
        assert anchor.start in readings
    # In a text that repeats itself ("\n\n\n\n" losing two of its newlines) which copy went
    # is a guess, and a short quote in a tiny text has little context to settle it: such a span
    # may be orphaned. A quote that occurs once in each text is always placed.
    if occurrences(old, span.exact) == occurrences(new, span.exact) == 1:
        assert anchor.placed, anchor


def test_an_edit_next_to_a_quote_that_folds_like_the_span_may_be_read_on_either_side():
    # Deleting the curly quote of “"" leaves two straight quotes. Folded, the texts were three
    # straight quotes and two: the one at 1 may have moved to 0 or stayed at 1.
    old, new = '\u201c""', '""'
    prefix, suffix = context_around(old, 1, 2)
    span = Span(1, 2, '"', prefix, suffix)
    assert outside_readings(old, new, span) == {0, 1}
    (anchor,) = run(old, new, [span])
    assert anchor.placed and anchor.status == "exact", anchor
    assert anchor.start in (0, 1) and anchor.exact == '"'


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_and_span(min_length=3), st.data())
def test_edits_on_both_sides_of_a_span_shift_it_by_what_changed_before_it(case, data):
    old, span = case
    assume(occurrences(old, span.exact) == 1)
    before, middle, after = old[: span.start], span.exact, old[span.end :]

    def edited(part: str) -> str:
        for _ in range(data.draw(st.integers(0, 3))):
            at = data.draw(st.integers(0, len(part)))
            removed = data.draw(st.integers(0, min(8, len(part) - at)))
            inserted = "".join(data.draw(st.lists(st.sampled_from(INSERTED), max_size=5)))
            part = part[:at] + inserted + part[at + removed :]
        return part

    new_before, new_after = edited(before), edited(after)
    new = new_before + middle + new_after
    assume(occurrences(new, span.exact) == 1)
    (anchor,) = run(old, new, [span])
    assert anchor.status in ("exact", "moved")
    assert anchor.start == len(new_before)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_and_span(min_length=2), st.data())
def test_an_edit_inside_a_span_never_gives_a_wrong_exact(case, data):
    old, span = case
    at = data.draw(st.integers(span.start + 1, span.end - 1))
    removed = data.draw(st.integers(0, span.end - 1 - at))
    inserted = "".join(data.draw(st.lists(st.sampled_from(INSERTED), max_size=4)))
    assume(removed or inserted)
    new = old[:at] + inserted + old[at + removed :]
    (anchor,) = run(old, new, [span])
    readings = outside_readings(old, new, span)
    if anchor.status in ("exact", "moved"):
        # Only when the text repeats itself so that the same change reads as one beside the span.
        assert anchor.start in readings
    elif anchor.status == "fuzzy":
        region_end = span.end + len(inserted) - removed
        assert anchor.start < region_end and span.start < anchor.end


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base_texts, base_texts, st.data())
def test_every_anchor_keeps_its_promises_on_unrelated_texts(old, new, data):
    assume(len(old) >= 2)
    spans = []
    for _ in range(5):
        start = data.draw(st.integers(0, len(old) - 1))
        end = data.draw(st.integers(start + 1, len(old)))
        prefix, suffix = context_around(old, start, end)
        spans.append(Span(start, end, old[start:end], prefix, suffix))
    run(old, new, spans)


def test_context_is_at_most_the_anchoring_length():
    new = ARTICLE.replace("a wall.", "a fortress.")
    for anchor in run(ARTICLE, new, article_spans()):
        assert len(anchor.prefix) <= CONTEXT_LENGTH and len(anchor.suffix) <= CONTEXT_LENGTH
