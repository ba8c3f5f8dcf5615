"""The demo corpus command: loads through the services, idempotent, refuses production."""

import unicodedata
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from articles.demo import plan
from articles.models import (
    Annotation,
    AnnotationStatus,
    Article,
    Assignment,
    AssignmentState,
    AuditEvent,
    Claim,
    Comment,
    Corpus,
    Evidence,
    EvidenceKind,
    Membership,
    Relation,
    RelationKind,
    Review,
    ReviewDecision,
    Role,
)

SLUG = plan.CORPUS["slug"]


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    return settings


def run(*args) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def planned(what: str) -> int:
    if what == "claims":
        return sum(len(a.claims) for a in plan.ARTICLES)
    if what == "annotations":
        return sum(len(c.tags) for a in plan.ARTICLES for c in a.claims)
    if what == "relations":
        return sum(len(a.relations) for a in plan.ARTICLES)
    if what == "reviews":
        return sum(len(a.reviews) for a in plan.ARTICLES)
    return sum(len(a.comments) for a in plan.ARTICLES)


def snapshot() -> dict[str, int]:
    return {
        "corpora": Corpus.objects.count(),
        "users": get_user_model().objects.count(),
        "articles": Article.objects.count(),
        "claims": Claim.objects.count(),
        "annotations": Annotation.objects.count(),
        "evidence": Evidence.objects.count(),
        "relations": Relation.objects.count(),
        "reviews": Review.objects.count(),
        "comments": Comment.objects.count(),
        "assignments": Assignment.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


@pytest.mark.django_db
def test_loads_the_demo_corpus_on_an_empty_database(debug):
    output = run()

    corpus = Corpus.objects.get(slug=SLUG)
    claims = list(Claim.objects.alive().filter(article__corpus=corpus).select_related("article"))
    annotations = Annotation.objects.filter(claim__article__corpus=corpus)
    assert Article.objects.alive().filter(corpus=corpus).count() == 5
    assert len(claims) == planned("claims") >= 30
    assert annotations.count() == planned("annotations") >= 60
    assert Relation.objects.filter(source_claim__article__corpus=corpus).count() == planned(
        "relations"
    )
    assert set(
        Relation.objects.filter(source_claim__article__corpus=corpus).values_list("kind", flat=True)
    ) == set(RelationKind.values)
    assert Comment.objects.filter(claim__article__corpus=corpus).count() == planned("comments")

    # Offsets: every claim and evidence span is exactly the text it points at.
    for claim in claims:
        assert claim.exact == claim.article.text[claim.start : claim.end]
    spans = Evidence.objects.filter(
        annotation__claim__article__corpus=corpus, kind=EvidenceKind.SPAN
    ).select_related("annotation__claim__article")
    assert spans.count() >= 5
    for span in spans:
        assert span.exact == span.annotation.claim.article.text[span.start : span.end]
    assert Evidence.objects.filter(
        annotation__claim__article__corpus=corpus,
        kind=EvidenceKind.SOURCE,
        url__contains="example.org",
    ).exists()

    # The texts exercise code-point offsets: an astral emoji, CJK, a combining mark left by NFC.
    texts = "".join(Article.objects.filter(corpus=corpus).values_list("text", flat=True))
    assert any(ord(ch) > 0xFFFF for ch in texts)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in texts)
    assert any(unicodedata.combining(ch) for ch in texts)
    assert unicodedata.normalize("NFC", texts) == texts
    assert any(unicodedata.combining(ch) for claim in claims for ch in claim.exact)
    assert spans.filter(exact__contains="🐢").exists()

    # Both topics used; mostly agreeing, with some disagreements.
    assert annotations.values("topic").distinct().count() == 2 == corpus.topics.count()
    stances: dict[int, set[str]] = {}
    for claim_id, stance in annotations.values_list("claim_id", "stance"):
        stances.setdefault(claim_id, set()).add(stance)
    disagreements = sum(1 for s in stances.values() if len(s) > 1)
    assert 1 <= disagreements < len(stances) / 3

    # Two articles submitted by both annotators; their annotations are submitted.
    submitted = Assignment.objects.filter(article__corpus=corpus, state=AssignmentState.SUBMITTED)
    assert submitted.count() == 4
    assert submitted.values("article").distinct().count() == 2
    assert set(submitted.values_list("annotator__username", flat=True)) == {"anna", "arjun"}
    on_submitted = annotations.filter(claim__article__in=submitted.values("article"))
    assert on_submitted.exists()
    assert not on_submitted.exclude(status=AnnotationStatus.SUBMITTED).exists()
    assert annotations.filter(status=AnnotationStatus.DRAFT).exists()

    # Reviews by the curator: accepted ones carry gold, at least one rejected.
    reviews = Review.objects.filter(claim__article__corpus=corpus)
    assert reviews.count() == planned("reviews")
    assert set(reviews.values_list("curator__username", flat=True)) == {"carmen"}
    assert reviews.filter(decision=ReviewDecision.REJECTED).count() == 1
    for review in reviews.filter(decision=ReviewDecision.ACCEPTED):
        assert review.topic_id is not None and review.stance

    # Members of every role, and the audit log tells the same story.
    roles = dict(Membership.objects.filter(corpus=corpus).values_list("user__username", "role"))
    assert roles == {
        "olivia": Role.OWNER,
        "carmen": Role.CURATOR,
        "anna": Role.ANNOTATOR,
        "arjun": Role.ANNOTATOR,
        "victor": Role.VIEWER,
    }
    audited = AuditEvent.objects.filter(corpus=corpus)
    assert audited.filter(verb="claim.create").count() == len(claims)
    assert audited.filter(verb="annotation.create").count() == annotations.count()
    assert audited.filter(verb="review.create").count() == reviews.count()

    # The output lists the logins, and the printed passwords work.
    for username in plan.USERS:
        assert f"demo-{username}-pass" in output
        user = get_user_model().objects.get(username=username)
        assert user.check_password(f"demo-{username}-pass")
    assert "victor" in output and "viewer" in output


@pytest.mark.django_db
def test_running_twice_changes_nothing(debug):
    run()
    before = snapshot()
    output = run()
    assert snapshot() == before
    assert "already loaded" in output.lower()
    assert "demo-olivia-pass" in output and "demo-victor-pass" in output


@pytest.mark.django_db
def test_reset_recreates_the_corpus_but_keeps_the_users(debug):
    run()
    before = snapshot()
    old_pk = Corpus.objects.get(slug=SLUG).pk
    old_users = set(get_user_model().objects.values_list("pk", flat=True))

    output = run("--reset")

    assert Corpus.objects.get(slug=SLUG).pk != old_pk
    assert set(get_user_model().objects.values_list("pk", flat=True)) == old_users
    after = snapshot()
    assert {k: v for k, v in after.items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"
    }
    assert AuditEvent.objects.filter(verb="corpus.delete", corpus_slug=SLUG).count() == 1
    assert "already loaded" not in output.lower()


@pytest.mark.django_db
def test_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run()
    assert not Corpus.objects.exists()
    assert not get_user_model().objects.exists()

    output = run("--force")
    assert Corpus.objects.filter(slug=SLUG).exists()
    assert "demo-anna-pass" in output


@pytest.mark.django_db
def test_existing_user_keeps_their_own_password(debug):
    get_user_model().objects.create_user(username="anna", password="her-own-secret")
    output = run()
    anna = get_user_model().objects.get(username="anna")
    assert anna.check_password("her-own-secret")
    assert "demo-anna-pass" not in output
    assert "demo-arjun-pass" in output
    assert Membership.objects.get(corpus__slug=SLUG, user=anna).role == Role.ANNOTATOR
