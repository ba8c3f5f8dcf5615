"""Benchmark: the built-in suggester (articles/suggester).

1. Speed: suggestions for a 20,000-word article (the demo articles' paragraphs, shuffled and
   repeated), best of ``--repeat`` runs after one warm-up, split into its parts: pysbd's
   sentences, the WordLlama embeddings, the scoring. Reference, in the same run: a plain
   regular-expression sentence split of the same text, and embedding its sentences alone. The
   model's first load is timed apart (once per process). Storing the suggestions is not
   included (one bulk INSERT).
2. Quality on the demo corpus (articles/demo): the claims the demo team marked, less those a
   curator rejected, are the gold claims; a gold *claim sentence* is a pysbd sentence holding at
   least half of a gold claim's characters. The suggester runs as it ships (threshold 0.5, the
   prototype scorer: the demo corpus has fewer than 20 accepted claims, and training on them
   would be testing on the training set). Precision and recall of claim sentences, beside the
   "every sentence" baseline; other thresholds are printed for reading, not chosen from: the
   threshold and the prototypes were fixed before this was first run. And the corpus-trained
   scorer, leave one article out: trained on the other four articles' claims (as it would be
   on a corpus with enough accepted claims), measured on the fifth.

    .venv/bin/python bench/bench_suggest.py
    .venv/bin/python bench/bench_suggest.py --words 50000 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from harness import print_machine, table  # noqa: E402

from articles import anchoring, embedding, suggester  # noqa: E402
from articles.demo import ARTICLES_DIR, read_article  # noqa: E402
from articles.demo.plan import ARTICLES  # noqa: E402
from articles.models import Article  # noqa: E402
from articles.suggester import logistic  # noqa: E402
from articles.suggester.model import claim_scores  # noqa: E402
from articles.suggester.sentences import sentences  # noqa: E402

NAIVE_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def demo_texts() -> list[str]:
    return [anchoring.normalize_text(read_article(ARTICLES_DIR / a.file)["text"]) for a in ARTICLES]


def long_article(words: int, seed: int = 7) -> str:
    paragraphs = [p for text in demo_texts() for p in text.split("\n") if p.strip()]
    rng = random.Random(seed)
    chosen: list[str] = []
    count = 0
    while count < words:
        paragraph = rng.choice(paragraphs)
        chosen.append(paragraph)
        count += len(paragraph.split())
    return "\n\n".join(chosen) + "\n"


def best(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def speed(words: int, repeat: int) -> None:
    started = time.perf_counter()
    embedding.model()
    load = time.perf_counter() - started
    text = long_article(words)
    article = Article(text=text, language="en")
    training = suggester.Training()
    suggester.suggest(article, training)  # warm-up: pysbd's rules, the prototypes
    spans = sentences(text)
    pieces = [text[s:e] for s, e in spans]
    vectors = embedding.embed(pieces)
    naive = [m.group().strip() for m in NAIVE_SENTENCE.finditer(text) if m.group().strip()]
    t_total = best(lambda: suggester.suggest(article, training), repeat)
    t_sentences = best(lambda: sentences(text), repeat)
    t_embed = best(lambda: embedding.embed(pieces), repeat)
    t_score = best(lambda: claim_scores(vectors, training), repeat)
    t_naive = best(lambda: [m.group() for m in NAIVE_SENTENCE.finditer(text)], repeat)
    t_naive_embed = best(lambda: embedding.embed(naive), repeat)
    found = suggester.suggest(article, training)
    print(
        f"\nSpeed: one article of {len(text.split()):,} words, {len(text):,} characters, "
        f"{len(spans):,} sentences (pysbd), {len(found):,} suggested; best of {repeat}."
    )
    print(
        table(
            ["step", "seconds", "vs reference"],
            [
                ["suggest(): all of it", f"{t_total:.2f}", f"{t_total / t_naive_embed:.1f}×"],
                ["  sentences (pysbd)", f"{t_sentences:.2f}", f"{t_sentences / t_naive:.0f}×"],
                ["  embeddings", f"{t_embed:.2f}", f"{t_embed / t_naive_embed:.1f}×"],
                ["  scores", f"{t_score:.3f}", ""],
                ["reference: regex split", f"{t_naive:.3f}", "1×"],
                ["reference: embed regex sentences", f"{t_naive_embed:.2f}", "1×"],
                ["model load, once per process", f"{load:.2f}", ""],
            ],
        )
    )


def gold_sentences(text: str, claims: list[str], spans: list[tuple[int, int]]) -> set[int]:
    """Indexes of the sentences holding at least half of a gold claim."""
    found: set[int] = set()
    for exact in claims:
        start = text.index(exact)
        end = start + len(exact)
        for i, (s, e) in enumerate(spans):
            if min(e, end) - max(s, start) >= (end - start) / 2:
                found.add(i)
    return found


def _trained_elsewhere(articles: list[tuple[str, list[str]]], held: int) -> suggester.Training:
    """The corpus-trained scorer as it would be trained on the other articles' claims (the
    same recipe as model._train_spans: claims against sentences holding none)."""
    positives: list[str] = []
    negatives: list[str] = []
    for index, (text, claims) in enumerate(articles):
        if index == held:
            continue
        positives += claims
        where = [(text.index(c), text.index(c) + len(c)) for c in claims]
        for s, e in sentences(text):
            if not any(s < end and start < e for start, end in where):
                negatives.append(text[s:e])
    x = np.vstack([embedding.embed(positives), embedding.embed(negatives)])
    labels = ["claim"] * len(positives) + ["other"] * len(negatives)
    return suggester.Training(span_model=logistic.fit(x, labels), span_examples=len(positives))


def quality() -> None:
    prototypes = suggester.Training()  # the prototype scorer, as the demo corpus gets it
    rows_by_threshold: dict[float, list[int]] = {t: [0, 0] for t in (0.5, 0.6, 0.7, 0.8)}
    trained_counts = [0, 0]
    total_sentences = total_gold = total_claims = 0
    articles = []
    for item, text in zip(ARTICLES, demo_texts(), strict=True):
        rejected = {i for i, review in item.reviews.items() if review[0] == "rejected"}
        articles.append((text, [c.exact for i, c in enumerate(item.claims) if i not in rejected]))
    for index, (text, claims) in enumerate(articles):
        total_claims += len(claims)
        spans = sentences(text)
        gold = gold_sentences(text, claims, spans)
        vectors = embedding.embed([text[s:e] for s, e in spans])
        scores = claim_scores(vectors, prototypes)
        total_sentences += len(spans)
        total_gold += len(gold)
        for threshold, counts in rows_by_threshold.items():
            predicted = {i for i, score in enumerate(scores) if score >= threshold}
            counts[0] += len(predicted)
            counts[1] += len(predicted & gold)
        trained = claim_scores(vectors, _trained_elsewhere(articles, index))
        predicted = {i for i, score in enumerate(trained) if score >= suggester.THRESHOLD}
        trained_counts[0] += len(predicted)
        trained_counts[1] += len(predicted & gold)

    def row(name: str, predicted: int, hits: int) -> list[object]:
        precision = hits / predicted if predicted else float("nan")
        recall = hits / total_gold if total_gold else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if predicted and hits else 0.0
        return [name, predicted, hits, f"{precision:.2f}", f"{recall:.2f}", f"{f1:.2f}"]

    print(
        f"\nQuality: the demo corpus, {len(ARTICLES)} articles, {total_sentences} sentences, "
        f"{total_claims} gold claims (the demo team's, less curator-rejected) in "
        f"{total_gold} claim sentences."
    )
    rows = [row("every sentence (baseline)", total_sentences, total_gold)]
    for threshold, (predicted, hits) in rows_by_threshold.items():
        shipped = " (as shipped)" if threshold == suggester.THRESHOLD else " (for reading)"
        rows.append(row(f"builtin, score ≥ {threshold}{shipped}", predicted, hits))
    rows.append(row("trained on the other 4 articles, ≥ 0.5", *trained_counts))
    print(table(["suggester", "suggested", "claim sentences", "precision", "recall", "F1"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print_machine()
    print(f"numpy {np.__version__}, model {embedding.model_name()}, suggester {suggester.MODEL}")
    speed(args.words, args.repeat)
    quality()


if __name__ == "__main__":
    main()
