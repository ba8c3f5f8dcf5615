"""The rules the database itself holds, whatever code writes to it."""

import pytest
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, models, transaction

from articles.models import Annotation, Claim, Evidence, Membership, Relation, Review

from .factories import (
    AnnotationFactory,
    ArticleFactory,
    ClaimFactory,
    RelationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _refused(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def _claim_kwargs(article, **overrides):
    data = dict(
        article=article, start=0, end=10, exact=article.text[0:10], created_by=article.created_by
    )
    data.update(overrides)
    return data


def test_claim_span_constraints():
    article = ArticleFactory()
    Claim.objects.create(**_claim_kwargs(article))  # a valid one is accepted
    _refused(lambda: Claim.objects.create(**_claim_kwargs(article, start=5, end=5, exact="")))
    _refused(lambda: Claim.objects.create(**_claim_kwargs(article, start=8, end=3, exact="abcde")))
    # exact must be exactly end - start code points long
    _refused(lambda: Claim.objects.create(**_claim_kwargs(article, exact="too short")))


def test_claim_exact_length_counts_code_points_not_bytes():
    article = ArticleFactory(text="👩‍👩‍👧 family and 研究")
    exact = article.text[0:5]  # the ZWJ family is five code points
    Claim.objects.create(**_claim_kwargs(article, start=0, end=5, exact=exact))
    assert Claim.objects.get().exact == "👩‍👩‍👧"


def test_one_annotation_per_claim_and_annotator():
    annotation = AnnotationFactory()
    _refused(
        lambda: Annotation.objects.create(
            claim=annotation.claim,
            annotator=annotation.annotator,
            topic=annotation.topic,
            stance="oppose",
        )
    )


@pytest.mark.parametrize("value", [0, 6])
def test_confidence_is_one_to_five(value):
    annotation = AnnotationFactory()
    annotation.confidence = value
    _refused(annotation.save)


def test_stance_must_be_known():
    annotation = AnnotationFactory()
    annotation.stance = "maybe"
    _refused(annotation.save)


def test_relation_rules():
    relation = RelationFactory()
    _refused(
        lambda: Relation.objects.create(
            source_claim=relation.source_claim,
            target_claim=relation.source_claim,
            kind="supports",
            created_by=relation.created_by,
        )
    )
    _refused(
        lambda: Relation.objects.create(
            source_claim=relation.source_claim,
            target_claim=relation.target_claim,
            kind=relation.kind,
            created_by=relation.created_by,
        )
    )


def test_accepted_review_needs_gold_topic_and_stance():
    claim = ClaimFactory()
    curator = UserFactory()
    _refused(lambda: Review.objects.create(claim=claim, curator=curator, decision="accepted"))
    Review.objects.create(claim=claim, curator=curator, decision="rejected")


def test_evidence_is_a_span_or_a_source():
    annotation = AnnotationFactory()
    text = annotation.claim.article.text
    Evidence.objects.create(annotation=annotation, kind="span", start=0, end=4, exact=text[:4])
    _refused(lambda: Evidence.objects.create(annotation=annotation, kind="span", start=4, end=None))
    _refused(
        lambda: Evidence.objects.create(
            annotation=annotation, kind="span", start=0, end=4, exact="x"
        )
    )
    _refused(
        lambda: Evidence.objects.create(
            annotation=annotation, kind="source", start=0, end=4, url="https://example.org"
        )
    )


def test_membership_is_unique_per_corpus_and_user(team):
    _refused(
        lambda: Membership.objects.create(corpus=team.corpus, user=team.annotator, role="viewer")
    )


def test_no_cascade_from_users_to_annotation_data():
    """Deleting a user never silently deletes the team's work: those foreign keys PROTECT."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    # access (memberships, tokens) and their own notices of text changes, not work
    allowed_to_cascade = {"Membership", "ApiToken", "TextChangeNotice"}
    offenders = []
    for model in apps.get_app_config("articles").get_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey)
                and field.related_model is user_model
                and field.remote_field.on_delete is models.CASCADE
                and model.__name__ not in allowed_to_cascade
            ):
                offenders.append(f"{model.__name__}.{field.name}")
    assert offenders == []


def test_deleting_a_user_with_work_is_refused():
    annotation = AnnotationFactory()
    with pytest.raises(models.ProtectedError), transaction.atomic():
        annotation.annotator.delete()
    assert Annotation.objects.filter(pk=annotation.pk).exists()
