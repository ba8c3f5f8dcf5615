"""The pages of articles that change: edit with preview, versions and compare, and the
annotation page's notices, orphans and second looks. Plain forms: no JavaScript needed."""

import pytest

from articles import services
from articles.models import Annotation, ArticleVersion, Claim, TextChangeNotice
from tests.factories import SAMPLE_TEXT, AnnotationFactory, ClaimFactory

pytestmark = pytest.mark.django_db

PRICES = "Prices rose by 12% in a single quarter."
CRITICS = "Critics call the policy a gift to domestic rivals."
EDITED = SAMPLE_TEXT.replace("12%", "21%").replace(CRITICS + " ", "")


def claim_on(article, quote, **kwargs):
    start = article.text.index(quote)
    return ClaimFactory(article=article, start=start, end=start + len(quote), **kwargs)


def edit(team, text=EDITED, note="Figure corrected"):
    return services.article_text_replace(
        actor=team.owner, article=team.article, role="owner", text=text, note=note, version=None
    )


@pytest.fixture
def worked(team):
    """A fuzzy-to-be claim tagged by the annotator, and an orphan-to-be marked by them."""
    fuzzy = claim_on(team.article, PRICES, created_by=team.annotator)
    orphan = claim_on(team.article, CRITICS, created_by=team.annotator)
    tag = AnnotationFactory(claim=fuzzy, annotator=team.annotator)
    return fuzzy, orphan, tag


def test_the_edit_page_is_for_owners_and_curators(team, client):
    url = f"/articles/{team.article.pk}/edit-text"
    for user, status in [
        (team.owner, 200),
        (team.curator, 200),
        (team.annotator, 403),
        (team.viewer, 403),
        (team.outsider, 404),
    ]:
        client.force_login(user)
        assert client.get(url).status_code == status, user
        assert client.post(url, {"text": EDITED, "version": 1}).status_code == status, user
    assert ArticleVersion.objects.count() == 0


def test_preview_shows_the_difference_and_the_claims_fate_without_saving(team, client, worked):
    client.force_login(team.curator)
    response = client.post(
        f"/articles/{team.article.pk}/edit-text",
        {"text": EDITED, "note": "Figure corrected", "version": 1, "action": "preview"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "<del>12</del><ins>21</ins>" in page
    assert f"<del>{CRITICS}" in page
    preview = response.context["preview"]
    assert preview.counts == {"exact": 0, "moved": 0, "fuzzy": 1, "orphaned": 1}
    assert "Save version 2" in page
    team.article.refresh_from_db()
    assert team.article.text == SAMPLE_TEXT and not ArticleVersion.objects.exists()


def test_saving_stores_the_version_and_a_stale_form_is_409(team, client, worked):
    client.force_login(team.owner)
    url = f"/articles/{team.article.pk}/edit-text"
    saved = client.post(url, {"text": EDITED, "note": "Fixed", "version": 1, "action": "save"})
    assert saved.status_code == 302 and saved["Location"] == f"/articles/{team.article.pk}/"
    team.article.refresh_from_db()
    assert team.article.text == EDITED and team.article.text_version == 2
    again = client.post(url, {"text": EDITED + " More.", "version": 1, "action": "save"})
    assert again.status_code == 409
    assert "changed by someone else" in again.content.decode()
    empty = client.post(url, {"text": "  ", "version": team.article.version, "action": "save"})
    assert empty.status_code == 400 and "text is empty" in empty.content.decode()


def test_versions_page_lists_and_compares(team, client, worked):
    edit(team)
    client.force_login(team.viewer)
    response = client.get(f"/articles/{team.article.pk}/versions")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Figure corrected" in page and "<del>12</del><ins>21</ins>" in page
    assert "Edit the text" not in page  # viewers do not edit
    same = client.get(f"/articles/{team.article.pk}/versions?a=2&b=2")
    assert "Choose two different versions" in same.content.decode()
    missing = client.get(f"/articles/{team.article.pk}/versions?a=1&b=9")
    assert "versions 1 to 2" in missing.content.decode()
    one = client.get(f"/articles/{team.article.pk}/versions/1")
    assert one.status_code == 200 and "12%" in one.content.decode()
    assert client.get(f"/articles/{team.article.pk}/versions/3").status_code == 404
    client.force_login(team.outsider)
    assert client.get(f"/articles/{team.article.pk}/versions").status_code == 404


def test_annotators_see_their_notice_and_dismiss_it(team, client, worked):
    fuzzy, orphan, _ = worked
    edit(team)
    client.force_login(team.annotator)
    page = client.get(f"/articles/{team.article.pk}/").content.decode()
    assert "The text changed (version 2: Figure corrected)" in page
    assert "Prices rose by 21%" in page  # the fuzzy claim's new words
    assert 'data-testid="orphans"' in page and CRITICS in page
    notice = TextChangeNotice.objects.get(user=team.annotator)
    # Someone else's notice is not theirs to dismiss.
    client.force_login(team.annotator2)
    assert client.post(f"/notices/{notice.pk}/dismiss").status_code == 404
    assert "The text changed" not in client.get(f"/articles/{team.article.pk}/").content.decode()
    client.force_login(team.annotator)
    assert client.post(f"/notices/{notice.pk}/dismiss").status_code == 302
    page = client.get(f"/articles/{team.article.pk}/").content.decode()
    assert "The text changed" not in page
    assert 'data-testid="orphans"' in page  # orphans stay until placed or deleted


def test_an_orphan_is_placed_again_from_the_page(team, client, worked):
    _, orphan, _ = worked
    edit(team, text=EDITED + " Critics call the policy a gift to its rivals.")
    orphan.refresh_from_db()
    client.force_login(team.annotator)
    url = f"/claims/{orphan.pk}/place"
    missing = client.post(url, {"exact": "words that are nowhere", "version": orphan.version})
    assert missing.status_code == 302
    orphan.refresh_from_db()
    assert orphan.start is None
    quote = "Critics call the policy a gift to its rivals."
    placed = client.post(url, {"exact": quote, "version": orphan.version})
    assert placed.status_code == 302 and placed["Location"].endswith(f"?claim={orphan.pk}")
    orphan.refresh_from_db()
    team.article.refresh_from_db()
    assert team.article.text[orphan.start : orphan.end] == quote == orphan.exact
    # By offsets, as the page's "Use selection" sends them.
    other = claim_on(team.article, quote)
    Claim.objects.filter(pk=other.pk).update(start=None, end=None, anchor_status="orphaned")
    start = team.article.text.index("Officials")
    client.force_login(team.curator)
    response = client.post(
        f"/claims/{other.pk}/place",
        {"exact": "ignored", "start": start, "end": start + 9, "version": other.version},
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?claim={other.pk}"), list(
        response.wsgi_request._messages
    )
    other.refresh_from_db()
    assert (other.exact, other.anchor_status) == ("Officials", "exact")


def test_the_second_look_is_shown_and_confirmed(team, client, worked):
    fuzzy, _, tag = worked
    edit(team)
    client.force_login(team.annotator)
    panel = client.get(f"/articles/{team.article.pk}/?claim={fuzzy.pk}").content.decode()
    assert 'data-testid="second-look"' in panel
    assert client.post(f"/annotations/{tag.pk}/confirm").status_code == 302
    assert not Annotation.objects.get(pk=tag.pk).second_look
    panel = client.get(f"/articles/{team.article.pk}/?claim={fuzzy.pk}").content.decode()
    assert 'data-testid="second-look"' not in panel
    client.force_login(team.annotator2)
    assert client.post(f"/annotations/{tag.pk}/confirm").status_code in (403, 404)


def test_the_annotation_page_costs_nothing_more_until_the_text_changes(
    team, client, django_assert_max_num_queries
):
    """An article whose text never changed asks nothing about versions (same queries as before);
    a changed one asks a fixed few more, however many orphans and notices."""
    client.force_login(team.annotator)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/articles/{team.article.pk}/").status_code == 200
        return len(queries)

    before = count()
    claim_on(team.article, CRITICS, created_by=team.annotator)
    edit(team)
    one_orphan = count()
    for quote in ("Officials say", "The lab trained"):
        team.article.refresh_from_db()
        claim_on(team.article, quote, created_by=team.annotator)
    team.article.refresh_from_db()
    edit(team, text=team.article.text.replace("Officials say", "Officials said").replace(
        "The lab trained", "A lab trained"
    ))  # fmt: skip
    assert count() == one_orphan
    assert one_orphan <= before + 3


def test_the_review_page_shows_an_orphan_without_offsets(team, client, worked):
    _, orphan, _ = worked
    edit(team)
    client.force_login(team.curator)
    response = client.get(f"/claims/{orphan.pk}/review/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "orphaned by a text change" in page and CRITICS in page and "None" not in page
