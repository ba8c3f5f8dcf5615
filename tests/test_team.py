"""Corpus settings (corpus, topics, members), work distribution, the audit log and the trash."""

from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles import services, validators
from articles.access import Access
from articles.models import (
    Article,
    Assignment,
    AuditEvent,
    Claim,
    Corpus,
    Membership,
    Role,
    Topic,
)

from .factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _settings(team):
    return reverse("corpus-settings", args=[team.corpus.slug])


def _assignments(team):
    return reverse("corpus-assignments", args=[team.corpus.slug])


def _messages(response):
    return [str(m) for m in response.context["messages"]]


# --- Permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "minimum"),
    [
        ("corpus-settings", "owner"),
        ("corpus-trash", "owner"),
        ("corpus-assignments", "curator"),
        ("corpus-audit", "curator"),
    ],
)
def test_team_pages_answer_404_to_outsiders_and_403_below_the_role(client, team, name, minimum):
    url = reverse(name, args=[team.corpus.slug])
    client.force_login(team.outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "x"}).status_code in (404, 405)
    ranks = ["viewer", "annotator", "curator", "owner"]
    for role in ranks:
        client.force_login(getattr(team, role))
        allowed = ranks.index(role) >= ranks.index(minimum)
        assert client.get(url).status_code == (200 if allowed else 403), role


def test_settings_posts_need_the_csrf_token(team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.owner)
    response = client.post(_settings(team), {"action": "topic_add", "label": "New"})
    assert response.status_code == 403
    assert not Topic.objects.filter(label="New").exists()


# --- Settings ------------------------------------------------------------------------------


def test_owner_edits_the_corpus_and_switches_blind_mode(client, team):
    client.force_login(team.owner)
    response = client.post(
        _settings(team),
        {
            "action": "corpus",
            "version": team.corpus.version,
            "name": "Chips, renamed",
            "description": "About chips",
            "blind": "on",
            "claim_labels": "MajorClaim\nPremise\n",
        },
        follow=True,
    )
    assert "Saved the corpus settings." in _messages(response)
    corpus = Corpus.objects.get(pk=team.corpus.pk)
    assert (corpus.name, corpus.blind, corpus.claim_labels) == (
        "Chips, renamed",
        True,
        ["MajorClaim", "Premise"],
    )
    assert "Open review" in response.content.decode()
    response = client.post(
        _settings(team), {"action": "open_review", "version": corpus.version}, follow=True
    )
    assert not Corpus.objects.get(pk=corpus.pk).blind
    assert any("Review is open" in m for m in _messages(response))
    assert AuditEvent.objects.filter(verb="corpus.update", corpus=corpus).count() == 2


def test_corpus_form_errors_and_stale_versions_are_shown(client, team):
    client.force_login(team.owner)
    response = client.post(
        _settings(team), {"action": "corpus", "version": team.corpus.version, "name": " "}
    )
    assert response.status_code == 400
    assert "name is required." in response.content.decode()
    response = client.post(_settings(team), {"action": "corpus", "version": 99, "name": "Whatever"})
    assert response.status_code == 409
    assert "changed by someone else meanwhile" in response.content.decode()
    assert Corpus.objects.get(pk=team.corpus.pk).name == "Chip export op-eds"


def test_topics_are_added_renamed_and_deleted_unless_used(client, team):
    client.force_login(team.owner)
    client.post(_settings(team), {"action": "topic_add", "label": "Open models need rules"})
    topic = Topic.objects.get(corpus=team.corpus, label="Open models need rules")
    response = client.post(
        _settings(team),
        {"action": "topic_update", "topic": topic.pk, "version": 1, "label": "Open weights"},
        follow=True,
    )
    topic.refresh_from_db()
    assert topic.label == "Open weights"
    duplicate = client.post(
        _settings(team), {"action": "topic_add", "label": "Open weights"}, follow=True
    )
    assert any("already" in m for m in _messages(duplicate))
    AnnotationFactory(
        claim=ClaimFactory(article=team.article), annotator=team.annotator, topic=team.topic
    )
    refused = client.post(
        _settings(team), {"action": "topic_delete", "topic": team.topic.pk}, follow=True
    )
    assert any("Rename it instead" in m for m in _messages(refused))
    assert Topic.objects.filter(pk=team.topic.pk).exists()
    client.post(_settings(team), {"action": "topic_delete", "topic": topic.pk})
    assert not Topic.objects.filter(pk=topic.pk).exists()
    # A topic of another corpus is not found.
    other = client.post(_settings(team), {"action": "topic_delete", "topic": team.other_topic.pk})
    assert other.status_code == 404
    assert response.status_code == 200


def test_members_are_added_by_username_or_email_changed_and_removed(client, team):
    newcomer = UserFactory(username="nadia", email="Nadia@Example.org")
    client.force_login(team.owner)
    page = client.get(_settings(team)).content.decode()
    assert "Registration is closed" in page and "no sign-up page" in page
    assert "Create an invitation link" in page
    response = client.post(
        _settings(team),
        {"action": "member_add", "username": "nadia@example.org", "role": "annotator"},
        follow=True,
    )
    assert "nadia joined as annotator." in _messages(response)
    client.post(_settings(team), {"action": "member_role", "username": "nadia", "role": "curator"})
    assert Membership.objects.get(corpus=team.corpus, user=newcomer).role == Role.CURATOR
    unknown = client.post(
        _settings(team),
        {"action": "member_add", "username": "ghost", "role": "viewer"},
        follow=True,
    )
    assert "No active user 'ghost'." in _messages(unknown)
    client.post(_settings(team), {"action": "member_remove", "username": "nadia"})
    assert not Membership.objects.filter(corpus=team.corpus, user=newcomer).exists()
    assert {e.verb for e in AuditEvent.objects.filter(corpus=team.corpus)} >= {
        "membership.create",
        "membership.update",
        "membership.delete",
    }


def test_the_last_owner_can_be_neither_removed_nor_demoted(client, team):
    client.force_login(team.owner)
    for data in (
        {"action": "member_remove", "username": "olivia"},
        {"action": "member_role", "username": "olivia", "role": "curator"},
    ):
        response = client.post(_settings(team), data, follow=True)
        assert "A corpus needs at least one owner; add another first." in _messages(response)
    assert Membership.objects.get(corpus=team.corpus, user=team.owner).role == Role.OWNER


def test_an_owner_who_leaves_is_sent_home(client, team):
    Membership.objects.filter(corpus=team.corpus, user=team.curator).update(role=Role.OWNER)
    client.force_login(team.owner)
    response = client.post(_settings(team), {"action": "member_remove", "username": "olivia"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(_settings(team)).status_code == 404


def test_a_refused_action_shows_the_page_again_with_the_reason_and_its_status(client, team):
    client.force_login(team.owner)
    cases = [
        ({"action": "topic_add", "label": team.topic.label}, 409, "has a topic labelled"),
        ({"action": "topic_add", "label": "  "}, 400, "label is required."),
        ({"action": "member_add", "username": "ghost", "role": "viewer"}, 400, "No active user"),
        ({"action": "member_add", "username": "nadia", "role": "boss"}, 400, "role must be one"),
        (
            {"action": "topic_update", "topic": team.topic.pk, "version": 7, "label": "New"},
            409,
            "changed by someone else meanwhile",
        ),
        ({"action": "open_review", "version": "x"}, 400, "version must be a whole number."),
        ({"action": "shred"}, 400, "Unknown action."),
    ]
    for data, status, reason in cases:
        response = client.post(_settings(team), data)
        assert response.status_code == status, data
        assert any(reason in m for m in _messages(response)) or reason in (
            response.content.decode()
        ), data
        assert "Corpus settings" in response.content.decode()  # the page, not an error page
    assert Topic.objects.filter(corpus=team.corpus).count() == 1
    assert Topic.objects.get(pk=team.topic.pk).label == team.topic.label


def test_the_corpus_form_words_mistakes_as_the_shared_validators_do(client, team):
    client.force_login(team.owner)
    response = client.post(
        _settings(team),
        {
            "action": "corpus",
            "version": team.corpus.version,
            "name": "x" * 201,
            "claim_labels": "fine\n" + "y" * 101,
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "name is 201 characters; at most 200." in html
    assert "claim_labels is 101 characters; at most 100." in html
    assert f'value="{"x" * 201}"' in html  # what was typed is shown again
    # The shared validators' wording (the API's serializers and the import use them too).
    with pytest.raises(ValidationError) as error:
        validators.validate_line("x" * 201, "name", max_chars=200)
    assert error.value.messages == ["name is 201 characters; at most 200."]


# --- Assignments ---------------------------------------------------------------------------


def test_curator_assigns_and_unassigns_by_hand(client, team):
    client.force_login(team.curator)
    response = client.post(
        _assignments(team),
        {"action": "assign", "article": team.article.pk, "annotator": "anna"},
        follow=True,
    )
    assert "Gave “Chips and policy” to anna." in _messages(response)
    assignment = Assignment.objects.get(article=team.article, annotator=team.annotator)
    again = client.post(
        _assignments(team),
        {"action": "assign", "article": team.article.pk, "annotator": "anna"},
        follow=True,
    )
    assert "anna has this article already." in _messages(again)
    viewer = client.post(
        _assignments(team),
        {"action": "assign", "article": team.article.pk, "annotator": "victor"},
        follow=True,
    )
    assert any("is not an annotator" in m for m in _messages(viewer))
    foreign = client.post(
        _assignments(team),
        {"action": "assign", "article": team.other_article.pk, "annotator": "anna"},
    )
    assert foreign.status_code == 404
    client.post(_assignments(team), {"action": "unassign", "assignment": assignment.pk})
    assert not Assignment.objects.filter(pk=assignment.pk).exists()


def test_balanced_assignment_gives_n_per_article_and_spreads_the_load(client, team):
    for i in range(7):
        ArticleFactory(corpus=team.corpus, title=f"Op-ed {i}")
    AssignmentFactory(article=team.article, annotator=team.annotator)
    client.force_login(team.curator)
    response = client.post(
        _assignments(team), {"action": "balance", "per_article": "2"}, follow=True
    )
    assert any(m.startswith("Created 15 assignments") for m in _messages(response))
    articles = Article.objects.filter(corpus=team.corpus)
    per_article = Counter(
        Assignment.objects.filter(article__in=articles).values_list("article_id", flat=True)
    )
    assert set(per_article.values()) == {2} and len(per_article) == 8
    load = Counter(
        Assignment.objects.filter(article__in=articles).values_list(
            "annotator__username", flat=True
        )
    )
    # Annotators, curators and owners can take work; viewers cannot.
    assert set(load) == {"anna", "arjun", "carmen", "olivia"}
    assert max(load.values()) - min(load.values()) <= 1
    # Running it again changes nothing.
    again = client.post(_assignments(team), {"action": "balance", "per_article": "2"}, follow=True)
    assert "Nothing to do: every article has its annotators already." in _messages(again)


def test_balance_among_chosen_annotators_and_refusals(client, team):
    for _ in range(3):
        ArticleFactory(corpus=team.corpus)
    client.force_login(team.curator)
    client.post(
        _assignments(team),
        {"action": "balance", "per_article": "1", "annotators": ["anna", "arjun"]},
    )
    load = Counter(Assignment.objects.values_list("annotator__username", flat=True))
    assert set(load) == {"anna", "arjun"} and sorted(load.values()) == [2, 2]
    too_many = client.post(
        _assignments(team),
        {"action": "balance", "per_article": "3", "annotators": ["anna", "arjun"]},
        follow=True,
    )
    assert "Only 2 annotators can take work; asked for 3." in _messages(too_many)


def test_assignment_page_shows_progress_per_annotator_and_per_article(client, team):
    second = ArticleFactory(corpus=team.corpus, title="Second")
    AssignmentFactory(article=team.article, annotator=team.annotator)
    AssignmentFactory(article=second, annotator=team.annotator)
    AssignmentFactory(article=team.article, annotator=team.annotator2)
    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    client.force_login(team.curator)
    response = client.get(_assignments(team))
    progress = {p.user.username: p for p in response.context["progress"]}
    assert (progress["anna"].assigned, progress["anna"].submitted) == (2, 1)
    assert progress["anna"].pending == [(second.pk, "Second")]
    assert (progress["arjun"].assigned, progress["arjun"].submitted) == (1, 0)
    rows = {a.pk: a for a in response.context["page"].object_list}
    assert (rows[team.article.pk].n_done, len(rows[team.article.pk].work)) == (1, 2)
    assert "1 of 2 submitted" in response.content.decode()


def _seed_work(team, n):
    for _ in range(n):
        article = ArticleFactory(corpus=team.corpus)
        AssignmentFactory(article=article, annotator=team.annotator)
        AssignmentFactory(article=article, annotator=team.annotator2, state="submitted")


def test_assignment_page_query_count_is_constant(client, team, django_assert_num_queries):
    client.force_login(team.curator)
    _seed_work(team, 2)
    client.get(_assignments(team))
    with CaptureQueriesContext(connection) as small:
        client.get(_assignments(team))
    _seed_work(team, 25)
    with django_assert_num_queries(len(small)):
        response = client.get(_assignments(team))
    assert len(response.context["page"].object_list) == 28


# --- Audit log -----------------------------------------------------------------------------


def _audit(client, team, **params):
    return client.get(reverse("corpus-audit", args=[team.corpus.slug]), params)


def test_audit_page_shows_who_did_what_with_a_readable_diff_and_filters(client, team):
    services.topic_update(
        actor=team.owner, topic=team.topic, role="owner", label="Controls work", version=1
    )
    services.corpus_update(actor=team.owner, corpus=team.corpus, role="owner", blind=True)
    services.membership_add(
        actor=team.owner, corpus=team.corpus, role="owner", username="oscar", new_role="viewer"
    )
    services.corpus_update(
        actor=team.other_corpus.created_by, corpus=team.other_corpus, role="owner", name="Not ours"
    )
    client.force_login(team.curator)
    response = _audit(client, team)
    events = list(response.context["page"].object_list)
    assert [e.verb for e in events] == ["membership.create", "corpus.update", "topic.update"]
    html = response.content.decode()
    assert "Not ours" not in html
    topic_event = events[2]
    changed = {r.field: (r.before, r.after) for r in topic_event.diff if r.change == "changed"}
    assert changed == {"label": ("US export controls on AI chips are effective", "Controls work")}
    assert "diff-before" in html and "Controls work" in html
    assert [e.verb for e in _audit(client, team, verb="corpus.update").context["page"]] == [
        "corpus.update"
    ]
    assert [e.verb for e in _audit(client, team, object_type="topic").context["page"]] == [
        "topic.update"
    ]
    assert len(_audit(client, team, actor="olivia").context["page"].object_list) == 3
    assert len(_audit(client, team, actor="carmen").context["page"].object_list) == 0
    assert len(_audit(client, team, since="2000-01-01", until="2999-01-01").context["page"]) == 3
    assert len(_audit(client, team, until="2000-01-01").context["page"].object_list) == 0
    bad = _audit(client, team, since="yesterday")
    assert bad.status_code == 200 and any("is not a date" in m for m in _messages(bad))
    options = response.context["options"]
    assert options["actors"] == ["olivia"] and "topic" in options["object_types"]


def test_audit_filters_odd_values_are_warned_about_never_an_error(client, team):
    services.topic_update(actor=team.owner, topic=team.topic, role="owner", label="X", version=1)
    client.force_login(team.curator)
    response = _audit(client, team, actor="ol\x00ivia", until="9999-12-31", since="0001-01-01")
    assert response.status_code == 200
    assert [e.verb for e in response.context["page"]] == ["topic.update"]
    assert response.context["query"] == "since=0001-01-01&until=9999-12-31"
    assert any(m.startswith("Ignored the actor filter") for m in _messages(response))
    page = response.content.decode()
    assert 'value="9999-12-31"' in page and 'value="0001-01-01"' in page


def test_audit_page_is_paginated_with_constant_queries(client, team, django_assert_num_queries):
    client.force_login(team.curator)

    def seed(n):
        for i in range(n):
            services.topic_create(
                actor=team.owner,
                corpus=team.corpus,
                role="owner",
                label=f"Topic {Topic.objects.count()} {i}",
            )

    seed(2)
    _audit(client, team)
    with CaptureQueriesContext(connection) as small:
        _audit(client, team)
    seed(60)
    with django_assert_num_queries(len(small)):
        response = _audit(client, team)
    assert len(response.context["page"].object_list) == 50
    assert response.context["page"].paginator.num_pages == 2


# --- Trash ---------------------------------------------------------------------------------


def _trash(team):
    return reverse("corpus-trash", args=[team.corpus.slug])


def test_trash_lists_restores_and_purges(client, team):
    claim = ClaimFactory(article=team.article, start=0, end=40)
    lone = ArticleFactory(corpus=team.corpus, title="Lonely")
    kept = ClaimFactory(article=lone, start=42, end=85)
    services.claim_delete(
        access=Access(user=team.owner, corpus=team.corpus, role="owner"), claim=kept
    )
    services.article_delete(actor=team.owner, article=team.article, role="owner")
    client.force_login(team.owner)
    page = client.get(_trash(team))
    assert [a.pk for a in page.context["articles"]] == [team.article.pk]
    assert page.context["articles"][0].n_claims == 1
    assert [c.pk for c in page.context["claims"]] == [kept.pk]
    assert "olivia" in page.content.decode()

    client.post(_trash(team), {"action": "restore_article", "article": team.article.pk})
    assert Article.objects.alive().filter(pk=team.article.pk).exists()
    assert Claim.objects.alive().filter(pk=claim.pk).exists()
    client.post(_trash(team), {"action": "restore_claim", "claim": kept.pk})
    assert Claim.objects.alive().filter(pk=kept.pk).exists()

    services.article_delete(actor=team.owner, article=lone, role="owner")
    refused = client.post(
        _trash(team), {"action": "purge_article", "article": lone.pk}, follow=True
    )
    assert any("Tick the box" in m for m in _messages(refused))
    assert Article.objects.filter(pk=lone.pk).exists()
    client.post(_trash(team), {"action": "purge_article", "article": lone.pk, "confirm": "yes"})
    assert not Article.objects.filter(pk=lone.pk).exists()
    assert AuditEvent.objects.filter(verb="article.purge", object_id=str(lone.pk)).exists()
    # Live articles and other corpora's articles are not in this trash.
    assert (
        client.post(
            _trash(team), {"action": "purge_article", "article": team.article.pk, "confirm": "yes"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            _trash(team), {"action": "restore_article", "article": team.other_article.pk}
        ).status_code
        == 404
    )
