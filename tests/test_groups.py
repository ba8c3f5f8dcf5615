"""Claim groups: the rules (one group per claim, the group's corpus only, live claims), who may
write, merge and split, the audit trail, and what a blind annotator sees through a group."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from articles import group_selectors, services
from articles.access import Access
from articles.models import AuditEvent, ClaimGroup, ClaimGroupMember, Role
from articles.services import Conflict, StaleVersion
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    ClaimFactory,
    ReviewFactory,
)


@pytest.fixture
def claims(team):
    """Three claims in three articles of the team's corpus, and one in another corpus."""
    second = ArticleFactory(corpus=team.corpus, title="Second op-ed")
    third = ArticleFactory(corpus=team.corpus, title="Third op-ed")
    return {
        "a": ClaimFactory(article=team.article, start=0, end=20),
        "b": ClaimFactory(article=second, start=0, end=20),
        "c": ClaimFactory(article=third, start=0, end=20),
        "foreign": ClaimFactory(article=team.other_article, start=0, end=20),
    }


def ids(*claims) -> list[str]:
    return [str(c.pk) for c in claims]


def create(team, claims_list, label="Chip rules are shortsighted", actor=None, role=Role.CURATOR):
    return services.group_create(
        actor=actor or team.curator,
        corpus=team.corpus,
        role=role,
        label=label,
        description="Said in many op-eds",
        claims=ids(*claims_list),
    )


def members(group) -> set[int]:
    return set(ClaimGroupMember.objects.filter(group=group).values_list("claim_id", flat=True))


def test_create_gathers_claims_and_is_audited(team, claims):
    group = create(team, [claims["a"], claims["b"]])
    assert members(group) == {claims["a"].pk, claims["b"].pk}
    event = AuditEvent.objects.get(verb="claim_group.create")
    assert event.actor == team.curator and event.corpus == team.corpus
    assert event.after == {
        "label": "Chip rules are shortsighted",
        "description": "Said in many op-eds",
        "claims": sorted(ids(claims["a"], claims["b"]), key=int),
    }


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.VIEWER])
def test_only_curators_and_owners_write(team, claims, role):
    user = team.annotator if role == Role.ANNOTATOR else team.viewer
    with pytest.raises(PermissionDenied):
        create(team, [claims["a"]], actor=user, role=role)
    assert not ClaimGroup.objects.exists()
    group = create(team, [claims["a"]], actor=team.owner, role=Role.OWNER)
    with pytest.raises(PermissionDenied):
        services.group_update(actor=user, group=group, role=role, label="Mine now")
    with pytest.raises(PermissionDenied):
        services.group_delete(actor=user, group=group, role=role)


def test_a_claim_is_in_at_most_one_group(team, claims):
    first = create(team, [claims["a"]])
    with pytest.raises(ValidationError) as error:
        create(team, [claims["b"], claims["a"]], label="Another wording")
    assert "at most one group" in str(error.value.message_dict["claims"])
    # All or nothing: the second group was not made, b is in no group.
    assert ClaimGroup.objects.count() == 1
    assert members(first) == {claims["a"].pk}
    with pytest.raises(ValidationError):
        services.group_add_claims(
            actor=team.curator,
            group=create(team, [claims["b"]], label="Third"),
            role=Role.CURATOR,
            claims=ids(claims["a"]),
        )


def test_claims_of_another_corpus_or_the_trash_are_refused(team, claims):
    with pytest.raises(ValidationError) as error:
        create(team, [claims["a"], claims["foreign"]])
    assert str(claims["foreign"].pk) in str(error.value.message_dict["claims"])
    trashed = ClaimFactory(article=team.article, start=30, end=50)
    services.claim_delete(
        access=Access(user=team.curator, corpus=team.corpus, role=Role.CURATOR), claim=trashed
    )
    with pytest.raises(ValidationError):
        create(team, [trashed])
    with pytest.raises(ValidationError):
        create(team, [], label="  ")
    assert not ClaimGroup.objects.exists()


def test_labels_are_unique_per_corpus(team, claims):
    create(team, [claims["a"]])
    with pytest.raises(Conflict):
        create(team, [claims["b"]])


def test_update_replaces_the_claims_and_checks_the_version(team, claims):
    group = create(team, [claims["a"], claims["b"]])
    updated = services.group_update(
        actor=team.curator,
        group=group,
        role=Role.CURATOR,
        version=group.version,
        label="Export limits fail",
        claims=ids(claims["b"], claims["c"]),
    )
    assert updated.label == "Export limits fail" and updated.version == group.version + 1
    assert members(group) == {claims["b"].pk, claims["c"].pk}
    with pytest.raises(StaleVersion):
        services.group_update(
            actor=team.curator, group=group, role=Role.CURATOR, version=group.version, label="x"
        )
    event = AuditEvent.objects.filter(verb="claim_group.update").get()
    assert event.before["claims"] == sorted(ids(claims["a"], claims["b"]), key=int)
    assert event.after["claims"] == sorted(ids(claims["b"], claims["c"]), key=int)


def test_add_and_remove(team, claims):
    group = create(team, [claims["a"]])
    services.group_add_claims(
        actor=team.curator, group=group, role=Role.CURATOR, claims=ids(claims["b"])
    )
    assert members(group) == {claims["a"].pk, claims["b"].pk}
    services.group_remove_claims(
        actor=team.curator, group=group, role=Role.CURATOR, claims=ids(claims["a"])
    )
    assert members(group) == {claims["b"].pk}
    with pytest.raises(ValidationError):
        services.group_remove_claims(
            actor=team.curator, group=group, role=Role.CURATOR, claims=ids(claims["c"])
        )
    verbs = list(AuditEvent.objects.order_by("id").values_list("verb", flat=True))
    assert verbs[-2:] == ["claim_group.add_claims", "claim_group.remove_claims"]


def test_merge_moves_every_claim_and_deletes_the_other(team, claims):
    group = create(team, [claims["a"]])
    other = create(team, [claims["b"], claims["c"]], label="Same thing, other words")
    merged = services.group_merge(actor=team.curator, group=group, other=other, role=Role.CURATOR)
    assert members(merged) == {claims["a"].pk, claims["b"].pk, claims["c"].pk}
    assert not ClaimGroup.objects.filter(pk=other.pk).exists()
    event = AuditEvent.objects.get(verb="claim_group.merge")
    assert event.before["merged"]["id"] == str(other.pk)
    assert AuditEvent.objects.filter(verb="claim_group.delete", object_id=str(other.pk)).exists()
    foreign = ClaimGroup.objects.create(
        corpus=team.other_corpus, label="Theirs", created_by=team.outsider
    )
    with pytest.raises(ValidationError):
        services.group_merge(actor=team.curator, group=merged, other=foreign, role=Role.CURATOR)


def test_split_moves_the_chosen_claims_to_a_new_group(team, claims):
    group = create(team, [claims["a"], claims["b"], claims["c"]])
    new = services.group_split(
        actor=team.curator,
        group=group,
        role=Role.CURATOR,
        claims=ids(claims["c"]),
        label="A narrower claim",
    )
    assert members(group) == {claims["a"].pk, claims["b"].pk}
    assert members(new) == {claims["c"].pk}
    with pytest.raises(ValidationError):  # not all of them
        services.group_split(
            actor=team.curator,
            group=group,
            role=Role.CURATOR,
            claims=ids(claims["a"], claims["b"]),
            label="Everything",
        )
    with pytest.raises(ValidationError):  # only the group's own
        services.group_split(
            actor=team.curator, group=group, role=Role.CURATOR, claims=ids(claims["c"]), label="x"
        )
    assert AuditEvent.objects.filter(verb="claim_group.split").count() == 1


def test_delete_keeps_the_claims(team, claims):
    group = create(team, [claims["a"]])
    services.group_delete(actor=team.owner, group=group, role=Role.OWNER)
    assert not ClaimGroup.objects.exists()
    claims["a"].refresh_from_db()
    assert AuditEvent.objects.get(verb="claim_group.delete").before["claims"] == ids(claims["a"])


def test_blind_annotator_sees_the_group_but_only_their_own_stances(team, claims):
    team.corpus.blind = True
    team.corpus.save()
    group = create(team, [claims["a"], claims["b"]])
    AnnotationFactory(
        claim=claims["a"], annotator=team.annotator, topic=team.topic, stance="oppose"
    )
    AnnotationFactory(
        claim=claims["a"], annotator=team.annotator2, topic=team.topic, stance="support"
    )
    AnnotationFactory(
        claim=claims["b"], annotator=team.annotator2, topic=team.topic, stance="support"
    )
    ReviewFactory(claim=claims["b"], curator=team.curator, topic=team.topic, stance="support")

    blind = Access(user=team.annotator, corpus=team.corpus, role=Role.ANNOTATOR)
    seen = {g.claim.pk: g.stances for g in group_selectors.group_claims(blind, group)}
    assert set(seen) == {claims["a"].pk, claims["b"].pk}  # the claims are shared
    assert seen[claims["a"].pk].tags == [("anna", "oppose", team.topic.label)]
    assert seen[claims["a"].pk].shown == "oppose"
    assert seen[claims["b"].pk].tags == [] and seen[claims["b"].pk].gold is None
    assert seen[claims["b"].pk].shown == "none"

    curator = Access(user=team.curator, corpus=team.corpus, role=Role.CURATOR)
    everything = {g.claim.pk: g.stances for g in group_selectors.group_claims(curator, group)}
    assert everything[claims["a"].pk].majority == "mixed"
    assert everything[claims["b"].pk].gold == ("support", team.topic.label)


def test_a_claim_in_context_is_its_sentence_with_the_one_before_and_after():
    text = "One. Some say the rules are tight. Chip limits fail. Others disagree. Last one."
    start = text.index("Chip limits fail.")
    assert group_selectors.sentence_around(text, start, start + 17) == (
        "Some say the rules are tight. ",
        "Chip limits fail.",
        " Others disagree.",
    )
    start = text.index("limits")
    assert group_selectors.sentence_around(text, start, start + 6) == (
        "Some say the rules are tight. Chip ",
        "limits",
        " fail. Others disagree.",
    )
    long = "word " * 200 + "the claim " + "word " * 200
    start = long.index("the claim")
    before, _, after = group_selectors.sentence_around(long, start, start + 9)
    assert before.startswith("…") and after.endswith("…")
    assert len(before) <= 322 and len(after) <= 322


def test_replacing_the_claims_keeps_those_in_the_trash(team, claims):
    group = create(team, [claims["a"], claims["b"]])
    curator = Access(user=team.curator, corpus=team.corpus, role=Role.CURATOR)
    services.claim_delete(access=curator, claim=claims["b"])
    assert group_selectors.group_claim_ids(group) == [claims["a"].pk]
    services.group_update(
        actor=team.curator, group=group, role=Role.CURATOR, claims=ids(claims["a"], claims["c"])
    )
    assert members(group) == {claims["a"].pk, claims["b"].pk, claims["c"].pk}
    services.claim_restore(actor=team.owner, claim=claims["b"], role=Role.OWNER)
    assert claims["b"].pk in group_selectors.group_claim_ids(group)  # back in its group
