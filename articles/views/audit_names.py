"""The audit log names claims by their words: an event's object and the claim ids its before and
after snapshots carry (an annotation's `claim_id`, a relation's `source` and `target`, a
comment's `claim`) are shown as the claim's quote, shortened, instead of a bare number."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..models import AuditEvent, Claim, Corpus

QUOTE_CHARS = 60
CLAIM_FIELDS = {"claim_id", "claim", "source", "target"}  # snapshot keys that hold a claim id


def _claim_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text[: QUOTE_CHARS - 1]}…”" if len(text) > QUOTE_CHARS else f"“{text}”"


def claim_ids(event: AuditEvent) -> set[int]:
    found = set()
    if event.object_type == "claim":
        found.add(_claim_id(event.object_id))
    for snapshot in (event.before, event.after):
        if isinstance(snapshot, dict):
            found.update(_claim_id(snapshot.get(key)) for key in CLAIM_FIELDS)
    found.discard(None)
    return {pk for pk in found if pk is not None}


def claim_quotes(corpus: Corpus, events: Iterable[AuditEvent]) -> dict[int, str]:
    """The quotes of every claim the events mention, trashed ones included (one query, none
    when no event mentions a claim). Only the corpus's own claims are named."""
    ids = set().union(*(claim_ids(event) for event in events))
    if not ids:
        return {}
    rows = Claim.objects.filter(pk__in=ids, article__corpus=corpus).values_list("pk", "exact")
    return {pk: _shorten(exact) for pk, exact in rows}


def name_claims(event: Any, quotes: dict[int, str]) -> None:
    """Set `event.claim_quote` (the claim the event is about, for its object cell), a link's
    `event.link_ends` (each end's claim id and quote), and replace the claim ids in
    `event.diff` by the claims' quotes."""
    about = None
    if event.object_type == "claim":
        about = _claim_id(event.object_id)
    else:
        for snapshot in (event.after, event.before):
            if isinstance(snapshot, dict):
                about = about or _claim_id(snapshot.get("claim_id") or snapshot.get("claim"))
    event.claim_id = about
    event.claim_quote = quotes.get(about) if about is not None else None
    # A link's object cell names both ends: "relation 7 from “…” to “…”".
    event.link_ends = None
    if event.object_type == "relation":
        for snapshot in (event.after, event.before):
            if isinstance(snapshot, dict) and event.link_ends is None:
                ends = [_claim_id(snapshot.get(key)) for key in ("source", "target")]
                known = [pk for pk in ends if pk is not None and pk in quotes]
                if len(known) == 2:
                    event.link_ends = [(pk, quotes[pk]) for pk in known]

    def show(field: str, value: str) -> str:
        pk = _claim_id(value) if field in CLAIM_FIELDS else None
        return quotes.get(pk, value) if pk is not None else value

    event.diff = [
        replace(row, before=show(row.field, row.before), after=show(row.field, row.after))
        for row in event.diff
    ]
