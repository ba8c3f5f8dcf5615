"""The role × action matrix, exercised through the real selectors and services.

Non-members get 404 from the selectors before any service runs; members without the right get
PermissionDenied (403) from the service; members with the right succeed.
"""

from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from articles import permissions, selectors, services
from articles.access import Access, Kind
from articles.models import (
    Annotation,
    Assignment,
    Claim,
    Comment,
    Evidence,
    Relation,
    Review,
    Role,
)
from articles.permissions import Action

from .factories import (
    AnnotationFactory,
    AssignmentFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    RelationFactory,
    ReviewFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ["owner", "curator", "annotator", "viewer"]
RANK = {"viewer": 1, "annotator": 2, "curator": 3, "owner": 4}


def _claim(team):
    return ClaimFactory(article=team.article, created_by=team.owner)


OPERATIONS = {
    # name: (minimum role, callable(team, user, article, access) performing the write)
    "create claim": (
        "annotator",
        lambda t, u, a, acc: services.claim_create(
            actor=u, article=a, role=acc.role, exact="Restricting chip exports is shortsighted"
        ),
    ),
    "annotate claim": (
        "annotator",
        lambda t, u, a, acc: services.annotation_create(
            actor=u, claim=_claim(t), role=acc.role, stance="oppose"
        ),
    ),
    "relate claims": (
        "annotator",
        lambda t, u, a, acc: services.relation_create(
            actor=u,
            source=_claim(t),
            target=ClaimFactory(article=t.article, start=42, end=85),
            role=acc.role,
            kind="supports",
        ),
    ),
    "comment": (
        "annotator",
        lambda t, u, a, acc: services.comment_create(
            actor=u, claim=_claim(t), role=acc.role, text="Hm."
        ),
    ),
    "submit article": (
        "annotator",
        lambda t, u, a, acc: services.article_submit(actor=u, article=a, role=acc.role),
    ),
    "review claim": (
        "curator",
        lambda t, u, a, acc: services.review_set(
            actor=u, claim=_claim(t), role=acc.role, decision="accepted", stance="oppose"
        ),
    ),
    "assign article": (
        "curator",
        lambda t, u, a, acc: services.assignment_create(
            actor=u, article=a, role=acc.role, annotator="anna"
        ),
    ),
    "balance assignments": (
        "curator",
        lambda t, u, a, acc: services.assignments_balance(
            actor=u, corpus=a.corpus, role=acc.role, per_article=2
        ),
    ),
    "change corpus": (
        "owner",
        lambda t, u, a, acc: services.corpus_update(
            actor=u, corpus=a.corpus, role=acc.role, blind=True
        ),
    ),
    "add topic": (
        "owner",
        lambda t, u, a, acc: services.topic_create(
            actor=u, corpus=a.corpus, role=acc.role, label="Open models should be regulated"
        ),
    ),
    "add member": (
        "owner",
        lambda t, u, a, acc: services.membership_add(
            actor=u,
            corpus=a.corpus,
            role=acc.role,
            username=UserFactory().username,
            new_role="viewer",
        ),
    ),
    "import article": (
        "owner",
        lambda t, u, a, acc: services.article_create(
            actor=u, corpus=a.corpus, role=acc.role, title="New", text="Some text."
        ),
    ),
    "delete article": (
        "owner",
        lambda t, u, a, acc: services.article_delete(actor=u, article=a, role=acc.role),
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_role_action_matrix(team, role, operation):
    minimum, perform = OPERATIONS[operation]
    user = getattr(team, role)
    article, access = selectors.article_with_access(user, team.article.pk)
    assert access.role == role
    assert access.user == user and access.corpus == team.corpus
    if RANK[role] >= RANK[minimum]:
        perform(team, user, article, access)
    else:
        with pytest.raises(PermissionDenied):
            perform(team, user, article, access)


@pytest.mark.parametrize(
    "fetch",
    [
        lambda t, u: selectors.corpus_with_access(u, t.corpus.slug),
        lambda t, u: selectors.corpus_detail_with_access(u, t.corpus.slug),
        lambda t, u: selectors.article_with_access(u, t.article.pk),
        lambda t, u: selectors.claim_with_access(u, _claim(t).pk),
        lambda t, u: selectors.annotation_with_access(u, AnnotationFactory(claim=_claim(t)).pk),
        lambda t, u: selectors.relation_with_access(u, RelationFactory(source_claim=_claim(t)).pk),
        lambda t, u: selectors.topic_with_access(u, t.topic.pk),
    ],
    ids=["corpus", "corpus detail", "article", "claim", "annotation", "relation", "topic"],
)
def test_non_members_get_404_for_everything_in_a_corpus(team, fetch):
    with pytest.raises(Http404):
        fetch(team, team.outsider)
    anonymous = type("Anonymous", (), {"is_authenticated": False, "pk": None})()
    with pytest.raises(Http404):
        fetch(team, anonymous)


@pytest.mark.parametrize("bad_id", ["abc", "", "-1", "0", "1e3", "99999999999999999999999", None])
def test_malformed_ids_are_not_found(team, bad_id):
    with pytest.raises(Http404):
        selectors.article_with_access(team.owner, bad_id)


def test_minimum_roles_table_is_monotonic():
    """A higher role holds every right of the roles below it."""
    for action in Action:
        allowed = [
            permissions.can(role, action) for role in ["viewer", "annotator", "curator", "owner"]
        ]
        assert allowed == sorted(allowed), action
        assert permissions.can("owner", action)
        assert not permissions.can(None, action)


def test_only_the_annotator_edits_their_annotation(team):
    claim = _claim(team)
    mine = services.annotation_create(
        actor=team.annotator, claim=claim, role="annotator", stance="support"
    )
    for user, role in [
        (team.annotator2, "annotator"),
        (team.curator, "curator"),
        (team.owner, "owner"),
    ]:
        with pytest.raises(PermissionDenied):
            services.annotation_update(actor=user, annotation=mine, role=role, stance="oppose")
    updated = services.annotation_update(
        actor=team.annotator, annotation=mine, role="annotator", stance="oppose"
    )
    assert updated.stance == "oppose"
    # An owner may remove it (moderation); another annotator may not.
    with pytest.raises(PermissionDenied):
        services.annotation_delete(actor=team.annotator2, annotation=mine, role="annotator")
    services.annotation_delete(actor=team.owner, annotation=mine, role="owner")


def _access(team, user):
    """The user's Access to the team's corpus, as the views get it."""
    return selectors.corpus_with_access(user, team.corpus.slug)[1]


def test_claim_edit_and_delete_rules(team):
    article, access = selectors.article_with_access(team.annotator, team.article.pk)
    claim = services.claim_create(
        actor=team.annotator, article=article, role=access.role, start=0, end=11
    )
    with pytest.raises(PermissionDenied):
        services.claim_update(actor=team.annotator2, claim=claim, role="annotator", summary="x")
    services.claim_update(actor=team.annotator, claim=claim, role="annotator", summary="mine")
    services.claim_update(actor=team.curator, claim=claim, role="curator", summary="curated")
    # Once someone else has tagged it, its creator can no longer delete it; a curator can.
    services.annotation_create(
        actor=team.annotator2, claim=claim, role="annotator", stance="oppose"
    )
    with pytest.raises(PermissionDenied):
        services.claim_delete(access=_access(team, team.annotator), claim=claim)
    services.claim_delete(access=_access(team, team.curator), claim=claim)
    assert Claim.objects.alive().filter(pk=claim.pk).count() == 0


def _blind(team):
    team.corpus.blind = True
    team.corpus.save()


def _annas_claim(team):
    article, access = selectors.article_with_access(team.annotator, team.article.pk)
    return services.claim_create(
        actor=team.annotator, article=article, role=access.role, start=0, end=11
    )


def _refusal(team, user, claim):
    """The message of the PermissionDenied that claim_delete raises for `user`."""
    with pytest.raises(PermissionDenied) as refused:
        services.claim_delete(access=_access(team, user), claim=claim)
    assert Claim.objects.alive().filter(pk=claim.pk).exists()
    return str(refused.value)


def test_blind_annotator_gets_the_same_refusal_whether_or_not_others_tagged(team):
    """Noninterference: before submitting, an annotator of a blind corpus can never delete a
    claim, so the answer cannot reveal whether others tagged it."""
    _blind(team)
    untagged = _annas_claim(team)
    tagged = ClaimFactory(article=team.article, start=42, end=85, created_by=team.annotator)
    services.annotation_create(
        actor=team.annotator, claim=untagged, role="annotator", stance="support"
    )
    services.annotation_create(
        actor=team.annotator, claim=tagged, role="annotator", stance="support"
    )
    alone = _refusal(team, team.annotator, untagged)
    services.annotation_create(
        actor=team.annotator2, claim=tagged, role="annotator", stance="oppose"
    )
    with_others = _refusal(team, team.annotator, tagged)
    assert alone == with_others == permissions.BLIND_CLAIM_DELETE
    # Nor does a claim nobody tagged at all answer differently.
    bare = ClaimFactory(article=team.article, start=87, end=140, created_by=team.annotator)
    assert _refusal(team, team.annotator, bare) == permissions.BLIND_CLAIM_DELETE


def test_blind_corpus_curator_and_owner_may_delete_any_claim(team):
    _blind(team)
    claims = [_annas_claim(team), ClaimFactory(article=team.article, start=42, end=85)]
    services.annotation_create(
        actor=team.annotator2, claim=claims[0], role="annotator", stance="oppose"
    )
    services.claim_delete(access=_access(team, team.curator), claim=claims[0])
    services.claim_delete(access=_access(team, team.owner), claim=claims[1])
    assert not Claim.objects.alive().filter(pk__in=[c.pk for c in claims]).exists()


def test_blind_annotator_after_submitting_deletes_an_own_claim_nobody_else_tagged(team):
    _blind(team)
    own = _annas_claim(team)
    tagged = ClaimFactory(article=team.article, start=42, end=85, created_by=team.annotator)
    services.annotation_create(actor=team.annotator, claim=own, role="annotator", stance="support")
    services.annotation_create(
        actor=team.annotator2, claim=tagged, role="annotator", stance="oppose"
    )
    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    services.claim_delete(access=_access(team, team.annotator), claim=own)
    assert Claim.objects.in_trash().filter(pk=own.pk).exists()
    # Now that everyone's tags are visible, the ordinary rule applies again.
    refusal = _refusal(team, team.annotator, tagged)
    assert refusal != permissions.BLIND_CLAIM_DELETE
    assert "nobody else has tagged it" in refusal
    # Someone else's claim stays out of reach, submitted or not.
    theirs = ClaimFactory(article=team.article, start=87, end=140, created_by=team.annotator2)
    assert "creator" in _refusal(team, team.annotator, theirs)


def test_blind_annotator_cannot_delete_before_submitting_in_the_api(team):
    """The same rule over HTTP: one 403, one body, whether or not others tagged the claim."""
    from rest_framework.test import APIClient

    _blind(team)
    anna = APIClient()
    anna.force_authenticate(team.annotator)
    untagged = _annas_claim(team)
    tagged = ClaimFactory(article=team.article, start=42, end=85, created_by=team.annotator)
    AnnotationFactory(claim=tagged, annotator=team.annotator2)
    answers = [anna.delete(f"/api/v1/claims/{c.pk}") for c in (untagged, tagged)]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["detail"] == permissions.BLIND_CLAIM_DELETE
    assert Claim.objects.alive().filter(pk__in=[untagged.pk, tagged.pk]).count() == 2


CREATOR, OTHER = 1, 2


@pytest.mark.parametrize(
    ("role", "user_id", "sees_all", "others_tagged", "allowed", "message"),
    [
        # curators and owners: always, whatever they see and whoever tagged it
        ("owner", OTHER, False, True, True, None),
        ("curator", OTHER, False, True, True, None),
        ("curator", OTHER, True, False, True, None),
        # the creator, seeing everything: while nobody else has tagged it
        ("annotator", CREATOR, True, False, True, None),
        ("annotator", CREATOR, True, True, False, "nobody else has tagged it"),
        # the creator, blind and not yet submitted: never, with one message either way
        ("annotator", CREATOR, False, False, False, permissions.BLIND_CLAIM_DELETE),
        ("annotator", CREATOR, False, True, False, permissions.BLIND_CLAIM_DELETE),
        # anyone else below curator: never
        ("annotator", OTHER, True, False, False, "creator or a curator"),
        ("annotator", OTHER, False, False, False, "creator or a curator"),
        ("viewer", CREATOR, True, False, False, "creator or a curator"),
        (None, CREATOR, True, False, False, "creator or a curator"),
    ],
)
def test_claim_delete_refusal(role, user_id, sees_all, others_tagged, allowed, message):
    user = SimpleNamespace(pk=user_id)
    claim = SimpleNamespace(created_by_id=CREATOR)
    refusal = permissions.claim_delete_refusal(
        user=user, role=role, claim=claim, sees_all=sees_all, others_tagged=others_tagged
    )
    if allowed:
        assert refusal is None
    else:
        assert refusal is not None
        assert message in refusal


def test_blind_refusal_does_not_depend_on_others_tags():
    """Whatever others did, the blind annotator's answer is the same (noninterference)."""
    for role in ["viewer", "annotator", "curator", "owner"]:
        for creator in (CREATOR, OTHER):
            answers = {
                permissions.claim_delete_refusal(
                    user=SimpleNamespace(pk=CREATOR),
                    role=role,
                    claim=SimpleNamespace(created_by_id=creator),
                    sees_all=False,
                    others_tagged=others_tagged,
                )
                for others_tagged in (False, True)
            }
            assert len(answers) == 1, (role, creator, answers)


BLIND_CASES = [
    ("annotator", False, False, True),
    ("annotator", True, False, False),
    ("annotator", True, True, True),
    ("curator", True, False, True),
    ("owner", True, False, True),
    ("viewer", True, False, True),
]


@pytest.mark.parametrize(("role", "blind", "submitted", "sees_all"), BLIND_CASES)
@pytest.mark.parametrize(
    "kind", [Kind.ANNOTATION, Kind.EVIDENCE, Kind.RELATION, Kind.COMMENT, Kind.ASSIGNMENT]
)
def test_blind_mode_rule(team, django_assert_num_queries, kind, role, blind, submitted, sees_all):
    """Blind mode: annotators see only their own work on an article until they submit it;
    curators, owners and viewers always see everything. Asked of Access.sees_all_on and checked
    against the rows that Access.visible lets through."""
    team.corpus.blind = blind
    team.corpus.save()
    user = getattr(team, role)
    if submitted:
        services.article_submit(actor=user, article=team.article, role=role)
    access = Access(user=user, corpus=team.corpus, role=role)
    assert access.sees_all_on(team.article, kind) is sees_all
    with django_assert_num_queries(0):
        assert access.sees_all_on(team.article, kind, submitted=submitted) is sees_all
    if kind is Kind.ANNOTATION:
        assert access.show_disagreements() is (sees_all and not (blind and role == "annotator"))
    # Someone else's work of each kind on the article, and the user's own.
    claim = _claim(team)
    theirs = AnnotationFactory(claim=claim, annotator=team.annotator2)
    EvidenceFactory(annotation=theirs)
    RelationFactory(source_claim=claim, created_by=team.annotator2)
    CommentFactory(claim=claim, author=team.annotator2)
    AssignmentFactory(article=team.article, annotator=team.annotator2)
    model = {
        Kind.ANNOTATION: Annotation,
        Kind.EVIDENCE: Evidence,
        Kind.RELATION: Relation,
        Kind.COMMENT: Comment,
        Kind.ASSIGNMENT: Assignment,
    }[kind]
    everyone = set(model.objects.values_list("pk", flat=True))
    visible = set(model.objects.filter(access.visible(kind)).values_list("pk", flat=True))
    assert (visible == everyone) is sees_all
    assert access.sees_everything(kind) is (role != "annotator" or not blind)


@pytest.mark.parametrize(
    ("role", "blind", "submitted", "sees_reviews"),
    [
        # Reviews are hidden from annotators until they submit, blind corpus or not.
        ("annotator", False, False, False),
        ("annotator", False, True, True),
        ("annotator", True, False, False),
        ("annotator", True, True, True),
        ("curator", True, False, True),
        ("owner", False, False, True),
        ("viewer", True, False, True),
    ],
)
def test_review_visibility_rule(team, role, blind, submitted, sees_reviews):
    team.corpus.blind = blind
    team.corpus.save()
    user = getattr(team, role)
    if submitted:
        services.article_submit(actor=user, article=team.article, role=role)
    access = Access(user=user, corpus=team.corpus, role=role)
    review = ReviewFactory(claim=_claim(team), curator=team.curator)
    assert access.sees_all_on(team.article, Kind.REVIEW) is sees_reviews
    visible = Review.objects.filter(access.visible(Kind.REVIEW))
    assert list(visible) == ([review] if sees_reviews else [])


@pytest.mark.parametrize(
    ("role", "blind", "may_see"),
    [
        ("owner", True, True),
        ("curator", True, True),
        ("viewer", True, True),
        ("owner", False, True),
        ("curator", False, True),
        ("viewer", False, True),
        ("annotator", False, True),
        ("annotator", True, False),
    ],
)
def test_who_may_see_agreement(team, role, blind, may_see):
    team.corpus.blind = blind
    access = Access(user=getattr(team, role), corpus=team.corpus, role=role)
    assert access.may_see_agreement() is may_see


def test_roles_cover_the_enum():
    assert set(permissions.ROLE_RANK) == set(Role)
