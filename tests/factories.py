"""factory_boy factories, valid by construction (spans point into their article's text)."""

import factory
from django.contrib.auth import get_user_model

from articles import anchoring
from articles.models import (
    Annotation,
    Article,
    Assignment,
    Claim,
    Comment,
    Corpus,
    Evidence,
    Membership,
    Relation,
    Review,
    Role,
    Stance,
    Topic,
)
from articles.services import text_sha256

PASSWORD = "correct-horse-battery-staple"

SAMPLE_TEXT = (
    "Restricting chip exports is shortsighted. The lab trained its model on low-end chips. "
    "Officials say the rules will be tightened next year. Critics call the policy a gift to "
    "domestic rivals. 研究者は別の見方をしている。 Prices rose by 12% in a single quarter."
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class CorpusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Corpus
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"corpus-{n}")
    name = factory.Sequence(lambda n: f"Corpus {n}")
    created_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def owner_membership(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            Membership.objects.get_or_create(
                corpus=obj, user=obj.created_by, defaults={"role": Role.OWNER}
            )


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic

    corpus = factory.SubFactory(CorpusFactory)
    label = factory.Sequence(lambda n: f"US export controls on AI chips are effective ({n})")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    corpus = factory.SubFactory(CorpusFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ANNOTATOR


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    corpus = factory.SubFactory(CorpusFactory)
    title = factory.Sequence(lambda n: f"Op-ed {n}")
    text = SAMPLE_TEXT
    text_sha256 = factory.LazyAttribute(lambda a: text_sha256(a.text))
    created_by = factory.LazyAttribute(lambda a: a.corpus.created_by)


def _span_exact(claim) -> str:
    return claim.article.text[claim.start : claim.end]


class ClaimFactory(factory.django.DjangoModelFactory):
    """Pass start/end (or nothing: the first sentence); exact and context follow from the text."""

    class Meta:
        model = Claim

    article = factory.SubFactory(ArticleFactory)
    start = 0
    end = factory.LazyAttribute(lambda c: min(40, len(c.article.text)))
    exact = factory.LazyAttribute(_span_exact)
    prefix = factory.LazyAttribute(
        lambda c: anchoring.context_around(c.article.text, c.start, c.end)[0]
    )
    suffix = factory.LazyAttribute(
        lambda c: anchoring.context_around(c.article.text, c.start, c.end)[1]
    )
    created_by = factory.LazyAttribute(lambda c: c.article.corpus.created_by)


class AnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Annotation

    claim = factory.SubFactory(ClaimFactory)
    annotator = factory.SubFactory(UserFactory)
    topic = factory.LazyAttribute(
        lambda a: (
            a.claim.article.corpus.topics.first() or TopicFactory(corpus=a.claim.article.corpus)
        )
    )
    stance = Stance.SUPPORT


class EvidenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evidence

    annotation = factory.SubFactory(AnnotationFactory)
    kind = "source"
    url = "https://example.org/report"
    title = "A report"
    evidence_type = "study"


class RelationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Relation

    source_claim = factory.SubFactory(ClaimFactory)
    target_claim = factory.SubFactory(
        ClaimFactory, article=factory.SelfAttribute("..source_claim.article"), start=42, end=85
    )
    kind = "supports"
    created_by = factory.LazyAttribute(lambda r: r.source_claim.created_by)


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    claim = factory.SubFactory(ClaimFactory)
    curator = factory.SubFactory(UserFactory)
    decision = "accepted"
    topic = factory.LazyAttribute(
        lambda r: (
            r.claim.article.corpus.topics.first() or TopicFactory(corpus=r.claim.article.corpus)
        )
    )
    stance = Stance.OPPOSE


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    claim = factory.SubFactory(ClaimFactory)
    author = factory.SubFactory(UserFactory)
    text = "I read this one as opposing."


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    article = factory.SubFactory(ArticleFactory)
    annotator = factory.SubFactory(UserFactory)


def fresh_throttle_window(needed: float, window: float = 60.0) -> None:
    """The per-user API limit counts in fixed windows of the clock (a minute from each whole
    minute): a test that makes N requests and expects the (N+1)th refused must not straddle two
    windows. Wait for the next window when fewer than `needed` seconds are left of this one."""
    import time

    left = window - time.time() % window
    if left < needed:
        time.sleep(left + 0.05)
