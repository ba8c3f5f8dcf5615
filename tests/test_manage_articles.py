"""Managing articles in the pages: an article's details, deleting it, and the corpus list's bulk
actions (delete, assign, export), each all or nothing and audited; and the API's PATCH."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from articles.models import Article, Assignment, AuditEvent, Claim

from .factories import ArticleFactory, AssignmentFactory, ClaimFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _edit(article):
    return reverse("article-edit", args=[article.pk])


def _bulk(team):
    return reverse("corpus-bulk", args=[team.corpus.slug])


# --- An article's details ---------------------------------------------------------------


def test_owner_edits_the_details_and_the_change_is_audited(team):
    article = team.article
    response = _client(team.owner).post(
        _edit(article),
        {
            "version": article.version,
            "title": "Chips, policy and power",
            "author": "R. Writer",
            "source_url": "https://example.org/op-ed",
            "published_on": "2025-03-04",
            "language": "en",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("article", args=[article.pk])
    article.refresh_from_db()
    assert (article.title, article.author, article.language) == (
        "Chips, policy and power",
        "R. Writer",
        "en",
    )
    assert article.published_on == datetime.date(2025, 3, 4)
    event = AuditEvent.objects.get(verb="article.update", object_id=str(article.pk))
    assert event.before["title"] == "Chips and policy"
    assert event.after["title"] == "Chips, policy and power"


def test_the_edit_page_shows_the_current_details_and_a_delete_button(team):
    team.article.author = "A <b>bold</b> author"
    team.article.save()
    page = _client(team.owner).get(_edit(team.article)).content.decode()
    assert 'value="A &lt;b&gt;bold&lt;/b&gt; author"' in page
    assert reverse("article-delete", args=[team.article.pk]) in page


def test_article_page_links_to_the_details_for_owners_only(team):
    link = _edit(team.article)
    assert (
        link in _client(team.owner).get(reverse("article", args=[team.article.pk])).content.decode()
    )
    page = _client(team.curator).get(reverse("article", args=[team.article.pk])).content.decode()
    assert link not in page


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("title", "", "title is required."),
        ("source_url", "javascript:alert(1)", "source_url"),
        ("published_on", "4 March", "published_on must be a date"),
        ("language", "x" * 40, "language"),
    ],
)
def test_a_bad_field_is_400_beside_the_field_and_nothing_changes(team, field, value, says):
    data = {"version": team.article.version, "title": "Kept", field: value}
    response = _client(team.owner).post(_edit(team.article), data)
    assert response.status_code == 400
    assert any(says in m for m in response.context["errors"][field])
    team.article.refresh_from_db()
    assert team.article.title == "Chips and policy"


def test_a_stale_version_is_409_and_overwrites_nothing(team):
    client = _client(team.owner)
    client.post(_edit(team.article), {"version": 1, "title": "First"})
    response = client.post(_edit(team.article), {"version": 1, "title": "Second"})
    assert response.status_code == 409
    assert "changed by someone else" in " ".join(response.context["errors"]["form"])
    team.article.refresh_from_db()
    assert team.article.title == "First"


@pytest.mark.parametrize("name", ["curator", "annotator", "viewer"])
def test_below_owner_the_edit_page_is_403_naming_the_role(team, name):
    for method in ("get", "post"):
        response = getattr(_client(getattr(team, name)), method)(
            _edit(team.article), {"title": "x", "version": 1}
        )
        assert response.status_code == 403
        assert b"This needs the role <strong>owner</strong>" in response.content


def test_non_members_get_404_for_edit_delete_and_bulk(team):
    client = _client(team.outsider)
    assert client.get(_edit(team.article)).status_code == 404
    assert client.post(reverse("article-delete", args=[team.article.pk])).status_code == 404
    response = client.post(_bulk(team), {"bulk_action": "delete", "articles": [team.article.pk]})
    assert response.status_code == 404
    assert Article.objects.alive().filter(pk=team.article.pk).exists()


def test_api_patch_edits_the_details(team):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(team.owner)
    url = reverse("api-article", kwargs={"id": team.article.pk})
    response = api.patch(
        url, {"title": "Via the API", "language": "de"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Via the API"
    api.force_authenticate(team.curator)
    response = api.patch(url, {"title": "No"}, format="json", HTTP_IF_MATCH='"2"')
    assert response.status_code == 403
    assert "needs owner" in response.json()["detail"]


# --- Deleting one article ----------------------------------------------------------------


def test_owner_moves_an_article_to_the_trash_from_its_page(team):
    claim = ClaimFactory(article=team.article, created_by=team.annotator)
    response = _client(team.owner).post(reverse("article-delete", args=[team.article.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("corpus", args=[team.corpus.slug])
    article = Article.objects.get(pk=team.article.pk)
    assert article.deleted_at is not None
    assert Claim.objects.get(pk=claim.pk).deleted_at is not None
    assert AuditEvent.objects.filter(verb="article.delete", object_id=str(article.pk)).exists()
    # In the trash: the trash page lists it.
    trash = _client(team.owner).get(reverse("corpus-trash", args=[team.corpus.slug]))
    assert "Chips and policy" in trash.content.decode()


def test_curator_may_not_delete_an_article(team):
    response = _client(team.curator).post(reverse("article-delete", args=[team.article.pk]))
    assert response.status_code == 403
    assert b"This needs the role <strong>owner</strong>" in response.content
    assert Article.objects.get(pk=team.article.pk).deleted_at is None


# --- Bulk actions on the corpus page -----------------------------------------------------


def test_the_list_has_checkboxes_and_the_actions_the_role_allows(team):
    url = reverse("corpus", args=[team.corpus.slug])
    owner = _client(team.owner).get(url).content.decode()
    assert f'name="articles" value="{team.article.pk}"' in owner
    assert 'value="delete"' in owner and 'value="export"' in owner and 'value="assign"' in owner
    assert "Move the ticked articles to the trash?" in owner
    curator = _client(team.curator).get(url).content.decode()
    assert 'value="assign"' in curator and 'value="delete"' not in curator
    annotator = _client(team.annotator).get(url).content.decode()
    assert 'name="articles"' not in annotator


def test_bulk_delete_moves_every_ticked_article_to_the_trash(team):
    second = ArticleFactory(corpus=team.corpus)
    spared = ArticleFactory(corpus=team.corpus)
    response = _client(team.owner).post(
        _bulk(team), {"bulk_action": "delete", "articles": [team.article.pk, second.pk]}
    )
    assert response.status_code == 302
    assert set(Article.objects.alive().filter(corpus=team.corpus)) == {spared}
    assert AuditEvent.objects.filter(verb="article.delete").count() == 2


def test_bulk_delete_is_all_or_nothing(team):
    foreign = team.other_article
    response = _client(team.owner).post(
        _bulk(team), {"bulk_action": "delete", "articles": [team.article.pk, foreign.pk]}
    )
    assert response.status_code == 400
    assert f"No such article in this corpus: {foreign.pk}." in response.content.decode()
    assert Article.objects.alive().filter(pk__in=[team.article.pk, foreign.pk]).count() == 2
    assert not AuditEvent.objects.filter(verb="article.delete").exists()


def test_bulk_assign_gives_articles_and_skips_those_already_given(team):
    second = ArticleFactory(corpus=team.corpus)
    AssignmentFactory(article=team.article, annotator=team.annotator)
    client = _client(team.curator)
    response = client.post(
        _bulk(team),
        {"bulk_action": "assign", "annotator": "anna", "articles": [team.article.pk, second.pk]},
    )
    assert response.status_code == 302
    assert Assignment.objects.filter(annotator=team.annotator).count() == 2
    assert AuditEvent.objects.filter(verb="assignment.create").count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "Gave 1 article to anna (1 they had already)." in page


def test_bulk_assign_to_a_non_member_assigns_nothing(team):
    second = ArticleFactory(corpus=team.corpus)
    response = _client(team.owner).post(
        _bulk(team),
        {"bulk_action": "assign", "annotator": "oscar", "articles": [team.article.pk, second.pk]},
    )
    assert response.status_code == 400
    assert not Assignment.objects.exists()


def test_bulk_export_redirects_to_the_export_of_the_ticked_articles(team):
    second = ArticleFactory(corpus=team.corpus)
    ArticleFactory(corpus=team.corpus, title="Not exported")
    client = _client(team.owner)
    response = client.post(
        _bulk(team),
        {"bulk_action": "export", "format": "jsonl", "articles": [team.article.pk, second.pk]},
    )
    assert response.status_code == 302
    export = client.get(response["Location"])
    assert export.status_code == 200
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert len(lines) == 2 and "Not exported" not in "".join(lines)


@pytest.mark.parametrize(
    ("name", "action", "needs"),
    [
        ("annotator", "assign", "curator"),
        ("curator", "delete", "owner"),
        ("curator", "export", "owner"),
    ],
)
def test_bulk_actions_below_the_role_are_403_naming_it(team, name, action, needs):
    response = _client(getattr(team, name)).post(
        _bulk(team),
        {
            "bulk_action": action,
            "annotator": "anna",
            "format": "csv",
            "articles": [team.article.pk],
        },
    )
    assert response.status_code == 403
    assert f"This needs the role <strong>{needs}</strong>".encode() in response.content


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"bulk_action": "delete"}, "Tick at least one article."),
        ({"bulk_action": "burn", "articles": ["1"]}, "bulk_action must be one of"),
        ({"bulk_action": "export", "format": "pdf", "articles": ["1"]}, "format must be one of"),
        ({"bulk_action": "delete", "articles": ["abc"]}, "No such article in this corpus: abc."),
    ],
)
def test_bad_bulk_requests_are_400_with_a_message(team, data, says):
    if data.get("articles") == ["1"]:
        data["articles"] = [str(team.article.pk)]
    response = _client(team.owner).post(_bulk(team), data)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert Article.objects.get(pk=team.article.pk).deleted_at is None


def test_txt_import_help_and_behaviour_agree_the_title_is_the_file_name(team):
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = _client(team.owner).get(reverse("corpus", args=[team.corpus.slug])).content.decode()
    assert "a .txt file by its file name (without .txt)" in page
    upload = SimpleUploadedFile("my-op-ed.txt", b"First line here\n\nThe body of it.")
    response = _client(team.owner).post(
        reverse("corpus-import", args=[team.corpus.slug]), {"files": [upload]}
    )
    assert response.status_code == 302
    assert Article.objects.filter(corpus=team.corpus, title="my-op-ed").exists()
    upload = SimpleUploadedFile("other.txt", b"Some words.\n")
    _client(team.owner).post(
        reverse("corpus-import", args=[team.corpus.slug]),
        {"files": [upload], "title": "Named by hand"},
    )
    assert Article.objects.filter(corpus=team.corpus, title="Named by hand").exists()
