"""Similar claims: stored sentence embeddings, one query and one vector product per question.

What is embedded is the claim's summary (the annotator's paraphrase, when there is one) followed
by its exact text: the summary says the proposition in plain words, which is what two
differently worded claims share, and the quote keeps claims without a summary comparable. The
vector is stored with the hash of that text and the model's name (ClaimEmbedding); the services
refresh it when a claim is created or its summary changes (`refresh_claims`), `manage.py
embed_claims` computes it for claims that have none or an outdated one, and a question about a
claim whose candidates lack a vector computes the missing ones on the way.

Similarity of meaning is not agreement of stance: two claims saying the same thing may be made
for and against a topic. Nothing here groups claims; people do (services.groups).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import Q

from . import embedding
from .access import Access
from .models import Claim, ClaimEmbedding

DEFAULT_LIMIT = 10
MAX_LIMIT = 50


def embedding_text(exact: str, summary: str = "") -> str:
    summary = (summary or "").strip()
    return f"{summary}\n{exact}" if summary else exact


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _store(rows: Sequence[tuple[int, str]]) -> dict[int, np.ndarray]:
    """Embeds (claim id, text) pairs and stores the vectors, replacing older ones."""
    if not rows:
        return {}
    vectors = embedding.embed([text for _pk, text in rows])
    model = embedding.model_name()
    ids = [pk for pk, _text in rows]
    with transaction.atomic():
        ClaimEmbedding.objects.filter(claim_id__in=ids).delete()
        ClaimEmbedding.objects.bulk_create(
            (
                ClaimEmbedding(
                    claim_id=pk,
                    model=model,
                    text_sha256=text_hash(text),
                    vector=embedding.to_bytes(v),
                )
                for (pk, text), v in zip(rows, vectors, strict=True)
            ),
            batch_size=500,
            ignore_conflicts=True,  # a concurrent question stored the same claim's vector
        )
    return dict(zip(ids, vectors, strict=True))


def refresh_claims(claims: Iterable[Claim]) -> None:
    """Embed these claims again (their text is new or changed): the services' hook."""
    _store([(c.pk, embedding_text(c.exact, c.summary)) for c in claims])


def embed_missing(claim_ids: Sequence[int], *, batch_size: int = 2000) -> int:
    """Compute the vectors of these claims, in batches; returns how many were embedded."""
    done = 0
    for i in range(0, len(claim_ids), batch_size):
        chunk = claim_ids[i : i + batch_size]
        rows = [
            (pk, embedding_text(exact, summary))
            for pk, exact, summary in Claim.objects.filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", "exact", "summary")
        ]
        _store(rows)
        done += len(rows)
    return done


def outdated_claims(queryset=None) -> list[int]:
    """Ids of live claims with no vector, a vector of another model, or of an older text."""
    queryset = queryset if queryset is not None else Claim.objects.alive()
    model = embedding.model_name()
    stale = []
    for pk, exact, summary, sha, used in queryset.order_by("pk").values_list(
        "pk", "exact", "summary", "embedding__text_sha256", "embedding__model"
    ):
        if used != model or sha != text_hash(embedding_text(exact, summary)):
            stale.append(pk)
    return stale


@dataclass(frozen=True, slots=True)
class Similar:
    claim_id: int
    score: float


def _binary_rows(queryset) -> list[tuple]:
    """The rows of a values_list queryset. On PostgreSQL they are read in psycopg's binary
    format: `bytea` arrives as bytes rather than as hexadecimal text to decode, which halves the
    time of reading 10,000 vectors (bench/README.md). Django's cursors are client-side and
    cannot do it, so the query runs on a server-side cursor of the same connection (and
    transaction), and is recorded in Django's query log like any other."""
    if connection.vendor != "postgresql":
        return list(queryset)
    import psycopg

    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    connection.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        rows = cursor.fetchall()
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- binary, {params!r}", "time": f"{time.monotonic() - started:.3f}"}
        )
    return rows


def _vectors(queryset) -> tuple[list[int], list[bytes]]:
    """(ids, stored vectors) of the queryset's claims in one query, embedding the missing."""
    model = embedding.model_name()
    rows = _binary_rows(
        queryset.order_by("pk").values_list("pk", "embedding__vector", "embedding__model")
    )
    missing = [pk for pk, vector, used in rows if vector is None or used != model]
    fresh = _fresh_vectors(missing) if missing else {}
    ids = [pk for pk, _vector, _used in rows]
    blobs = [embedding.to_bytes(fresh[pk]) if pk in fresh else vector for pk, vector, _u in rows]
    return ids, blobs


def _ranked(ids: np.ndarray, scores: np.ndarray, limit: int) -> list[Similar]:
    """The `limit` best of `ids` by score (ties: the older claim first)."""
    if not len(ids):
        return []
    limit = max(1, min(limit, len(ids)))
    top = np.argpartition(-scores, limit - 1)[:limit] if limit < len(ids) else np.arange(len(ids))
    ranked = sorted(top, key=lambda i: (-float(scores[i]), int(ids[i])))
    return [Similar(int(ids[i]), round(float(scores[i]), 4)) for i in ranked]


def _corpus_claims(access: Access):
    return Claim.objects.alive().filter(
        article__corpus=access.corpus, article__deleted_at__isnull=True
    )


def similar_claim_ids(access: Access, claim: Claim, *, limit: int = DEFAULT_LIMIT) -> list[Similar]:
    """Live claims of the corpus's other articles, most similar in meaning first.

    One query reads the stored vectors of the candidates and of the claim itself (claims are
    shared with every member, so every candidate is one the caller may see); one matrix-vector
    product scores them. Claims without a vector yet are embedded first (only then more queries).
    """
    ids, blobs = _vectors(
        _corpus_claims(access).filter(~Q(article_id=claim.article_id) | Q(pk=claim.pk))
    )
    ids_array = np.asarray(ids, dtype=np.int64)
    own = np.flatnonzero(ids_array == claim.pk)
    if not len(own) or len(ids) < 2:
        return []
    vectors = embedding.matrix(blobs)
    scores = vectors @ vectors[own[0]]
    others = ids_array != claim.pk
    return _ranked(ids_array[others], scores[others], limit)


def similar_to_claims(
    access: Access, claim_ids: Sequence[int], *, limit: int = DEFAULT_LIMIT
) -> list[Similar]:
    """Claims of the corpus most similar to the mean of `claim_ids`' vectors (a group's
    claims), those claims left out: one query and one product, as for one claim."""
    ids, blobs = _vectors(_corpus_claims(access))
    ids_array = np.asarray(ids, dtype=np.int64)
    inside = np.isin(ids_array, np.asarray(list(claim_ids), dtype=np.int64))
    if not inside.any() or inside.all():
        return []
    vectors = embedding.matrix(blobs)
    centre = vectors[inside].mean(axis=0)
    norm = float(np.linalg.norm(centre))
    if norm == 0.0:
        return []
    scores = vectors[~inside] @ (centre / norm)
    return _ranked(ids_array[~inside], scores, limit)


def _fresh_vectors(claim_ids: list[int]) -> dict[int, np.ndarray]:
    rows = [
        (pk, embedding_text(exact, summary))
        for pk, exact, summary in Claim.objects.filter(pk__in=claim_ids)
        .order_by("pk")
        .values_list("pk", "exact", "summary")
    ]
    return _store(rows)
