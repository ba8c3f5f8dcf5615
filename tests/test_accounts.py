"""Accounts without the Django admin: invitations by e-mail (one-time, expiring links; a new
account sets its own password, an existing user joins after signing in), changing one's
password and resetting a forgotten one."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from articles.models import AuditEvent, Invitation, Membership, Role

from .factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _invite(team, email="nadia@example.org", role="annotator", client=None):
    client = client or _client(team.owner)
    return client.post(
        reverse("corpus-invite", args=[team.corpus.slug]), {"email": email, "role": role}
    )


def _link(response) -> str:
    return re.search(r'id="invitation-link"[^>]*>([^<]+)<', response.content.decode()).group(1)


def test_owner_invites_and_the_link_is_shown_once_and_mailed(team, settings):
    settings.EMAIL_CONFIGURED = True
    response = _invite(team)
    assert response.status_code == 200
    link = _link(response)
    key = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("nadia@example.org", "annotator")
    assert key not in invitation.key_hash  # only the hash is stored
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    [message] = mail.outbox
    assert message.to == ["nadia@example.org"] and link in message.body
    assert AuditEvent.objects.filter(verb="invitation.create").exists()
    # The settings page lists it as open, without the link.
    page = _client(team.owner).get(reverse("corpus-settings", args=[team.corpus.slug]))
    assert "nadia@example.org" in page.content.decode() and key not in page.content.decode()


def test_without_an_email_server_nothing_is_mailed(team, settings):
    settings.EMAIL_CONFIGURED = False
    response = _invite(team)
    assert response.status_code == 200
    assert not mail.outbox
    assert "nothing was mailed" in response.content.decode()


@pytest.mark.parametrize(
    ("email", "role", "says"),
    [
        ("not-an-address", "annotator", "email must be an e-mail address"),
        ("", "annotator", "email is required."),
        ("nadia@example.org", "king", "role must be one of"),
    ],
)
def test_a_bad_invitation_is_400_naming_the_field(team, email, role, says):
    response = _invite(team, email, role)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not Invitation.objects.exists()


def test_inviting_a_member_is_refused(team):
    team.annotator.email = "anna@example.org"
    team.annotator.save()
    response = _invite(team, "ANNA@example.org")
    assert response.status_code == 400
    assert "is a member already" in response.content.decode()


def test_only_owners_invite(team):
    response = _invite(team, client=_client(team.curator))
    assert response.status_code == 403
    assert b"This needs the role <strong>owner</strong>" in response.content
    assert _invite(team, client=_client(team.outsider)).status_code == 404
    assert not Invitation.objects.exists()


def test_a_new_person_sets_a_password_and_lands_in_the_corpus(team):
    link = _link(_invite(team, role="curator"))
    visitor = Client()
    page = visitor.get(link)
    assert page.status_code == 200 and "Join “Chip export op-eds”" in page.content.decode()
    weak = visitor.post(link, {"username": "nadia", "password1": "123", "password2": "123"})
    assert weak.status_code == 400
    assert "This password is too short" in weak.content.decode()
    response = visitor.post(
        link, {"username": "nadia", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("corpus", args=[team.corpus.slug])
    nadia = User.objects.get(username="nadia")
    assert nadia.email == "nadia@example.org" and nadia.check_password(PASSWORD)
    assert Membership.objects.get(user=nadia, corpus=team.corpus).role == Role.CURATOR
    assert visitor.get(response["Location"]).status_code == 200  # signed in
    # Single use.
    assert Client().get(link).status_code == 404
    assert AuditEvent.objects.filter(verb="invitation.accept").count() == 1


def test_a_taken_username_is_400(team):
    link = _link(_invite(team))
    response = Client().post(
        link, {"username": "anna", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_an_existing_user_joins_after_logging_in(team):
    link = _link(_invite(team, "someone@example.org", "viewer"))
    path = link.split("testserver", 1)[1]
    stranger = UserFactory(username="sam")
    anonymous = Client().get(path).content.decode()
    assert f"{reverse('login')}?next={path}" in anonymous
    client = _client(stranger)
    assert "Join as sam" in client.get(path).content.decode()
    response = client.post(path)
    assert response.status_code == 302
    assert Membership.objects.get(user=stranger, corpus=team.corpus).role == Role.VIEWER


def test_a_member_invited_again_keeps_the_higher_role(team):
    link = _link(_invite(team, "other@example.org", "viewer"))
    _client(team.curator).post(link)
    assert Membership.objects.get(user=team.curator, corpus=team.corpus).role == Role.CURATOR


def test_expired_revoked_and_unknown_links_are_404(team):
    link = _link(_invite(team))
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert Client().get(link).status_code == 404
    assert Client().get(reverse("invitation", args=["nope"])).status_code == 404
    second = _link(_invite(team, "b@example.org"))
    invitation = Invitation.objects.get(email="b@example.org")
    response = _client(team.owner).post(
        reverse("invitation-revoke", args=[team.corpus.slug, invitation.pk])
    )
    assert response.status_code == 302
    assert Client().get(second).status_code == 404
    assert AuditEvent.objects.filter(verb="invitation.revoke").exists()


# --- Passwords ---------------------------------------------------------------------------


def test_a_user_changes_their_password(team):
    team.annotator.set_password("old-passphrase-1234")
    team.annotator.save()
    client = _client(team.annotator)
    url = reverse("password-change")
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"old_password": "wrong", "new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert response.status_code == 200 and "incorrectly" in response.content.decode()
    response = client.post(
        url,
        {
            "old_password": "old-passphrase-1234",
            "new_password1": PASSWORD,
            "new_password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    team.annotator.refresh_from_db()
    assert team.annotator.check_password(PASSWORD)
    assert Client().get(url).status_code == 302  # signed out: to the login page


def test_a_forgotten_password_is_reset_by_mail(team):
    team.annotator.email = "anna@example.org"
    team.annotator.save()
    client = Client()
    assert "Forgot your password?" in client.get(reverse("login")).content.decode()
    response = client.post(reverse("password-reset"), {"email": "anna@example.org"})
    assert response.status_code == 302
    [message] = mail.outbox
    link = re.search(r"http://testserver(/accounts/reset/\S+)", message.body).group(1)
    page = client.get(link, follow=True)
    assert "Choose a new password" in page.content.decode()
    response = client.post(
        page.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD}
    )
    assert response.status_code == 302
    team.annotator.refresh_from_db()
    assert team.annotator.check_password(PASSWORD)
    # Unknown addresses get the same answer and no mail.
    response = client.post(reverse("password-reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302 and len(mail.outbox) == 1
