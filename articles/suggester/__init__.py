"""The built-in suggester: candidate claim sentences, scored offline, with a stance once the
corpus has taught it enough.

1. **Sentences** by pysbd (sentences.py), with code-point offsets.
2. **Is it a claim?** Each sentence is embedded with the app's local model (articles.embedding:
   WordLlama, weights inside its wheel, never downloaded) and scored 0–1:
   - *trained*, once the corpus has at least `MIN_SPAN_EXAMPLES` claims that curators accepted
     (outside the article being suggested on): a logistic regression (logistic.py) of accepted
     claims against the sentences of the same articles that hold no claim (or only rejected
     ones), classes balanced;
   - otherwise *prototypes*: the sentence's cosine similarity to a fixed set of argumentative
     claims written for this purpose (a verdict, a recommendation, a prediction with a value
     judgement) against its similarity to a set of reporting sentences (who said what, when,
     how much), turned into a score by a logistic curve. Written by hand, once, without looking
     at the demo corpus, which bench/bench_suggest.py measures them on.
   Sentences scoring at least `THRESHOLD` are suggested.
3. **Stance**: for each topic with at least `MIN_STANCE_EXAMPLES` curator-accepted claims with a
   gold stance toward it (outside the article), and at least two different stances among them,
   a logistic regression of the stance on the claim's embedding; its 5-fold cross-validated
   accuracy is reported in the corpus's suggestion metrics. A sentence's topic is the trained
   topic whose label is most similar to it. Without such a topic: no stance, no topic.

The model's name is `builtin@VERSION`; the same version run again on an article adds only the
sentences it had not suggested there (services.suggestions_store_builtin).

Nothing of the article itself (its reviews) trains what is suggested on it, so the suggestions
on an article never echo its curators' decisions to its annotators.
"""

from __future__ import annotations

from .model import (
    MIN_SPAN_EXAMPLES,
    MIN_STANCE_EXAMPLES,
    MODEL,
    THRESHOLD,
    VERSION,
    Training,
    suggest,
    train,
)

__all__ = [
    "MIN_SPAN_EXAMPLES",
    "MIN_STANCE_EXAMPLES",
    "MODEL",
    "THRESHOLD",
    "VERSION",
    "Training",
    "suggest",
    "train",
]
