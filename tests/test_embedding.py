"""The embedding model loads from its wheel and never reaches the network."""

import subprocess
import sys
import textwrap

import numpy as np

from articles import embedding

NO_NETWORK = textwrap.dedent(
    """
    import socket

    def refuse(*args, **kwargs):
        raise SystemExit("network reached: %r" % (args,))

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from articles import embedding
    vectors = embedding.embed(["Chip export limits are shortsighted.", "Rain in Paris."])
    assert vectors.shape == (2, embedding.DIM), vectors.shape
    print("ok", embedding.model_name())
    """
)


def test_model_loads_and_embeds_with_the_network_refused():
    # A fresh interpreter, so nothing is loaded yet: every connection attempt ends the process.
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok wordllama-l2-supercat-256@")


def test_the_guard_would_catch_a_download():
    # The same guard stops a process that does try the network, so the test above can fail.
    probe = NO_NETWORK.split("from articles")[0] + "import urllib.request\n"
    probe += "urllib.request.urlopen('http://127.0.0.1:9/')\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "network reached" in done.stderr


def test_vectors_are_unit_length_and_rank_paraphrases_first():
    texts = [
        "Restricting chip exports is shortsighted.",
        "Export controls on semiconductors are a short-sighted policy.",
        "The museum reopened its east wing after the flood.",
    ]
    vectors = embedding.embed(texts)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    scores = vectors[1:] @ vectors[0]
    assert scores[0] > scores[1] + 0.2


def test_bytes_round_trip_and_matrix():
    vectors = embedding.embed(["one claim", "another claim"])
    blobs = [embedding.to_bytes(v) for v in vectors]
    assert all(len(b) == embedding.DIM * 4 for b in blobs)
    np.testing.assert_array_equal(embedding.from_bytes(blobs[0]), vectors[0])
    np.testing.assert_array_equal(embedding.matrix(blobs), vectors)
    assert embedding.embed([]).shape == (0, embedding.DIM)
