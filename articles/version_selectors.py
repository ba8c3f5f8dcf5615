"""Reads behind articles that change: the versions of a text, the orphans of an article, and a
member's notices about what a text change did to their work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from .access import Access, Kind
from .models import (
    AnchorStatus,
    Article,
    ArticleVersion,
    Claim,
    Evidence,
    TextChangeNotice,
)
from .reanchor import Reanchorer
from .selectors import parse_id


def first_version(article: Article) -> ArticleVersion:
    """Version 1 as it stands when no version was stored yet: the text the article was created
    with (articles are created and imported without a version row; the first edit stores it)."""
    return ArticleVersion(
        article=article,
        number=1,
        text=article.text,
        text_sha256=article.text_sha256,
        note="",
        created_by_id=article.created_by_id,
        created_at=article.created_at,
    )


def versions_for_article(article: Article) -> list[ArticleVersion]:
    """Every version of the article's text, oldest first (one query)."""
    versions = list(
        ArticleVersion.objects.filter(article=article)
        .select_related("created_by")
        .order_by("number")
    )
    return versions or [first_version(article)]


def version_of_article(article: Article, number: Any) -> ArticleVersion:
    """One version by its number; 404 for a number the article has not reached."""
    wanted = parse_id(number)
    if wanted == 1 and article.text_version == 1:
        return first_version(article)
    version = (
        ArticleVersion.objects.filter(article=article, number=wanted)
        .select_related("created_by")
        .first()
    )
    if version is None:
        raise Http404("No such version of this article.")
    return version


def orphaned_claims(article: Article) -> QuerySet[Claim]:
    """The article's live claims that the last text change could not place (claims are shared:
    everyone who reads the article sees them)."""
    return (
        Claim.objects.alive()
        .orphaned()
        .filter(article=article)
        .select_related("created_by")
        .order_by("id")
    )


def orphaned_evidence(access: Access, article: Article) -> QuerySet[Evidence]:
    """Orphaned evidence spans of live claims of the article that the caller may see."""
    return (
        Evidence.objects.filter(
            access.visible(Kind.EVIDENCE),
            annotation__claim__article=article,
            annotation__claim__deleted_at__isnull=True,
            anchor_status=AnchorStatus.ORPHANED,
        )
        .select_related("annotation__annotator")
        .order_by("id")
    )


@dataclass(frozen=True)
class NoticeView:
    """A member's notice with the heads of the claims it names."""

    notice: TextChangeNotice
    moved: list[tuple[int, str]]
    fuzzy: list[tuple[int, str]]
    orphaned: list[tuple[int, str]]


def notices_for_article(access: Access, article: Article) -> list[NoticeView]:
    """The caller's own notices on the article not yet dismissed, newest first (two queries).
    Only their own work is named: claims they created or tagged."""
    notices = list(
        TextChangeNotice.objects.filter(
            user_id=access.user_id, version__article=article, dismissed_at__isnull=True
        )
        .select_related("version")
        .order_by("-version__number")
    )
    if not notices:
        return []
    ids = {pk for n in notices for pk in (*n.moved, *n.fuzzy, *n.orphaned)}
    heads = dict(Claim.objects.alive().filter(pk__in=ids).values_list("pk", "exact"))

    def named(claim_ids: list[int]) -> list[tuple[int, str]]:
        return [(pk, heads[pk][:120]) for pk in claim_ids if pk in heads]

    return [NoticeView(n, named(n.moved), named(n.fuzzy), named(n.orphaned)) for n in notices]


def notice_of_user(user: Any, notice_id: Any) -> TextChangeNotice:
    """The user's own notice; anyone else's is a 404."""
    notice = (
        TextChangeNotice.objects.filter(pk=parse_id(notice_id), user_id=user.pk)
        .select_related("version__article__corpus")
        .first()
    )
    if notice is None:
        raise Http404("No such notice.")
    return notice


# --- What a text change would do (the edit page's preview) ------------------------------------


@dataclass(frozen=True)
class Preview:
    """The re-anchoring a new text would cause, computed without writing anything."""

    counts: dict[str, int]  # live claims by status
    fuzzy: list[tuple[int, str, str]]  # (claim id, old quote, new quote)
    orphaned: list[tuple[int, str]]  # (claim id, old quote)


def preview_text_change(article: Article, new_text: str) -> Preview:
    """Where the article's live claims would stand on `new_text` (one query; the engine runs
    the same as on saving, so the preview is what saving does)."""
    claims = list(
        Claim.objects.alive().placed().filter(article=article).order_by("start", "-end", "id")
    )
    engine = Reanchorer(article.text, new_text)
    counts = dict.fromkeys(AnchorStatus.values, 0)
    fuzzy: list[tuple[int, str, str]] = []
    orphaned: list[tuple[int, str]] = []
    for claim in claims:
        anchor = engine.anchor(claim)  # type: ignore[arg-type]  # placed: start and end set
        counts[anchor.status] += 1
        if anchor.status == "fuzzy":
            fuzzy.append((claim.pk, claim.exact, anchor.exact))
        elif anchor.status == "orphaned":
            orphaned.append((claim.pk, claim.exact))
    return Preview(counts, fuzzy, orphaned)
