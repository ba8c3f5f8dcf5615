"""API input and output shapes. Explicit fields, no behaviour: views call the services.

Output: ids are strings (opaque to clients), people are usernames, every editable object carries
its `version`. Input serializers only check types and shapes; the services validate the rest
(offsets, labels, choices against the corpus...) and their errors come back per field too.
Free text keeps its whitespace (`trim_whitespace=False`): offsets count every character.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles.models import (
    AnnotationStatus,
    AssignmentState,
    EvidenceKind,
    EvidenceRole,
    EvidenceType,
    RelationKind,
    ReviewDecision,
    Role,
    Stance,
)


class IdField(serializers.CharField):
    """An id, always serialised as a string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


def _username(source: str, **kwargs) -> serializers.CharField:
    return serializers.CharField(source=f"{source}.username", read_only=True, **kwargs)


def _text(**kwargs) -> serializers.CharField:
    """Optional free text in input, whitespace kept."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_blank", True)
    return serializers.CharField(trim_whitespace=False, **kwargs)


def _labels(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), **kwargs)


# --- Output ----------------------------------------------------------------------------------


class TopicRefSerializer(serializers.Serializer):
    id = IdField()
    label = serializers.CharField(read_only=True)


class TopicSerializer(serializers.Serializer):
    id = IdField()
    corpus = serializers.CharField(source="corpus.slug", read_only=True)
    label = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)


class CorpusCountsSerializer(serializers.Serializer):
    articles = serializers.IntegerField(source="n_articles", read_only=True)
    claims = serializers.IntegerField(source="n_claims", read_only=True)
    annotations = serializers.IntegerField(source="n_annotations", read_only=True)
    reviewed = serializers.IntegerField(source="n_reviewed", read_only=True)
    my_assigned = serializers.IntegerField(source="n_my_assigned", read_only=True)
    my_submitted = serializers.IntegerField(source="n_my_submitted", read_only=True)


class CorpusSerializer(serializers.Serializer):
    id = IdField()
    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    blind = serializers.BooleanField(read_only=True)
    claim_labels = _labels(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    my_role = serializers.ChoiceField(choices=Role.choices, source="member_role", read_only=True)
    counts = CorpusCountsSerializer(source="*", read_only=True)


class CorpusDetailSerializer(CorpusSerializer):
    topics = TopicRefSerializer(source="topic_list", many=True, read_only=True)


class MemberSerializer(serializers.Serializer):
    username = _username("user")
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)


class ArticleCountsSerializer(serializers.Serializer):
    claims = serializers.IntegerField(source="n_claims", read_only=True)
    annotations = serializers.IntegerField(source="n_annotations", read_only=True)
    reviewed = serializers.IntegerField(source="n_reviewed", read_only=True)
    assigned = serializers.IntegerField(source="n_assigned", read_only=True)
    submitted = serializers.IntegerField(source="n_submitted", read_only=True)


class ArticleBaseSerializer(serializers.Serializer):
    id = IdField()
    corpus = serializers.CharField(source="corpus.slug", read_only=True)
    title = serializers.CharField(read_only=True)
    author = serializers.CharField(read_only=True)
    source_url = serializers.CharField(read_only=True)
    published_on = serializers.DateField(read_only=True, allow_null=True)
    language = serializers.CharField(read_only=True)
    text_sha256 = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)


class ArticleListItemSerializer(ArticleBaseSerializer):
    """An article in a list: no text, with progress counts and the caller's assignment state."""

    counts = ArticleCountsSerializer(source="*", read_only=True)
    my_state = serializers.ChoiceField(
        choices=AssignmentState.choices, read_only=True, allow_null=True
    )


class ArticleSerializer(ArticleBaseSerializer):
    """One article with its text; the caller's role comes from the `access` in the context."""

    text = serializers.CharField(read_only=True)
    my_role = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices))
    def get_my_role(self, article) -> str:
        return self.context["access"].role


class ReviewSummarySerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReviewDecision.choices, read_only=True)
    topic = TopicRefSerializer(read_only=True, allow_null=True)
    stance = serializers.CharField(read_only=True)
    curator = _username("curator")
    updated_at = serializers.DateTimeField(read_only=True)


class ClaimSerializer(serializers.Serializer):
    id = IdField()
    article = IdField(source="article_id")
    start = serializers.IntegerField(read_only=True)
    end = serializers.IntegerField(read_only=True)
    exact = serializers.CharField(read_only=True)
    prefix = serializers.CharField(read_only=True)
    suffix = serializers.CharField(read_only=True)
    summary = serializers.CharField(read_only=True)
    labels = _labels(read_only=True)
    created_by = _username("created_by")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    review = serializers.SerializerMethodField()

    @extend_schema_field(ReviewSummarySerializer(allow_null=True))
    def get_review(self, claim) -> dict | None:
        """The curator's decision, when there is one and the caller may see it (context)."""
        if not self.context.get("reviews_visible", False):
            return None
        review = getattr(claim, "review", None)
        return ReviewSummarySerializer(review).data if review is not None else None


class EvidenceSerializer(serializers.Serializer):
    id = IdField()
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, read_only=True)
    start = serializers.IntegerField(read_only=True, allow_null=True)
    end = serializers.IntegerField(read_only=True, allow_null=True)
    exact = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    quote = serializers.CharField(read_only=True)
    evidence_type = serializers.ChoiceField(choices=EvidenceType.choices, read_only=True)
    role = serializers.ChoiceField(choices=EvidenceRole.choices, read_only=True)


class AnnotationSerializer(serializers.Serializer):
    id = IdField()
    claim = IdField(source="claim_id")
    annotator = _username("annotator")
    topic = TopicRefSerializer(read_only=True)
    stance = serializers.ChoiceField(choices=Stance.choices, read_only=True)
    labels = _labels(read_only=True)
    confidence = serializers.IntegerField(read_only=True, allow_null=True)
    note = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=AnnotationStatus.choices, read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)


class RelationSerializer(serializers.Serializer):
    id = IdField()
    source = IdField(source="source_claim_id")
    target = IdField(source="target_claim_id")
    kind = serializers.ChoiceField(choices=RelationKind.choices, read_only=True)
    created_by = _username("created_by")
    created_at = serializers.DateTimeField(read_only=True)


class ReviewSerializer(serializers.Serializer):
    id = IdField()
    claim = IdField(source="claim_id")
    curator = _username("curator")
    decision = serializers.ChoiceField(choices=ReviewDecision.choices, read_only=True)
    topic = TopicRefSerializer(read_only=True, allow_null=True)
    stance = serializers.CharField(read_only=True)
    note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)


class CommentSerializer(serializers.Serializer):
    id = IdField()
    claim = IdField(source="claim_id")
    author = _username("author")
    text = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class AssignmentSerializer(serializers.Serializer):
    id = IdField()
    article = IdField(source="article_id")
    article_title = serializers.CharField(source="article.title", read_only=True)
    annotator = _username("annotator")
    state = serializers.ChoiceField(choices=AssignmentState.choices, read_only=True)
    assigned_by = _username("assigned_by", allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="Send as `Authorization: Token <key>`.")
    expiry = serializers.DateTimeField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)


# --- Input -----------------------------------------------------------------------------------


class VersionedInput(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="The version you edited (or send it as If-Match); a stale one gets 412.",
    )


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class TopicInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=300)
    description = _text()


class TopicUpdateSerializer(VersionedInput):
    label = serializers.CharField(max_length=300, required=False)
    description = _text()


class CorpusCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=64, required=False, allow_blank=True)
    description = _text()
    blind = serializers.BooleanField(required=False)
    claim_labels = _labels(required=False)
    topics = TopicInputSerializer(many=True, required=False)


class CorpusUpdateSerializer(VersionedInput):
    name = serializers.CharField(max_length=200, required=False)
    description = _text()
    blind = serializers.BooleanField(required=False)
    claim_labels = _labels(required=False)


class MemberInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, help_text="A username or a unique email.")
    role = serializers.ChoiceField(choices=Role.choices)


class MemberUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class ArticleInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500)
    text = serializers.CharField(trim_whitespace=False)
    author = _text(max_length=300)
    source_url = _text(max_length=2000)
    published_on = serializers.DateField(required=False, allow_null=True)
    language = _text(max_length=35)


class ArticleUpdateSerializer(VersionedInput):
    title = serializers.CharField(max_length=500, required=False)
    text = serializers.CharField(trim_whitespace=False, required=False)
    author = _text(max_length=300)
    source_url = _text(max_length=2000)
    published_on = serializers.DateField(required=False, allow_null=True)
    language = _text(max_length=35)


class ClaimInputSerializer(serializers.Serializer):
    """A span by offsets (`start`, `end`, optionally `exact` to check) or by quote (`exact`,
    optionally `prefix`/`suffix`), in Unicode code points of the article text."""

    start = serializers.IntegerField(required=False, allow_null=True)
    end = serializers.IntegerField(required=False, allow_null=True)
    exact = _text(allow_blank=False, allow_null=True)
    prefix = _text(allow_null=True)
    suffix = _text(allow_null=True)
    summary = _text()
    labels = _labels(required=False)


class ClaimUpdateSerializer(VersionedInput):
    summary = _text()
    labels = _labels(required=False)


class EvidenceInputSerializer(serializers.Serializer):
    """A span of the same article (`start`/`end` or `exact` + context) or an outside source
    (`url`, `title`, `quote`)."""

    kind = serializers.ChoiceField(choices=EvidenceKind.choices, required=False)
    start = serializers.IntegerField(required=False, allow_null=True)
    end = serializers.IntegerField(required=False, allow_null=True)
    exact = _text(allow_null=True)
    prefix = _text(allow_null=True)
    suffix = _text(allow_null=True)
    url = _text(max_length=2000)
    title = _text(max_length=500)
    quote = _text()
    evidence_type = serializers.ChoiceField(choices=EvidenceType.choices, required=False)
    role = serializers.ChoiceField(choices=EvidenceRole.choices, required=False)


class AnnotationInputSerializer(serializers.Serializer):
    topic = serializers.CharField(
        required=False, allow_null=True, help_text="Topic id or label; default the first topic."
    )
    stance = serializers.ChoiceField(choices=Stance.choices)
    labels = _labels(required=False)
    confidence = serializers.IntegerField(required=False, allow_null=True)
    note = _text()
    evidence = EvidenceInputSerializer(many=True, required=False)


class AnnotationReplaceSerializer(AnnotationInputSerializer, VersionedInput):
    """PUT: every editable field; the ones left out take their defaults."""


class AnnotationUpdateSerializer(VersionedInput):
    topic = serializers.CharField(required=False, allow_null=True)
    stance = serializers.ChoiceField(choices=Stance.choices, required=False)
    labels = _labels(required=False)
    confidence = serializers.IntegerField(required=False, allow_null=True)
    note = _text()
    evidence = EvidenceInputSerializer(many=True, required=False)


class RelationInputSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="Claim id, in this article.")
    target = serializers.CharField(help_text="Claim id, in this article.")
    kind = serializers.ChoiceField(choices=RelationKind.choices)


class ReviewInputSerializer(VersionedInput):
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    topic = serializers.CharField(
        required=False, allow_null=True, help_text="Gold topic id or label (accepted claims)."
    )
    stance = serializers.ChoiceField(
        choices=Stance.choices, required=False, allow_null=True, allow_blank=True
    )
    note = _text()


class CommentInputSerializer(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False)


class AssignmentInputSerializer(serializers.Serializer):
    article = serializers.CharField(help_text="Article id, in this corpus.")
    annotator = serializers.CharField(max_length=254, help_text="Username.")
