"""Agreement figures: equal to the reference libraries on random data, hand-checked on textbook
examples, and None with a reason wherever the data cannot support a figure.

No database and no Django: the module under test is pure Python.
"""

import ast
import json
import math
import sys
import warnings
from collections import Counter
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from articles import agreement
from articles.agreement import (
    NO_PAIRABLE_ITEMS,
    ONE_CATEGORY,
    AgreementReport,
    Figure,
    cohen_kappa,
    confusion,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_cohen,
    per_coder,
    percent_agreement,
    report,
    span_agreement,
)

LABELS = ["support", "oppose", "neutral", "unclear"]
TOLERANCE = 1e-9
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- random data and reference wrappers --------------------------------------------------------


@st.composite
def ratings_data(draw, complete=False):
    """(item, coder, label) triples: 1-40 items, 2-6 coders, 2-4 categories, random gaps."""
    n_items = draw(st.integers(1, 40))
    n_coders = draw(st.integers(2, 6))
    labels = LABELS[: draw(st.integers(2, 4))]
    cell = st.sampled_from(labels) if complete else st.sampled_from([None, *labels])
    cells = draw(st.lists(cell, min_size=n_items * n_coders, max_size=n_items * n_coders))
    return [
        (f"claim-{i}", f"coder-{c}", cells[i * n_coders + c])
        for i in range(n_items)
        for c in range(n_coders)
        if cells[i * n_coders + c] is not None
    ]


def finite_or_none(compute):
    """The reference's value, or None where it raises or gives NaN/inf (undefined)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            value = float(compute())
        except (ValueError, ZeroDivisionError, AssertionError):
            return None
    return value if math.isfinite(value) else None


def reference_alpha(triples):
    items = sorted({item for item, _, _ in triples})
    coders = sorted({coder for _, coder, _ in triples})
    data = np.full((len(coders), len(items)), np.nan)
    for item, coder, label in triples:
        data[coders.index(coder), items.index(item)] = LABELS.index(label)
    return finite_or_none(
        lambda: krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    )


def reference_cohen(triples, a, b):
    labels_a = {item: label for item, coder, label in triples if coder == a}
    labels_b = {item: label for item, coder, label in triples if coder == b}
    shared = sorted(labels_a.keys() & labels_b.keys())
    if not shared:
        return None
    return finite_or_none(
        lambda: cohen_kappa_score([labels_a[i] for i in shared], [labels_b[i] for i in shared])
    )


def reference_fleiss(triples):
    items = sorted({item for item, _, _ in triples})
    table = np.zeros((len(items), len(LABELS)))
    for item, _, label in triples:
        table[items.index(item), LABELS.index(label)] += 1
    return finite_or_none(lambda: sm_fleiss_kappa(table, method="fleiss"))


def coder_pairs_per_item(triples):
    """Brute force: every unordered pair of labels given by two coders to the same item."""
    by_item = {}
    for item, _, label in triples:
        by_item.setdefault(item, []).append(label)
    return {item: list(combinations(labels, 2)) for item, labels in by_item.items()}


def assert_same(figure, expected):
    if expected is None:
        assert figure.value is None
        assert figure.reason.startswith("not enough data: ")
    else:
        assert figure.value is not None, figure.reason
        assert abs(figure.value - expected) <= TOLERANCE
        assert figure.reason == ""


# --- equal to the reference libraries -----------------------------------------------------------


@SETTINGS
@given(ratings_data())
def test_alpha_equals_krippendorff_package(triples):
    figure = krippendorff_alpha(triples)
    assert_same(figure, reference_alpha(triples))
    pairable = sum(len(pairs) > 0 for pairs in coder_pairs_per_item(triples).values())
    assert figure.n_items == pairable


@SETTINGS
@given(ratings_data())
def test_pairwise_cohen_equals_sklearn(triples):
    coders = sorted({coder for _, coder, _ in triples})
    figures = pairwise_cohen(triples)
    assert list(figures) == list(combinations(coders, 2))
    for (a, b), figure in figures.items():
        assert_same(figure, reference_cohen(triples, a, b))
        swapped = cohen_kappa(triples, b, a)
        assert (swapped.value, swapped.n_items) == (figure.value, figure.n_items)


@SETTINGS
@given(ratings_data(complete=True))
def test_fleiss_equals_statsmodels_on_complete_data(triples):
    figure = fleiss_kappa(triples)
    assert_same(figure, reference_fleiss(triples))
    assert figure.n_items == len({item for item, _, _ in triples})


@SETTINGS
@given(ratings_data())
def test_fleiss_with_unequal_coders_uses_the_most_common_count(triples):
    sizes = Counter(item for item, _, _ in triples)
    counts = Counter(size for size in sizes.values() if size >= 2)
    figure = fleiss_kappa(triples)
    if not counts:
        assert (figure.value, figure.n_items, figure.reason) == (None, 0, NO_PAIRABLE_ITEMS)
        return
    most_items = max(counts.values())
    chosen = max(size for size, n in counts.items() if n == most_items)
    kept = [t for t in triples if sizes[t[0]] == chosen]
    assert_same(figure, reference_fleiss(kept))
    assert figure.n_items == counts[chosen]


@SETTINGS
@given(ratings_data())
def test_percent_agreement_per_coder_and_confusion_match_brute_force(triples):
    pairs = [pair for item_pairs in coder_pairs_per_item(triples).values() for pair in item_pairs]
    pairable = [item for item, ps in coder_pairs_per_item(triples).items() if ps]
    figure = percent_agreement(triples)
    if pairs:
        assert abs(figure.value - sum(x == y for x, y in pairs) / len(pairs)) <= TOLERANCE
        assert figure.n_items == len(pairable)
    else:
        assert (figure.value, figure.reason) == (None, NO_PAIRABLE_ITEMS)

    matrix = confusion(triples, labels=LABELS)
    assert matrix.labels == tuple(LABELS)
    expected = Counter(frozenset(pair) for pair in pairs)
    for i, a in enumerate(LABELS):
        for j, b in enumerate(LABELS):
            assert matrix.counts[i][j] == matrix.counts[j][i] == expected[frozenset((a, b))]
    assert matrix.n_pairs == len(pairs)
    assert sum(matrix.count(a, b) for a, b in combinations(LABELS, 2)) + sum(
        matrix.count(a, a) for a in LABELS
    ) == len(pairs)

    by_item = {}
    for item, coder, label in triples:
        by_item.setdefault(item, {})[coder] = label
    for coder, fig in per_coder(triples).items():
        mine = [
            (codes[coder], label)
            for codes in by_item.values()
            if coder in codes
            for other, label in codes.items()
            if other != coder
        ]
        if mine:
            assert abs(fig.value - sum(x == y for x, y in mine) / len(mine)) <= TOLERANCE
        else:
            assert fig.value is None and fig.reason.startswith("not enough data: ")


@SETTINGS
@given(ratings_data())
def test_report_gathers_the_same_figures_and_serialises(triples):
    result = report(triples, group_by=lambda item: int(item.split("-")[1]) % 3)
    assert result.krippendorff_alpha == krippendorff_alpha(triples)
    assert result.fleiss_kappa == fleiss_kappa(triples)
    assert result.percent_agreement == percent_agreement(triples)
    assert result.pairwise_cohen == pairwise_cohen(triples)
    assert result.per_coder == per_coder(triples)
    assert result.confusion == confusion(triples)
    assert result.n_coders == len({coder for _, coder, _ in triples})
    assert result.labels == tuple(sorted({label for _, _, label in triples}))
    for key, group in result.groups.items():
        kept = [t for t in triples if int(t[0].split("-")[1]) % 3 == key]
        assert group.krippendorff_alpha == krippendorff_alpha(kept)
        assert group.groups == {}
    data = json.loads(json.dumps(result.as_dict(), allow_nan=False))
    alpha = data["krippendorff_alpha"]["value"]
    assert alpha == (None if result.krippendorff_alpha.value is None else round(alpha, 4))
    assert [g["group"] for g in data["groups"]] == sorted(result.groups)


# --- textbook examples --------------------------------------------------------------------------


def from_rows(rows):
    """Reliability data as in the literature: one row per coder, None where not coded."""
    return [
        (unit, coder, value) for coder, row in enumerate(rows) for unit, value in enumerate(row)
    ]


def test_alpha_krippendorff_2011_four_coders_with_missing_values():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: 0.743.
    triples = from_rows(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
            [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
        ]
    )
    figure = krippendorff_alpha(triples)
    assert round(figure.value, 3) == 0.743
    assert figure.n_items == 11  # unit 12 was coded once and drops out
    # by hand: value totals n_c = 9, 13, 10, 5, 3 (n = 40); the off-diagonal coincidences add
    # up to 8; alpha = 1 - (n - 1) * 8 / (n^2 - sum n_c^2) = 1 - 39 * 8 / 1216
    assert figure.value == pytest.approx(1 - 39 * 8 / 1216, abs=1e-12)


def test_alpha_wikipedia_three_coders():
    triples = from_rows(
        [
            [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
            [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
            [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],
        ]
    )
    assert krippendorff_alpha(triples).value == pytest.approx(0.691358, abs=5e-7)


def test_cohen_wikipedia_yes_no_example():
    # 50 proposals: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 -> p_o .7, p_e .5.
    cells = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    triples = [t for i, (a, b) in enumerate(cells) for t in ((i, "A", a), (i, "B", b))]
    figure = cohen_kappa(triples, "A", "B")
    assert figure.value == pytest.approx(0.4, abs=1e-12)
    assert figure.n_items == 50


def test_fleiss_wikipedia_fourteen_raters():
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    triples = []
    for item, counts in enumerate(table):
        labels = [category for category, n in enumerate(counts) for _ in range(n)]
        triples += [(item, rater, label) for rater, label in enumerate(labels)]
    figure = fleiss_kappa(triples)
    assert round(figure.value, 3) == 0.210
    assert figure.value == pytest.approx(sm_fleiss_kappa(np.array(table)), abs=TOLERANCE)
    assert figure.n_items == 10


def test_percent_agreement_counts_pairs_not_items():
    triples = [
        ("c1", "a", "support"),
        ("c1", "b", "support"),
        ("c1", "c", "oppose"),  # 1 agreeing pair of 3
        ("c2", "a", "neutral"),
        ("c2", "b", "neutral"),  # 1 of 1
        ("c3", "a", "oppose"),  # alone: not pairable
    ]
    assert percent_agreement(triples) == Figure(0.5, 2)
    coders = per_coder(triples)
    assert coders["a"] == Figure(2 / 3, 2)  # a-b, a-c on c1; a-b on c2
    assert coders["c"] == Figure(0.0, 1)
    matrix = confusion(triples)
    assert matrix.labels == ("neutral", "oppose", "support")
    assert matrix.count("support", "oppose") == matrix.count("oppose", "support") == 2
    assert matrix.count("support", "support") == 1
    assert matrix.disagreements() == [("oppose", "support", 2)]
    assert matrix.n_pairs == 4


# --- degenerate data ----------------------------------------------------------------------------


def all_figures(triples):
    return [
        krippendorff_alpha(triples),
        fleiss_kappa(triples),
        percent_agreement(triples),
        *pairwise_cohen(triples).values(),
        *per_coder(triples).values(),
    ]


@pytest.mark.parametrize(
    "triples",
    [
        pytest.param([], id="no items"),
        pytest.param([("c1", "a", "support"), ("c2", "a", "oppose")], id="one coder"),
        pytest.param([("c1", "a", "support"), ("c2", "b", "oppose")], id="no shared items"),
        pytest.param([("c1", "a", None), ("c1", "b", "oppose")], id="a missing label"),
    ],
)
def test_nothing_pairable_gives_none_with_reason(triples):
    figures = all_figures(triples)
    assert figures[:3] == [Figure(None, 0, NO_PAIRABLE_ITEMS)] * 3
    for figure in figures:
        assert figure.value is None and figure.reason.startswith("not enough data: ")
    assert reference_alpha([t for t in triples if t[2] is not None]) is None
    matrix = confusion(triples)
    assert (matrix.n_items, matrix.n_pairs) == (0, 0)
    assert json.dumps(report(triples).as_dict(), allow_nan=False)


def test_no_shared_items_reason_names_the_coders():
    figure = cohen_kappa([("c1", "ann", "support"), ("c2", "bob", "oppose")], "ann", "bob")
    assert figure == Figure(None, 0, "not enough data: no item was coded by both ann and bob")


def test_a_single_category_gives_none_with_reason():
    triples = [(item, coder, "support") for item in range(5) for coder in "abc"]
    assert reference_alpha(triples) is None
    assert reference_fleiss(triples) is None
    assert reference_cohen(triples, "a", "b") is None
    assert krippendorff_alpha(triples) == Figure(None, 5, ONE_CATEGORY)
    assert fleiss_kappa(triples) == Figure(None, 5, ONE_CATEGORY)
    assert cohen_kappa(triples, "a", "b") == Figure(None, 5, ONE_CATEGORY)
    # raw agreement is still defined: everyone agrees
    assert percent_agreement(triples) == Figure(1.0, 5)


def test_a_second_category_only_on_unpairable_items_is_still_one_category():
    triples = [("c1", "a", "support"), ("c1", "b", "support"), ("c2", "a", "oppose")]
    assert reference_alpha(triples) is None  # the package gives NaN here
    assert krippendorff_alpha(triples) == Figure(None, 1, ONE_CATEGORY)


def test_one_item_with_disagreement_matches_the_references():
    triples = [("c1", "a", "support"), ("c1", "b", "oppose")]
    assert krippendorff_alpha(triples) == Figure(0.0, 1)
    assert reference_alpha(triples) == 0.0
    assert cohen_kappa(triples, "a", "b") == Figure(0.0, 1)
    assert reference_cohen(triples, "a", "b") == 0.0
    assert fleiss_kappa(triples) == Figure(-1.0, 1)
    assert reference_fleiss(triples) == -1.0
    assert percent_agreement(triples) == Figure(0.0, 1)


def test_coders_each_using_their_own_single_category_are_defined():
    # p_e is 0, not 1: kappa is 0 (sklearn agrees), not undefined
    triples = [(i, "a", "support") for i in range(3)] + [(i, "b", "oppose") for i in range(3)]
    assert cohen_kappa(triples, "a", "b") == Figure(0.0, 3)
    assert reference_cohen(triples, "a", "b") == 0.0


def test_labels_and_coders_may_be_any_hashable():
    triples = [((1, "t"), 7, ("stance", 1)), ((1, "t"), "x", ("stance", 2)), ((2, "t"), 7, None)]
    result = report(triples)
    assert list(result.pairwise_cohen) == [(7, "x")]  # mixed types: ordered by type name
    data = json.loads(json.dumps(result.as_dict(), allow_nan=False))
    assert data["labels"] == ["('stance', 1)", "('stance', 2)"]
    assert data["per_coder"][0]["coder"] == 7


def test_two_labels_for_one_item_from_one_coder_is_an_error():
    assert percent_agreement([("c1", "a", "x"), ("c1", "a", "x"), ("c1", "b", "x")]).value == 1
    with pytest.raises(ValueError, match="two labels"):
        krippendorff_alpha([("c1", "a", "support"), ("c1", "a", "oppose")])
    with pytest.raises(ValueError, match="two different coders"):
        cohen_kappa([], "a", "a")


def test_confusion_keeps_the_given_label_order_and_appends_unknown_labels():
    triples = [("c1", "a", "support"), ("c1", "b", "oppose"), ("c1", "c", "unclear")]
    matrix = confusion(triples, labels=["support", "neutral", "oppose"])
    assert matrix.labels == ("support", "neutral", "oppose", "unclear")
    assert matrix.counts[1] == (0, 0, 0, 0)
    assert matrix.count("oppose", "unclear") == 1


def test_figure_refuses_nan_and_a_missing_reason():
    with pytest.raises(ValueError, match="finite"):
        Figure(math.nan, 1)
    with pytest.raises(ValueError, match="reason"):
        Figure(None, 0)
    assert Figure(-0.00001, 3).as_dict() == {"value": 0.0, "n_items": 3, "reason": ""}


def test_report_as_dict_shape():
    triples = [("c1", "ann", "support"), ("c1", "bob", "oppose"), ("c2", "ann", "support")]
    result = report(triples, group_by=lambda item: "article-1")
    assert isinstance(result, AgreementReport)
    data = result.as_dict()
    assert data["n_items"] == 1 and data["n_coders"] == 2
    assert data["pairwise_cohen"] == [
        {"coders": ["ann", "bob"], "value": 0.0, "n_items": 1, "reason": ""}
    ]
    assert data["confusion"]["counts"] == [[0, 1], [1, 0]]
    assert data["groups"][0]["group"] == "article-1"
    assert data["groups"][0]["krippendorff_alpha"] == data["krippendorff_alpha"]


# --- spans --------------------------------------------------------------------------------------


def test_span_agreement_exact_and_overlap_by_hand():
    result = span_agreement(
        {
            "bob": [(0, 10), (20, 30), (40, 50)],
            "ann": [(0, 10), (25, 35), (60, 70), (0, 10)],  # the repeat counts once
        }
    )
    pair = result["pairs"][("ann", "bob")]
    # exact: 1 shared span of 3 and 3 -> F1 2*1/6
    assert (pair["exact"].value, pair["exact"].n_items) == (pytest.approx(1 / 3), 6)
    # overlap: ann's (0,10), (25,35) matched -> P 2/3; bob's (0,10), (20,30) matched -> R 2/3
    assert (pair["overlap"].value, pair["overlap"].n_items) == (pytest.approx(2 / 3), 6)
    assert result["micro"]["exact"] == pair["exact"]


def test_span_agreement_touching_spans_do_not_overlap_and_documents_are_kept_apart():
    result = span_agreement({"a": [(0, 5), ("doc1", 0, 5)], "b": [(5, 9), ("doc2", 0, 5)]})
    assert result["pairs"][("a", "b")]["overlap"] == Figure(0.0, 4)


def test_span_agreement_micro_average_pools_counts():
    result = span_agreement({"a": [(0, 2)], "b": [(0, 2)], "c": [(0, 2), (5, 6), (8, 9)]})
    pairs = result["pairs"]
    assert pairs[("a", "b")]["exact"].value == 1
    assert pairs[("a", "c")]["exact"].value == pytest.approx(0.5)
    # pooled over (a,b), (a,c), (b,c): first spans 1+1+1 of which 3 matched -> P = 1;
    # second spans 1+3+3 of which 3 matched -> R = 3/7; F1 = 2 * 3/7 / (10/7) = 0.6
    micro = result["micro"]["exact"]
    assert (micro.value, micro.n_items) == (pytest.approx(0.6), 10)


def test_span_agreement_degenerate_inputs():
    for empty in ({}, {"a": [(0, 3)]}):
        assert span_agreement(empty)["micro"]["exact"].value is None
        assert span_agreement(empty)["micro"]["overlap"].n_items == 0
    nobody = span_agreement({"a": [], "b": []})
    assert nobody["pairs"][("a", "b")]["exact"] == Figure(None, 0, agreement.NO_SPANS)
    assert nobody["micro"]["overlap"].value is None
    one_sided = span_agreement({"a": [(0, 3)], "b": []})
    assert one_sided["pairs"][("a", "b")]["overlap"] == Figure(0.0, 1)
    with pytest.raises(ValueError, match="start < end"):
        span_agreement({"a": [(3, 3)]})


spans = st.lists(
    st.tuples(st.sampled_from(["d1", "d2"]), st.integers(0, 40), st.integers(1, 8)).map(
        lambda t: (t[0], t[1], t[1] + t[2])
    ),
    max_size=12,
)


@SETTINGS
@given(spans, spans)
def test_span_agreement_matches_brute_force(spans_a, spans_b):
    a, b = set(spans_a), set(spans_b)

    def matched(mine, theirs):
        return sum(
            any(d == e and s < t_end and t_start < end for e, t_start, t_end in theirs)
            for d, s, end in mine
        )

    pair = span_agreement({"a": spans_a, "b": spans_b})["pairs"][("a", "b")]
    swapped = span_agreement({"b": spans_a, "a": spans_b})["pairs"][("a", "b")]
    assert pair == swapped  # F1 is symmetric
    if not a and not b:
        assert pair["exact"].value is None and pair["overlap"].value is None
        return
    assert pair["exact"].value == pytest.approx(2 * len(a & b) / (len(a) + len(b)))
    if not a or not b:
        assert pair["overlap"].value == 0
        return
    p, r = matched(a, b) / len(a), matched(b, a) / len(b)
    assert pair["overlap"].value == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)


# --- the module stays importable inside a web request -------------------------------------------


def test_module_uses_the_standard_library_only():
    tree = ast.parse(Path(agreement.__file__).read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
