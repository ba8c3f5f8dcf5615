"""The review queue, one claim's review (gold labels, conflicts, next in queue), the comment
thread, the claim history, and what blind mode lets each role see."""

import html
import re

import pytest
from django.urls import reverse

from articles import selectors, services
from articles.models import AuditEvent, Review, Stance

from .factories import (
    AnnotationFactory,
    ArticleFactory,
    ClaimFactory,
    CommentFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

# Spans of SAMPLE_TEXT (factories): sentence starts and ends.
SPANS = [(0, 40), (42, 85), (87, 139), (141, 198)]


def _claim(team, span=0, article=None):
    start, end = SPANS[span]
    return ClaimFactory(article=article or team.article, start=start, end=end)


def _tag(claim, user, stance, topic=None, **extra):
    return AnnotationFactory(
        claim=claim,
        annotator=user,
        stance=stance,
        topic=topic or claim.article.corpus.topics.first(),
        **extra,
    )


def _queue(client, team, **params):
    return client.get(reverse("corpus-review", args=[team.corpus.slug]), params)


# --- Queue ---------------------------------------------------------------------------------


def test_queue_puts_disagreements_first_then_single_then_agreed_then_reviewed(client, team):
    agreed = _claim(team, 0)
    _tag(agreed, team.annotator, "oppose")
    _tag(agreed, team.annotator2, "oppose")
    reviewed = _claim(team, 1)
    _tag(reviewed, team.annotator, "support")
    _tag(reviewed, team.annotator2, "oppose")
    ReviewFactory(claim=reviewed, curator=team.curator)
    single = _claim(team, 2)
    _tag(single, team.annotator, "neutral")
    disagree = _claim(team, 3)
    _tag(disagree, team.annotator, "support")
    _tag(disagree, team.annotator2, "oppose")

    client.force_login(team.curator)
    response = _queue(client, team)
    assert response.status_code == 200
    order = [c.pk for c in response.context["page"].object_list]
    assert order == [disagree.pk, single.pk, agreed.pk, reviewed.pk]
    html = response.content.decode()
    assert "Stances differ" in html and "Only one annotator" in html
    assert response.context["first_open"] == disagree
    assert response.context["tally"] == {
        "disagree": 1,
        "single": 1,
        "agreed": 1,
        "reviewed": 1,
        "total": 4,
    }


def test_queue_counts_different_topics_as_a_disagreement(client, team):
    from .factories import TopicFactory

    second = TopicFactory(corpus=team.corpus, label="Open models need rules")
    claim = _claim(team, 0)
    _tag(claim, team.annotator, "oppose")
    _tag(claim, team.annotator2, "oppose", topic=second)
    client.force_login(team.curator)
    page = _queue(client, team, state="disagreement").context["page"]
    assert [c.pk for c in page.object_list] == [claim.pk]
    assert page.object_list[0].why == "Topics differ"


def test_queue_filters_by_article_annotator_topic_and_state(client, team):
    other_article = ArticleFactory(corpus=team.corpus, title="Second op-ed")
    a = _claim(team, 0)
    _tag(a, team.annotator, "oppose")
    b = _claim(team, 1, article=other_article)
    _tag(b, team.annotator2, "support")
    ReviewFactory(claim=b, curator=team.curator, decision="rejected", stance="", topic=None)
    c = _claim(team, 2)
    _tag(c, team.annotator2, "neutral")
    ReviewFactory(claim=c, curator=team.curator, decision="accepted", stance="neutral")
    client.force_login(team.curator)

    def ids(**params):
        return [x.pk for x in _queue(client, team, **params).context["page"].object_list]

    assert ids(article=other_article.pk) == [b.pk]
    assert ids(annotator="anna") == [a.pk]
    assert set(ids(annotator="arjun")) == {b.pk, c.pk}
    assert ids(state="rejected") == [b.pk]
    assert ids(state="accepted") == [c.pk]
    assert ids(state="unreviewed") == [a.pk]
    assert ids(state="disagreement") == [a.pk]
    assert set(ids(topic=team.topic.pk)) == {a.pk, b.pk, c.pk}
    # A bad filter is dropped with a warning, not an error.
    response = _queue(client, team, article="nope", state="bogus")
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 3


def _queue_of_every_rank(team):
    """Two claims of each rank of the queue (a claim nobody tagged counts as single)."""
    claims = {}
    for article in (team.article, ArticleFactory(corpus=team.corpus)):
        disagree, single, untagged, agreed = (_claim(team, i, article=article) for i in range(4))
        _tag(disagree, team.annotator, "support")
        _tag(disagree, team.annotator2, "oppose")
        _tag(single, team.annotator, "neutral")
        _tag(agreed, team.annotator, "oppose")
        _tag(agreed, team.annotator2, "oppose")
        reviewed = ClaimFactory(article=article, start=200, end=230)
        _tag(reviewed, team.annotator, "support")
        ReviewFactory(claim=reviewed, curator=team.curator)
        for state, claim in [
            ("disagree", disagree),
            ("single", single),
            ("single", untagged),
            ("agreed", agreed),
            ("reviewed", reviewed),
        ]:
            claims.setdefault(state, set()).add(claim.pk)
    return claims


def test_each_tile_opens_exactly_the_claims_it_counts(client, team):
    claims = _queue_of_every_rank(team)
    client.force_login(team.curator)
    response = _queue(client, team)
    tally = response.context["tally"]
    assert {state: tally[state] for state in claims} == {s: len(c) for s, c in claims.items()}
    tiles = re.findall(r'<a class="tally tally-(\w+)" href="([^"]+)"', response.content.decode())
    assert [state for state, _href in tiles] == ["disagree", "single", "agreed", "reviewed"]
    url = reverse("corpus-review", args=[team.corpus.slug])
    for state, href in tiles:
        opened = client.get(url + html.unescape(href))
        shown = {c.pk for c in opened.context["page"].object_list}
        assert shown == claims[state], state
        assert f'aria-current="true"><span class="stat-value">{tally[state]}<' in (
            opened.content.decode()
        )
    # The tiles still count the whole queue (they ignore the filters in force).
    assert _queue(client, team, state="single").context["tally"] == tally


def test_queue_states_by_rank_and_by_review(client, team):
    claims = _queue_of_every_rank(team)
    client.force_login(team.curator)

    def ids(state):
        return {c.pk for c in _queue(client, team, state=state).context["page"].object_list}

    assert ids("disagreement") == claims["disagree"] | claims["single"]
    assert ids("unreviewed") == claims["disagree"] | claims["single"] | claims["agreed"]
    assert ids("accepted") == claims["reviewed"]  # the factory's decision
    assert ids("rejected") == set()


def test_bad_queue_filters_are_dropped_with_a_warning_and_not_carried(client, team):
    for i in range(30):
        _tag(ClaimFactory(article=team.article, start=i, end=i + 5), team.annotator, "support")
    client.force_login(team.curator)
    response = _queue(client, team, article="12x", topic="\x00", state="bogus", annotator="anna")
    assert response.status_code == 200
    warnings = [str(m) for m in response.context["messages"]]
    assert 'Ignored the article filter: "12x" is not an id.' in warnings
    assert 'Ignored the state filter: "bogus" is not a known state.' in warnings
    assert any(w.startswith("Ignored the topic filter") for w in warnings)
    assert response.context["query"] == "annotator=anna"
    html_text = response.content.decode()
    assert "?annotator=anna&amp;page=2" in html_text  # the pagination carries what is in force
    # Nothing ignored is carried (links, the claims' query strings): only the warning names it.
    assert html_text.count("bogus") == 1 and html_text.count("12x") == 1


def test_queue_is_paginated(client, team):
    for i in range(30):
        claim = ClaimFactory(article=team.article, start=i, end=i + 5)
        _tag(claim, team.annotator, "support")
    client.force_login(team.curator)
    first = _queue(client, team).context["page"]
    second = _queue(client, team, page=2).context["page"]
    assert len(first.object_list) == 25 and len(second.object_list) == 5
    assert not {c.pk for c in first.object_list} & {c.pk for c in second.object_list}


def test_first_open_claim_is_the_same_on_every_page_and_none_when_all_are_reviewed(
    client, team, django_assert_num_queries
):
    """The "next open claim" button: on the first page it is read off the page's first row (no
    second pass over the queue's ranks), on later pages by one query; the same claim either way."""
    claims = [ClaimFactory(article=team.article, start=i, end=i + 5) for i in range(30)]
    for claim in claims:
        _tag(claim, team.annotator, "support")
    for claim in claims[:3]:
        ReviewFactory(claim=claim, curator=team.curator)
    client.force_login(team.curator)
    _queue(client, team)  # warm up (session, content types)
    with django_assert_num_queries(10):
        first = _queue(client, team)
    with django_assert_num_queries(11):
        second = _queue(client, team, page=2)
    expected = claims[3]  # single-annotator claims first, in text order; reviewed ones last
    assert first.context["first_open"] == expected == second.context["first_open"]
    assert first.context["page"].object_list[0] == expected

    for claim in claims[3:]:
        ReviewFactory(claim=claim, curator=team.curator)
    for page in (1, 2):
        response = _queue(client, team, page=page)
        assert response.context["first_open"] is None
        assert "Review the next open claim" not in response.content.decode()


def _seed_queue(team, n):
    for i in range(n):
        claim = ClaimFactory(article=team.article, start=i, end=i + 5)
        _tag(claim, team.annotator, "support")
        _tag(claim, team.annotator2, "oppose" if i % 2 else "support")
        if i % 3 == 0:
            ReviewFactory(claim=claim, curator=team.curator)
        CommentFactory(claim=claim, author=team.annotator)


def test_queue_query_count_does_not_grow_with_claims(client, team, django_assert_num_queries):
    client.force_login(team.curator)
    _seed_queue(team, 2)
    _queue(client, team)  # warm up (session, content types)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert _queue(client, team).status_code == 200
    _seed_queue(team, 20)
    with django_assert_num_queries(len(small)):
        response = _queue(client, team)
    assert len(response.context["page"].object_list) == 22


# --- Permissions ---------------------------------------------------------------------------


def test_review_pages_are_404_to_outsiders_and_403_to_annotators_and_viewers(client, team):
    claim = _claim(team)
    urls = [
        reverse("corpus-review", args=[team.corpus.slug]),
        reverse("review-claim", args=[claim.pk]),
        reverse("claim-history", args=[claim.pk]),
    ]
    client.force_login(team.outsider)
    assert [client.get(u).status_code for u in urls] == [404, 404, 404]
    assert client.get(reverse("claim-thread", args=[claim.pk])).status_code == 404
    for user in (team.annotator, team.viewer):
        client.force_login(user)
        assert [client.get(u).status_code for u in urls] == [403, 403, 403]
    client.force_login(team.curator)
    assert [client.get(u).status_code for u in urls] == [200, 200, 200]
    response = client.post(urls[1], {"decision": "accepted", "stance": "oppose"})
    assert response.status_code == 302
    client.force_login(team.annotator)
    assert client.post(urls[1], {"decision": "rejected", "note": "x"}).status_code == 403
    assert Review.objects.get(claim=claim).curator == team.curator


def test_anonymous_users_are_sent_to_log_in(client, team):
    claim = _claim(team)
    response = client.get(reverse("review-claim", args=[claim.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_review_post_needs_the_csrf_token(team):
    from django.test import Client

    claim = _claim(team)
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.curator)
    response = client.post(
        reverse("review-claim", args=[claim.pk]), {"decision": "accepted", "stance": "oppose"}
    )
    assert response.status_code == 403
    assert not Review.objects.exists()


# --- Deciding ------------------------------------------------------------------------------


def test_claim_page_shows_context_and_every_annotation_side_by_side_even_in_blind_mode(
    client, team
):
    team.corpus.blind = True
    team.corpus.save()
    claim = _claim(team, 1)
    _tag(claim, team.annotator, "support", note="<b>bold</b> note")
    _tag(claim, team.annotator2, "oppose")
    client.force_login(team.curator)
    response = client.get(reverse("review-claim", args=[claim.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert [a.annotator.username for a in response.context["annotations"]] == ["anna", "arjun"]
    assert response.context["context_before"].endswith("shortsighted. ")
    assert "Officials say" in response.context["context_after"]
    assert "&lt;b&gt;bold&lt;/b&gt; note" in html and "<b>bold</b>" not in html
    assert reverse("article", args=[team.article.pk]) + f"?claim={claim.pk}" in html
    assert response.context["agreed"] is None


def test_accept_requires_a_gold_stance(client, team):
    claim = _claim(team)
    _tag(claim, team.annotator, "support")
    _tag(claim, team.annotator2, "oppose")
    client.force_login(team.curator)
    response = client.post(
        reverse("review-claim", args=[claim.pk]), {"decision": "accepted", "version": "0"}
    )
    assert response.status_code == 400
    assert "An accepted claim needs a gold stance." in response.content.decode()
    assert not Review.objects.exists()


def test_review_form_mistakes_are_worded_by_the_shared_validators(client, team):
    claim = _claim(team)
    client.force_login(team.curator)
    url = reverse("review-claim", args=[claim.pk])
    response = client.post(url, {"decision": "maybe", "version": "0"})
    assert response.status_code == 400
    assert "decision must be one of accepted, rejected; got &#x27;maybe&#x27;." in (
        response.content.decode()
    )
    response = client.post(url, {"decision": "accepted", "stance": "sideways", "version": "0"})
    assert response.status_code == 400
    html_text = response.content.decode()
    assert "stance must be one of support, oppose, neutral; got &#x27;sideways&#x27;." in html_text
    assert 'value="accepted" data-key="accept" checked' in html_text  # the choice is kept
    assert not Review.objects.exists()


def test_reject_requires_a_reason(client, team):
    claim = _claim(team)
    client.force_login(team.curator)
    url = reverse("review-claim", args=[claim.pk])
    response = client.post(url, {"decision": "rejected", "version": "0"})
    assert response.status_code == 400 and "Say why you reject" in response.content.decode()
    response = client.post(url, {"decision": "rejected", "note": "Not a claim", "version": "0"})
    assert response.status_code == 302
    review = Review.objects.get(claim=claim)
    assert (review.decision, review.note) == ("rejected", "Not a claim")


def test_accepting_the_agreed_stance_in_one_action_and_moving_to_the_next_claim(client, team):
    agreed = _claim(team, 0)
    _tag(agreed, team.annotator, "oppose")
    _tag(agreed, team.annotator2, "oppose")
    later = _claim(team, 1)
    _tag(later, team.annotator, "oppose")
    _tag(later, team.annotator2, "oppose")
    client.force_login(team.curator)
    url = reverse("review-claim", args=[agreed.pk])
    page = client.get(url)
    assert page.context["agreed"]["stance"] == "oppose"
    assert 'data-key="a"' in page.content.decode()
    response = client.post(url, {"quick": "agreed", "version": "0", "q": ""})
    assert response.status_code == 302
    assert response["Location"] == reverse("review-claim", args=[later.pk])
    review = Review.objects.get(claim=agreed)
    assert (review.decision, review.stance, review.topic) == ("accepted", "oppose", team.topic)
    assert AuditEvent.objects.filter(verb="review.create", object_id=str(review.pk)).exists()


def test_next_in_queue_keeps_the_filters_and_stays_when_asked(client, team):
    other = ArticleFactory(corpus=team.corpus)
    first = _claim(team, 0)
    _claim(team, 0, article=other)  # unreviewed, but outside the filtered queue
    second = _claim(team, 1)
    client.force_login(team.curator)
    query = f"article={team.article.pk}"
    url = reverse("review-claim", args=[first.pk])
    response = client.post(
        url, {"decision": "accepted", "stance": "support", "version": "0", "q": query}
    )
    assert response["Location"] == reverse("review-claim", args=[second.pk]) + "?" + query
    response = client.post(
        reverse("review-claim", args=[second.pk]),
        {"decision": "accepted", "stance": "support", "version": "0", "q": query},
    )
    # The filtered queue is empty now: back to the same claim, with a message.
    assert response["Location"] == reverse("review-claim", args=[second.pk]) + "?" + query
    review = Review.objects.get(claim=second)
    response = client.post(
        reverse("review-claim", args=[second.pk]),
        {"decision": "accepted", "stance": "neutral", "version": review.version, "then": "stay"},
    )
    assert response["Location"] == reverse("review-claim", args=[second.pk])
    review.refresh_from_db()
    assert (review.stance, review.version) == ("neutral", 2)


def test_a_stale_version_gives_a_clear_conflict_and_changes_nothing(client, team):
    claim = _claim(team)
    client.force_login(team.curator)
    url = reverse("review-claim", args=[claim.pk])
    client.post(url, {"decision": "accepted", "stance": "oppose", "version": "0", "then": "stay"})
    # Someone else decides meanwhile (version 1 -> 2).
    services.review_set(
        actor=team.owner,
        claim=claim,
        role="owner",
        decision="accepted",
        stance="support",
        version=1,
    )
    response = client.post(url, {"decision": "rejected", "note": "No", "version": "1"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "olivia changed this review meanwhile" in html and "Your decision was not saved" in html
    review = Review.objects.get(claim=claim)
    assert (review.decision, review.stance, review.version) == ("accepted", "support", 2)
    # The re-rendered form carries the current version, so deciding again works.
    assert response.context["review"].version == 2
    assert 'name="version" value="2"' in html
    # Two curators deciding a fresh claim at once: the second one's "version 0" is stale too.
    fresh = _claim(team, 1)
    fresh_url = reverse("review-claim", args=[fresh.pk])
    client.post(fresh_url, {"decision": "accepted", "stance": "oppose", "version": "0"})
    response = client.post(fresh_url, {"decision": "accepted", "stance": "neutral", "version": "0"})
    assert response.status_code == 409
    assert Review.objects.get(claim=fresh).stance == "oppose"


def test_decisions_show_in_the_queue_and_on_the_claim(client, team):
    claim = _claim(team)
    _tag(claim, team.annotator, "support")
    _tag(claim, team.annotator2, "oppose")
    client.force_login(team.curator)
    client.post(
        reverse("review-claim", args=[claim.pk]),
        {"decision": "accepted", "stance": "oppose", "topic": team.topic.pk, "version": "0"},
    )
    queue = _queue(client, team)
    assert queue.context["page"].object_list[0].review_state == "accepted"
    assert "gold: oppose" in queue.content.decode()
    page = client.get(reverse("review-claim", args=[claim.pk]))
    assert page.context["review"].stance == Stance.OPPOSE
    assert "gold: oppose" in page.content.decode()


# --- Comments ------------------------------------------------------------------------------


def test_comment_thread_posts_with_htmx_and_escapes_text(client, team):
    claim = _claim(team)
    client.force_login(team.annotator)
    url = reverse("claim-thread", args=[claim.pk])
    response = client.post(
        url, {"text": "<script>alert(1)</script> I read it as oppose"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; I read it as oppose" in html
    assert "<script>alert" not in html
    assert 'hx-trigger="every 5s"' in html
    assert "comment-posted" in response["HX-Trigger"]
    assert claim.comments.get().author == team.annotator
    empty = client.post(url, {"text": "   "}, HTTP_HX_REQUEST="true")
    assert "The comment is empty." in empty.content.decode()
    assert claim.comments.count() == 1


def test_comment_without_javascript_redirects_back(client, team):
    claim = _claim(team)
    client.force_login(team.curator)
    back = reverse("review-claim", args=[claim.pk])
    response = client.post(reverse("claim-thread", args=[claim.pk]), {"text": "Hm.", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    response = client.post(
        reverse("claim-thread", args=[claim.pk]), {"text": "Hm.", "next": "https://evil.example/"}
    )
    assert response["Location"] == back


def test_viewers_read_the_thread_but_cannot_post(client, team):
    claim = _claim(team)
    CommentFactory(claim=claim, author=team.curator, text="Look again")
    client.force_login(team.viewer)
    url = reverse("claim-thread", args=[claim.pk])
    assert "Look again" in client.get(url).content.decode()
    assert client.post(url, {"text": "me too"}).status_code == 403


def test_blind_mode_hides_other_comments_until_the_annotator_submits(client, team):
    team.corpus.blind = True
    team.corpus.save()
    claim = _claim(team)
    CommentFactory(claim=claim, author=team.annotator2, text="Clearly oppose")
    client.force_login(team.annotator)
    url = reverse("claim-thread", args=[claim.pk])
    assert "Clearly oppose" not in client.get(url).content.decode()
    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    assert "Clearly oppose" in client.get(url).content.decode()


# --- Blind mode and reviews as annotators see them --------------------------------------------


def test_blind_mode_annotator_sees_others_only_after_submitting_curator_always(team):
    team.corpus.blind = True
    team.corpus.save()
    claim = _claim(team)
    _tag(claim, team.annotator, "support")
    _tag(claim, team.annotator2, "oppose")
    ReviewFactory(claim=claim, curator=team.curator, stance="oppose")

    def seen(user):
        article, access = selectors.article_with_access(user, team.article.pk)
        claims = list(selectors.claims_for_article(access, article))
        return sorted(a.annotator.username for a in claims[0].visible_annotations)

    def reviews(user):
        article, access = selectors.article_with_access(user, team.article.pk)
        return list(selectors.reviews_for_article(access, article))

    assert seen(team.annotator) == ["anna"]
    assert reviews(team.annotator) == []
    assert seen(team.curator) == ["anna", "arjun"]
    assert len(reviews(team.curator)) == 1
    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    assert seen(team.annotator) == ["anna", "arjun"]
    assert [r.stance for r in reviews(team.annotator)] == ["oppose"]
    assert seen(team.annotator2) == ["arjun"]


def test_reviews_reach_annotators_after_submitting_even_without_blind_mode(team):
    claim = _claim(team)
    ReviewFactory(claim=claim, curator=team.curator, stance="support")
    article, access = selectors.article_with_access(team.annotator, team.article.pk)
    assert not selectors.reviews_for_article(access, article).exists()
    assert not selectors.claims_for_article(access, article).get().has_review
    services.article_submit(actor=team.annotator, article=team.article, role="annotator")
    # The same access: what the annotator submitted is read from the database, not remembered.
    assert selectors.reviews_for_article(access, article).get().stance == "support"
    assert selectors.claims_for_article(access, article).get().has_review


# --- History -------------------------------------------------------------------------------


def test_claim_history_lists_events_of_the_claim_its_annotations_review_and_comments(client, team):
    article, _ = selectors.article_with_access(team.annotator, team.article.pk)
    claim = services.claim_create(
        actor=team.annotator, article=article, role="annotator", start=0, end=40
    )
    annotation = services.annotation_create(
        actor=team.annotator, claim=claim, role="annotator", stance="support"
    )
    services.annotation_update(
        actor=team.annotator, annotation=annotation, role="annotator", stance="oppose", version=1
    )
    services.annotation_delete(actor=team.annotator, annotation=annotation, role="annotator")
    services.comment_create(actor=team.curator, claim=claim, role="curator", text="why?")
    services.review_set(
        actor=team.curator, claim=claim, role="curator", decision="accepted", stance="oppose"
    )
    other = services.claim_create(
        actor=team.annotator, article=article, role="annotator", start=42, end=85
    )
    services.annotation_create(
        actor=team.annotator, claim=other, role="annotator", stance="neutral"
    )

    client.force_login(team.curator)
    response = client.get(reverse("claim-history", args=[claim.pk]))
    verbs = [e.verb for e in response.context["events"]]
    assert verbs == [
        "claim.create",
        "annotation.create",
        "annotation.update",
        "annotation.delete",
        "comment.create",
        "review.create",
    ]
    html = response.content.decode()
    assert "diff-changed" in html  # the stance change support -> oppose is shown as a diff
    update = response.context["events"][2]
    changed = {row.field: (row.before, row.after) for row in update.diff if row.change == "changed"}
    assert changed["stance"] == ("support", "oppose")


def test_rejecting_drops_the_gold_fields(client, team):
    claim = _claim(team)
    client.force_login(team.curator)
    client.post(
        reverse("review-claim", args=[claim.pk]),
        {
            "decision": "rejected",
            "stance": "oppose",
            "topic": team.topic.pk,
            "note": "Not a claim",
            "version": "0",
        },
    )
    review = Review.objects.get(claim=claim)
    assert (review.decision, review.stance, review.topic) == ("rejected", "", None)


def _seed_claim(team, claim, n):
    from articles.models import Membership

    from .factories import EvidenceFactory, UserFactory

    for _ in range(n):
        user = UserFactory()
        Membership.objects.create(corpus=team.corpus, user=user, role="annotator")
        annotation = _tag(claim, user, "support")
        EvidenceFactory(annotation=annotation)
        CommentFactory(claim=claim, author=user)


def test_claim_review_page_query_count_does_not_grow(client, team, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    claim = _claim(team)
    _seed_claim(team, claim, 2)
    client.force_login(team.curator)
    url = reverse("review-claim", args=[claim.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    _seed_claim(team, claim, 15)
    with django_assert_num_queries(len(small)):
        response = client.get(url)
    assert len(response.context["annotations"]) == 17
    assert len(response.context["comments"]) == 17
