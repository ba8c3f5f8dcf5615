"""The role × action matrix, exercised through the real selectors and services.

Non-members get 404 from the selectors before any service runs; members without the right get
PermissionDenied (403) from the service; members with the right succeed.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from articles import permissions, selectors, services
from articles.models import Claim, Role
from articles.permissions import Action

from .factories import AnnotationFactory, ClaimFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["owner", "curator", "annotator", "viewer"]
RANK = {"viewer": 1, "annotator": 2, "curator": 3, "owner": 4}


def _claim(team):
    return ClaimFactory(article=team.article, created_by=team.owner)


OPERATIONS = {
    # name: (minimum role, callable(team, user, article) performing the write)
    "create claim": (
        "annotator",
        lambda t, u, a: services.claim_create(
            actor=u, article=a, role=a.my_role, exact="Restricting chip exports is shortsighted"
        ),
    ),
    "annotate claim": (
        "annotator",
        lambda t, u, a: services.annotation_create(
            actor=u, claim=_claim(t), role=a.my_role, stance="oppose"
        ),
    ),
    "relate claims": (
        "annotator",
        lambda t, u, a: services.relation_create(
            actor=u,
            source=_claim(t),
            target=ClaimFactory(article=t.article, start=42, end=85),
            role=a.my_role,
            kind="supports",
        ),
    ),
    "comment": (
        "annotator",
        lambda t, u, a: services.comment_create(
            actor=u, claim=_claim(t), role=a.my_role, text="Hm."
        ),
    ),
    "submit article": (
        "annotator",
        lambda t, u, a: services.article_submit(actor=u, article=a, role=a.my_role),
    ),
    "review claim": (
        "curator",
        lambda t, u, a: services.review_set(
            actor=u, claim=_claim(t), role=a.my_role, decision="accepted", stance="oppose"
        ),
    ),
    "assign article": (
        "curator",
        lambda t, u, a: services.assignment_create(
            actor=u, article=a, role=a.my_role, annotator="anna"
        ),
    ),
    "balance assignments": (
        "curator",
        lambda t, u, a: services.assignments_balance(
            actor=u, corpus=a.corpus, role=a.my_role, per_article=2
        ),
    ),
    "change corpus": (
        "owner",
        lambda t, u, a: services.corpus_update(
            actor=u, corpus=a.corpus, role=a.my_role, blind=True
        ),
    ),
    "add topic": (
        "owner",
        lambda t, u, a: services.topic_create(
            actor=u, corpus=a.corpus, role=a.my_role, label="Open models should be regulated"
        ),
    ),
    "add member": (
        "owner",
        lambda t, u, a: services.membership_add(
            actor=u,
            corpus=a.corpus,
            role=a.my_role,
            username=UserFactory().username,
            new_role="viewer",
        ),
    ),
    "import article": (
        "owner",
        lambda t, u, a: services.article_create(
            actor=u, corpus=a.corpus, role=a.my_role, title="New", text="Some text."
        ),
    ),
    "delete article": (
        "owner",
        lambda t, u, a: services.article_delete(actor=u, article=a, role=a.my_role),
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_role_action_matrix(team, role, operation):
    minimum, perform = OPERATIONS[operation]
    user = getattr(team, role)
    article = selectors.article_get_for_user(user, team.article.pk)
    assert article.my_role == role
    if RANK[role] >= RANK[minimum]:
        perform(team, user, article)
    else:
        with pytest.raises(PermissionDenied):
            perform(team, user, article)


@pytest.mark.parametrize(
    "fetch",
    [
        lambda t, u: selectors.corpus_get_for_user(u, t.corpus.slug),
        lambda t, u: selectors.article_get_for_user(u, t.article.pk),
        lambda t, u: selectors.claim_get_for_user(u, _claim(t).pk),
        lambda t, u: selectors.annotation_get_for_user(u, AnnotationFactory(claim=_claim(t)).pk),
        lambda t, u: selectors.topic_get_for_user(u, t.topic.pk),
    ],
    ids=["corpus", "article", "claim", "annotation", "topic"],
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
        selectors.article_get_for_user(team.owner, bad_id)


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


def test_claim_edit_and_delete_rules(team):
    article = selectors.article_get_for_user(team.annotator, team.article.pk)
    claim = services.claim_create(
        actor=team.annotator, article=article, role="annotator", start=0, end=11
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
        services.claim_delete(actor=team.annotator, claim=claim, role="annotator")
    services.claim_delete(actor=team.curator, claim=claim, role="curator")
    assert Claim.objects.alive().filter(pk=claim.pk).count() == 0


@pytest.mark.parametrize(
    ("role", "blind", "submitted", "sees_all"),
    [
        ("annotator", False, False, True),
        ("annotator", True, False, False),
        ("annotator", True, True, True),
        ("curator", True, False, True),
        ("owner", True, False, True),
        ("viewer", True, False, True),
    ],
)
def test_blind_mode_rule(role, blind, submitted, sees_all):
    assert (
        permissions.sees_all_annotations(role=role, blind=blind, has_submitted=submitted)
        is sees_all
    )


def test_roles_cover_the_enum():
    assert set(permissions.ROLE_RANK) == set(Role)
