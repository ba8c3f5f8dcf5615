"""Benchmark: re-anchoring spans after an article's text changed (articles/reanchor).

Two measurements, each for several choices of library on the same engine, side by side:

- speed: 1,000 spans on a 200 kB article after 20 newsroom edits (the difference of the two
  texts, then the placing of every span; best of ``--repeat`` runs);
- accuracy: spans of generated articles after 1 to 20 edits each (bench/reanchor_cases.py), every
  placement judged against the span's true fate: placed on its own words (exact, moved, fuzzy),
  orphaned because its text is gone or too edited, orphaned although intact (missed), and
  WRONG (placed on other words: must be zero).

``--tune`` runs the engine on the development seeds (disjoint from the seeds measured) over a
grid of its thresholds and prints, for each, the wrong placements and what was placed; the
module's thresholds are chosen from it with a margin (see articles/reanchor/__init__.py).

    .venv/bin/python bench/bench_reanchor.py                 # about a minute
    .venv/bin/python bench/bench_reanchor.py --cases 100 --repeat 1
    .venv/bin/python bench/bench_reanchor.py --tune
"""

from __future__ import annotations

import argparse
import difflib
import os
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import edlib  # noqa: E402
from diff_match_patch import diff_match_patch  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402
from reanchor_cases import (  # noqa: E402
    OUTCOMES,
    Fate,
    Prose,
    demo_texts,
    edit,
    fates,
    judge,
    spans,
)

from articles.anchoring import normalize_text  # noqa: E402
from articles.reanchor import (  # noqa: E402
    ACCEPT_SCORE,
    MIN_QUOTE_SIMILARITY,
    UNIQUE_QUOTE_LENGTH,
    EdlibFinder,
    RapidfuzzFinder,
    Reanchorer,
    rapidfuzz_opcodes,
)
from articles.reanchor.diff import Opcode  # noqa: E402

DEV_SEEDS = range(1_000, 1_000_000, 7)  # --tune draws from these
TEST_SEEDS = range(1, 1_000_000, 7)  # the accuracy table draws from these (never a dev seed)


# --- Differs from the other libraries (the engine's own is rapidfuzz_opcodes) ------------------


def levenshtein_only_opcodes(old: str, new: str) -> list[Opcode]:
    """rapidfuzz's banded Levenshtein alone, without the Indel pass between its long runs."""
    return [tuple(op) for op in Levenshtein.opcodes(old, new, score_hint=256)]


def edlib_opcodes(old: str, new: str) -> list[Opcode]:
    """edlib's global alignment (NW) with its path, the texts encoded as bytes (<= 256 symbols)."""
    alphabet = {char: code for code, char in enumerate(sorted(set(old) | set(new)))}
    if len(alphabet) > 256:
        raise ValueError("edlib aligns at most 256 distinct characters")
    table = {ord(char): code for char, code in alphabet.items()}
    result = edlib.align(
        old.translate(table).encode("latin-1"),
        new.translate(table).encode("latin-1"),
        mode="NW",
        task="path",
    )
    ops: list[Opcode] = []
    i = j = 0
    number = ""
    for char in result["cigar"] or "":
        if char.isdigit():
            number += char
            continue
        count, number = int(number), ""
        # Query = old, target = new: "I" is a character of old only, "D" one of new only.
        step = {"=": ("equal", count, count), "X": ("replace", count, count)}.get(
            char, ("delete", count, 0) if char == "I" else ("insert", 0, count)
        )
        tag, di, dj = step
        if ops and ops[-1][0] == tag:
            ops[-1] = (tag, ops[-1][1], i + di, ops[-1][3], j + dj)
        else:
            ops.append((tag, i, i + di, j, j + dj))
        i, j = i + di, j + dj
    return ops


def dmp_opcodes(old: str, new: str) -> list[Opcode]:
    """diff-match-patch's diff_main (Myers, line mode first; its default 1 s time limit)."""
    ops: list[Opcode] = []
    i = j = 0
    for operation, piece in diff_match_patch().diff_main(old, new):
        n = len(piece)
        tag, di, dj = {0: ("equal", n, n), -1: ("delete", n, 0), 1: ("insert", 0, n)}[operation]
        ops.append((tag, i, i + di, j, j + dj))
        i, j = i + di, j + dj
    return ops


def difflib_opcodes(old: str, new: str) -> list[Opcode]:
    """The standard library: SequenceMatcher on lines, then on characters inside changed lines."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    old_at = [0]
    for line in old_lines:
        old_at.append(old_at[-1] + len(line))
    new_at = [0]
    for line in new_lines:
        new_at.append(new_at[-1] + len(line))
    ops: list[Opcode] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        a1, a2, b1, b2 = old_at[i1], old_at[i2], new_at[j1], new_at[j2]
        if tag != "replace":
            ops.append((tag, a1, a2, b1, b2))
            continue
        chars = difflib.SequenceMatcher(None, old[a1:a2], new[b1:b2], autojunk=False)
        ops.extend(
            (t, a1 + c1, a1 + c2, b1 + d1, b1 + d2) for t, c1, c2, d1, d2 in chars.get_opcodes()
        )
    return ops


CHOICES: list[tuple[str, Callable, Callable]] = [
    ("rapidfuzz diff + edlib search (in use)", rapidfuzz_opcodes, EdlibFinder),
    ("rapidfuzz diff + rapidfuzz search", rapidfuzz_opcodes, RapidfuzzFinder),
    ("rapidfuzz Levenshtein only + edlib", levenshtein_only_opcodes, EdlibFinder),
    ("edlib diff + edlib search", edlib_opcodes, EdlibFinder),
    ("diff-match-patch diff + edlib search", dmp_opcodes, EdlibFinder),
    ("difflib diff + edlib search", difflib_opcodes, EdlibFinder),
]


# --- Cases ------------------------------------------------------------------------------------


def case(seed: int, prose: Prose, demos: list[str]) -> tuple[str, list, object, list]:
    """One generated article, its spans, its edited version and every span's true fate."""
    rng = random.Random(seed)
    if rng.random() < 0.3:
        text = rng.choice(demos)
    else:
        text = prose.article(rng, rng.choice([2_000, 5_000, 10_000, 20_000]))
    chosen = spans(text, rng, 40)
    draft = edit(text, rng, prose, rng.randint(1, 20))
    return text, chosen, draft, fates(draft, len(text), chosen)


def accuracy(
    seeds: range, count: int, differ: Callable, finder: Callable, **thresholds: float
) -> Counter:
    prose, demos = Prose(), demo_texts()
    outcomes: Counter = Counter()
    for seed in seeds[:count]:
        text, chosen, draft, truth = case(seed, prose, demos)
        engine = Reanchorer(text, draft.text, differ=differ, finder=finder, **thresholds)
        for anchor, fate in zip(engine.anchor_all(chosen), truth, strict=True):
            outcomes[judge(anchor, fate)] += 1
            if anchor.placed:
                assert anchor.exact == draft.text[anchor.start : anchor.end]
    return outcomes


ARTICLE_SIZE = 200_000
SPAN_COUNT = 1_000
EDIT_COUNT = 20


def speed_case(rewritten: bool = False) -> tuple[str, list, str, list]:
    """The 200 kB article, its 1,000 spans, its new text and every span's true fate.

    ``rewritten``: the new text is another text of the same size, words drawn at random from
    the same vocabulary (every span is orphaned after a search of the whole text: the worst
    case, not a newsroom edit).
    """
    rng = random.Random(20)
    prose = Prose()
    text = prose.article(rng, ARTICLE_SIZE)
    chosen = spans(text, rng, SPAN_COUNT)
    if rewritten:
        other = random.Random(21)
        new = ""
        while len(new) < ARTICLE_SIZE:
            new += prose.words(other, other.randint(8, 30)).capitalize() + ". "
        new = normalize_text(new)
        return text, chosen, new, [Fate("gone", None, None)] * len(chosen)
    draft = edit(text, rng, prose, EDIT_COUNT)
    return text, chosen, draft.text, fates(draft, len(text), chosen)


def speed(
    case_: tuple[str, list, str, list], differ: Callable, finder: Callable, repeat: int
) -> tuple[float, float, Counter]:
    """Best (diff s, placing s) over ``repeat`` runs, and the outcomes."""
    text, chosen, new, truth = case_
    best_diff = best_place = float("inf")
    outcomes: Counter = Counter()
    for _ in range(repeat):
        began = time.perf_counter()
        engine = Reanchorer(text, new, differ=differ, finder=finder)
        diffed = time.perf_counter()
        anchors = engine.anchor_all(chosen)
        placed = time.perf_counter()
        best_diff = min(best_diff, diffed - began)
        best_place = min(best_place, placed - diffed)
        outcomes = Counter(judge(a, f) for a, f in zip(anchors, truth, strict=True))
    return best_diff, best_place, outcomes


# --- Output -----------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    ram = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    libraries = ", ".join(
        f"{name} {version(name)}" for name in ("rapidfuzz", "edlib", "diff-match-patch")
    )
    return (
        f"{cpu}, {os.cpu_count()} cores{ram}{load}; Python {platform.python_version()}; {libraries}"
    )


def row(cells: list[object]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300, help="generated articles for accuracy")
    parser.add_argument("--repeat", type=int, default=3, help="speed runs per choice (best kept)")
    parser.add_argument("--tune", action="store_true", help="threshold grid on the dev seeds")
    parser.add_argument("--only", help="only the choices whose name contains this")
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    if args.tune:
        tune(args.cases)
        return
    choices = [c for c in CHOICES if not args.only or args.only in c[0]]

    edited = speed_case()
    print(
        f"Speed: {SPAN_COUNT:,} spans on a {len(edited[0]):,}-code-point article after "
        f"{EDIT_COUNT} edits ({len(edited[2]):,} code points after), best of {args.repeat} runs\n"
    )
    print(row(["library", "diff s", "placing s", "total s", "spans/s", *OUTCOMES]))
    print(row(["---", *["---:"] * (4 + len(OUTCOMES))]))
    rows = [(name, differ, finder, edited) for name, differ, finder in choices]
    if choices and choices[0][0] == CHOICES[0][0]:
        name, differ, finder = choices[0]
        rows.append((f"{name}, text rewritten", differ, finder, speed_case(rewritten=True)))
    for name, differ, finder, case_ in rows:
        diff_s, place_s, outcomes = speed(case_, differ, finder, args.repeat)
        total = diff_s + place_s
        cells = [f"{diff_s:.3f}", f"{place_s:.3f}", f"{total:.3f}", f"{SPAN_COUNT / total:,.0f}"]
        print(row([name, *cells, *(outcomes[o] for o in OUTCOMES)]), flush=True)

    print(
        f"\nAccuracy: {args.cases} generated articles x 40 spans, 1 to 20 edits each "
        f"(thresholds: score >= {ACCEPT_SCORE}, quote >= {MIN_QUOTE_SIMILARITY})\n"
    )
    print(row(["library", "spans", *OUTCOMES, "s"]))
    print(row(["---", *["---:"] * (len(OUTCOMES) + 2)]))
    for name, differ, finder in choices:
        began = time.perf_counter()
        outcomes = accuracy(TEST_SEEDS, args.cases, differ, finder)
        elapsed = time.perf_counter() - began
        cells = [outcomes[o] for o in OUTCOMES]
        print(row([name, sum(cells), *cells, f"{elapsed:.1f}"]), flush=True)


def tune(cases: int) -> None:
    """Wrong placements and placed spans for threshold settings, on the development seeds."""
    print(f"Development set: {cases} articles x 40 spans (seeds disjoint from the measured ones)\n")
    header = ["score >=", "quote >=", "unique quote >=", "WRONG", "exact+moved", "fuzzy"]
    header += ["orphan, edited", "orphan, intact"]
    print(row(header))
    print(row(["---:"] * len(header)))
    grid = [
        (score, 0.6, unique)
        for score in (0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
        for unique in (16, 24, 32)
    ]
    grid += [(ACCEPT_SCORE, quote, UNIQUE_QUOTE_LENGTH) for quote in (0.5, 0.7)]
    for score, quote, unique in grid:
        outcomes = accuracy(
            DEV_SEEDS,
            cases,
            rapidfuzz_opcodes,
            EdlibFinder,
            accept_score=score,
            min_quote_similarity=quote,
            unique_quote_length=unique,
        )
        cells = [outcomes["exact"] + outcomes["moved"], outcomes["fuzzy"]]
        cells += [outcomes["orphan, edited"], outcomes["orphan, intact"]]
        print(row([score, quote, unique, outcomes["WRONG"], *cells]), flush=True)


if __name__ == "__main__":
    main()
