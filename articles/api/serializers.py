"""API input and output shapes. Explicit fields, no behaviour: views call the services.

Output: ids are strings (opaque to clients), people are usernames, every editable object carries
its `version`. Input: a field that articles.validators has a validator for is checked by it
(api/fields.py), so that a mistake reads the same in the API, on the page and in an import;
what needs the corpus or the article (a span's offsets, a corpus's label set, a topic, a member)
the services check, and their errors come back per field too.
Free text keeps its whitespace (`trim_whitespace=False`): offsets count every character.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles import validators
from articles.models import (
    AnchorStatus,
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

from . import fields as f


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

# A field named `label` or `source` is one of the serializer's fields (DRF's metaclass takes it
# out of the class); the stubs read it as Field.label / Field.source, hence the ignores below.


class TopicRefSerializer(serializers.Serializer):
    id = IdField()
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]


class TopicSerializer(serializers.Serializer):
    id = IdField()
    corpus = serializers.CharField(source="corpus.slug", read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
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
    text_version = serializers.IntegerField(
        read_only=True, help_text="The number of the text's current version; offsets refer to it."
    )
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


class AnchorSerializer(serializers.Serializer):
    """Where a span stands on the article's current text (see services.versions)."""

    status = serializers.ChoiceField(
        source="anchor_status", choices=AnchorStatus.choices, read_only=True
    )
    score = serializers.FloatField(source="anchor_score", read_only=True)
    version = serializers.IntegerField(
        source="anchor_version", read_only=True, help_text="The text version it was placed on."
    )


class ClaimSerializer(serializers.Serializer):
    id = IdField()
    article = IdField(source="article_id")
    # null for an orphan: its words left the text (see `anchor`).
    start = serializers.IntegerField(read_only=True, allow_null=True)
    end = serializers.IntegerField(read_only=True, allow_null=True)
    exact = serializers.CharField(read_only=True)
    prefix = serializers.CharField(read_only=True)
    suffix = serializers.CharField(read_only=True)
    summary = serializers.CharField(read_only=True)
    labels = _labels(read_only=True)
    created_by = _username("created_by")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    anchor = AnchorSerializer(source="*", read_only=True)
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
    anchor = AnchorSerializer(source="*", read_only=True)


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
    second_look = serializers.BooleanField(
        read_only=True, help_text="The claim's words changed with the text: worth a second look."
    )
    evidence = EvidenceSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    version = serializers.IntegerField(read_only=True)


class RelationSerializer(serializers.Serializer):
    id = IdField()
    source = IdField(source="source_claim_id")  # type: ignore[assignment]
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


# --- Input ---------------------------------------------------------------------------------


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


TOPIC_LABEL = validators.validate_topic_label
TOPIC_DESCRIPTION_CHARS = 5000  # as services.topic_create/topic_update clean it


class TopicInputSerializer(serializers.Serializer):
    label = f.CheckedChar(  # type: ignore[assignment]
        check=TOPIC_LABEL, max_length=validators.MAX_TOPIC_LABEL_CHARS
    )
    description = f.free_text(TOPIC_DESCRIPTION_CHARS)


class TopicUpdateSerializer(VersionedInput):
    label = f.CheckedChar(  # type: ignore[assignment]
        check=TOPIC_LABEL, max_length=validators.MAX_TOPIC_LABEL_CHARS, required=False
    )
    description = f.free_text(TOPIC_DESCRIPTION_CHARS)


class CorpusCreateSerializer(serializers.Serializer):
    name = f.line(200, blank=False)
    slug = serializers.CharField(max_length=64, required=False, allow_blank=True)
    description = f.free_text()
    blind = serializers.BooleanField(required=False)
    claim_labels = f.labels()
    topics = TopicInputSerializer(many=True, required=False)


class CorpusUpdateSerializer(VersionedInput):
    name = f.line(200, blank=False, required=False)
    description = f.free_text()
    blind = serializers.BooleanField(required=False)
    claim_labels = f.labels()


class MemberInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, help_text="A username or a unique email.")
    role = f.choice(Role)


class MemberUpdateSerializer(serializers.Serializer):
    role = f.choice(Role)


class ArticleInputSerializer(serializers.Serializer):
    title = f.line(500, blank=False)
    text = serializers.CharField(trim_whitespace=False)
    author = f.line(300)
    source_url = f.url()
    published_on = serializers.DateField(required=False, allow_null=True)
    language = f.line(35)


class ArticleUpdateSerializer(VersionedInput):
    title = f.line(500, blank=False, required=False)
    text = serializers.CharField(trim_whitespace=False, required=False)
    author = f.line(300)
    source_url = f.url()
    published_on = serializers.DateField(required=False, allow_null=True)
    language = f.line(35)


class ClaimInputSerializer(serializers.Serializer):
    """A span by offsets (`start`, `end`, optionally `exact` to check) or by quote (`exact`,
    optionally `prefix`/`suffix`), in Unicode code points of the article text."""

    start = serializers.IntegerField(required=False, allow_null=True)
    end = serializers.IntegerField(required=False, allow_null=True)
    exact = _text(allow_blank=False, allow_null=True)
    prefix = _text(allow_null=True)
    suffix = _text(allow_null=True)
    summary = f.free_text(validators.MAX_SUMMARY_CHARS)
    labels = f.labels()


class ClaimUpdateSerializer(VersionedInput):
    """`summary`, `labels`; and for an orphan, its new place: `start`/`end` or `exact` (with
    `prefix`/`suffix`), as when a claim is created."""

    summary = f.free_text(validators.MAX_SUMMARY_CHARS)
    labels = f.labels()
    start = serializers.IntegerField(required=False, allow_null=True)
    end = serializers.IntegerField(required=False, allow_null=True)
    exact = _text(allow_blank=False, allow_null=True)
    prefix = _text(allow_null=True)
    suffix = _text(allow_null=True)


class EvidenceInputSerializer(serializers.Serializer):
    """A span of the same article (`start`/`end` or `exact` + context) or an outside source
    (`url`, `title`, `quote`)."""

    kind = f.choice(EvidenceKind, required=False)
    start = serializers.IntegerField(required=False, allow_null=True)
    end = serializers.IntegerField(required=False, allow_null=True)
    exact = _text(allow_null=True)
    prefix = _text(allow_null=True)
    suffix = _text(allow_null=True)
    url = f.url()
    title = f.line(500)
    quote = f.free_text(5000)
    evidence_type = f.choice(EvidenceType, required=False)
    role = f.choice(EvidenceRole, required=False)


class AnnotationInputSerializer(serializers.Serializer):
    topic = serializers.CharField(
        required=False, allow_null=True, help_text="Topic id or label; default the first topic."
    )
    stance = f.stance()
    labels = f.labels()
    confidence = f.confidence()
    note = f.free_text()
    evidence = EvidenceInputSerializer(many=True, required=False)


class AnnotationReplaceSerializer(AnnotationInputSerializer, VersionedInput):
    """PUT: every editable field; the ones left out take their defaults."""


class AnnotationUpdateSerializer(VersionedInput):
    topic = serializers.CharField(required=False, allow_null=True)
    stance = f.stance(required=False)
    labels = f.labels()
    confidence = f.confidence()
    note = f.free_text()
    evidence = EvidenceInputSerializer(many=True, required=False)


class RelationInputSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="Claim id, in this article.")  # type: ignore[assignment]
    target = serializers.CharField(help_text="Claim id, in this article.")
    kind = f.choice(RelationKind)


class ReviewInputSerializer(VersionedInput):
    decision = f.choice(ReviewDecision)
    topic = serializers.CharField(
        required=False, allow_null=True, help_text="Gold topic id or label (accepted claims)."
    )
    stance = f.stance(required=False, allow_null=True, allow_blank=True)
    note = f.free_text()


class CommentInputSerializer(serializers.Serializer):
    text = f.free_text(validators.MAX_COMMENT_CHARS, required=True, allow_blank=False)


class AssignmentInputSerializer(serializers.Serializer):
    article = serializers.CharField(help_text="Article id, in this corpus.")
    annotator = serializers.CharField(max_length=254, help_text="Username.")
