"""The admin works for operators: lists, search, a read-only audit log, and deactivation instead
of deletion for users with work."""

import pytest

from articles.models import Annotation, AuditEvent

from .factories import AnnotationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "corpus",
        "topic",
        "membership",
        "article",
        "claim",
        "annotation",
        "relation",
        "review",
        "comment",
        "assignment",
        "auditevent",
    ],
)
def test_changelists_open_and_search(admin_client, model, team):
    response = admin_client.get(f"/admin/articles/{model}/?q=chip")
    assert response.status_code == 200


def test_audit_log_is_read_only(admin_client, team):
    event = AuditEvent.objects.create(verb="x", object_type="y", object_id="1")
    assert admin_client.get("/admin/articles/auditevent/add/").status_code == 403
    assert admin_client.post(f"/admin/articles/auditevent/{event.pk}/delete/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_deleting_a_user_in_the_admin_deactivates_them_and_keeps_their_work(admin_client):
    annotation = AnnotationFactory()
    user = annotation.annotator
    response = admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active is False
    assert Annotation.objects.get().annotator == user
    assert AuditEvent.objects.filter(verb="user.deactivate", object_id=str(user.pk)).exists()
