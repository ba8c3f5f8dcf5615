"""Sentence embeddings computed on this machine, never downloaded.

One model for the whole app (similar claims, the built-in suggester): WordLlama's 256-dimension
"l2_supercat" embeddings. Its weights and tokenizer configuration ship inside the PyPI wheel, so
the model is loaded from the package's own folder with downloads disabled; a missing file is an
error, never a request to the network. Vectors are L2-normalised float32, so the similarity of
two texts is their dot product (cosine), in [-1, 1].
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

DIM = 256
DTYPE = np.float32

_lock = threading.Lock()
_model: Any = None


def _version() -> str:
    from importlib.metadata import version

    return version("wordllama")


def model_name() -> str:
    """A name that changes when the vectors would: store it beside every stored vector."""
    return f"wordllama-l2-supercat-{DIM}@{_version()}"


def model() -> Any:
    """The loaded model, loaded once per process (about a third of a second)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                import wordllama

                _model = wordllama.WordLlama.load(
                    config="l2_supercat",
                    dim=DIM,
                    cache_dir=Path(wordllama.__file__).parent,
                    disable_download=True,
                )
    return _model


def embed(texts: Sequence[str]) -> NDArray[np.float32]:
    """One unit vector per text, shape (len(texts), DIM). An empty text gets a zero vector."""
    if not texts:
        return np.zeros((0, DIM), dtype=DTYPE)
    vectors = np.asarray(model().embed(list(texts), norm=True), dtype=DTYPE)
    vectors[~np.isfinite(vectors).all(axis=1)] = 0.0
    return vectors


def to_bytes(vector: NDArray[np.float32]) -> bytes:
    """A vector as stored in the database (little-endian float32, 1 KiB)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes | memoryview) -> NDArray[np.float32]:
    return np.frombuffer(bytes(data), dtype="<f4")


def matrix(blobs: Sequence[bytes | memoryview]) -> NDArray[np.float32]:
    """Stored vectors as one (n, DIM) matrix, for one product against a query vector."""
    if not blobs:
        return np.zeros((0, DIM), dtype=DTYPE)
    return np.frombuffer(b"".join(bytes(b) for b in blobs), dtype="<f4").reshape(len(blobs), DIM)
