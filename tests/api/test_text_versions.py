"""Articles that change, through the API: PUT …/text with If-Match, the versions, the orphans,
placing an orphan again, and what a text change does to tags, reviews and notices."""

import pytest

from articles.models import (
    Annotation,
    Article,
    ArticleVersion,
    AuditEvent,
    Claim,
    Evidence,
    Review,
    TextChangeNotice,
)
from tests.factories import (
    SAMPLE_TEXT,
    AnnotationFactory,
    ClaimFactory,
    EvidenceFactory,
    ReviewFactory,
)

from .conftest import errors_of

pytestmark = pytest.mark.django_db

FIRST = "Restricting chip exports is shortsighted."
PRICES = "Prices rose by 12% in a single quarter."


def span_of(text: str, quote: str) -> dict[str, int]:
    start = text.index(quote)
    return {"start": start, "end": start + len(quote)}


def claim_on(article, quote: str, **kwargs) -> Claim:
    return ClaimFactory(article=article, **span_of(article.text, quote), **kwargs)


def put_text(client, article_id, text, version, note="", **headers):
    if version is not None:
        headers.setdefault("HTTP_IF_MATCH", f'"{version}"')
    return client.put(
        f"/api/v1/articles/{article_id}/text",
        {"text": text, "note": note},
        format="json",
        **headers,
    )


def assert_placed_spans_hold(article: Article) -> None:
    """The invariant: every placed claim and evidence span reads its exact from the text."""
    article.refresh_from_db()
    for claim in Claim.objects.filter(article=article):
        if claim.start is None:
            assert claim.anchor_status == "orphaned" and claim.end is None
        else:
            assert claim.anchor_status != "orphaned"
            assert article.text[claim.start : claim.end] == claim.exact, claim.anchor_status
    for item in Evidence.objects.filter(annotation__claim__article=article, kind="span"):
        if item.start is not None:
            assert article.text[item.start : item.end] == item.exact


# --- PUT …/text: versions, permissions, If-Match ---------------------------------------------


def test_owner_replaces_the_text_and_every_span_is_reanchored(team, client_for):
    article = team.article
    kept = claim_on(article, FIRST)
    moved = claim_on(article, "The lab trained its model on low-end chips.")
    fuzzy = claim_on(article, PRICES)
    gone = claim_on(article, "Critics call the policy a gift to domestic rivals.")
    annotation = AnnotationFactory(claim=moved, annotator=team.annotator)
    EvidenceFactory(
        annotation=annotation, kind="span", url="", title="", **span_of(article.text, PRICES),
        exact=PRICES,
    )  # fmt: skip
    new_text = (
        SAMPLE_TEXT.replace(FIRST, FIRST + " Everyone agrees.", 1)
        .replace("12%", "21%")
        .replace("Critics call the policy a gift to domestic rivals. ", "")
    )
    new_text = new_text.replace(FIRST + " Everyone agrees.", FIRST)  # the first claim stays put
    new_text = new_text.replace("The lab", "Meanwhile, the lab")

    response = put_text(client_for(team.owner), article.pk, new_text, 1, note="Figure corrected")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 2
    assert body["claims"] == {"kept": 1, "moved": 0, "fuzzy": 2, "orphaned": 1} or body[
        "claims"
    ] == {"kept": 1, "moved": 1, "fuzzy": 1, "orphaned": 1}
    assert body["evidence"]["fuzzy"] == 1
    assert response.headers["ETag"] == f'"{body["article_version"]}"'
    article.refresh_from_db()
    assert article.text == new_text and article.text_version == 2
    kept.refresh_from_db()
    assert (kept.start, kept.anchor_status, kept.anchor_version) == (0, "exact", 2)
    fuzzy.refresh_from_db()
    assert (
        fuzzy.anchor_status == "fuzzy" and fuzzy.exact == "Prices rose by 21% in a single quarter."
    )
    assert 0.75 <= fuzzy.anchor_score < 1
    gone.refresh_from_db()
    assert gone.anchor_status == "orphaned" and gone.start is None and gone.end is None
    assert gone.exact == "Critics call the policy a gift to domestic rivals."  # the old quote
    assert gone.prefix and gone.suffix
    assert_placed_spans_hold(article)
    event = AuditEvent.objects.get(verb="article.text_replace")
    assert event.actor == team.owner and event.after["orphaned"] == [gone.pk]
    assert event.before["text_version"] == 1 and event.after["text_version"] == 2


def test_versions_are_listed_and_read(team, client_for):
    claim_on(team.article, FIRST)
    client = client_for(team.annotator)
    listed = client.get(f"/api/v1/articles/{team.article.pk}/versions")
    assert listed.status_code == 200
    assert listed.json()["next"] is None
    [v1] = listed.json()["results"]
    assert v1["version"] == 1 and v1["created_by"] == "olivia" and v1["note"] == ""
    assert v1["text_sha256"] == team.article.text_sha256

    new_text = SAMPLE_TEXT + "\n\nAn added paragraph on tariffs."
    assert (
        put_text(client_for(team.curator), team.article.pk, new_text, 1, "Added").status_code == 200
    )

    listed = client.get(f"/api/v1/articles/{team.article.pk}/versions").json()["results"]
    assert [(v["version"], v["created_by"], v["note"]) for v in listed] == [
        (1, "olivia", ""),
        (2, "carmen", "Added"),
    ]
    assert listed[1]["outcome"]["claims"]["kept"] == 1
    one = client.get(f"/api/v1/articles/{team.article.pk}/versions/1").json()
    assert one["text"] == SAMPLE_TEXT and one["version"] == 1
    two = client.get(f"/api/v1/articles/{team.article.pk}/versions/2").json()
    assert two["text"] == new_text
    assert client.get(f"/api/v1/articles/{team.article.pk}/versions/3").status_code == 404
    assert ArticleVersion.objects.filter(article=team.article).count() == 2
    article = client.get(f"/api/v1/articles/{team.article.pk}").json()
    assert article["text_version"] == 2 and article["text"] == new_text


@pytest.mark.parametrize("role", ["annotator", "viewer"])
def test_annotators_and_viewers_may_not_replace_the_text(team, client_for, role):
    response = put_text(client_for(getattr(team, role)), team.article.pk, "New words.", 1)
    assert response.status_code == 403
    team.article.refresh_from_db()
    assert team.article.text == SAMPLE_TEXT and team.article.text_version == 1


def test_non_members_get_404_everywhere(team, client_for):
    client = client_for(team.outsider)
    base = f"/api/v1/articles/{team.article.pk}"
    assert put_text(client, team.article.pk, "New words.", 1).status_code == 404
    for path in ("/versions", "/versions/1", "/orphans"):
        assert client.get(base + path).status_code == 404


def test_if_match_stale_is_412_and_missing_is_428(team, client_for):
    claim = claim_on(team.article, FIRST)
    client = client_for(team.owner)
    missing = client.put(
        f"/api/v1/articles/{team.article.pk}/text", {"text": "x " + SAMPLE_TEXT}, format="json"
    )
    assert missing.status_code == 428
    stale = put_text(client, team.article.pk, "x " + SAMPLE_TEXT, 7)
    assert stale.status_code == 412
    assert stale.json()["current"]["version"] == 1
    assert stale.json()["current"]["text"] == SAMPLE_TEXT
    claim.refresh_from_db()
    assert claim.start == 0 and claim.version == 1
    assert put_text(client, team.article.pk, "x " + SAMPLE_TEXT, 1).status_code == 200
    # The article's version moved on: the old ETag is stale now.
    assert put_text(client, team.article.pk, "y " + SAMPLE_TEXT, 1).status_code == 412
    claim.refresh_from_db()
    assert (claim.start, claim.anchor_status) == (2, "moved")


def test_bad_text_is_400_naming_the_field_and_unchanged_text_is_refused(team, client_for):
    client = client_for(team.owner)
    assert errors_of(put_text(client, team.article.pk, "   ", 1)).keys() == {"text"}
    assert errors_of(put_text(client, team.article.pk, SAMPLE_TEXT, 1)).keys() == {"text"}
    bad = client.put(
        f"/api/v1/articles/{team.article.pk}/text",
        {"text": "ok", "note": "n" * 501},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert "note" in errors_of(bad)


def test_the_change_is_all_or_nothing(team, client_for, monkeypatch):
    claim = claim_on(team.article, PRICES)
    AnnotationFactory(claim=claim, annotator=team.annotator)
    from articles.services import versions

    def broken(*args, **kwargs):
        raise RuntimeError("the notice table is gone")

    monkeypatch.setattr(versions, "_notify", broken)
    client = client_for(team.owner)
    client.raise_request_exception = False
    response = put_text(client, team.article.pk, SAMPLE_TEXT.replace("12%", "21%"), 1)
    assert response.status_code == 500
    team.article.refresh_from_db()
    claim.refresh_from_db()
    assert team.article.text == SAMPLE_TEXT and team.article.text_version == 1
    assert (claim.exact, claim.anchor_status) == (PRICES, "exact")
    assert not ArticleVersion.objects.exists()
    assert not AuditEvent.objects.filter(verb="article.text_replace").exists()


# --- What people see: second looks, reviews back in the queue, notices ------------------------


def test_fuzzy_claims_get_a_second_look_and_their_review_goes_back_to_the_queue(team, client_for):
    fuzzy = claim_on(team.article, PRICES)
    kept = claim_on(team.article, FIRST)
    mine = AnnotationFactory(claim=fuzzy, annotator=team.annotator)
    steady = AnnotationFactory(claim=kept, annotator=team.annotator)
    ReviewFactory(claim=fuzzy, curator=team.curator)
    ReviewFactory(claim=kept, curator=team.curator)
    response = put_text(
        client_for(team.owner), team.article.pk, SAMPLE_TEXT.replace("12%", "21%"), 1
    )
    assert response.status_code == 200
    mine.refresh_from_db()
    steady.refresh_from_db()
    assert mine.second_look and not steady.second_look
    assert not Review.objects.filter(claim=fuzzy).exists()
    assert Review.objects.filter(claim=kept).exists()
    reopened = AuditEvent.objects.get(verb="review.reopen")
    assert reopened.before["claim_id"] == fuzzy.pk

    client = client_for(team.annotator)
    shown = client.get(f"/api/v1/annotations/{mine.pk}").json()
    assert shown["second_look"] is True
    changed = client.patch(
        f"/api/v1/annotations/{mine.pk}", {"note": "still holds"}, format="json",
        HTTP_IF_MATCH=f'"{shown["version"]}"',
    )  # fmt: skip
    assert changed.status_code == 200
    assert changed.json()["second_look"] is False


def test_a_notice_names_each_members_own_claims(team, client_for):
    fuzzy = claim_on(team.article, PRICES, created_by=team.annotator)
    orphan = claim_on(team.article, "Critics call the policy a gift to domestic rivals.")
    AnnotationFactory(claim=orphan, annotator=team.annotator2)
    new_text = SAMPLE_TEXT.replace("12%", "21%").replace(
        "Critics call the policy a gift to domestic rivals. ", ""
    )
    assert put_text(client_for(team.owner), team.article.pk, new_text, 1).status_code == 200
    notices = {n.user_id: n for n in TextChangeNotice.objects.all()}
    assert set(notices) == {team.annotator.pk, team.annotator2.pk, team.owner.pk}
    assert notices[team.annotator.pk].fuzzy == [fuzzy.pk]
    assert notices[team.annotator.pk].orphaned == []
    assert notices[team.annotator2.pk].orphaned == [orphan.pk]
    assert notices[team.annotator2.pk].fuzzy == []


# --- Orphans: listed, placed again, or deleted ------------------------------------------------


def make_orphan(team, client_for, quote="Critics call the policy a gift to domestic rivals."):
    claim = claim_on(team.article, quote)
    new_text = SAMPLE_TEXT.replace(quote + " ", "")
    assert put_text(client_for(team.owner), team.article.pk, new_text, 1).status_code == 200
    claim.refresh_from_db()
    assert claim.anchor_status == "orphaned"
    return claim, new_text


def test_orphans_are_listed_apart_and_not_in_the_claims_list(team, client_for):
    claim_on(team.article, FIRST)
    orphan, _ = make_orphan(team, client_for)
    client = client_for(team.viewer)
    body = client.get(f"/api/v1/articles/{team.article.pk}/orphans").json()
    [listed] = body["claims"]
    assert listed["id"] == str(orphan.pk)
    assert (listed["start"], listed["end"]) == (None, None)
    assert listed["anchor"] == {"status": "orphaned", "score": 0.0, "version": 2}
    assert listed["exact"] == "Critics call the policy a gift to domestic rivals."
    claims = client.get(f"/api/v1/articles/{team.article.pk}/claims").json()["results"]
    assert [c["exact"] for c in claims] == [FIRST]
    assert claims[0]["anchor"] == {"status": "exact", "score": 1.0, "version": 2}
    detail = client.get(f"/api/v1/claims/{orphan.pk}").json()
    assert detail["anchor"]["status"] == "orphaned"


def test_an_orphan_is_placed_again_by_offsets_or_by_quote(team, client_for):
    orphan, text = make_orphan(team, client_for)
    new_text = text + " Critics call the policy a gift to its rivals."
    assert put_text(client_for(team.owner), team.article.pk, new_text, 2).status_code == 200
    orphan.refresh_from_db()
    client = client_for(team.owner)
    url = f"/api/v1/claims/{orphan.pk}"
    assert client.patch(url, {"start": 0, "end": 5}, format="json").status_code == 428
    wrong = client.patch(
        url, {"start": 0, "end": 5, "exact": "nope"}, format="json",
        HTTP_IF_MATCH=f'"{orphan.version}"',
    )  # fmt: skip
    assert "exact" in errors_of(wrong)
    quote = "Critics call the policy a gift to its rivals."
    placed = client.patch(
        url, {"exact": quote, "summary": "Critics see a gift"}, format="json",
        HTTP_IF_MATCH=f'"{orphan.version}"',
    )  # fmt: skip
    assert placed.status_code == 200, placed.json()
    body = placed.json()
    assert body["anchor"]["status"] == "exact" and body["exact"] == quote
    assert new_text[body["start"] : body["end"]] == quote
    assert body["summary"] == "Critics see a gift"
    assert AuditEvent.objects.filter(verb="claim.place", object_id=str(orphan.pk)).exists()
    # A placed claim's span does not change through PATCH.
    again = client.patch(
        url, {"start": 0, "end": 5}, format="json", HTTP_IF_MATCH=f'"{body["version"]}"'
    )
    assert again.status_code == 400 and "start" in errors_of(again)
    assert client.get(f"/api/v1/articles/{team.article.pk}/orphans").json()["claims"] == []


def test_only_the_creator_or_a_curator_places_an_orphan(team, client_for):
    orphan, _ = make_orphan(team, client_for)
    response = client_for(team.annotator).patch(
        f"/api/v1/claims/{orphan.pk}", {"start": 0, "end": 5}, format="json",
        HTTP_IF_MATCH=f'"{orphan.version}"',
    )  # fmt: skip
    assert response.status_code == 403
    orphan.refresh_from_db()
    assert orphan.start is None


def test_an_orphan_can_be_deleted(team, client_for):
    orphan, _ = make_orphan(team, client_for)
    response = client_for(team.curator).delete(f"/api/v1/claims/{orphan.pk}")
    assert response.status_code == 204
    assert client_for(team.curator).get(f"/api/v1/articles/{team.article.pk}/orphans").json() == {
        "claims": [],
        "evidence": [],
    }


def test_orphaned_evidence_is_listed_to_those_who_may_see_it(team, client_for):
    team.corpus.blind = True
    team.corpus.save()
    claim = claim_on(team.article, FIRST)
    gone = "Critics call the policy a gift to domestic rivals."
    annotation = AnnotationFactory(claim=claim, annotator=team.annotator2)
    EvidenceFactory(
        annotation=annotation, kind="span", url="", title="", exact=gone,
        **span_of(SAMPLE_TEXT, gone),
    )  # fmt: skip
    new_text = SAMPLE_TEXT.replace(gone + " ", "")
    assert put_text(client_for(team.owner), team.article.pk, new_text, 1).status_code == 200
    url = f"/api/v1/articles/{team.article.pk}/orphans"
    [item] = client_for(team.curator).get(url).json()["evidence"]
    assert item["exact"] == gone and item["start"] is None
    assert item["anchor"]["status"] == "orphaned" and item["claim"] == str(claim.pk)
    assert client_for(team.annotator).get(url).json()["evidence"] == []  # blind: not theirs
    assert client_for(team.annotator2).get(url).json()["evidence"] != []


def test_orphans_and_versions_take_a_fixed_number_of_queries(
    team, client_for, django_assert_num_queries
):
    make_orphan(team, client_for)
    client = client_for(team.curator)
    # session user, article with role, orphaned claims, orphaned evidence
    with django_assert_num_queries(3):
        client.get(f"/api/v1/articles/{team.article.pk}/orphans")
    team.article.refresh_from_db()
    for quote in (FIRST, PRICES):
        claim_on(team.article, quote)
    new_text = team.article.text.replace("12%", "13%")
    assert put_text(client_for(team.owner), team.article.pk, new_text, 2).status_code == 200
    with django_assert_num_queries(3):
        client.get(f"/api/v1/articles/{team.article.pk}/orphans")
    with django_assert_num_queries(2):
        client.get(f"/api/v1/articles/{team.article.pk}/versions")


def test_annotation_counts_still_hold_after_an_edit(team, client_for):
    claim = claim_on(team.article, PRICES)
    AnnotationFactory(claim=claim, annotator=team.annotator)
    put_text(client_for(team.owner), team.article.pk, "Intro. " + SAMPLE_TEXT, 1)
    assert Annotation.objects.get().claim_id == claim.pk
    claim.refresh_from_db()
    assert claim.anchor_status == "moved" and claim.start == SAMPLE_TEXT.index(PRICES) + 7
