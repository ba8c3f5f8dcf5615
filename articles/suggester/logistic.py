"""A small multinomial logistic regression in numpy (L2-regularised, Adam), and its k-fold
cross-validated accuracy. Enough for a few thousand 256-dimension embeddings in milliseconds,
without a machine-learning framework at run time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Logistic:
    classes: tuple[str, ...]
    weights: FloatArray  # (features, classes)
    bias: FloatArray  # (classes,)

    def probabilities(self, features: NDArray[np.floating]) -> FloatArray:
        logits = np.asarray(features, dtype=np.float64) @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, features: NDArray[np.floating]) -> list[str]:
        return [self.classes[i] for i in self.probabilities(features).argmax(axis=1)]


def fit(
    features: NDArray[np.floating],
    labels: list[str],
    *,
    l2: float = 1e-3,
    steps: int = 400,
    rate: float = 0.05,
    balanced: bool = True,
) -> Logistic:
    """Softmax regression of `labels` on `features`; classes weighted to count equally when
    `balanced` (few claims among many sentences)."""
    x = np.asarray(features, dtype=np.float64)
    classes = tuple(sorted(set(labels)))
    index = {c: i for i, c in enumerate(classes)}
    y = np.zeros((len(labels), len(classes)))
    y[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    counts = y.sum(axis=0)
    sample = (y @ (len(labels) / (len(classes) * counts))) if balanced else np.ones(len(labels))
    sample = sample / sample.sum()
    w = np.zeros((x.shape[1], len(classes)))
    b = np.zeros(len(classes))
    m_w, v_w, m_b, v_b = (np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b))
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        error = (p - y) * sample[:, None]
        grad_w = x.T @ error + l2 * w
        grad_b = error.sum(axis=0)
        for param, grad, m, v in ((w, grad_w, m_w, v_w), (b, grad_b, m_b, v_b)):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= rate * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return Logistic(classes=classes, weights=w, bias=b)


def cross_validated_accuracy(
    features: NDArray[np.floating], labels: list[str], *, folds: int = 5, seed: int = 0
) -> float:
    """Accuracy of `fit` on held-out folds (stratified: each class spread over the folds,
    shuffled with a fixed seed, so the figure is the same on every run)."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=int)
    for label in sorted(set(labels)):
        members = np.flatnonzero(np.array(labels) == label)
        rng.shuffle(members)
        assignment[members] = np.arange(len(members)) % folds
    x = np.asarray(features)
    correct = 0
    for fold in range(folds):
        held = assignment == fold
        train_labels = [label for label, h in zip(labels, held, strict=True) if not h]
        if not held.any() or len(set(train_labels)) < 2:
            continue
        model = fit(x[~held], train_labels)
        predicted = model.predict(x[held])
        truth = [label for label, h in zip(labels, held, strict=True) if h]
        correct += sum(p == t for p, t in zip(predicted, truth, strict=True))
    return correct / len(labels) if labels else 0.0
