"""Inter-coder agreement figures for nominal labels (stance of claims), in pure Python.

Everything here is standard library only, because it runs inside web requests. The input is a
stream of ``(item, coder, label)`` triples: for this project an item is a claim (or a claim and a
topic), a coder is an annotator and a label is a stance, but nothing below depends on that.

Rules shared by every function:

- One label per ``(item, coder)``. Repeating the same triple is harmless; giving one item two
  different labels from the same coder is a caller bug and raises ``ValueError``.
- A label of ``None`` means "not coded" and is skipped, like a missing value.
- An item coded by a single coder is *not pairable*: it cannot show agreement or disagreement, so
  it enters no figure (it still counts for ``n_coders`` and the label list of a report).
- Every figure is a :class:`Figure`. When the data cannot support it, ``value`` is ``None`` and
  ``reason`` says why in a readable sentence starting with "not enough data: ". A value is never
  NaN or infinite.
- Arithmetic is exact (integer counts, ``fractions.Fraction``) and converted to ``float`` once at
  the end, so the figures equal the reference libraries' to within float rounding and are
  reproducible whatever the order of the input.

The reference implementations, used by ``tests/test_agreement.py`` to prove the figures equal:
``krippendorff.alpha(..., level_of_measurement="nominal")``,
``sklearn.metrics.cohen_kappa_score`` and ``statsmodels.stats.inter_rater.fleiss_kappa``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import accumulate, combinations
from typing import Any, TypeVar

Ratings = Iterable[tuple[Hashable, Hashable, Hashable]]
"""``(item, coder, label)`` triples; one label per ``(item, coder)``."""

NO_PAIRABLE_ITEMS = "not enough data: no item was coded by two or more coders"
ONE_CATEGORY = "not enough data: only one category was used"
NO_SPANS = "not enough data: no spans were marked"
FEWER_THAN_TWO_CODERS = "not enough data: fewer than two coders"

# A coder, item or label: anything hashable, kept as the caller's own type where it is returned.
_Key = TypeVar("_Key", bound=Hashable)

# A table maps each item to {coder: label}; insertion order is the input order.
_Table = dict[Hashable, dict[Hashable, Hashable]]


@dataclass(frozen=True)
class Figure:
    """One agreement figure and the number of items behind it."""

    value: float | None  # None when not computable; never NaN or inf
    n_items: int  # items that entered the figure
    reason: str = ""  # when value is None: a readable "not enough data: ..." sentence

    def __post_init__(self) -> None:
        if self.value is None:
            if not self.reason:
                raise ValueError("a Figure without a value needs a reason")
        elif not math.isfinite(self.value):
            raise ValueError(f"a Figure value must be finite, not {self.value!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"value": _round(self.value), "n_items": self.n_items, "reason": self.reason}


@dataclass(frozen=True)
class ConfusionMatrix:
    """Symmetric counts of label pairs given by two coders to the same item.

    ``counts[i][j]`` is the number of coder pairs (unordered, on the same item) where one coder
    chose ``labels[i]`` and the other ``labels[j]``; so the diagonal holds the agreeing pairs,
    the matrix is symmetric, and the diagonal plus the upper triangle add up to ``n_pairs``.
    An item coded by ``m`` coders contributes its ``m * (m - 1) / 2`` pairs.
    """

    labels: tuple[Hashable, ...]
    counts: tuple[tuple[int, ...], ...]
    n_items: int  # pairable items behind the counts
    n_pairs: int  # coder pairs behind the counts

    def count(self, a: Hashable, b: Hashable) -> int:
        return self.counts[self.labels.index(a)][self.labels.index(b)]

    def disagreements(self) -> list[tuple[Hashable, Hashable, int]]:
        """``(label_a, label_b, pairs)`` for every pair of different labels that occurred, most
        frequent first (label order breaks ties)."""
        cells = [
            (self.labels[i], self.labels[j], self.counts[i][j])
            for i, j in combinations(range(len(self.labels)), 2)
            if self.counts[i][j]
        ]
        return sorted(cells, key=lambda cell: -cell[2])

    def as_dict(self) -> dict[str, Any]:
        return {
            "labels": [_json_value(label) for label in self.labels],
            "counts": [list(row) for row in self.counts],
            "n_items": self.n_items,
            "n_pairs": self.n_pairs,
        }


@dataclass(frozen=True)
class AgreementReport:
    """Every figure for one set of ratings; see :func:`report`."""

    n_items: int  # items coded by two or more coders
    n_coders: int  # coders with at least one label
    labels: tuple[Hashable, ...]  # labels used, in the confusion matrix's order
    krippendorff_alpha: Figure
    fleiss_kappa: Figure
    percent_agreement: Figure
    pairwise_cohen: dict[tuple[Hashable, Hashable], Figure]
    per_coder: dict[Hashable, Figure]
    confusion: ConfusionMatrix
    groups: dict[Hashable, AgreementReport] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict: floats rounded to 4 places, ``None`` kept, coders, labels
        and group keys that are not JSON scalars turned into strings, mappings keyed by tuples
        turned into lists."""
        return {
            "n_items": self.n_items,
            "n_coders": self.n_coders,
            "labels": [_json_value(label) for label in self.labels],
            "krippendorff_alpha": self.krippendorff_alpha.as_dict(),
            "fleiss_kappa": self.fleiss_kappa.as_dict(),
            "percent_agreement": self.percent_agreement.as_dict(),
            "pairwise_cohen": [
                {"coders": [_json_value(a), _json_value(b)], **figure.as_dict()}
                for (a, b), figure in self.pairwise_cohen.items()
            ],
            "per_coder": [
                {"coder": _json_value(coder), **figure.as_dict()}
                for coder, figure in self.per_coder.items()
            ],
            "confusion": self.confusion.as_dict(),
            "groups": [
                {"group": _json_value(key), **group.as_dict()} for key, group in self.groups.items()
            ],
        }


# --- public functions ---------------------------------------------------------------------------


def krippendorff_alpha(ratings: Ratings) -> Figure:
    """Krippendorff's alpha for nominal data, missing values allowed.

    ``alpha = 1 - D_o / D_e`` computed from the coincidence matrix of the pairable items (those
    coded by two or more coders; the others drop out). Undefined (``None``) when no item is
    pairable or when the pairable items use a single category (expected disagreement 0), which
    is where the ``krippendorff`` package raises or returns NaN.
    """
    return _alpha(_table(ratings))


def fleiss_kappa(ratings: Ratings) -> Figure:
    """Fleiss' kappa (Fleiss 1971), which assumes every item has the same number of coders.

    Unequal numbers of coders: the figure uses only the items whose number of coders is the most
    common one among items with two or more coders (on a tie, the larger number of coders); the
    other items are left out and ``n_items`` says how many entered. With complete data (every
    coder codes every item) that is all the items and the value equals
    ``statsmodels.stats.inter_rater.fleiss_kappa``. Undefined when no item is pairable or when
    the items used use a single category.
    """
    return _fleiss(_table(ratings))


def cohen_kappa(ratings: Ratings, coder_a: Hashable, coder_b: Hashable) -> Figure:
    """Cohen's kappa between two coders, on the items both coded.

    Equals ``sklearn.metrics.cohen_kappa_score``. Undefined when they share no item, or when
    chance agreement is 1 (both used the same single category throughout).
    """
    if coder_a == coder_b:
        raise ValueError("Cohen's kappa compares two different coders")
    return _cohen(_by_coder(_table(ratings)), coder_a, coder_b)


def percent_agreement(ratings: Ratings) -> Figure:
    """Raw agreement, pooled over coder pairs.

    Over every pairable item, count the unordered pairs of coders who coded it (``m * (m - 1) / 2``
    for an item with ``m`` coders) and those among them who gave the same label; the figure is
    agreeing pairs / all pairs. Items with more coders therefore weigh more; with two coders per
    item it is simply the share of items they agree on. Undefined only when no item is pairable.
    """
    return _percent(_table(ratings))


def pairwise_cohen(ratings: Ratings) -> dict[tuple[Hashable, Hashable], Figure]:
    """Cohen's kappa for every pair of coders, keyed ``(a, b)`` with ``a < b``.

    Every pair is present; a pair that shares no item gets ``value=None`` and a reason.
    Coders that cannot be compared with ``<`` are ordered by type name and ``repr``.
    """
    return _pairwise(_table(ratings))


def confusion(ratings: Ratings, labels: Iterable[Hashable] | None = None) -> ConfusionMatrix:
    """The coincidence-style matrix of label pairs; see :class:`ConfusionMatrix`.

    ``labels`` fixes the order of rows and columns (labels listed but never used get zero rows);
    labels used but not listed follow, sorted. By default all labels used, sorted.
    """
    return _confusion(_table(ratings), labels)


def per_coder(ratings: Ratings) -> dict[Hashable, Figure]:
    """Each coder's agreement with the others.

    For coder ``c``: over every item ``c`` coded that someone else coded too, pair ``c`` with each
    other coder of that item; the figure is the share of those pairs that gave the same label,
    and ``n_items`` the number of such items. A coder who never shares an item gets ``None``.
    """
    return _per_coder(_table(ratings))


def span_agreement(
    spans_by_coder: Mapping[_Key, Iterable[tuple[int, int] | tuple[Hashable, int, int]]],
) -> dict[str, Any]:
    """Agreement on where spans are, for every pair of coders, exact and by overlap.

    A span is ``(start, end)`` (start inclusive, end exclusive, ``start < end``) or
    ``(document, start, end)`` to put spans of many documents in one call; spans match only
    within the same document. Each coder's spans form a set (repeats count once).

    For a pair ``(a, b)`` (sorted), with ``A`` and ``B`` their span sets:

    - a span of ``A`` is *matched* when ``B`` holds the same span (exact mode), or when it
      overlaps some span of ``B``, i.e. they share at least one position (overlap mode);
      the same rule, swapped, matches spans of ``B``;
    - precision = matched spans of ``A`` / ``|A|``; recall = matched spans of ``B`` / ``|B|``
      (``b`` is treated as the reference; swapping the pair swaps P and R and keeps F1);
    - F1 = ``2PR / (P + R)``, 0 when ``P + R = 0`` or when only one of the two marked anything,
      ``None`` when neither did. In exact mode F1 reduces to ``2|A ∩ B| / (|A| + |B|)``.

    The micro average pools the counts over all pairs before dividing. Returns::

        {"pairs": {(a, b): {"exact": Figure, "overlap": Figure}},
         "micro": {"exact": Figure, "overlap": Figure}}

    where each Figure is an F1 and its ``n_items`` the number of spans behind it (``|A| + |B|``).
    """
    sets = {coder: _span_set(spans) for coder, spans in spans_by_coder.items()}
    pairs: dict[tuple[Hashable, Hashable], dict[str, Figure]] = {}
    totals = {"exact": [0, 0, 0, 0], "overlap": [0, 0, 0, 0]}
    for a, b in combinations(_ordered(sets), 2):
        span_a, span_b = sets[a], sets[b]
        shared = len(span_a & span_b)
        counts = {
            "exact": (shared, len(span_a), shared, len(span_b)),
            "overlap": (
                _overlapping(span_a, span_b),
                len(span_a),
                _overlapping(span_b, span_a),
                len(span_b),
            ),
        }
        pairs[(a, b)] = {mode: _f1(*numbers) for mode, numbers in counts.items()}
        for mode, numbers in counts.items():
            totals[mode] = [t + n for t, n in zip(totals[mode], numbers, strict=True)]
    if pairs:
        micro = {mode: _f1(*numbers) for mode, numbers in totals.items()}
    else:
        micro = {mode: Figure(None, 0, FEWER_THAN_TWO_CODERS) for mode in totals}
    return {"pairs": pairs, "micro": micro}


def report(
    ratings: Ratings, *, group_by: Callable[[Hashable], Hashable] | None = None
) -> AgreementReport:
    """All the figures for one set of ratings, read once.

    ``group_by`` maps an item to a group key (for example the claim's article); when given, the
    report also holds one report per group in ``groups`` (sorted by key), and the top-level
    figures cover all items together.
    """
    table = _table(ratings)
    groups: dict[Hashable, AgreementReport] = {}
    if group_by is not None:
        grouped: dict[Hashable, _Table] = defaultdict(dict)
        for item, codes in table.items():
            grouped[group_by(item)][item] = codes
        groups = {key: _report(grouped[key]) for key in _ordered(grouped)}
    return _report(table, groups)


# --- computations on a table ---------------------------------------------------------------------


def _table(ratings: Ratings) -> _Table:
    table: _Table = {}
    for item, coder, label in ratings:
        if label is None:
            continue
        codes = table.setdefault(item, {})
        previous = codes.setdefault(coder, label)
        if previous != label:
            raise ValueError(
                f"coder {coder!r} gave item {item!r} two labels: {previous!r} and {label!r}"
            )
    return table


def _pairable(table: _Table) -> list[Counter[Hashable]]:
    """Label counts of every item coded by two or more coders."""
    return [Counter(codes.values()) for codes in table.values() if len(codes) >= 2]


def _alpha(table: _Table) -> Figure:
    units = _pairable(table)
    if not units:
        return Figure(None, 0, NO_PAIRABLE_ITEMS)
    totals: Counter[Hashable] = Counter()
    # Disagreeing ordered pairs, grouped by the item's number of coders m, to divide by m - 1 once.
    disagreeing_by_size: Counter[int] = Counter()
    for counts in units:
        m = counts.total()
        totals.update(counts)
        disagreeing_by_size[m] += m * m - sum(c * c for c in counts.values())
    if len(totals) < 2:
        return Figure(None, len(units), ONE_CATEGORY)
    n = totals.total()
    observed = sum(Fraction(d, m - 1) for m, d in disagreeing_by_size.items())
    expected = Fraction(n * n - sum(c * c for c in totals.values()), n - 1)
    return _figure(1 - observed / expected, len(units))


def _fleiss(table: _Table) -> Figure:
    sizes = Counter(len(codes) for codes in table.values() if len(codes) >= 2)
    if not sizes:
        return Figure(None, 0, NO_PAIRABLE_ITEMS)
    m = max(sizes, key=lambda size: (sizes[size], size))
    units = [Counter(codes.values()) for codes in table.values() if len(codes) == m]
    totals: Counter[Hashable] = Counter()
    squares = 0
    for counts in units:
        totals.update(counts)
        squares += sum(c * c for c in counts.values())
    if len(totals) < 2:
        return Figure(None, len(units), ONE_CATEGORY)
    n_units = len(units)
    observed = Fraction(squares - n_units * m, n_units * m * (m - 1))
    expected = Fraction(sum(c * c for c in totals.values()), (n_units * m) ** 2)
    return _figure((observed - expected) / (1 - expected), n_units)


def _by_coder(table: _Table) -> dict[Hashable, dict[Hashable, Hashable]]:
    coders: dict[Hashable, dict[Hashable, Hashable]] = defaultdict(dict)
    for item, codes in table.items():
        for coder, label in codes.items():
            coders[coder][item] = label
    return coders


def _cohen(coders: Mapping[Hashable, dict[Hashable, Hashable]], a: Hashable, b: Hashable) -> Figure:
    labels_a, labels_b = coders.get(a, {}), coders.get(b, {})
    pairs = [(label, labels_b[item]) for item, label in labels_a.items() if item in labels_b]
    n = len(pairs)
    if n == 0:
        return Figure(None, 0, f"not enough data: no item was coded by both {a} and {b}")
    agreeing = sum(x == y for x, y in pairs)
    marginal_a = Counter(x for x, _ in pairs)
    marginal_b = Counter(y for _, y in pairs)
    chance = sum(count * marginal_b[label] for label, count in marginal_a.items())
    if chance == n * n:
        return Figure(None, n, ONE_CATEGORY)
    return _figure(Fraction(n * agreeing - chance, n * n - chance), n)


def _pairwise(table: _Table) -> dict[tuple[Hashable, Hashable], Figure]:
    coders = _by_coder(table)
    return {(a, b): _cohen(coders, a, b) for a, b in combinations(_ordered(coders), 2)}


def _percent(table: _Table) -> Figure:
    units = _pairable(table)
    if not units:
        return Figure(None, 0, NO_PAIRABLE_ITEMS)
    pairs = sum(_pairs(counts.total()) for counts in units)
    agreeing = sum(_pairs(c) for counts in units for c in counts.values())
    return _figure(Fraction(agreeing, pairs), len(units))


def _per_coder(table: _Table) -> dict[Hashable, Figure]:
    items: Counter[Hashable] = Counter()
    pairs: Counter[Hashable] = Counter()
    agreeing: Counter[Hashable] = Counter()
    coders: set[Hashable] = set()
    for codes in table.values():
        coders.update(codes)
        if len(codes) < 2:
            continue
        counts = Counter(codes.values())
        for coder, label in codes.items():
            items[coder] += 1
            pairs[coder] += len(codes) - 1
            agreeing[coder] += counts[label] - 1
    return {
        coder: _figure(Fraction(agreeing[coder], pairs[coder]), items[coder])
        if items[coder]
        else Figure(None, 0, "not enough data: no item this coder coded was coded by another")
        for coder in _ordered(coders)
    }


def _confusion(table: _Table, labels: Iterable[Hashable] | None) -> ConfusionMatrix:
    order = list(dict.fromkeys(labels)) if labels is not None else []
    known = set(order)
    order += _ordered({label for codes in table.values() for label in codes.values()} - known)
    index = {label: i for i, label in enumerate(order)}
    counts = [[0] * len(order) for _ in order]
    units = _pairable(table)
    for unit in units:
        for label, c in unit.items():
            counts[index[label]][index[label]] += _pairs(c)
        for (label_a, c_a), (label_b, c_b) in combinations(unit.items(), 2):
            i, j = index[label_a], index[label_b]
            counts[i][j] += c_a * c_b
            counts[j][i] += c_a * c_b
    return ConfusionMatrix(
        labels=tuple(order),
        counts=tuple(tuple(row) for row in counts),
        n_items=len(units),
        n_pairs=sum(_pairs(unit.total()) for unit in units),
    )


def _report(
    table: _Table, groups: dict[Hashable, AgreementReport] | None = None
) -> AgreementReport:
    matrix = _confusion(table, None)
    return AgreementReport(
        n_items=matrix.n_items,
        n_coders=len({coder for codes in table.values() for coder in codes}),
        labels=matrix.labels,
        krippendorff_alpha=_alpha(table),
        fleiss_kappa=_fleiss(table),
        percent_agreement=_percent(table),
        pairwise_cohen=_pairwise(table),
        per_coder=_per_coder(table),
        confusion=matrix,
        groups=groups or {},
    )


# --- spans ---------------------------------------------------------------------------------------


def _span_set(spans: Iterable[tuple[Any, ...]]) -> set[tuple[Hashable, int, int]]:
    result = set()
    for span in spans:
        if len(span) == 2:
            document, (start, end) = None, span
        elif len(span) == 3:
            document, start, end = span
        else:
            raise ValueError(f"a span is (start, end) or (document, start, end), not {span!r}")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
            raise ValueError(f"a span needs integer offsets with 0 <= start < end, not {span!r}")
        result.add((document, start, end))
    return result


def _overlapping(
    spans: set[tuple[Hashable, int, int]], others: set[tuple[Hashable, int, int]]
) -> int:
    """How many of ``spans`` share at least one position with some span of ``others``."""
    by_document: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)
    for document, start, end in others:
        by_document[document].append((start, end))
    # Per document: starts sorted, and the furthest end reached by any span starting up to there.
    index = {}
    for document, intervals in by_document.items():
        intervals.sort()
        index[document] = (
            [start for start, _ in intervals],
            list(accumulate((end for _, end in intervals), max)),
        )
    matched = 0
    for document, start, end in spans:
        if document not in index:
            continue
        starts, furthest_end = index[document]
        before_end = bisect_left(starts, end)  # others starting before this span ends
        if before_end and furthest_end[before_end - 1] > start:
            matched += 1
    return matched


def _f1(matched_a: int, size_a: int, matched_b: int, size_b: int) -> Figure:
    n_spans = size_a + size_b
    if n_spans == 0:
        return Figure(None, 0, NO_SPANS)
    if size_a == 0 or size_b == 0:
        return Figure(0.0, n_spans)
    precision = Fraction(matched_a, size_a)
    recall = Fraction(matched_b, size_b)
    if precision + recall == 0:
        return Figure(0.0, n_spans)
    return _figure(2 * precision * recall / (precision + recall), n_spans)


# --- helpers -------------------------------------------------------------------------------------


def _pairs(m: int) -> int:
    return m * (m - 1) // 2


def _figure(value: Fraction, n_items: int) -> Figure:
    return Figure(float(value), n_items)


def _ordered(values: Iterable[_Key]) -> list[_Key]:
    """Sorted naturally when the values compare, else by type name and repr (stable, total)."""
    values = list(values)
    try:
        # Hashable promises no ordering: values that do not compare raise, handled below.
        return sorted(values)  # type: ignore[type-var]
    except TypeError:
        return sorted(values, key=lambda value: (type(value).__name__, repr(value)))


def _round(value: float | None) -> float | None:
    # Adding 0.0 turns a rounded -0.0 into 0.0, which reads better in JSON.
    return None if value is None else round(value, 4) + 0.0


def _json_value(value: Hashable) -> Any:
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)
