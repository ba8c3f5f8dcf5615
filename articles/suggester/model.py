"""The built-in suggester's models (see the package's docstring for what each does)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .. import anchoring, embedding
from ..models import Article, Claim, Corpus, Review, ReviewDecision, Topic
from ..services.suggestions import SuggestionFields
from . import logistic
from .sentences import sentences

VERSION = "1"
MODEL = f"builtin@{VERSION}"
THRESHOLD = 0.5
MIN_SPAN_EXAMPLES = 20
MIN_STANCE_EXAMPLES = 30
MIN_PER_STANCE = 5  # each stance the classifier learns needs this many examples
CV_FOLDS = 5

# What an argumentative claim sounds like, and what reporting sounds like (package docstring).
CLAIM_PROTOTYPES = (
    "This policy is a serious mistake and should be reversed.",
    "The government must act now to protect its citizens.",
    "We should reject this proposal because it will do more harm than good.",
    "The new rules will fail to achieve their goal.",
    "It is wrong to punish the many for the actions of a few.",
    "The benefits of the plan clearly outweigh its costs.",
    "Regulators have no business deciding what people may publish.",
    "The strategy is working, and abandoning it now would be reckless.",
    "This approach is shortsighted and will backfire.",
    "Lawmakers ought to give the measure more time before judging it.",
    "The claim that the ban protects national security does not hold up.",
    "Openness makes the technology safer, not more dangerous.",
    "The industry cannot be trusted to police itself.",
    "Such restrictions only encourage rivals to build their own alternatives.",
)
OTHER_PROTOTYPES = (
    "The company announced the results on Tuesday.",
    "The meeting took place in the capital last week.",
    "She said in an interview that the talks would continue.",
    "The report was published by the agency in March.",
    "Sales rose by 12 percent in the third quarter.",
    "The firm employs about 4,000 people in three countries.",
    "He joined the ministry in 2019 after a decade in industry.",
    "The rules were first introduced two years ago.",
    "Officials declined to comment on the figures.",
    "The article was first published in a weekly newsletter.",
)
PROTOTYPE_SLOPE = 14.0  # how sharply the similarity difference turns into a score


@dataclass(frozen=True)
class StanceModel:
    topic: Topic
    model: logistic.Logistic
    examples: int
    cv_accuracy: float
    label: np.ndarray  # the topic label's embedding, to pick a sentence's topic


@dataclass
class Training:
    """What the corpus taught the suggester (outside one article), and how."""

    span_model: logistic.Logistic | None = None
    span_examples: int = 0
    stance: list[StanceModel] = field(default_factory=list)
    stance_examples: dict[str, int] = field(default_factory=dict)  # topic label -> examples

    @property
    def span_scorer(self) -> str:
        return "trained" if self.span_model is not None else "prototypes"

    def describe(self) -> dict[str, object]:
        return {
            "model": MODEL,
            "span_scorer": self.span_scorer,
            "span_examples": self.span_examples,
            "min_span_examples": MIN_SPAN_EXAMPLES,
            "threshold": THRESHOLD,
            "min_stance_examples": MIN_STANCE_EXAMPLES,
            "stance": [
                {
                    "topic": s.topic.label,
                    "examples": s.examples,
                    "cv_accuracy": round(s.cv_accuracy, 4),
                    "folds": CV_FOLDS,
                }
                for s in self.stance
            ],
            "stance_examples": self.stance_examples,
        }


def _overlaps(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


def train(corpus: Corpus, *, exclude_article_id: int | None = None) -> Training:
    """The suggester as the corpus's accepted claims (outside `exclude_article_id`) train it."""
    reviews = Review.objects.filter(
        decision=ReviewDecision.ACCEPTED,
        claim__deleted_at__isnull=True,
        claim__article__deleted_at__isnull=True,
        claim__article__corpus=corpus,
    )
    if exclude_article_id is not None:
        reviews = reviews.exclude(claim__article_id=exclude_article_id)
    rows = list(
        reviews.select_related("claim", "topic").order_by(
            "claim__article_id", "claim__start", "claim_id"
        )
    )
    training = Training(span_examples=len(rows))
    if not rows:
        return training
    vectors = embedding.embed([r.claim.exact for r in rows])
    if len(rows) >= MIN_SPAN_EXAMPLES:
        training.span_model = _train_spans(rows, vectors)
    by_topic: dict[int, list[int]] = defaultdict(list)
    for i, review in enumerate(rows):
        if review.topic_id is not None and review.stance:
            by_topic[review.topic_id].append(i)
    for indexes in by_topic.values():
        topic = rows[indexes[0]].topic
        assert topic is not None
        training.stance_examples[topic.label] = len(indexes)
        labels = [rows[i].stance for i in indexes]
        counts = {label: labels.count(label) for label in set(labels)}
        learnable = [i for i in indexes if counts[rows[i].stance] >= MIN_PER_STANCE]
        labels = [rows[i].stance for i in learnable]
        if len(learnable) < MIN_STANCE_EXAMPLES or len(set(labels)) < 2:
            continue
        x = vectors[learnable]
        training.stance.append(
            StanceModel(
                topic=topic,
                model=logistic.fit(x, labels),
                examples=len(learnable),
                cv_accuracy=logistic.cross_validated_accuracy(x, labels, folds=CV_FOLDS),
                label=embedding.embed([topic.label])[0],
            )
        )
    return training


def _train_spans(rows: list[Review], positives: np.ndarray) -> logistic.Logistic:
    """Accepted claims against the sentences of their articles that hold no claim but rejected
    ones (a sentence around an unreviewed claim is left out: nobody has said what it is)."""
    article_ids = sorted({r.claim.article_id for r in rows})
    claims: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for article_id, start, end, decision in Claim.objects.filter(
        article_id__in=article_ids, deleted_at__isnull=True
    ).values_list("article_id", "start", "end", "review__decision"):
        if decision != ReviewDecision.REJECTED and start is not None and end is not None:
            claims[article_id].append((start, end))  # an orphan has no span to learn from
    negatives: list[str] = []
    for article in Article.objects.filter(pk__in=article_ids).only("text", "language"):
        for span in sentences(article.text, article.language):
            if not _overlaps(span, claims[article.pk]):
                negatives.append(article.text[span[0] : span[1]])
    x = np.vstack([positives, embedding.embed(negatives)]) if negatives else positives
    labels = ["claim"] * len(positives) + ["other"] * len(negatives)
    if len(set(labels)) < 2:
        labels[-1] = "other"  # a corpus of claims only: nothing to contrast, learn little
    return logistic.fit(x, labels)


_prototype_vectors: tuple[np.ndarray, np.ndarray] | None = None


def _prototypes() -> tuple[np.ndarray, np.ndarray]:
    global _prototype_vectors
    if _prototype_vectors is None:
        _prototype_vectors = (
            embedding.embed(list(CLAIM_PROTOTYPES)),
            embedding.embed(list(OTHER_PROTOTYPES)),
        )
    return _prototype_vectors


def claim_scores(vectors: np.ndarray, training: Training) -> np.ndarray:
    """How likely each embedded sentence is a claim, 0 to 1."""
    if len(vectors) == 0:
        return np.zeros(0)
    if training.span_model is not None:
        column = training.span_model.classes.index("claim")
        return training.span_model.probabilities(vectors)[:, column]
    claims, others = _prototypes()
    gap = (vectors @ claims.T).max(axis=1) - (vectors @ others.T).max(axis=1)
    return 1.0 / (1.0 + np.exp(-PROTOTYPE_SLOPE * gap))


def suggest(article: Article, training: Training | None = None) -> list[SuggestionFields]:
    """The claim sentences of `article` scoring at least THRESHOLD, in text order."""
    if training is None:
        training = train(article.corpus, exclude_article_id=article.pk)
    text = article.text
    spans = sentences(text, article.language)
    if not spans:
        return []
    vectors = embedding.embed([text[start:end] for start, end in spans])
    scores = claim_scores(vectors, training)
    found: list[SuggestionFields] = []
    for (start, end), vector, score in zip(spans, vectors, scores, strict=True):
        if score < THRESHOLD:
            continue
        topic_id, stance = None, ""
        if training.stance:
            best = max(training.stance, key=lambda s: float(vector @ s.label))
            topic_id, stance = best.topic.pk, best.model.predict(vector[None, :])[0]
        prefix, suffix = anchoring.context_around(text, start, end)
        found.append(
            SuggestionFields(
                span=anchoring.Span(start, end, text[start:end], prefix, suffix),
                topic=topic_id,
                stance=stance,
                labels=[],
                score=round(float(score), 4),
            )
        )
    return found
