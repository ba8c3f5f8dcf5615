"""The rules behind every write: validation, atomicity, audit, versions, trash, submission."""

import pytest
from django.core.exceptions import ValidationError

from articles import db_statistics, selectors, services
from articles.models import (
    Annotation,
    Assignment,
    AuditEvent,
    Claim,
    Corpus,
    Evidence,
    Membership,
    Review,
    Topic,
)

from .factories import ArticleFactory, UserFactory

pytestmark = pytest.mark.django_db


def _article(team, user=None):
    user = user or team.annotator
    return selectors.article_with_access(user, team.article.pk)[0]


def _claim(team, **span):
    span = span or {"exact": "Restricting chip exports is shortsighted"}
    return services.claim_create(
        actor=team.annotator, article=_article(team), role="annotator", **span
    )


def test_corpus_create_makes_the_creator_owner_with_topics_and_audit(db):
    user = UserFactory()
    corpus = services.corpus_create(
        actor=user,
        name="Chip export op-eds",
        topics=[
            {"label": "Controls work"},
            {"label": "Open models need rules", "description": "d"},
        ],
        claim_labels=["MajorClaim", "Premise"],
    )
    assert corpus.slug == "chip-export-op-eds"
    assert Membership.objects.get(corpus=corpus, user=user).role == "owner"
    assert list(corpus.topics.values_list("label", flat=True)) == [
        "Controls work",
        "Open models need rules",
    ]
    event = AuditEvent.objects.get(verb="corpus.create")
    assert (
        event.actor == user
        and event.corpus == corpus
        and event.after["name"] == "Chip export op-eds"
    )


def test_corpus_create_refuses_duplicates_and_bad_slugs(db):
    user = UserFactory()
    services.corpus_create(actor=user, name="A", slug="a")
    with pytest.raises(services.Conflict):
        services.corpus_create(actor=user, name="A again", slug="a")
    with pytest.raises(ValidationError) as error:
        services.corpus_create(actor=user, name="B", slug="Not a slug!")
    assert "slug" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.corpus_create(actor=user, name="C", topics=[{"label": "x"}, {"label": "x"}])
    assert Corpus.objects.count() == 1


def test_article_text_is_normalised_and_hashed(team):
    article = services.article_create(
        actor=team.owner,
        corpus=team.corpus,
        role="owner",
        title="  Caf\u0065\u0301 policy ",
        text="\ufeffCafe\u0301 owners\r\nsay no.",
        source_url="https://example.org/a",
    )
    assert article.text == "Caf\u00e9 owners\nsay no."
    assert article.title == "Caf\u0065\u0301 policy"
    assert len(article.text_sha256) == 64


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source_url", "javascript:alert(1)"),
        ("source_url", "ftp://example.org/x"),
        ("published_on", "yesterday"),
        ("text", "   "),
        ("text", "nul \x00 inside"),
        ("title", ""),
    ],
)
def test_article_bad_fields_are_refused_by_name(team, field, value):
    data = {"title": "T", "text": "Body.", field: value}
    with pytest.raises(ValidationError) as error:
        services.article_create(actor=team.owner, corpus=team.corpus, role="owner", **data)
    assert field in error.value.message_dict


def test_article_text_over_the_limit_is_too_large(team, settings):
    settings.ARTICLE_MAX_CHARS = 10
    with pytest.raises(services.PayloadTooLarge):
        services.article_create(
            actor=team.owner, corpus=team.corpus, role="owner", title="T", text="x" * 11
        )


def test_article_text_cannot_change_once_claimed(team):
    owner_article, _ = selectors.article_with_access(team.owner, team.article.pk)
    services.article_update(actor=team.owner, article=owner_article, role="owner", text="New text.")
    _claim(team, start=0, end=3)
    with pytest.raises(ValidationError) as error:
        services.article_update(
            actor=team.owner, article=owner_article, role="owner", text="Other."
        )
    assert "text" in error.value.message_dict


def test_claim_by_quote_and_by_offsets_agree(team):
    by_quote = _claim(team, exact="low-end chips", prefix="model on ")
    assert team.article.text[by_quote.start : by_quote.end] == "low-end chips"
    assert by_quote.prefix.endswith("model on ") and by_quote.suffix.startswith(".")
    # The same span by offsets is the same claim (one span, one claim): refused, naming it.
    with pytest.raises(services.DuplicateClaim) as refused:
        _claim(team, start=by_quote.start, end=by_quote.end, exact="low-end chips")
    assert refused.value.existing == by_quote


@pytest.mark.parametrize(
    ("span", "field"),
    [
        ({"start": 0, "end": 10_000}, "end"),
        ({"start": -1, "end": 4}, "start"),
        ({"start": 9, "end": 3}, "end"),
        ({"start": 0, "end": 4, "exact": "nope"}, "exact"),
        ({"exact": "not in the text"}, "exact"),
        ({"exact": "chip"}, "exact"),  # several matches
        ({"start": 3}, "end"),
    ],
)
def test_bad_claim_spans_are_refused_by_field(team, span, field):
    with pytest.raises(ValidationError) as error:
        _claim(team, **span)
    assert field in error.value.message_dict
    assert not Claim.objects.exists()


def test_annotation_with_bad_evidence_writes_nothing(team):
    claim = _claim(team)
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as error:
        services.annotation_create(
            actor=team.annotator,
            claim=claim,
            role="annotator",
            stance="oppose",
            evidence=[
                {"exact": "The lab trained its model on low-end chips", "evidence_type": "example"},
                {"start": 5, "end": 1},
                {"kind": "source", "url": "javascript:alert(1)"},
            ],
        )
    messages = error.value.message_dict["evidence"]
    assert [m.split(":")[0] for m in messages] == ["Evidence 2", "Evidence 3"]
    assert not Annotation.objects.exists() and not Evidence.objects.exists()
    assert AuditEvent.objects.count() == before


def test_annotation_defaults_and_validation(team):
    claim = _claim(team)
    annotation = services.annotation_create(
        actor=team.annotator, claim=claim, role="annotator", stance="oppose", confidence="4"
    )
    assert (
        annotation.topic == team.topic
        and annotation.confidence == 4
        and annotation.status == "draft"
    )
    with pytest.raises(services.Conflict):
        services.annotation_create(
            actor=team.annotator, claim=claim, role="annotator", stance="support"
        )
    for bad in [
        {"stance": "maybe"},
        {"confidence": 9},
        {"topic": team.other_topic.pk},
        {"labels": "x"},
    ]:
        with pytest.raises(ValidationError):
            services.annotation_create(
                actor=team.annotator2, claim=claim, role="annotator", **{"stance": "support", **bad}
            )


def test_labels_must_come_from_the_corpus_label_set(team):
    services.corpus_update(
        actor=team.owner, corpus=team.corpus, role="owner", claim_labels=["Premise"]
    )
    article = _article(team)
    with pytest.raises(ValidationError):
        services.claim_create(
            actor=team.annotator,
            article=article,
            role="annotator",
            start=0,
            end=5,
            labels=["Other"],
        )
    claim = services.claim_create(
        actor=team.annotator, article=article, role="annotator", start=0, end=5, labels=["Premise"]
    )
    assert claim.labels == ["Premise"]


def test_stale_versions_are_refused_and_nothing_changes(team):
    claim = _claim(team)
    annotation = services.annotation_create(
        actor=team.annotator, claim=claim, role="annotator", stance="support"
    )
    services.annotation_update(
        actor=team.annotator, annotation=annotation, role="annotator", version=1, note="first"
    )
    with pytest.raises(services.StaleVersion) as stale:
        services.annotation_update(
            actor=team.annotator,
            annotation=annotation,
            role="annotator",
            version=1,
            stance="oppose",
        )
    assert stale.value.current.version == 2 and stale.value.current.note == "first"
    assert Annotation.objects.get().stance == "support"


def test_evidence_update_replaces_the_list_and_is_audited(team):
    claim = _claim(team)
    annotation = services.annotation_create(
        actor=team.annotator,
        claim=claim,
        role="annotator",
        stance="oppose",
        evidence=[{"kind": "source", "url": "https://example.org/r", "evidence_type": "study"}],
    )
    services.annotation_update(
        actor=team.annotator,
        annotation=annotation,
        role="annotator",
        evidence=[
            {"exact": "Prices rose by 12% in a single quarter", "evidence_type": "statistic"}
        ],
    )
    evidence = list(Evidence.objects.all())
    assert [(e.kind, e.evidence_type) for e in evidence] == [("span", "statistic")]
    event = AuditEvent.objects.filter(verb="annotation.update").get()
    assert event.before["evidence"][0]["url"] == "https://example.org/r"
    assert event.after["evidence"][0]["exact"] == "Prices rose by 12% in a single quarter"


def test_every_service_write_is_audited(team):
    claim = _claim(team)
    second = _claim(team, exact="The lab trained its model on low-end chips")
    services.annotation_create(actor=team.annotator, claim=claim, role="annotator", stance="oppose")
    services.relation_create(
        actor=team.annotator, source=second, target=claim, role="annotator", kind="supports"
    )
    services.comment_create(actor=team.annotator, claim=claim, role="annotator", text="Why?")
    services.review_set(
        actor=team.curator, claim=claim, role="curator", decision="accepted", stance="oppose"
    )
    services.article_submit(actor=team.annotator, article=_article(team), role="annotator")
    verbs = set(AuditEvent.objects.filter(corpus=team.corpus).values_list("verb", flat=True))
    assert {
        "claim.create",
        "annotation.create",
        "relation.create",
        "comment.create",
        "review.create",
        "article.submit",
    } <= verbs


def test_relations_stay_inside_one_article(team):
    claim = _claim(team)
    elsewhere = ArticleFactory(corpus=team.corpus)
    other = services.claim_create(
        actor=team.annotator,
        article=selectors.article_with_access(team.annotator, elsewhere.pk)[0],
        role="annotator",
        start=0,
        end=5,
    )
    with pytest.raises(ValidationError):
        services.relation_create(
            actor=team.annotator, source=claim, target=other, role="annotator", kind="attacks"
        )
    with pytest.raises(ValidationError):
        services.relation_create(
            actor=team.annotator, source=claim, target=claim, role="annotator", kind="attacks"
        )


def test_review_rules_and_versions(team):
    claim = _claim(team)
    with pytest.raises(ValidationError) as error:
        services.review_set(actor=team.curator, claim=claim, role="curator", decision="accepted")
    assert "stance" in error.value.message_dict
    review = services.review_set(
        actor=team.curator, claim=claim, role="curator", decision="accepted", stance="oppose"
    )
    assert review.topic == team.topic and review.version == 1
    services.review_set(
        actor=team.owner,
        claim=claim,
        role="owner",
        decision="rejected",
        note="Not a claim",
        version=1,
    )
    with pytest.raises(services.StaleVersion):
        services.review_set(
            actor=team.curator,
            claim=claim,
            role="curator",
            decision="accepted",
            stance="support",
            version=1,
        )
    assert Review.objects.get().decision == "rejected"


def test_submit_marks_my_annotations_submitted_and_records_the_assignment(team):
    claim = _claim(team)
    mine = services.annotation_create(
        actor=team.annotator, claim=claim, role="annotator", stance="oppose"
    )
    theirs = services.annotation_create(
        actor=team.annotator2, claim=claim, role="annotator", stance="support"
    )
    assert not Assignment.objects.exists()  # submitting unassigned work is allowed
    services.article_submit(actor=team.annotator, article=_article(team), role="annotator")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("submitted", "draft")
    assignment = Assignment.objects.get(annotator=team.annotator)
    assert assignment.state == "submitted" and assignment.submitted_at is not None


def test_blind_mode_hides_others_until_i_submit(team):
    services.corpus_update(actor=team.owner, corpus=team.corpus, role="owner", blind=True)
    claim = _claim(team)
    services.annotation_create(actor=team.annotator, claim=claim, role="annotator", stance="oppose")
    services.annotation_create(
        actor=team.annotator2, claim=claim, role="annotator", stance="support"
    )

    def seen_by(user):
        article, access = selectors.article_with_access(user, team.article.pk)
        return sorted(
            a.annotator.username
            for a in selectors.claims_for_article(access, article)[0].visible_annotations
        )

    assert seen_by(team.annotator) == ["anna"]
    assert seen_by(team.curator) == ["anna", "arjun"]
    other = Annotation.objects.get(annotator=team.annotator2)
    with pytest.raises(selectors.Http404):
        selectors.annotation_with_access(team.annotator, other.pk)
    services.article_submit(actor=team.annotator, article=_article(team), role="annotator")
    assert seen_by(team.annotator) == ["anna", "arjun"]
    assert selectors.annotation_with_access(team.annotator, other.pk)[0] == other


def test_trash_and_restore(team):
    claim = _claim(team)
    early = _claim(team, exact="Officials say the rules will be tightened next year")
    annas_access = selectors.corpus_with_access(team.annotator, team.corpus.slug)[1]
    services.claim_delete(access=annas_access, claim=early)
    owner_article, _ = selectors.article_with_access(team.owner, team.article.pk)
    services.article_delete(actor=team.owner, article=owner_article, role="owner")
    with pytest.raises(selectors.Http404):
        selectors.article_with_access(team.owner, team.article.pk)
    with pytest.raises(selectors.Http404):
        selectors.claim_with_access(team.owner, claim.pk)
    services.article_restore(actor=team.owner, article=owner_article, role="owner")
    assert selectors.claim_with_access(team.owner, claim.pk)[0] == claim
    # The claim deleted before the article stays in the trash.
    assert Claim.objects.in_trash().get() == early


def test_the_last_owner_stays(team):
    owner_membership = Membership.objects.get(corpus=team.corpus, user=team.owner)
    with pytest.raises(ValidationError):
        services.membership_update(
            actor=team.owner, membership=owner_membership, role="owner", new_role="viewer"
        )
    with pytest.raises(ValidationError):
        services.membership_remove(actor=team.owner, membership=owner_membership, role="owner")
    curator = Membership.objects.get(corpus=team.corpus, user=team.curator)
    services.membership_update(actor=team.owner, membership=curator, role="owner", new_role="owner")
    services.membership_remove(actor=team.owner, membership=owner_membership, role="owner")
    assert not Membership.objects.filter(corpus=team.corpus, user=team.owner).exists()


def test_members_are_added_by_username_or_email_once(team):
    newcomer = UserFactory(username="nadia", email="nadia@example.org")
    services.membership_add(
        actor=team.owner,
        corpus=team.corpus,
        role="owner",
        username="NADIA@example.org",
        new_role="annotator",
    )
    with pytest.raises(services.Conflict):
        services.membership_add(
            actor=team.owner, corpus=team.corpus, role="owner", username="nadia", new_role="viewer"
        )
    with pytest.raises(ValidationError):
        services.membership_add(
            actor=team.owner, corpus=team.corpus, role="owner", username="ghost", new_role="viewer"
        )
    assert Membership.objects.get(corpus=team.corpus, user=newcomer).role == "annotator"


def test_balanced_assignments(team):
    for _ in range(6):
        ArticleFactory(corpus=team.corpus)
    created = services.assignments_balance(
        actor=team.curator,
        corpus=team.corpus,
        role="curator",
        per_article=2,
        annotators=["anna", "arjun", "carmen"],
    )
    assert len(created) == 14  # 7 articles × 2
    per_article = {}
    load = {}
    for a in Assignment.objects.select_related("annotator"):
        per_article[a.article_id] = per_article.get(a.article_id, 0) + 1
        load[a.annotator.username] = load.get(a.annotator.username, 0) + 1
    assert set(per_article.values()) == {2}
    assert max(load.values()) - min(load.values()) <= 1
    # Running it again adds nothing.
    assert (
        services.assignments_balance(
            actor=team.curator,
            corpus=team.corpus,
            role="curator",
            per_article=2,
            annotators=["anna", "arjun", "carmen"],
        )
        == []
    )


def test_balanced_assignments_refresh_the_statistics_once_committed(
    team, monkeypatch, django_capture_on_commit_callbacks
):
    """Many assignments at once outdate the planner's statistics (the filtered corpus pages plan
    by them), so the balance asks for a refresh, as an import does, after its commit."""
    asked = []
    monkeypatch.setattr(db_statistics, "refresh", lambda written: asked.append(dict(written)))
    for _ in range(4):
        ArticleFactory(corpus=team.corpus)
    with django_capture_on_commit_callbacks(execute=True):
        created = services.assignments_balance(
            actor=team.curator,
            corpus=team.corpus,
            role="curator",
            per_article=1,
            annotators=["anna", "arjun"],
        )
    assert len(created) == 5
    assert asked == [{"Assignment": 5}]


def test_topics_in_use_cannot_be_deleted(team):
    claim = _claim(team)
    services.annotation_create(actor=team.annotator, claim=claim, role="annotator", stance="oppose")
    with pytest.raises(services.Conflict):
        services.topic_delete(actor=team.owner, topic=team.topic, role="owner")
    spare = services.topic_create(actor=team.owner, corpus=team.corpus, role="owner", label="Spare")
    services.topic_delete(actor=team.owner, topic=spare, role="owner")
    assert list(Topic.objects.filter(corpus=team.corpus)) == [team.topic]


def test_deleting_a_corpus_removes_its_data_but_keeps_the_audit_trail(team):
    claim = _claim(team)
    services.annotation_create(actor=team.annotator, claim=claim, role="annotator", stance="oppose")
    services.review_set(
        actor=team.curator, claim=claim, role="curator", decision="accepted", stance="oppose"
    )
    corpus, _ = selectors.corpus_with_access(team.owner, "chips")
    services.corpus_delete(actor=team.owner, corpus=corpus, role="owner")
    assert not Annotation.objects.exists()
    assert AuditEvent.objects.filter(corpus_slug="chips", verb="corpus.delete").exists()


def test_deactivated_users_keep_their_work(team):
    claim = _claim(team)
    services.annotation_create(actor=team.annotator, claim=claim, role="annotator", stance="oppose")
    services.user_deactivate(actor=team.annotator, user=team.annotator)
    team.annotator.refresh_from_db()
    assert not team.annotator.is_active
    assert Annotation.objects.get().annotator == team.annotator
