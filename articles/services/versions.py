"""Articles that change: a new version of the text, every span re-anchored on it, orphans placed
again by a person, and the notices that tell each member what happened to their work.

The re-anchoring itself is articles.reanchor (position through the edit, then the quote with its
context, else orphaned); here it is applied to the rows, in one transaction with the new version.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Field
from django.utils import timezone

from .. import anchoring, similarity
from ..models import (
    AnchorStatus,
    Annotation,
    Article,
    ArticleVersion,
    AuditEvent,
    Claim,
    Evidence,
    EvidenceKind,
    Review,
    Suggestion,
    TextChangeNotice,
)
from ..permissions import Action, can_edit_annotation, can_edit_claim, ensure, ensure_that
from ..reanchor import Anchor, Reanchorer
from ..version_selectors import first_version
from .articles import clean_article_text, text_sha256
from .base import User, Version, _lock, _snapshot, audit, check_version, clean_line
from .review import REVIEW_FIELDS

MAX_VERSION_NOTE = 500
STATUSES = tuple(AnchorStatus.values)  # exact, moved, fuzzy, orphaned
# What the API answers per kind: "kept" is the contract's name for "exact".
COUNT_NAMES = {"exact": "kept", "moved": "moved", "fuzzy": "fuzzy", "orphaned": "orphaned"}


@dataclass(frozen=True)
class _Quoted:
    """An evidence span as re-anchoring reads it (evidence rows keep no context: it is read from
    the old text)."""

    start: int
    end: int
    exact: str
    prefix: str
    suffix: str


@dataclass
class TextChange:
    """What replacing the text did: the new version and, per kind, live spans by status."""

    article: Article
    version: ArticleVersion
    claims: Counter[str] = field(default_factory=Counter)
    evidence: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "claims": {COUNT_NAMES[s]: self.claims[s] for s in STATUSES},
            "evidence": {COUNT_NAMES[s]: self.evidence[s] for s in STATUSES},
        }


def _store_first_version(article: Article) -> None:
    if not ArticleVersion.objects.filter(article=article).exists():
        v1 = first_version(article)
        v1.save()
        # auto_now_add stamped the save; version 1 dates from the article's creation.
        ArticleVersion.objects.filter(pk=v1.pk).update(created_at=article.created_at)


def _apply(row: Claim | Evidence, anchor: Anchor, number: int) -> bool:
    """Write the anchor into the row; whether anything the reader sees changed."""
    before = (row.start, row.end, row.exact, row.anchor_status)
    row.start, row.end, row.exact = anchor.start, anchor.end, anchor.exact
    if isinstance(row, Claim):
        row.prefix, row.suffix = anchor.prefix, anchor.suffix
    row.anchor_status = anchor.status
    row.anchor_score = anchor.score
    row.anchor_version = number
    return before != (row.start, row.end, row.exact, row.anchor_status)


def article_text_replace(
    *,
    actor: User,
    article: Article,
    role: str | None,
    text: object,
    note: object = "",
    version: Version = None,
) -> TextChange:
    """Store `text` as the article's next version and re-anchor every claim and evidence span.

    All or nothing. A fuzzy claim's annotations are marked for a second look and its review goes
    back to the queue; every member whose claims or tags moved, changed or were orphaned gets a
    notice. Orphans keep their old quote and context and lose their position.
    """
    ensure(role, Action.EDIT_TEXT)
    new_text = clean_article_text(text)
    clean_note = clean_line(note, "note", max_chars=MAX_VERSION_NOTE)
    with transaction.atomic():
        current = _lock(Article, article.pk)
        check_version(current, version)
        if new_text == current.text:
            raise ValidationError({"text": ["The text is unchanged; there is nothing to save."]})
        _store_first_version(current)
        number = current.text_version + 1
        old_text = current.text
        engine = Reanchorer(old_text, new_text)

        # Every placed claim, trashed ones too (a restored claim must fit the current text).
        claims = list(
            Claim.objects.filter(article=current).placed().select_for_update().order_by("id")
        )
        claim_anchors = engine.anchor_all(
            _Quoted(c.start, c.end, c.exact, c.prefix, c.suffix)
            for c in claims
            if c.start is not None and c.end is not None  # placed(): always
        )
        evidence = list(
            Evidence.objects.filter(
                annotation__claim__article=current, kind=EvidenceKind.SPAN, start__isnull=False
            )
            .select_related("annotation")
            .order_by("id")
        )
        evidence_anchors = engine.anchor_all(_quoted(old_text, evidence))

        change = TextChange(article=current, version=ArticleVersion())
        by_status: dict[str, list[int]] = defaultdict(list)
        changed_claims = []
        for claim, anchor in zip(claims, claim_anchors, strict=True):
            before = _snapshot(claim, ("start", "end", "exact", "anchor_status"))
            if _apply(claim, anchor, number):
                claim.version += 1
                changed_claims.append((claim, before))
            if claim.deleted_at is None:
                change.claims[anchor.status] += 1
                by_status[anchor.status].append(claim.pk)
        _write_back(
            Claim,
            claims,
            ("start", "end", "exact", "prefix", "suffix", "anchor_status", "anchor_score")
            + ("anchor_version", "version"),
        )
        trashed = {c.pk for c in claims if c.deleted_at is not None}
        for item, anchor in zip(evidence, evidence_anchors, strict=True):
            _apply(item, anchor, number)
            if item.annotation.claim_id not in trashed:
                change.evidence[anchor.status] += 1
        _write_back(
            Evidence,
            evidence,
            ("start", "end", "exact", "anchor_status", "anchor_score", "anchor_version"),
        )

        # Claims whose words changed are embedded again (similar claims compare the new words).
        similarity.refresh_claims(
            [
                c
                for c, before in changed_claims
                if before["exact"] != c.exact and c.start is not None
            ]
        )
        _reanchor_suggestions(engine, current)

        fuzzy = by_status[AnchorStatus.FUZZY]
        Annotation.objects.filter(claim_id__in=fuzzy).update(second_look=True)
        reopened = _reopen_reviews(actor, current, fuzzy)

        new_version = ArticleVersion.objects.create(
            article=current,
            number=number,
            text=new_text,
            text_sha256=text_sha256(new_text),
            note=clean_note,
            created_by=actor,
            outcome=change.counts(),
        )
        change.version = new_version
        before_article = _snapshot(current, ("text_version", "text_sha256"))
        current.text = new_text
        current.text_sha256 = new_version.text_sha256
        current.text_version = number
        current.version += 1
        current.save()
        _notify(new_version, current, by_status)
        audit(
            actor=actor,
            verb="article.text_replace",
            obj=current,
            corpus=current.corpus,
            before=before_article,
            after={
                "text_version": number,
                "text_sha256": current.text_sha256,
                "note": clean_note,
                **change.counts(),
                "moved": by_status[AnchorStatus.MOVED],
                "fuzzy": fuzzy,
                "orphaned": by_status[AnchorStatus.ORPHANED],
                "reviews_reopened": reopened,
            },
        )
        _audit_claims(actor, current, changed_claims, number)
    return change


def _reanchor_suggestions(engine: Reanchorer, article: Article) -> None:
    """A model's suggestions follow the text like claims: placed again when their words are
    still there (or near enough), else removed while nobody has decided on them. A suggestion
    someone decided on stays as it was, for the model's measures (its words refer to the
    version it was made on)."""
    rows = list(Suggestion.objects.filter(article=article).annotate(n_decisions=Count("decisions")))
    if not rows:
        return
    anchors = engine.anchor_all(rows)
    gone, moved = [], []
    for row, anchor in zip(rows, anchors, strict=True):
        if row.n_decisions:
            continue
        if anchor.start is None or anchor.end is None:
            gone.append(row.pk)
        elif (anchor.start, anchor.end, anchor.exact) != (row.start, row.end, row.exact):
            row.start, row.end, row.exact = anchor.start, anchor.end, anchor.exact
            row.prefix, row.suffix = anchor.prefix, anchor.suffix
            moved.append(row)
    # Two suggestions of one model that now fall on the same words: the older one stays.
    taken = {(r.model, r.start, r.end) for r in rows if r.pk not in {m.pk for m in moved}}
    kept = []
    for row in sorted(moved, key=lambda r: r.pk):
        if (row.model, row.start, row.end) in taken:
            gone.append(row.pk)
        else:
            taken.add((row.model, row.start, row.end))
            kept.append(row)
    # Moved rows are written again under their own ids (nobody decided on them, so nothing
    # points at them): updating them in place could pass through a span another still holds.
    Suggestion.objects.filter(pk__in=gone + [r.pk for r in kept]).delete()
    Suggestion.objects.bulk_create(kept)


def _write_back(model: type[Claim] | type[Evidence], rows: list, fields: tuple[str, ...]) -> None:
    """Every row's new values, one UPDATE per row sent as one batch (executemany). Django's
    bulk_update writes a CASE of every id into each column: on 1,000 claims it took ten times
    as long as the re-anchoring itself (bench/bench_text_replace.py)."""
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(_column(model, name))} = %s" for name in fields)
    key = quote(str(meta.pk.column))
    # Identifiers from the model, quoted; every value is a parameter.
    sql = f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {key} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[getattr(row, f) for f in fields] + [row.pk] for row in rows])


def _column(model: type[Claim] | type[Evidence], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column  # a concrete column of the row
    return field.column


def _quoted(old_text: str, evidence: Iterable[Evidence]) -> list[_Quoted]:
    spans = []
    for item in evidence:
        assert item.start is not None and item.end is not None  # filtered on start__isnull
        prefix, suffix = anchoring.context_around(old_text, item.start, item.end)
        spans.append(_Quoted(item.start, item.end, item.exact, prefix, suffix))
    return spans


def _reopen_reviews(actor: User, article: Article, claim_ids: list[int]) -> list[int]:
    """The reviews of claims whose words changed go back to the queue (the gold stance was given
    for other words); each removal is audited with the decision it undid."""
    reviews = list(Review.objects.filter(claim_id__in=claim_ids).select_for_update())
    for review in reviews:
        audit(
            actor=actor,
            verb="review.reopen",
            obj=review,
            corpus=article.corpus,
            before=_snapshot(review, REVIEW_FIELDS),
            after={"reason": "The claim's words changed with the article's text."},
        )
    Review.objects.filter(pk__in=[r.pk for r in reviews]).delete()
    return [r.claim_id for r in reviews]


def _notify(version: ArticleVersion, article: Article, by_status: dict[str, list[int]]) -> None:
    """One notice per member whose claims (created or tagged) moved, changed or were orphaned."""
    touched = {
        claim_id: status
        for status in (AnchorStatus.MOVED, AnchorStatus.FUZZY, AnchorStatus.ORPHANED)
        for claim_id in by_status[status]
    }
    if not touched:
        return
    per_user: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for claim_id, user_id in Claim.objects.filter(pk__in=touched).values_list(
        "pk", "created_by_id"
    ):
        per_user[user_id][touched[claim_id]].add(claim_id)
    for claim_id, user_id in Annotation.objects.filter(claim_id__in=touched).values_list(
        "claim_id", "annotator_id"
    ):
        per_user[user_id][touched[claim_id]].add(claim_id)
    TextChangeNotice.objects.bulk_create(
        TextChangeNotice(
            version=version,
            user_id=user_id,
            moved=sorted(sets[AnchorStatus.MOVED]),
            fuzzy=sorted(sets[AnchorStatus.FUZZY]),
            orphaned=sorted(sets[AnchorStatus.ORPHANED]),
        )
        for user_id, sets in per_user.items()
    )


def _audit_claims(
    actor: User, article: Article, changed: list[tuple[Claim, dict[str, object]]], number: int
) -> None:
    """Each claim's history shows where the new text put it."""
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=actor,
            verb="claim.reanchor",
            object_type="claim",
            object_id=str(claim.pk),
            corpus=article.corpus,
            corpus_slug=article.corpus.slug,
            before=before,
            after={
                **_snapshot(claim, ("start", "end", "exact", "anchor_status", "anchor_score")),
                "text_version": number,
            },
            at=now,
        )
        for claim, before in changed
    )


def claim_place(
    *,
    actor: User,
    claim: Claim,
    role: str | None,
    version: Version = None,
    start: int | str | None = None,
    end: int | str | None = None,
    exact: str | None = None,
    prefix: str | None = None,
    suffix: str | None = None,
) -> Claim:
    """Place an orphaned claim again on the current text: by offsets, or by a quote the server
    finds (anchoring.resolve_span). A placed claim's span does not change here."""
    ensure_that(
        can_edit_claim(user=actor, role=role, claim=claim),
        "Only the claim's creator or a curator may place it again.",
    )
    with transaction.atomic():
        current = _lock(Claim, claim.pk)
        check_version(current, version)
        if current.anchor_status != AnchorStatus.ORPHANED:
            raise ValidationError(
                {"start": ["Only an orphaned claim can be placed again; this one has its place."]}
            )
        article = Article.objects.get(pk=current.article_id)
        span = anchoring.resolve_span(
            article.text, start=start, end=end, exact=exact, prefix=prefix, suffix=suffix
        )
        before = _snapshot(current, ("start", "end", "exact", "anchor_status"))
        current.start, current.end, current.exact = span.start, span.end, span.exact
        current.prefix, current.suffix = span.prefix, span.suffix
        current.anchor_status = AnchorStatus.EXACT
        current.anchor_score = 1.0
        current.anchor_version = article.text_version
        current.version += 1
        current.save()
        # Its tags were given for the old words: worth a second look on the new ones.
        Annotation.objects.filter(claim=current).update(second_look=True)
        audit(
            actor=actor,
            verb="claim.place",
            obj=current,
            corpus=claim.article.corpus,
            before=before,
            after=_snapshot(current, ("start", "end", "exact", "anchor_status")),
        )
    return current


def annotation_confirm(*, actor: User, annotation: Annotation, role: str | None) -> Annotation:
    """The annotator looked again at a tag marked for a second look and keeps it as it is."""
    ensure_that(
        can_edit_annotation(user=actor, role=role, annotation=annotation),
        "Only the annotation's annotator may confirm it.",
    )
    with transaction.atomic():
        current = _lock(Annotation, annotation.pk)
        if not current.second_look:
            return current
        current.second_look = False
        current.version += 1
        current.save(update_fields=["second_look", "version", "updated_at"])
        audit(
            actor=actor,
            verb="annotation.confirm",
            obj=current,
            corpus=annotation.claim.article.corpus,
            after={"second_look": False},
        )
    return current


def notice_dismiss(*, actor: User, notice: TextChangeNotice) -> None:
    """A member's own notice, put away (nobody else's: the selector fetched it as theirs)."""
    if notice.user_id != actor.pk:
        raise ValidationError({"notice": ["This notice is not yours."]})
    TextChangeNotice.objects.filter(pk=notice.pk, dismissed_at__isnull=True).update(
        dismissed_at=timezone.now()
    )
