"""How each model's suggestions compare with people: counts by state, and precision and recall
of spans and stances against the claims curators accepted.

Matching. Gold is every live claim a curator accepted, in the articles the model suggested on
(a model is judged on the articles it ran on, not the whole corpus). A suggestion matches a gold
claim when their spans overlap with a Jaccard index (shared code points over joined code
points) of at least `MIN_JACCARD`; each gold claim is matched at most once, best overlap first.
The exact figures ask for the same start and end.
- span precision: matched suggestions / suggestions; span recall: matched gold / gold.
- stance precision: suggestions with a stance whose matched gold claim has that stance (toward
  the suggestion's topic, or any topic when it names none) / suggestions with a stance that
  matched a gold claim; stance recall: gold claims matched by a suggestion with the right stance
  / gold claims.
States count each suggestion once: accepted if anybody accepted it, rejected if everybody who
decided rejected it, open if nobody decided (the metrics are for curators and owners, who see
every decision).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from ..models import Claim, Corpus, ReviewDecision, Suggestion, SuggestionState
from .model import train

MIN_JACCARD = 0.5


@dataclass
class Figures:
    suggestions: int = 0
    gold: int = 0
    matched_suggestions: int = 0
    matched_gold: int = 0
    exact_suggestions: int = 0
    exact_gold: int = 0
    stance_suggested: int = 0  # with a stance, matched to a gold claim
    stance_correct: int = 0

    def ratio(self, top: int, bottom: int) -> float | None:
        return round(top / bottom, 4) if bottom else None

    def as_dict(self) -> dict[str, object]:
        precision = self.ratio(self.matched_suggestions, self.suggestions)
        recall = self.ratio(self.matched_gold, self.gold)
        f1 = (
            round(2 * precision * recall / (precision + recall), 4)
            if precision and recall
            else None
        )
        return {
            "spans": {
                "suggestions": self.suggestions,
                "gold": self.gold,
                "matched_suggestions": self.matched_suggestions,
                "matched_gold": self.matched_gold,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "exact_precision": self.ratio(self.exact_suggestions, self.suggestions),
                "exact_recall": self.ratio(self.exact_gold, self.gold),
            },
            "stances": {
                "compared": self.stance_suggested,
                "correct": self.stance_correct,
                "precision": self.ratio(self.stance_correct, self.stance_suggested),
                "recall": self.ratio(self.stance_correct, self.gold),
            },
        }


@dataclass
class ModelMetrics:
    model: str
    articles: int = 0
    states: dict[str, int] = field(default_factory=dict)
    figures: Figures = field(default_factory=Figures)

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "articles": self.articles,
            "states": self.states,
            **self.figures.as_dict(),
        }


def jaccard(a: tuple[int, int], b: tuple[int, int]) -> float:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    if shared <= 0:
        return 0.0
    return shared / (max(a[1], b[1]) - min(a[0], b[0]))


@dataclass(frozen=True)
class _Gold:
    start: int
    end: int
    topic_id: int | None
    stance: str


def compare(
    suggested: list[tuple[int, int, int | None, str]], gold: list[_Gold], figures: Figures
) -> None:
    """Adds one article's comparison to `figures`: `suggested` as (start, end, topic, stance)."""
    figures.suggestions += len(suggested)
    figures.gold += len(gold)
    exact = {(g.start, g.end) for g in gold}
    figures.exact_suggestions += sum((s[0], s[1]) in exact for s in suggested)
    figures.exact_gold += len(exact & {(s[0], s[1]) for s in suggested})
    pairs = sorted(
        (
            (jaccard((s[0], s[1]), (g.start, g.end)), i, j)
            for i, s in enumerate(suggested)
            for j, g in enumerate(gold)
        ),
        reverse=True,
    )
    used_s: set[int] = set()
    used_g: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < MIN_JACCARD:
            break
        if i in used_s or j in used_g:
            continue
        used_s.add(i)
        used_g.add(j)
        _, _, topic_id, stance = suggested[i]
        if stance:
            figures.stance_suggested += 1
            g = gold[j]
            if stance == g.stance and (topic_id is None or topic_id == g.topic_id):
                figures.stance_correct += 1
    figures.matched_suggestions += len(used_s)
    figures.matched_gold += len(used_g)


def corpus_metrics(corpus: Corpus) -> list[ModelMetrics]:
    """Per model (by name), in name order. Three queries."""
    suggestions = (
        Suggestion.objects.filter(article__corpus=corpus, article__deleted_at__isnull=True)
        .annotate(
            n_accepted=Count("decisions", filter=Q(decisions__state=SuggestionState.ACCEPTED)),
            n_decided=Count("decisions"),
        )
        .order_by("model", "article_id", "start")
        .values_list(
            "model", "article_id", "start", "end", "topic_id", "stance", "n_accepted", "n_decided"
        )
    )
    by_model: dict[str, dict[int, list[tuple[int, int, int | None, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    metrics: dict[str, ModelMetrics] = {}
    for model, article_id, start, end, topic_id, stance, accepted, decided in suggestions:
        entry = metrics.setdefault(
            model, ModelMetrics(model=model, states=dict.fromkeys(SuggestionState.values, 0))
        )
        state = "accepted" if accepted else "rejected" if decided else "open"
        entry.states[state] += 1
        by_model[model][article_id].append((start, end, topic_id, stance))
    article_ids = {a for articles in by_model.values() for a in articles}
    gold: dict[int, list[_Gold]] = defaultdict(list)
    for article_id, gold_start, gold_end, topic_id, stance in Claim.objects.filter(
        article_id__in=article_ids,
        deleted_at__isnull=True,
        start__isnull=False,  # an orphan (its words left the text) has no span to match
        review__decision=ReviewDecision.ACCEPTED,
    ).values_list("article_id", "start", "end", "review__topic_id", "review__stance"):
        assert gold_start is not None and gold_end is not None
        gold[article_id].append(_Gold(gold_start, gold_end, topic_id, stance))
    for model, articles in by_model.items():
        entry = metrics[model]
        entry.articles = len(articles)
        for article_id, suggested in articles.items():
            compare(suggested, gold[article_id], entry.figures)
    return [metrics[name] for name in sorted(metrics)]


def report(corpus: Corpus) -> dict[str, Any]:
    """The metrics as the API and the page give them: every model's, how they were matched,
    and what the built-in suggester learnt from this corpus."""
    return {
        "corpus": corpus.slug,
        "matching": {
            "gold": "live claims a curator accepted, in the articles the model suggested on",
            "min_jaccard": MIN_JACCARD,
        },
        "models": [m.as_dict() for m in corpus_metrics(corpus)],
        "builtin": train(corpus).describe(),
    }
