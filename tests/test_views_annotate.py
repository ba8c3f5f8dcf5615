"""The annotation page (articles/views/annotate/): the page, its partials and every write,
per role, with htmx and without, with the error and conflict views, blind mode and query counts."""

import json

import pytest
from django.urls import reverse

from articles.models import (
    Annotation,
    Assignment,
    AssignmentState,
    Claim,
    Comment,
    Corpus,
    Evidence,
    Relation,
    Stance,
)
from articles.views.annotate.search import claim_matches
from articles.views.annotate.segments import render_segments, segment_text
from tests.factories import (
    AnnotationFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    RelationFactory,
    ReviewFactory,
)

HX = {"HTTP_HX_REQUEST": "true"}
PHRASE = "Restricting chip exports is shortsighted"  # SAMPLE_TEXT[0:40]
XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>"><svg onload=alert(3)>'


def page_url(article):
    return reverse("article", args=[article.pk])


def triggers(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


@pytest.fixture
def claim(team):
    return ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)


# --- Segments -------------------------------------------------------------------------------


def test_segments_split_at_every_claim_boundary_and_list_the_covering_claims_innermost_first():
    text = "aaaa bbbb cccc\n\ndddd eeee"
    # 1 covers "aaaa bbbb cccc", 2 is nested in it ("bbbb"), 3 overlaps 1 and crosses the paragraph.
    paragraphs = segment_text(text, [(1, 0, 14), (2, 5, 9), (3, 10, 20)])
    flat = [(s.start, s.end, s.claims) for p in paragraphs for s in p]
    assert flat == [
        (0, 5, (1,)),
        (5, 9, (2, 1)),
        (9, 10, (1,)),
        (10, 14, (3, 1)),
        (16, 20, (3,)),
        (20, 25, ()),
    ]
    assert len(paragraphs) == 2
    # Segments cover the text exactly, newlines between paragraphs excepted.
    assert "".join(text[s.start : s.end] for p in paragraphs for s in p) == text.replace("\n", "")


def test_rendered_segments_escape_the_text_and_carry_code_point_starts():
    text = "👩‍👩‍👧 <script>x</script> & done"
    start = text.index("done")
    html = render_segments(text, segment_text(text, [(7, start, start + 4)]), {7: "oppose"})
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt; &amp; " in html
    assert f'<span data-s="{start}" data-c="7" class="c st-oppose cs">done</span>' in html


# --- The page -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "curator", "annotator", "viewer"])
def test_every_member_sees_the_page_with_its_claims(client, team, claim, who):
    client.force_login(getattr(team, who))
    response = client.get(page_url(team.article))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    assert f'data-c="{claim.pk}"' in body
    assert f'data-claim="{claim.pk}"' in body
    assert team.article.title in body


def test_outsider_gets_404_on_the_page_and_every_partial_and_write(client, team, claim):
    relation = RelationFactory(
        source_claim=claim,
        target_claim=ClaimFactory(article=team.article, start=42, end=85),
        created_by=team.annotator,
    )
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator)
    evidence = EvidenceFactory(annotation=annotation)
    client.force_login(team.outsider)
    article = team.article.pk
    gets = [
        reverse("article", args=[article]),
        reverse("article-text", args=[article]),
        reverse("article-claim-list", args=[article]),
        reverse("claim-panel", args=[claim.pk]),
        reverse("relation-targets", args=[claim.pk]) + "?q=chip",
    ]
    posts = [
        reverse("claim-create", args=[article]),
        reverse("article-submit", args=[article]),
        reverse("claim-edit", args=[claim.pk]),
        reverse("claim-labels", args=[claim.pk]),
        reverse("claim-delete", args=[claim.pk]),
        reverse("annotation-save", args=[claim.pk]),
        reverse("evidence-add", args=[claim.pk]),
        reverse("relation-create", args=[claim.pk]),
        reverse("comment-create", args=[claim.pk]),
        reverse("annotation-delete", args=[annotation.pk]),
        reverse("evidence-delete", args=[annotation.pk, evidence.pk]),
        reverse("relation-delete", args=[relation.pk]),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
        assert client.get(url, **HX).status_code == 404, url
    for url in posts:
        assert client.post(url, {"start": 0, "end": 4, "stance": "support"}).status_code == 404
    assert Claim.objects.count() == 2
    assert Annotation.objects.count() == 1


def test_anonymous_user_is_sent_to_log_in(client, team):
    response = client.get(page_url(team.article))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_viewer_sees_no_write_controls_and_every_write_is_refused(client, team, claim):
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator)
    client.force_login(team.viewer)
    body = client.get(page_url(team.article) + f"?claim={claim.pk}").content.decode()
    for control in ('id="claim-form"', 'name="stance"', 'id="comment-text"', 'id="pop-claim"'):
        assert control not in body
    assert "Read only" in body
    posts = [
        (reverse("claim-create", args=[team.article.pk]), {"start": 0, "end": 11}),
        (reverse("annotation-save", args=[claim.pk]), {"stance": "support"}),
        (reverse("comment-create", args=[claim.pk]), {"text": "hello"}),
        (reverse("claim-edit", args=[claim.pk]), {"summary": "x"}),
        (reverse("claim-labels", args=[claim.pk]), {"labels": [], "version": 1}),
        (reverse("claim-delete", args=[claim.pk]), {}),
        (reverse("evidence-add", args=[claim.pk]), {"kind": "source", "url": "https://a.org"}),
        (reverse("annotation-delete", args=[annotation.pk]), {}),
        (reverse("article-submit", args=[team.article.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, **HX).status_code == 403, url
    assert Claim.objects.alive().count() == 1
    assert Annotation.objects.count() == 1
    assert Comment.objects.count() == 0


def test_the_page_escapes_user_text_and_links_only_web_addresses(client, team, claim):
    team.article.title = XSS
    team.article.source_url = "javascript:alert(1)"
    team.article.save()
    Claim.objects.filter(pk=claim.pk).update(summary=XSS)
    AnnotationFactory(claim=claim, annotator=team.annotator, note=XSS)
    CommentFactory(claim=claim, author=team.annotator, text=XSS)
    client.force_login(team.annotator)
    body = client.get(page_url(team.article) + f"?claim={claim.pk}").content.decode()
    assert "<img src=x" not in body
    assert "<script>alert" not in body
    assert "<svg onload" not in body
    assert "javascript:" not in body
    assert body.count("&lt;img src=x onerror=alert(1)&gt;") >= 4  # title x2, summary, note, comment


# --- Partials: htmx fragment vs plain browser --------------------------------------------------


def test_partials_answer_htmx_with_a_fragment_and_browsers_with_a_redirect(client, team, claim):
    client.force_login(team.annotator)
    article = team.article.pk
    text = client.get(reverse("article-text", args=[article]), **HX)
    assert text.status_code == 200
    assert "<html" not in text.content.decode()
    assert f'data-c="{claim.pk}"' in text.content.decode()

    listing = client.get(reverse("article-claim-list", args=[article]) + "?filter=untagged", **HX)
    assert listing.status_code == 200
    assert listing.content.decode().lstrip().startswith('<section id="claim-list"')
    assert f'data-claim="{claim.pk}"' in listing.content.decode()

    panel = client.get(reverse("claim-panel", args=[claim.pk]), **HX)
    assert panel.status_code == 200
    assert f'data-claim-id="{claim.pk}"' in panel.content.decode()
    assert "<html" not in panel.content.decode()

    assert client.get(reverse("article-text", args=[article])).headers["Location"] == page_url(
        team.article
    )
    assert (
        client.get(reverse("article-claim-list", args=[article]) + "?filter=mine").headers[
            "Location"
        ]
        == page_url(team.article) + "?filter=mine"
    )
    assert (
        client.get(reverse("claim-panel", args=[claim.pk])).headers["Location"]
        == page_url(team.article) + f"?claim={claim.pk}#panel"
    )


def test_list_filters_mine_untagged_and_disagreements(client, team):
    mine = ClaimFactory(article=team.article, start=0, end=40, created_by=team.annotator)
    untagged = ClaimFactory(article=team.article, start=42, end=85, created_by=team.owner)
    disputed = ClaimFactory(article=team.article, start=86, end=138, created_by=team.owner)
    AnnotationFactory(claim=mine, annotator=team.annotator, stance=Stance.SUPPORT)
    AnnotationFactory(claim=disputed, annotator=team.annotator, stance=Stance.SUPPORT)
    AnnotationFactory(claim=disputed, annotator=team.annotator2, stance=Stance.OPPOSE)
    client.force_login(team.annotator)
    url = reverse("article-claim-list", args=[team.article.pk])

    def listed(name):
        body = client.get(f"{url}?filter={name}", **HX).content.decode()
        return {c.pk for c in (mine, untagged, disputed) if f'data-claim="{c.pk}"' in body}

    assert listed("all") == {mine.pk, untagged.pk, disputed.pk}
    assert listed("mine") == {mine.pk, disputed.pk}
    assert listed("untagged") == {untagged.pk}
    assert listed("disagreements") == {disputed.pk}
    assert listed("nonsense") == {mine.pk, untagged.pk, disputed.pk}


def test_the_open_claim_is_marked_in_the_text_and_the_list_without_javascript(client, team, claim):
    client.force_login(team.annotator)
    body = client.get(page_url(team.article) + f"?claim={claim.pk}").content.decode()
    assert f'data-c="{claim.pk}" class="c st-none cs sel"' in body
    assert f'data-claim="{claim.pk}" href="?claim={claim.pk}#panel" aria-current="true"' in body


def test_a_claim_of_another_article_in_the_query_is_not_shown(client, team):
    other = ClaimFactory(article=team.other_article, start=0, end=11)
    client.force_login(team.annotator)
    response = client.get(page_url(team.article) + f"?claim={other.pk}")
    assert response.status_code == 200
    assert f'data-claim-id="{other.pk}"' not in response.content.decode()
    assert "That claim no longer exists" in response.content.decode()


# --- Creating claims --------------------------------------------------------------------------


def test_claim_from_a_selection_is_created_and_htmx_gets_the_panel_and_events(client, team):
    client.force_login(team.annotator)
    response = client.post(
        reverse("claim-create", args=[team.article.pk]),
        {"start": "0", "end": "40", "exact": PHRASE},
        **HX,
    )
    assert response.status_code == 200
    claim = Claim.objects.get()
    assert (claim.start, claim.end, claim.exact, claim.created_by) == (
        0,
        40,
        PHRASE,
        team.annotator,
    )
    assert f'data-claim-id="{claim.pk}"' in response.content.decode()
    events = triggers(response)
    assert events["claims-changed"] == {"claim": claim.pk}
    assert events["saved"]["message"] == "Claim marked."


def test_claim_without_javascript_redirects_back_to_the_open_claim(client, team):
    client.force_login(team.annotator)
    response = client.post(
        reverse("claim-create", args=[team.article.pk]), {"exact": "low-end chips"}
    )
    claim = Claim.objects.get()
    assert claim.exact == "low-end chips"
    assert claim.start == team.article.text.index("low-end chips")
    assert response.status_code == 302
    assert response.headers["Location"] == page_url(team.article) + f"?claim={claim.pk}#panel"


def test_code_point_offsets_after_astral_characters_are_stored_as_sent(client, team):
    team.article.text = "👩‍👩‍👧 family. 研究者 e\u0301 مرحبا. The real claim."
    team.article.save()
    client.force_login(team.annotator)
    text = team.article.text
    start = text.index("real claim")
    client.post(
        reverse("claim-create", args=[team.article.pk]),
        {"start": start, "end": start + 10, "exact": "real claim"},
    )
    claim = Claim.objects.get()
    assert text[claim.start : claim.end] == claim.exact == "real claim"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "200", "end": "999"}, "past the end of the text"),
        ({"start": "12", "end": "5"}, "is before start"),
        ({"start": "-3", "end": "5"}, "must not be negative"),
        ({"start": "abc", "end": "5"}, "must be an integer"),
        ({"start": "0", "end": "11", "exact": "Something else"}, "does not match the text"),
        ({"exact": "the"}, "is ambiguous"),
        ({"exact": "nowhere in the text"}, "was not found"),
        ({}, "No span was given"),
    ],
)
def test_bad_offsets_get_a_clear_message(client, team, data, message):
    client.force_login(team.annotator)
    url = reverse("claim-create", args=[team.article.pk])
    fragment = client.post(url, data, **HX)
    assert fragment.status_code == 400
    assert message in fragment.content.decode()
    assert fragment.headers["HX-Retarget"] == "#claim-errors"
    assert fragment.content.decode().lstrip().startswith('<div id="claim-errors"')
    page = client.post(url, data)
    assert page.status_code == 400
    assert message in page.content.decode()
    assert "<html" in page.content.decode()
    assert not Claim.objects.exists()


# --- Tagging --------------------------------------------------------------------------------


def test_stance_creates_then_updates_my_annotation(client, team, claim):
    client.force_login(team.annotator)
    url = reverse("annotation-save", args=[claim.pk])
    response = client.post(
        url,
        {"stance": "oppose", "topic": team.topic.pk, "confidence": "4", "note": "Rhetoric."},
        **HX,
    )
    assert response.status_code == 200
    annotation = Annotation.objects.get()
    assert (annotation.stance, annotation.confidence, annotation.note) == ("oppose", 4, "Rhetoric.")
    assert annotation.annotator == team.annotator
    assert 'id="stance-oppose"' in response.content.decode()
    assert 'aria-pressed="true"' in response.content.decode()
    assert "claims-changed" in triggers(response)

    response = client.post(url, {"stance": "neutral", "version": annotation.version})
    assert response.status_code == 302
    annotation.refresh_from_db()
    assert (annotation.stance, annotation.version) == ("neutral", 2)
    assert annotation.confidence is None  # the form sent no confidence: cleared


def test_saving_without_a_stance_says_so(client, team, claim):
    client.force_login(team.annotator)
    response = client.post(reverse("annotation-save", args=[claim.pk]), {"note": "hm"}, **HX)
    assert response.status_code == 400
    assert "Choose a stance" in response.content.decode()
    assert not Annotation.objects.exists()


def test_stale_version_shows_both_versions_and_keep_mine_resends(client, team, claim):
    annotation = AnnotationFactory(
        claim=claim, annotator=team.annotator, stance=Stance.SUPPORT, note="saved note"
    )
    Annotation.objects.filter(pk=annotation.pk).update(version=2)  # changed in another tab
    client.force_login(team.annotator)
    url = reverse("annotation-save", args=[claim.pk])
    response = client.post(url, {"stance": "oppose", "note": "my typed note", "version": "1"}, **HX)
    assert response.status_code == 412
    body = response.content.decode()
    assert "Someone changed your tag on this claim meanwhile" in body
    assert "my typed note" in body and "saved note" in body
    assert 'name="version" value="2"' in body
    annotation.refresh_from_db()
    assert (annotation.stance, annotation.note) == ("support", "saved note")  # not overwritten

    keep_mine = client.post(url, {"stance": "oppose", "note": "my typed note", "version": "2"})
    assert keep_mine.status_code == 302
    annotation.refresh_from_db()
    assert (annotation.stance, annotation.note) == ("oppose", "my typed note")


def test_a_second_create_without_version_does_not_overwrite(client, team, claim):
    AnnotationFactory(claim=claim, annotator=team.annotator, stance=Stance.SUPPORT)
    client.force_login(team.annotator)
    response = client.post(reverse("annotation-save", args=[claim.pk]), {"stance": "oppose"})
    assert response.status_code == 412
    assert "Keep mine" in response.content.decode()
    assert Annotation.objects.get().stance == "support"


def test_annotators_edit_only_their_own_annotations(client, team, claim):
    annas = AnnotationFactory(claim=claim, annotator=team.annotator, stance=Stance.SUPPORT)
    client.force_login(team.annotator2)
    # arjun's stance on the same claim creates his own annotation, never touches anna's
    client.post(reverse("annotation-save", args=[claim.pk]), {"stance": "oppose"})
    assert Annotation.objects.get(pk=annas.pk).stance == "support"
    assert Annotation.objects.get(annotator=team.annotator2).stance == "oppose"
    assert client.post(reverse("annotation-delete", args=[annas.pk])).status_code == 403
    item = EvidenceFactory(annotation=annas)
    response = client.post(reverse("evidence-delete", args=[annas.pk, item.pk]), {"version": 1})
    assert response.status_code == 403
    assert Annotation.objects.filter(pk=annas.pk).exists()
    assert Evidence.objects.filter(pk=item.pk).exists()


def test_remove_my_annotation(client, team, claim):
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator)
    client.force_login(team.annotator)
    response = client.post(reverse("annotation-delete", args=[annotation.pk]), **HX)
    assert response.status_code == 200
    assert not Annotation.objects.exists()


def test_summary_edit_and_its_conflict_view(client, team, claim):
    client.force_login(team.annotator)
    url = reverse("claim-edit", args=[claim.pk])
    assert client.post(url, {"summary": "Export bans backfire", "version": 1}).status_code == 302
    claim.refresh_from_db()
    assert (claim.summary, claim.version) == ("Export bans backfire", 2)
    stale = client.post(url, {"summary": "Mine", "version": 1}, **HX)
    assert stale.status_code == 412
    assert "Export bans backfire" in stale.content.decode()
    assert "Mine" in stale.content.decode()
    claim.refresh_from_db()
    assert claim.summary == "Export bans backfire"


# --- Evidence ---------------------------------------------------------------------------------


def test_evidence_from_the_text_and_from_an_outside_source(client, team, claim):
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator)
    client.force_login(team.annotator)
    url = reverse("evidence-add", args=[claim.pk])
    start = team.article.text.index("The lab trained")
    response = client.post(
        url,
        {
            "kind": "span",
            "start": start,
            "end": start + 43,
            "exact": team.article.text[start : start + 43],
            "evidence_type": "example",
            "role": "undermines",
            "version": 1,
        },
        **HX,
    )
    assert response.status_code == 200
    assert "The lab trained its model on low-end chips." in response.content.decode()
    response = client.post(
        url,
        {
            "kind": "source",
            "url": "https://example.org/report",
            "title": "Chip report",
            "quote": "Sales fell.",
            "evidence_type": "study",
            "version": 2,
        },
    )
    assert response.status_code == 302
    items = list(Evidence.objects.filter(annotation=annotation).order_by("position"))
    assert [(e.kind, e.evidence_type, e.role) for e in items] == [
        ("span", "example", "undermines"),
        ("source", "study", "supports"),
    ]
    assert items[0].exact == "The lab trained its model on low-end chips."
    assert items[1].url == "https://example.org/report"

    remove = reverse("evidence-delete", args=[annotation.pk, items[0].pk])
    assert client.post(remove, {"version": 3}, **HX).status_code == 200
    assert list(Evidence.objects.values_list("title", flat=True)) == ["Chip report"]


def test_evidence_needs_a_stance_first_and_bad_spans_are_explained(client, team, claim):
    client.force_login(team.annotator)
    url = reverse("evidence-add", args=[claim.pk])
    response = client.post(url, {"kind": "span", "exact": "low-end chips"}, **HX)
    assert response.status_code == 400
    assert "Tag the claim" in response.content.decode()
    AnnotationFactory(claim=claim, annotator=team.annotator)
    response = client.post(url, {"kind": "span", "start": 0, "end": 9999, "version": 1}, **HX)
    assert response.status_code == 400
    assert "past the end of the text" in response.content.decode()
    response = client.post(url, {"kind": "source", "url": "javascript:alert(1)", "version": 1})
    assert response.status_code == 400
    assert "http:// or https://" in response.content.decode()
    assert not Evidence.objects.exists()


def test_evidence_with_a_stale_version_is_a_conflict(client, team, claim):
    AnnotationFactory(claim=claim, annotator=team.annotator)
    client.force_login(team.annotator)
    response = client.post(
        reverse("evidence-add", args=[claim.pk]),
        {"kind": "source", "title": "Late report", "version": 7},
        **HX,
    )
    assert response.status_code == 412
    assert "Late report" in response.content.decode()
    assert not Evidence.objects.exists()


# --- Relations, comments, deleting a claim -------------------------------------------------------


def test_relations_are_created_and_shown_from_both_ends(client, team, claim):
    other = ClaimFactory(article=team.article, start=42, end=85, created_by=team.annotator)
    client.force_login(team.annotator)
    response = client.post(
        reverse("relation-create", args=[claim.pk]),
        {"target": other.pk, "kind": "attacks", "direction": "out"},
        **HX,
    )
    assert response.status_code == 200
    relation = Relation.objects.get()
    assert (relation.source_claim, relation.target_claim, relation.kind) == (
        claim,
        other,
        "attacks",
    )
    assert "This claim <strong" in response.content.decode()
    other_panel = client.get(reverse("claim-panel", args=[other.pk]), **HX).content.decode()
    assert "attacks</strong> this claim" in other_panel
    assert f'data-claim="{claim.pk}"' in other_panel

    duplicate = client.post(
        reverse("relation-create", args=[claim.pk]), {"target": other.pk, "kind": "attacks"}, **HX
    )
    assert duplicate.status_code == 409
    assert "already" in duplicate.content.decode()
    missing = client.post(reverse("relation-create", args=[claim.pk]), {"kind": "attacks"}, **HX)
    assert missing.status_code == 400
    assert "Choose the other claim" in missing.content.decode()

    gone = client.post(reverse("relation-delete", args=[relation.pk]), {"claim": other.pk})
    assert gone.status_code == 302
    assert gone.headers["Location"].endswith(f"?claim={other.pk}#panel")
    assert not Relation.objects.exists()


def test_relation_to_a_claim_elsewhere_is_refused(client, team, claim):
    foreign = ClaimFactory(article=team.other_article, start=0, end=11)
    client.force_login(team.annotator)
    response = client.post(
        reverse("relation-create", args=[claim.pk]), {"target": foreign.pk, "kind": "supports"}
    )
    assert response.status_code == 404  # not a member of that corpus: not even said to exist
    assert not Relation.objects.exists()


def test_comments_are_posted_and_empty_ones_refused(client, team, claim):
    client.force_login(team.annotator)
    url = reverse("comment-create", args=[claim.pk])
    response = client.post(url, {"text": "Is this a claim or a fact?"}, **HX)
    assert response.status_code == 200
    assert "Is this a claim or a fact?" in response.content.decode()
    assert Comment.objects.get().author == team.annotator
    empty = client.post(url, {"text": "   "}, **HX)
    assert empty.status_code == 400
    assert "The comment is empty" in empty.content.decode()


def test_claim_delete_moves_it_to_the_trash(client, team, claim):
    client.force_login(team.annotator)
    response = client.post(reverse("claim-delete", args=[claim.pk]), **HX)
    assert response.status_code == 200
    assert 'data-claim-id=""' in response.content.decode()
    assert "claims-changed" in triggers(response)
    claim.refresh_from_db()
    assert claim.deleted_at is not None
    assert client.get(reverse("claim-panel", args=[claim.pk]), **HX).status_code == 404


def test_an_annotator_cannot_delete_a_claim_others_tagged(client, team, claim):
    AnnotationFactory(claim=claim, annotator=team.annotator2)
    client.force_login(team.annotator)
    panel = client.get(reverse("claim-panel", args=[claim.pk]), **HX).content.decode()
    assert 'id="claim-delete"' not in panel
    assert client.post(reverse("claim-delete", args=[claim.pk])).status_code == 403
    assert Claim.objects.alive().count() == 1


# --- Blind mode, submitting, reviews -----------------------------------------------------------


def test_blind_mode_hides_others_tags_until_i_submit_then_shows_them_and_the_review(
    client, team, claim
):
    Corpus.objects.filter(pk=team.corpus.pk).update(blind=True)
    AnnotationFactory(claim=claim, annotator=team.annotator2, stance=Stance.OPPOSE, note="ARJUN")
    CommentFactory(claim=claim, author=team.annotator2, text="ARJUN SAYS")
    ReviewFactory(claim=claim, curator=team.curator, note="GOLD NOTE")
    client.force_login(team.annotator)
    url = page_url(team.article) + f"?claim={claim.pk}"
    before = client.get(url).content.decode()
    assert "ARJUN" not in before
    assert "GOLD NOTE" not in before
    assert "Hidden until you submit" in before

    response = client.post(reverse("article-submit", args=[team.article.pk]))
    assert response.status_code == 302
    assignment = Assignment.objects.get(article=team.article, annotator=team.annotator)
    assert assignment.state == AssignmentState.SUBMITTED

    after = client.get(url).content.decode()
    assert "ARJUN" in after
    assert "ARJUN SAYS" in after
    assert "GOLD NOTE" in after
    assert "Curator's decision: accepted" in after
    assert "Submitted" in after


def test_curators_see_every_tag_in_blind_mode(client, team, claim):
    Corpus.objects.filter(pk=team.corpus.pk).update(blind=True)
    AnnotationFactory(claim=claim, annotator=team.annotator2, note="ARJUN")
    client.force_login(team.curator)
    body = client.get(page_url(team.article) + f"?claim={claim.pk}").content.decode()
    assert "ARJUN" in body


def test_highlight_colour_is_the_gold_stance_once_reviewed(client, team, claim):
    AnnotationFactory(claim=claim, annotator=team.annotator, stance=Stance.SUPPORT)
    client.force_login(team.annotator)
    text_url = reverse("article-text", args=[team.article.pk])
    assert "c st-support" in client.get(text_url, **HX).content.decode()
    ReviewFactory(claim=claim, curator=team.curator, stance=Stance.OPPOSE)
    # Before submitting, an annotator is not shown the gold stance.
    assert "c st-support" in client.get(text_url, **HX).content.decode()
    client.post(reverse("article-submit", args=[team.article.pk]))
    assert "c st-oppose" in client.get(text_url, **HX).content.decode()


# --- Query counts -----------------------------------------------------------------------------


def _seed(team, n_claims: int) -> Claim:
    """n claims, each with two annotations (one with evidence), every other one reviewed."""
    text = team.article.text
    claims = Claim.objects.bulk_create(
        Claim(
            article=team.article,
            start=i % 40,
            end=i % 40 + 20,
            exact=text[i % 40 : i % 40 + 20],
            created_by=team.annotator,
        )
        for i in range(n_claims)
    )
    annotations = Annotation.objects.bulk_create(
        Annotation(claim=c, annotator=who, topic=team.topic, stance=Stance.SUPPORT)
        for c in claims
        for who in (team.annotator, team.annotator2)
    )
    Evidence.objects.bulk_create(
        Evidence(annotation=a, kind="source", title="Report") for a in annotations[::2]
    )
    # Passages of the text, shown in the panel and highlighted in the text.
    Evidence.objects.bulk_create(
        Evidence(annotation=a, kind="span", start=42, end=85, exact=text[42:85], position=1)
        for a in annotations
    )
    for claim in claims[::2]:
        ReviewFactory(claim=claim, curator=team.curator)
    Relation.objects.bulk_create(
        Relation(source_claim=a, target_claim=b, kind="supports", created_by=team.annotator)
        for a, b in zip(claims, claims[1:], strict=False)
    )
    Comment.objects.bulk_create(
        Comment(claim=claims[0], author=team.annotator, text=f"c{i}") for i in range(n_claims)
    )
    return claims[0]


# Session, user, article with its role, "submitted?", claims with the decisions the reader may
# see, visible annotations: the same for everyone (the access rule is part of the SQL).
PAGE_QUERIES = {"annotator": 6, "curator": 6}
# The suggestions panel under the claim list (page and list): its suggestions, none here.
SUGGESTIONS = 1
# The open claim adds: the claim, its annotations, evidence, relations both ways, the claim
# outline (numbers of the claim and of the relations' other ends), topics, comments.
PANEL_QUERIES = 8


@pytest.mark.parametrize("who", ["annotator", "curator"])
@pytest.mark.parametrize("n_claims", [2, 200])
def test_page_query_count_does_not_grow_with_claims(
    client, team, django_assert_num_queries, n_claims, who
):
    first = _seed(team, n_claims)
    client.force_login(getattr(team, who))
    with django_assert_num_queries(PAGE_QUERIES[who] + SUGGESTIONS):
        response = client.get(page_url(team.article))
    assert response.content.decode().count("data-claim=") >= n_claims
    with django_assert_num_queries(PAGE_QUERIES[who] + SUGGESTIONS + PANEL_QUERIES):
        response = client.get(page_url(team.article) + f"?claim={first.pk}")
    assert response.status_code == 200
    # Both annotations' passages, whatever the number of claims.
    assert response.content.decode().count('data-ev-start="42" data-ev-end="85"') == 2


@pytest.mark.parametrize("n_claims", [2, 200])
def test_partials_query_counts_do_not_grow_with_claims(
    client, team, django_assert_num_queries, n_claims
):
    first = _seed(team, n_claims)
    client.force_login(team.annotator)
    article = team.article.pk
    with django_assert_num_queries(PAGE_QUERIES["annotator"]):
        client.get(reverse("article-text", args=[article]), **HX)
    with django_assert_num_queries(PAGE_QUERIES["annotator"] + SUGGESTIONS):
        client.get(reverse("article-claim-list", args=[article]), **HX)
    # Session, user, claim with its role, "submitted?", then the panel's queries.
    with django_assert_num_queries(4 + PANEL_QUERIES):
        client.get(reverse("claim-panel", args=[first.pk]), **HX)
    # Session, user, claim with its role, every claim's text.
    with django_assert_num_queries(4):
        response = client.get(reverse("relation-targets", args=[first.pk]) + "?q=chip", **HX)
    matching = Claim.objects.filter(exact__contains="chip").exclude(pk=first.pk).count()
    assert matching >= n_claims // 4
    assert response.content.decode().count('name="target"') == min(matching, 20)


# --- Evidence passages in the text --------------------------------------------------------------


def _span(annotation, text, phrase, **fields):
    start = text.index(phrase)
    return EvidenceFactory(
        annotation=annotation,
        kind="span",
        start=start,
        end=start + len(phrase),
        exact=phrase,
        url="",
        title="",
        **fields,
    )


def test_the_panel_links_each_visible_passage_to_its_code_point_offsets(client, team, claim):
    text = f"👩‍👩‍👧 研究者. {PHRASE}. The lab trained on low-end chips."
    team.article.text = text
    team.article.save()
    start = text.index("Restricting")
    Claim.objects.filter(pk=claim.pk).update(start=start, end=start + 40, exact=PHRASE)
    mine = _span(AnnotationFactory(claim=claim, annotator=team.annotator), text, "low-end chips")
    theirs = _span(AnnotationFactory(claim=claim, annotator=team.annotator2), text, "The lab")
    client.force_login(team.annotator)
    body = client.get(reverse("claim-panel", args=[claim.pk]), **HX).content.decode()
    # Code points, as stored: the emoji family counts 5, not the 8 UTF-16 units of JavaScript.
    assert mine.start == text.index("low-end chips") == 72
    assert f'data-ev-start="{mine.start}" data-ev-end="{mine.end}"' in body
    assert f'data-ev-start="{theirs.start}" data-ev-end="{theirs.end}"' in body
    assert body.count('href="#article-text"') == 2

    # Blind mode: another annotator's passage is as hidden as the rest of their tag.
    Corpus.objects.filter(pk=team.corpus.pk).update(blind=True)
    body = client.get(reverse("claim-panel", args=[claim.pk]), **HX).content.decode()
    assert f'data-ev-start="{mine.start}"' in body
    assert f'data-ev-start="{theirs.start}"' not in body
    client.force_login(team.curator)
    body = client.get(reverse("claim-panel", args=[claim.pk]), **HX).content.decode()
    assert f'data-ev-start="{mine.start}"' in body
    assert f'data-ev-start="{theirs.start}"' in body


def test_a_hostile_passage_is_escaped_in_the_panel(client, team, claim):
    team.article.text = f"{PHRASE}. Then {XSS} ends."
    team.article.save()
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator)
    passage = _span(annotation, team.article.text, XSS)
    client.force_login(team.annotator)
    for response in (
        client.get(reverse("claim-panel", args=[claim.pk]), **HX),
        client.get(page_url(team.article) + f"?claim={claim.pk}"),
    ):
        body = response.content.decode()
        assert "<img src=x" not in body
        assert "<script>alert" not in body
        assert "<svg onload" not in body
        assert (
            f'data-ev-start="{passage.start}" data-ev-end="{passage.end}" '
            'title="Show this passage in the text"><q>&lt;img src=x onerror=alert(1)&gt;'
        ) in body


# --- Finding a relation's other end ---------------------------------------------------------


def test_claim_matches_need_every_word_in_any_case_and_put_a_number_first():
    claims = [
        (1, "Restricting chip exports is shortsighted"),
        (2, "The lab trained its model on low-end CHIPS."),
        (3, "👩‍👩‍👧 Chips über alles, sagt die Straße"),
        (4, "研究者は別の見方をしている"),
        (5, "Die STRASSE sagt nichts"),
    ]
    found, more = claim_matches(claims, "chips", exclude=0)
    assert [m.id for m in found] == [2, 3] and more == 0
    assert [m.number for m in found] == [2, 3]
    assert ("CHIPS", True) in found[0].pieces
    assert [m.id for m in claim_matches(claims, "  low-end   chips ", exclude=0)[0]] == [2]
    assert [m.id for m in claim_matches(claims, "chips lab", exclude=2)[0]] == []
    assert [m.id for m in claim_matches(claims, "ÜBER", exclude=0)[0]] == [3]
    # Folding ß to ss: found either way; marked where folding kept the text's length.
    strasse = claim_matches(claims, "straße", exclude=0)[0]
    assert [m.id for m in strasse] == [3, 5]
    assert not any(marked for _piece, marked in strasse[0].pieces)
    assert ("STRASSE", True) in strasse[1].pieces
    assert [m.id for m in claim_matches(claims, "見方", exclude=0)[0]] == [4]
    assert [m.id for m in claim_matches(claims, "#4", exclude=0)[0]] == [4]
    assert claim_matches(claims, "   ", exclude=0) == ([], 0)
    many = [(i, f"claim about chips number {i}") for i in range(1, 31)]
    found, more = claim_matches(many, "chips", exclude=5)
    assert (len(found), more) == (20, 9)
    assert 5 not in [m.id for m in found]


def test_relation_targets_answer_htmx_with_at_most_twenty_escaped_matches(client, team, claim):
    text = team.article.text
    others = [
        ClaimFactory(article=team.article, start=42, end=85),  # "The lab trained ... chips."
        ClaimFactory(article=team.article, start=46, end=85),  # "lab trained ... chips."
        ClaimFactory(article=team.article, start=86, end=138),  # "Officials say ..."
    ]
    client.force_login(team.annotator)
    url = reverse("relation-targets", args=[claim.pk])
    body = client.get(url + "?q=LOW-END chips", **HX).content.decode()
    assert "<html" not in body
    found = {c.pk for c in others if f'name="target" value="{c.pk}"' in body}
    assert found == {others[0].pk, others[1].pk}
    assert f'value="{claim.pk}"' not in body  # never the claim itself
    assert "<mark>low-end</mark>" in body and "<mark>chips</mark>" in body
    assert "2 claims match." in body

    assert (
        "No other claim matches “shortsighted”"
        in client.get(url + "?q=shortsighted", **HX).content.decode()
    )
    picked = client.get(url + f"?pick={others[2].pk}", **HX).content.decode()
    assert f'name="target" value="{others[2].pk}" checked' in picked
    assert text[86:100] in picked
    assert "not another claim" in client.get(url + f"?pick={claim.pk}", **HX).content.decode()
    assert "not another claim" in client.get(url + "?pick=abc", **HX).content.decode()
    hostile = client.get(url + "?q=" + XSS, **HX).content.decode()
    assert "<img src=x" not in hostile and "&lt;img src=x" in hostile
    plain = client.get(url + "?q=chips")
    assert plain.status_code == 302
    assert plain.headers["Location"] == page_url(team.article) + f"?claim={claim.pk}#panel"


def test_the_panel_offers_a_search_box_not_a_list_of_every_claim(client, team, claim):
    ClaimFactory(article=team.article, start=42, end=85)
    client.force_login(team.annotator)
    body = client.get(reverse("claim-panel", args=[claim.pk]), **HX).content.decode()
    assert 'id="relation-search"' in body
    assert 'hx-get="{}"'.format(reverse("relation-targets", args=[claim.pk])) in body
    assert 'id="relation-target"' not in body
    assert 'name="target"' not in body  # no choices until something is typed or picked


def test_a_relation_from_typed_words_without_javascript(client, team, claim):
    lab = ClaimFactory(article=team.article, start=42, end=85)  # "The lab trained ... chips."
    officials = ClaimFactory(article=team.article, start=86, end=138)  # "Officials say ..."
    ClaimFactory(article=team.article, start=46, end=85)  # "lab trained ... chips."
    client.force_login(team.annotator)
    url = reverse("relation-create", args=[claim.pk])

    # Several match: the panel offers them, keeps what was typed and chosen, and adds nothing.
    several = client.post(url, {"q": "low-end", "kind": "rephrases", "direction": "in"})
    assert several.status_code == 400
    body = several.content.decode()
    assert "<html" in body
    assert "Several claims match “low-end”: choose one." in body
    assert f'name="target" value="{lab.pk}"' in body
    assert 'value="low-end"' in body
    assert '<option value="rephrases" selected>' in body
    assert '<option value="in" selected>' in body
    assert not Relation.objects.exists()

    none = client.post(url, {"q": "nowhere to be found", "kind": "supports"}, **HX)
    assert none.status_code == 400
    assert "No other claim matches “nowhere to be found”." in none.content.decode()

    # One match is the choice.
    unique = client.post(url, {"q": "officials", "kind": "supports"})
    assert unique.status_code == 302
    relation = Relation.objects.get()
    assert (relation.source_claim, relation.target_claim) == (claim, officials)

    # A chosen target wins over the words typed.
    client.post(url, {"q": "officials", "target": lab.pk, "kind": "attacks", "direction": "in"})
    assert Relation.objects.filter(source_claim=lab, target_claim=claim, kind="attacks").exists()


# --- Claim labels -------------------------------------------------------------------------------

LABELS = ["causal", "prediction", "value judgement"]


@pytest.fixture
def labelled(team, claim):
    Corpus.objects.filter(pk=team.corpus.pk).update(claim_labels=LABELS)
    return claim


def test_the_creator_sets_the_claim_labels_with_htmx_and_without(client, team, labelled):
    client.force_login(team.annotator)
    url = reverse("claim-labels", args=[labelled.pk])
    panel = client.get(reverse("claim-panel", args=[labelled.pk]), **HX).content.decode()
    assert 'id="claim-labels-save"' in panel
    assert panel.count('type="checkbox" name="labels"') == 2 * len(LABELS)  # tag's and claim's

    response = client.post(url, {"labels": ["prediction", "causal"], "version": 1}, **HX)
    assert response.status_code == 200
    assert triggers(response)["saved"]["message"] == "Claim labels saved."
    assert "claims-changed" not in triggers(response)
    labelled.refresh_from_db()
    assert (labelled.labels, labelled.version) == (["prediction", "causal"], 2)
    body = response.content.decode()
    assert 'value="prediction" id="claim-label-2" checked' in body
    assert 'name="version" value="2"' in body

    # Without JavaScript; no box ticked clears them.
    response = client.post(url, {"version": 2})
    assert response.status_code == 302
    assert response.headers["Location"] == page_url(team.article) + f"?claim={labelled.pk}#panel"
    labelled.refresh_from_db()
    assert labelled.labels == []


def test_a_curator_may_set_the_claim_labels_but_other_annotators_and_viewers_not(
    client, team, labelled
):
    url = reverse("claim-labels", args=[labelled.pk])
    client.force_login(team.curator)
    assert client.post(url, {"labels": ["causal"], "version": 1}, **HX).status_code == 200
    for who in (team.annotator2, team.viewer):
        client.force_login(who)
        panel = client.get(reverse("claim-panel", args=[labelled.pk]), **HX).content.decode()
        assert 'id="claim-labels-save"' not in panel
        assert 'id="claim-label-1"' not in panel
        assert '<span class="tag">causal</span>' in panel  # shown, read only
        for extra in ({}, HX):
            response = client.post(url, {"labels": ["prediction"], "version": 2}, **extra)
            assert response.status_code == 403
    labelled.refresh_from_db()
    assert (labelled.labels, labelled.version) == (["causal"], 2)


def test_an_unknown_claim_label_is_refused_naming_the_field(client, team, labelled):
    client.force_login(team.annotator)
    response = client.post(
        reverse("claim-labels", args=[labelled.pk]), {"labels": ["causal", XSS], "version": 1}, **HX
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "labels: " in body
    assert "is not one of this corpus&#x27;s labels (causal, prediction, value judgement)" in body
    assert "<img src=x" not in body
    labelled.refresh_from_db()
    assert (labelled.labels, labelled.version) == ([], 1)


def test_claim_labels_with_a_stale_version_show_the_conflict(client, team, labelled):
    Claim.objects.filter(pk=labelled.pk).update(labels=["causal"], version=3)  # another tab
    client.force_login(team.annotator)
    url = reverse("claim-labels", args=[labelled.pk])
    stale = client.post(url, {"labels": ["prediction", "value judgement"], "version": 2}, **HX)
    assert stale.status_code == 412
    body = stale.content.decode()
    assert "Someone changed the claim&#x27;s labels meanwhile" in body
    assert "prediction, value judgement" in body  # mine
    assert "<dd>causal</dd>" in body  # saved now
    assert 'name="version" value="3"' in body
    assert '<input type="hidden" name="labels" value="value judgement">' in body
    labelled.refresh_from_db()
    assert labelled.labels == ["causal"]

    keep_mine = client.post(url, {"labels": ["prediction", "value judgement"], "version": 3}, **HX)
    assert keep_mine.status_code == 200
    labelled.refresh_from_db()
    assert (labelled.labels, labelled.version) == (["prediction", "value judgement"], 4)
    # A form without a version never overwrites.
    assert client.post(url, {"labels": ["causal"]}, **HX).status_code == 412
