"""Reads behind claim groups, similar claims and argument maps, scoped by the caller's Access.

Claims and groups are shared with every member of the corpus; the stances on them are people's
work, so they come only through `access.visible(Kind.ANNOTATION)` and, for the gold stance,
`access.visible(Kind.REVIEW)`: a blind annotator sees groups and their claims, their own tags,
and nothing of anyone else's (DESIGN.md, "Blind mode means noninterference").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet

from .access import Access, Kind
from .models import (
    Annotation,
    Claim,
    ClaimGroup,
    ClaimGroupMember,
    Relation,
    Review,
    ReviewDecision,
    Stance,
)
from .selectors import _fetch_with_access, parse_id, visible_relations

STANCES = [s.value for s in Stance]
SENTENCE_END = re.compile(r"[.!?…](?:[\"'”’)\]]*)\s+|\n")
CONTEXT_CHARS = 320  # at most this many code points of context either side of a claim


# --- Groups --------------------------------------------------------------------------------


def group_with_access(user: Any, group_id: Any) -> tuple[ClaimGroup, Access]:
    """A group of one of the user's corpora and their access to it, or Http404."""
    group, role = _fetch_with_access(
        user,
        ClaimGroup.objects.select_related("corpus", "created_by"),
        "corpus",
        parse_id(group_id),
        "Claim group not found.",
    )
    return group, Access(user=user, corpus=group.corpus, role=role)


def live_members() -> Q:
    """Members whose claim is live (the trash leaves groups as it leaves every page)."""
    return Q(
        members__claim__deleted_at__isnull=True, members__claim__article__deleted_at__isnull=True
    )


def groups_for_corpus(access: Access) -> QuerySet[ClaimGroup]:
    """The corpus's groups with the number of their live claims and of those claims' articles."""
    return (
        ClaimGroup.objects.filter(corpus=access.corpus)
        .select_related("created_by")
        .annotate(
            n_claims=Count("members", filter=live_members()),
            n_articles=Count("members__claim__article", filter=live_members(), distinct=True),
        )
        .order_by("label", "id")
    )


def group_claim_ids(group: ClaimGroup) -> list[int]:
    return list(
        ClaimGroupMember.objects.filter(
            group=group,
            claim__deleted_at__isnull=True,
            claim__article__deleted_at__isnull=True,
        )
        .order_by("claim_id")
        .values_list("claim_id", flat=True)
    )


def groups_of_claims(claim_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """{claim id: (group id, group label)} for those of the claims that are in a group."""
    return {
        claim_id: (group_id, label)
        for claim_id, group_id, label in ClaimGroupMember.objects.filter(
            claim_id__in=list(claim_ids)
        ).values_list("claim_id", "group_id", "group__label")
    }


# --- Stances as the caller may see them -----------------------------------------------------


@dataclass
class ClaimStances:
    """The stances on one claim that the caller may see."""

    tags: list[tuple[str, str, str]] = field(default_factory=list)  # (annotator, stance, topic)
    gold: tuple[str, str] | None = None  # (stance, topic) of an accepted review

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(stance for _who, stance, _topic in self.tags)
        return {s: counted[s] for s in STANCES if counted[s]}

    @property
    def majority(self) -> str:
        """The most frequent stance, "mixed" on a tie, "none" without tags."""
        counted = Counter(stance for _who, stance, _topic in self.tags).most_common()
        if not counted:
            return "none"
        if len(counted) > 1 and counted[0][1] == counted[1][1]:
            return "mixed"
        return counted[0][0]

    @property
    def shown(self) -> str:
        """The stance a chart or map shows: the gold one, else the majority's."""
        return self.gold[0] if self.gold else self.majority

    @property
    def source(self) -> str:
        return "gold" if self.gold else ("majority" if self.tags else "none")


def stances_of_claims(access: Access, claim_ids: Sequence[int]) -> dict[int, ClaimStances]:
    """{claim id: ClaimStances} for every claim named, in two queries."""
    result = {pk: ClaimStances() for pk in claim_ids}
    if not claim_ids:
        return result
    for claim_id, who, stance, topic in (
        Annotation.objects.filter(access.visible(Kind.ANNOTATION), claim_id__in=list(claim_ids))
        .order_by("claim_id", "annotator__username")
        .values_list("claim_id", "annotator__username", "stance", "topic__label")
    ):
        result[claim_id].tags.append((who, stance, topic))
    for claim_id, stance, topic in Review.objects.filter(
        access.visible(Kind.REVIEW),
        claim_id__in=list(claim_ids),
        decision=ReviewDecision.ACCEPTED,
    ).values_list("claim_id", "stance", "topic__label"):
        result[claim_id].gold = (stance, topic or "")
    return result


# --- The group page -------------------------------------------------------------------------


def sentence_around(text: str, start: int, end: int) -> tuple[str, str, str]:
    """(before, the claim, after): the claim's sentence with the sentence before and the one
    after it, at most CONTEXT_CHARS either side (cut at a word, with "…", beyond that)."""
    window_start = max(0, start - CONTEXT_CHARS)
    before = text[window_start:start]
    starts = [0] if window_start == 0 else []
    starts += [m.end() for m in SENTENCE_END.finditer(before)]
    if len(starts) >= 2:
        before = before[starts[-2] :]  # the previous sentence and the start of the claim's
    elif starts and starts[0] == 0 and window_start == 0:
        pass  # the text's first sentences: all of it
    else:
        before = "…" + before.split(" ", 1)[-1] if " " in before else "…" + before
    after = text[end : end + CONTEXT_CHARS]
    claim_ends_sentence = bool(re.search(r"[.!?…][\"'”’)\]]*$", text[start:end]))
    ends = [m.start() + 1 for m in SENTENCE_END.finditer(after)]
    wanted = 1 if claim_ends_sentence else 2
    if len(ends) >= wanted:
        after = after[: ends[wanted - 1]].rstrip("\n")
    elif end + CONTEXT_CHARS < len(text):
        after = after.rsplit(" ", 1)[0] + "…"
    return before.lstrip(), text[start:end], after.rstrip()


@dataclass
class GroupClaim:
    claim: Claim
    before: str
    after: str
    stances: ClaimStances


def group_claims(access: Access, group: ClaimGroup) -> list[GroupClaim]:
    """The group's live claims, oldest article first, each in its sentence with the stances the
    caller may see: three queries."""
    claims = list(
        Claim.objects.alive()
        .filter(group_link__group=group, article__deleted_at__isnull=True)
        .select_related("article", "created_by")
        .order_by("article__published_on", "article_id", "start", "id")
    )
    stances = stances_of_claims(access, [c.pk for c in claims])
    result = []
    for claim in claims:
        if claim.start is None or claim.end is None:  # orphaned by a text change: its old quote
            before, after = "", ""
        else:
            before, _exact, after = sentence_around(claim.article.text, claim.start, claim.end)
        result.append(GroupClaim(claim, before, after, stances[claim.pk]))
    # Dated articles first, by date; undated ones after them.
    result.sort(
        key=lambda g: (
            g.claim.article.published_on is None,
            g.claim.article.published_on or date.min,
        )
    )
    return result


@dataclass
class Bucket:
    label: str  # "2025-03", or "undated"
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


TIMELINE_STANCES = [*STANCES, "mixed", "none"]


def stance_timeline(items: Sequence[GroupClaim]) -> list[Bucket]:
    """Claims counted by the stance shown for them (gold, else the visible majority), per month
    of their article's publication; every month between the first and the last is present, and
    claims of undated articles come last."""
    by_month: dict[tuple[int, int], Counter] = {}
    undated: Counter = Counter()
    for item in items:
        published = item.claim.article.published_on
        target = (
            undated
            if published is None
            else by_month.setdefault((published.year, published.month), Counter())
        )
        target[item.stances.shown] += 1
    buckets = []
    if by_month:
        (year, month), last = min(by_month), max(by_month)
        while (year, month) <= last:
            counted = by_month.get((year, month), Counter())
            buckets.append(
                Bucket(f"{year:04d}-{month:02d}", {s: counted[s] for s in TIMELINE_STANCES})
            )
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if undated:
        buckets.append(Bucket("undated", {s: undated[s] for s in TIMELINE_STANCES}))
    return buckets


def relations_of_claims(access: Access, claim_ids: Sequence[int]) -> QuerySet[Relation]:
    """The relations the caller may see that have one of the claims at either end."""
    ids = list(claim_ids)
    return (
        visible_relations(access)
        .filter(Q(source_claim_id__in=ids) | Q(target_claim_id__in=ids))
        .select_related("source_claim__article", "target_claim__article", "created_by")
        .order_by("id")
    )


def relations_between(access: Access, claim_ids: Sequence[int]) -> list[tuple[int, int, int, str]]:
    """(relation id, source, target, kind) of the visible relations among the claims."""
    ids = list(claim_ids)
    return list(
        visible_relations(access)
        .filter(source_claim_id__in=ids, target_claim_id__in=ids)
        .order_by("id")
        .values_list("id", "source_claim_id", "target_claim_id", "kind")
    )


def similar_details(claim_ids: Sequence[int]) -> dict[int, Claim]:
    """The claims named, with their article and `group_ref` ({"id", "label"} or None), in one
    query (the similar-claim suggestions)."""
    claims = (
        Claim.objects.filter(pk__in=list(claim_ids))
        .select_related("article", "group_link__group")
        .defer("article__text")
    )
    found = {}
    for claim in claims:
        try:
            group = claim.group_link.group
        except ClaimGroupMember.DoesNotExist:
            claim.group_ref = None  # type: ignore[attr-defined]
        else:
            claim.group_ref = {"id": group.pk, "label": group.label}  # type: ignore[attr-defined]
        found[claim.pk] = claim
    return found
