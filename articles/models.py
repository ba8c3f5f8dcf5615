"""The domain: corpora of articles, the claims marked in them, and the team's tags on those claims.

Offsets are Unicode code points of the stored (NFC) article text, start inclusive, end exclusive
(see anchoring.py). Rules the database can hold are constraints here; the rest live in the
services package (articles/services/). Users are never deleted in cascade with annotation data:
user foreign keys PROTECT (a departing member is deactivated, their work stays attributed to them).
"""

import uuid
from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from knox.models import AbstractAuthToken

USER = settings.AUTH_USER_MODEL


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    CURATOR = "curator", "Curator"
    ANNOTATOR = "annotator", "Annotator"
    VIEWER = "viewer", "Viewer"


class Stance(models.TextChoices):
    SUPPORT = "support", "Support"
    OPPOSE = "oppose", "Oppose"
    NEUTRAL = "neutral", "Neutral"


class AnnotationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"


class EvidenceKind(models.TextChoices):
    SPAN = "span", "Span of the article"
    SOURCE = "source", "Outside source"


class EvidenceType(models.TextChoices):
    STUDY = "study", "Study"
    STATISTIC = "statistic", "Statistic"
    EXPERT = "expert", "Expert"
    EXAMPLE = "example", "Example"
    ANECDOTE = "anecdote", "Anecdote"
    OFFICIAL = "official", "Official"
    OTHER = "other", "Other"


class EvidenceRole(models.TextChoices):
    SUPPORTS = "supports", "Supports"
    UNDERMINES = "undermines", "Undermines"


class RelationKind(models.TextChoices):
    SUPPORTS = "supports", "Supports"
    ATTACKS = "attacks", "Attacks"
    REPHRASES = "rephrases", "Rephrases"


class ReviewDecision(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class AssignmentState(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    SUBMITTED = "submitted", "Submitted"


class Corpus(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    blind = models.BooleanField(
        default=False,
        help_text="Annotators see others' tags on an article only after submitting it.",
    )
    claim_labels = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "corpora"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Topic(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="topics")
    label = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["corpus", "label"], name="topic_unique_label"),
        ]

    def __str__(self) -> str:
        return self.label


class Membership(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["corpus", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["corpus", "user"], name="membership_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} of {self.corpus}"


class ArticleQuerySet(models.QuerySet["Article"]):
    def alive(self) -> Self:
        return self.filter(deleted_at__isnull=True)

    def in_trash(self) -> Self:
        return self.filter(deleted_at__isnull=False)


class Article(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="articles")
    title = models.CharField(max_length=500)
    text = models.TextField()
    author = models.CharField(max_length=300, blank=True)
    source_url = models.URLField(max_length=2000, blank=True)
    published_on = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=35, blank=True)
    text_sha256 = models.CharField(max_length=64, db_index=True)
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1)
    # The number of the text's current version (ArticleVersion); offsets refer to it.
    text_version = models.PositiveIntegerField(default=1)
    # Trash: a deleted article disappears everywhere but can be restored by an owner. Indexed
    # only where set (article_trash): an index over every NULL lured the planners away from
    # the corpus's index on fresh statistics (bench/README.md, "Workload").
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["corpus", "deleted_at"], name="article_corpus_alive"),
            # A corpus's live articles in id order: its lists and counts (alive() everywhere).
            models.Index(
                fields=["corpus", "id"], condition=Q(deleted_at__isnull=True), name="article_live"
            ),
            models.Index(
                fields=["deleted_at"], condition=Q(deleted_at__isnull=False), name="article_trash"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ClaimQuerySet(models.QuerySet["Claim"]):
    def alive(self) -> Self:
        return self.filter(deleted_at__isnull=True)

    def in_trash(self) -> Self:
        return self.filter(deleted_at__isnull=False)

    def in_text_order(self) -> Self:
        return self.order_by("start", "-end", "id")

    def placed(self) -> Self:
        """Claims with a position in the current text (orphans have none)."""
        return self.filter(start__isnull=False)

    def orphaned(self) -> Self:
        return self.filter(start__isnull=True)


class AnchorStatus(models.TextChoices):
    """How a span stands on the article's current text after the last re-anchoring."""

    EXACT = "exact", "Exact"
    MOVED = "moved", "Moved"
    FUZZY = "fuzzy", "Fuzzy"
    ORPHANED = "orphaned", "Orphaned"


class Claim(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="claims")
    # Both None for an orphan (its words left the text; exact, prefix and suffix are the old ones).
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    exact = models.TextField()
    prefix = models.CharField(max_length=64, blank=True)
    suffix = models.CharField(max_length=64, blank=True)
    summary = models.TextField(blank=True)
    labels = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1)
    deleted_at = models.DateTimeField(null=True, blank=True)  # indexed where set: claim_trash
    # Indexed where set (claim_deleted_by): a live claim, almost every row, writes no entry.
    deleted_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False
    )
    # Re-anchoring after a text change: status, score (0-1) and the text version it refers to.
    anchor_status = models.CharField(
        max_length=16, choices=AnchorStatus.choices, default=AnchorStatus.EXACT
    )
    anchor_score = models.FloatField(default=1.0)
    anchor_version = models.PositiveIntegerField(default=1)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["start", "-end", "id"]
        indexes = [
            # An article's live claims in text order (every read of claims is alive()).
            models.Index(
                fields=["article", "start"],
                condition=Q(deleted_at__isnull=True),
                name="claim_article_live",
            ),
            models.Index(
                fields=["deleted_at"], condition=Q(deleted_at__isnull=False), name="claim_trash"
            ),
            # Who trashed it, for PROTECT when a user is deleted; live claims have none.
            models.Index(
                fields=["deleted_by"],
                condition=Q(deleted_by__isnull=False),
                name="claim_deleted_by",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(start__gte=0), name="claim_start_nonnegative"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="claim_end_after_start"),
            # exact is text[start:end], so its length in code points is end - start.
            models.CheckConstraint(
                condition=Q(end=F("start") + Length("exact")), name="claim_exact_length"
            ),
            # The rules above hold for placed claims; an orphan has no position at all.
            models.CheckConstraint(
                condition=(
                    Q(anchor_status=AnchorStatus.ORPHANED, start__isnull=True, end__isnull=True)
                    | (
                        Q(start__isnull=False, end__isnull=False)
                        & ~Q(anchor_status=AnchorStatus.ORPHANED)
                    )
                ),
                name="claim_placed_or_orphaned",
            ),
            models.CheckConstraint(
                condition=Q(anchor_status__in=AnchorStatus.values), name="claim_anchor_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.exact[:80]


class AnnotationQuerySet(models.QuerySet["Annotation"]):
    def alive(self) -> Self:
        # Deleting an article stamps its claims too, so the claim's flag is enough.
        return self.filter(claim__deleted_at__isnull=True)


class Annotation(models.Model):
    # No index of its own: the unique (claim, annotator) index starts with it and serves every
    # lookup by claim (one index fewer to write per annotation: imports, bulk writes).
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="annotations", db_index=False
    )
    annotator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="annotations")
    # RESTRICT (not PROTECT) so deleting a whole corpus can cascade through topics and annotations.
    topic = models.ForeignKey(Topic, on_delete=models.RESTRICT, related_name="annotations")
    stance = models.CharField(max_length=16, choices=Stance.choices)
    labels = models.JSONField(default=list, blank=True)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=AnnotationStatus.choices, default=AnnotationStatus.DRAFT
    )
    # Set when the claim's words changed (fuzzy re-anchoring): the stance may no longer hold.
    # Cleared when the annotator saves or confirms the annotation.
    second_look = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1)

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        ordering = ["claim", "annotator__username"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "annotator"], name="annotation_one_per_user"),
            models.CheckConstraint(
                condition=Q(stance__in=Stance.values), name="annotation_stance_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AnnotationStatus.values), name="annotation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=1, confidence__lte=5),
                name="annotation_confidence_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.annotator}: {self.stance} on claim {self.claim_id}"


# What an evidence item is made of, in this order: what services.clean_evidence takes, what the
# audit records and the columns the export reads.
EVIDENCE_FIELDS = (
    "kind",
    "start",
    "end",
    "exact",
    "url",
    "title",
    "quote",
    "evidence_type",
    "role",
)


class Evidence(models.Model):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=16, choices=EvidenceKind.choices)
    # kind=span: a span of the same article, in code points like a claim.
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    exact = models.TextField(blank=True)
    # kind=source: an outside source.
    url = models.URLField(max_length=2000, blank=True)
    title = models.CharField(max_length=500, blank=True)
    quote = models.TextField(blank=True)
    evidence_type = models.CharField(
        max_length=16, choices=EvidenceType.choices, default=EvidenceType.OTHER
    )
    role = models.CharField(
        max_length=16, choices=EvidenceRole.choices, default=EvidenceRole.SUPPORTS
    )
    position = models.PositiveIntegerField(default=0)
    # A span's re-anchoring, as on Claim (an outside source is always "exact").
    anchor_status = models.CharField(
        max_length=16, choices=AnchorStatus.choices, default=AnchorStatus.EXACT
    )
    anchor_score = models.FloatField(default=1.0)
    anchor_version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "evidence"
        ordering = ["annotation", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind=EvidenceKind.SPAN,
                        start__isnull=False,
                        end__isnull=False,
                        end__gt=F("start"),
                        end=F("start") + Length("exact"),
                    )
                    & ~Q(anchor_status=AnchorStatus.ORPHANED)
                    # An orphaned span keeps its old quote and has no position.
                    | Q(
                        kind=EvidenceKind.SPAN,
                        anchor_status=AnchorStatus.ORPHANED,
                        start__isnull=True,
                        end__isnull=True,
                    )
                    | Q(kind=EvidenceKind.SOURCE, start__isnull=True, end__isnull=True)
                ),
                name="evidence_span_or_source",
            ),
            models.CheckConstraint(
                condition=Q(evidence_type__in=EvidenceType.values), name="evidence_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(role__in=EvidenceRole.values), name="evidence_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.exact[:60] if self.kind == EvidenceKind.SPAN else (self.title or self.url)


class Relation(models.Model):
    source_claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="outgoing_relations"
    )
    target_claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="incoming_relations"
    )
    kind = models.CharField(max_length=16, choices=RelationKind.choices)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Per creator: in blind double annotation each annotator's links are their own
            # work, and one annotator's link must not block (and so reveal) another's.
            models.UniqueConstraint(
                fields=["source_claim", "target_claim", "kind", "created_by"],
                name="relation_unique_per_creator",
            ),
            models.CheckConstraint(
                condition=~Q(source_claim=F("target_claim")), name="relation_no_self_loop"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=RelationKind.values), name="relation_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_claim_id} {self.kind} {self.target_claim_id}"


class Review(models.Model):
    claim = models.OneToOneField(Claim, on_delete=models.CASCADE, related_name="review")
    curator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=ReviewDecision.choices)
    topic = models.ForeignKey(
        Topic, on_delete=models.RESTRICT, related_name="+", null=True, blank=True
    )
    stance = models.CharField(max_length=16, choices=Stance.choices, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(decision=ReviewDecision.REJECTED)
                | Q(
                    decision=ReviewDecision.ACCEPTED, topic__isnull=False, stance__in=Stance.values
                ),
                name="review_accepted_has_gold",
            ),
            models.CheckConstraint(
                condition=Q(decision__in=ReviewDecision.values), name="review_decision_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} claim {self.claim_id}"


class Comment(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class Assignment(models.Model):
    # No index of their own: the unique (article, annotator) index serves lookups by article,
    # and the (annotator, state, article) index those by annotator (migration 0018).
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    annotator = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="assignments", db_index=False
    )
    state = models.CharField(
        max_length=16, choices=AssignmentState.choices, default=AssignmentState.ASSIGNED
    )
    assigned_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["article", "annotator__username"]
        constraints = [
            models.UniqueConstraint(fields=["article", "annotator"], name="assignment_unique"),
            models.CheckConstraint(
                condition=Q(state__in=AssignmentState.values), name="assignment_state_valid"
            ),
        ]
        indexes = [
            # A member's open (or submitted) articles in article order: the dashboard's next
            # article stops at the first row instead of walking every assignment of theirs.
            models.Index(fields=["annotator", "state", "article"], name="assignment_mine"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} → {self.annotator} ({self.state})"


class AuditEvent(models.Model):
    """Append-only record of every write made through a service."""

    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    verb = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    corpus = models.ForeignKey(
        Corpus, on_delete=models.SET_NULL, related_name="audit_events", null=True, blank=True
    )
    corpus_slug = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["corpus", "-at"], name="audit_corpus_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.verb} {self.object_type} {self.object_id}"


class ApiToken(AbstractAuthToken):
    """An API key for `Authorization: Token <key>`; only its hash is stored (django-rest-knox).

    Swapped in for knox's own model (settings.KNOX_TOKEN_MODEL) to give each token the name its
    owner chose and the time it was last used, shown on the tokens page. An integer id replaces
    knox's digest primary key so that the page and the audit log can name a token without it.
    """

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=100, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.name or 'token'} of {self.user}"


# --- Articles that change: text versions and re-anchoring ------------------------------------


class ArticleVersion(models.Model):
    """One version of an article's text, kept for reading and comparing; the last one is the
    article's current text (Article.text_version names it)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # What re-anchoring did when this version replaced the previous one (counts by status).
    outcome = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["article", "number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="article_version_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="article_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class TextChangeNotice(models.Model):
    """What a text change did to one member's work on the article: the claims they created or
    tagged that moved, changed words (fuzzy) or were orphaned. Shown until dismissed."""

    version = models.ForeignKey(ArticleVersion, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    moved = models.JSONField(default=list, blank=True)  # claim ids
    fuzzy = models.JSONField(default=list, blank=True)
    orphaned = models.JSONField(default=list, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version__number", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "user"], name="text_notice_unique"),
        ]

    def __str__(self) -> str:
        return f"notice for {self.user_id} on {self.version}"


# --- A team's first week: invitations by e-mail, annotation guidelines ------------------------


class Invitation(models.Model):
    """A one-time link that lets a person (a new account, or an existing user once signed in)
    join a corpus with a role. Only the key's hash is stored: the link is shown once."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices)
    key_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.corpus_id} as {self.role}"


class Guidelines(models.Model):
    """A corpus's annotation guidelines, in Markdown, written by its owners."""

    corpus = models.OneToOneField(
        Corpus, on_delete=models.CASCADE, primary_key=True, related_name="guidelines"
    )
    text = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "guidelines"

    def __str__(self) -> str:
        return f"guidelines of {self.corpus_id}"


# --- Claim groups and similar claims (one claim across the corpus) ---------------------------


class ClaimGroup(models.Model):
    """Claims of different articles that say the same thing, under a label in the team's words."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="claim_groups")
    label = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            # The label is how people (and the JSONL import) name a group within its corpus.
            models.UniqueConstraint(fields=["corpus", "label"], name="claim_group_unique_label"),
        ]

    def __str__(self) -> str:
        return self.label


class ClaimGroupMember(models.Model):
    """A claim's place in a group: a claim is in at most one group (the one-to-one key)."""

    group = models.ForeignKey(ClaimGroup, on_delete=models.CASCADE, related_name="members")
    claim = models.OneToOneField(Claim, on_delete=models.CASCADE, related_name="group_link")
    added_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "claim"]

    def __str__(self) -> str:
        return f"claim {self.claim_id} in group {self.group_id}"


class ClaimEmbedding(models.Model):
    """A claim's sentence embedding (articles.embedding), stored so that asking for similar
    claims costs one query and a vector product. `text_sha256` is the hash of the text that was
    embedded (similarity.embedding_text): a claim whose text changed is embedded again."""

    claim = models.OneToOneField(Claim, on_delete=models.CASCADE, related_name="embedding")
    model = models.CharField(max_length=100)
    text_sha256 = models.CharField(max_length=64)
    vector = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"embedding of claim {self.claim_id}"


# --- Suggestions: machine pre-annotation that people accept or reject -------------------------


class SuggestionState(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Suggestion(models.Model):
    """A span a model proposes as a claim (with an optional topic, stance, labels and score).

    Not an annotation: nothing counts it until a person accepts it, which makes their own
    annotation. Decisions are per person (SuggestionDecision), so that in blind double
    annotation one annotator's verdict neither shows to nor blocks another's.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="suggestions")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    exact = models.TextField()
    prefix = models.CharField(max_length=64, blank=True)
    suffix = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=200)  # "name@version"
    topic = models.ForeignKey(
        Topic, on_delete=models.CASCADE, related_name="suggestions", null=True, blank=True
    )
    stance = models.CharField(max_length=16, choices=Stance.choices, blank=True)
    labels = models.JSONField(default=list, blank=True)
    score = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start", "-end", "id"]
        indexes = [models.Index(fields=["article", "model"], name="suggestion_article_model")]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "model", "start", "end"], name="suggestion_unique_span"
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="suggestion_span"),
            models.CheckConstraint(
                condition=Q(end=F("start") + Length("exact")), name="suggestion_exact_length"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=1),
                name="suggestion_score_0_1",
            ),
            models.CheckConstraint(
                condition=Q(stance="") | Q(stance__in=Stance.values),
                name="suggestion_stance_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.exact[:60]}"


class SuggestionDecision(models.Model):
    """One person's verdict on a suggestion; an acceptance names the annotation it became (the
    annotation's provenance)."""

    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="decisions")
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=SuggestionState.choices)
    decided_at = models.DateTimeField(auto_now=True)
    annotation = models.ForeignKey(
        Annotation,
        on_delete=models.SET_NULL,
        related_name="suggestion_decisions",
        null=True,
        blank=True,
    )
    # Whether accepting created that annotation (undo removes it) or found the person's own.
    created_annotation = models.BooleanField(default=False)
    batch = models.CharField(max_length=32, blank=True)  # a bulk acceptance, for its undo

    class Meta:
        ordering = ["suggestion", "decided_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["suggestion", "decided_by"], name="suggestion_decision_one_per_user"
            ),
            models.CheckConstraint(
                condition=Q(state__in=[SuggestionState.ACCEPTED, SuggestionState.REJECTED]),
                name="suggestion_decision_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decided_by}: {self.state} suggestion {self.suggestion_id}"


# --- Background jobs: exports to a file and large imports, run by a worker ---------------------


class JobKind(models.TextChoices):
    EXPORT = "export", "Export"
    IMPORT = "import", "Import"
    SUGGEST = "suggest", "Suggest claims"  # the built-in suggester on many articles


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def _jobs_storage():  # a callable, so that tests and deployments can swap STORAGES["jobs"]
    from django.core.files.storage import storages

    return storages["jobs"]


class Job(models.Model):
    """One export to a file or one import, run by a worker (articles/jobs/).

    The row is the job's truth: the task queued for it (database or Redis) only says "run job X
    now"; running it claims the row with a lease (`lease_until`) that a heartbeat renews, so a job
    whose worker died is found and queued again or failed with the reason. `file` is set only in
    the same update that marks the job done, after the whole file is in place.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=10, choices=JobKind.choices)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)  # an import's counts
    file = models.FileField(storage=_jobs_storage, max_length=300, blank=True)
    filename = models.CharField(max_length=200, blank=True)  # the name a download is saved under
    content_type = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    task_id = models.CharField(max_length=64, blank=True)  # the latest task queued for it

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["corpus", "-created_at"], name="job_corpus_created"),
            models.Index(fields=["status", "lease_until"], name="job_status_lease"),
            models.Index(fields=["expires_at"], name="job_expires"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="job_progress_0_1"
            ),
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_known"
            ),
            models.CheckConstraint(condition=Q(kind__in=JobKind.values), name="job_kind_known"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"


# --- Counters kept by the database (articles/counters.py) ------------------------------------


class ArticleCounts(models.Model):
    """An article's live work, kept by database triggers on every write (articles/counters.py):
    reads of counts look these up instead of counting the corpus. Never written by the app."""

    article = models.OneToOneField(
        Article, on_delete=models.CASCADE, primary_key=True, related_name="counts"
    )
    claims = models.IntegerField(default=0)  # live claims (orphans included)
    annotations = models.IntegerField(default=0)  # annotations of live claims
    reviewed = models.IntegerField(default=0)  # live claims with a review
    claims_tagged = models.IntegerField(default=0)  # live claims with at least one annotation
    assignments = models.IntegerField(default=0)
    assignments_submitted = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"counts of article {self.article_id}"


class CorpusCounts(models.Model):
    """A corpus's live articles, the sum of their ArticleCounts, and how many of them have a
    submission, kept by the same triggers."""

    corpus = models.OneToOneField(
        Corpus, on_delete=models.CASCADE, primary_key=True, related_name="counts"
    )
    articles = models.IntegerField(default=0)  # live articles
    claims = models.IntegerField(default=0)
    annotations = models.IntegerField(default=0)
    reviewed = models.IntegerField(default=0)
    claims_tagged = models.IntegerField(default=0)
    assignments = models.IntegerField(default=0)
    assignments_submitted = models.IntegerField(default=0)
    # Live articles with at least one submitted assignment (not a sum: a count of articles).
    articles_submitted = models.IntegerField(default=0)
    # Live articles with at least one assignment not yet submitted (likewise).
    articles_open = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"counts of corpus {self.corpus_id}"


class MemberCounts(models.Model):
    """A member's own figures in their corpus, kept by the same triggers (articles/counters.py):
    their assignments to live articles (all, submitted), their annotations of live claims on
    articles they have not submitted, and the sums of the ArticleCounts of the live articles
    they submitted (what a member who sees others' work only there may count). One row per
    membership, created with it; never written by the app."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, primary_key=True, related_name="counts"
    )
    assigned = models.IntegerField(default=0)
    submitted = models.IntegerField(default=0)
    tags = models.IntegerField(default=0)
    sub_annotations = models.IntegerField(default=0)
    sub_reviewed = models.IntegerField(default=0)
    sub_claims_tagged = models.IntegerField(default=0)
    sub_assignments = models.IntegerField(default=0)
    sub_assignments_submitted = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"counts of membership {self.membership_id}"


COUNTED_FIELDS = (
    "claims",
    "annotations",
    "reviewed",
    "claims_tagged",
    "assignments",
    "assignments_submitted",
)
# The ArticleCounts fields whose sums over the articles a member submitted MemberCounts keeps
# (as `sub_<field>`): everything but claims, which every member sees.
MEMBER_SUMMED_FIELDS = COUNTED_FIELDS[1:]
