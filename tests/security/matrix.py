"""The URL matrix: every URL pattern of the app, how to fill its parameters from a corpus's
objects, and who may call each of its methods.

test_isolation walks it for every actor (and with another corpus's ids); test_auth reuses it to
prove that every cookie-authenticated write needs the CSRF token. A URL pattern without an
entry here fails test_isolation: whoever adds a URL says who may use it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Max
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from articles.models import (
    ApiToken,
    ArticleVersion,
    AuditEvent,
    ClaimGroup,
    Invitation,
    Job,
    JobKind,
    Membership,
    Role,
    Suggestion,
    TextChangeNotice,
)
from articles.services import invitation_key_hash
from tests.factories import (
    AnnotationFactory,
    ArticleFactory,
    AssignmentFactory,
    ClaimFactory,
    CommentFactory,
    EvidenceFactory,
    RelationFactory,
    ReviewFactory,
    TopicFactory,
    UserFactory,
)

# --- Who asks -----------------------------------------------------------------------------

ACTORS = ("anonymous", "outsider", "viewer", "annotator", "curator", "owner")
MEMBERS = ("viewer", "annotator", "curator", "owner")
RANK = {"viewer": 1, "annotator": 2, "curator": 3, "owner": 4}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Patterns the matrix does not cover, by route prefix: Django's admin (its own permission
# system, staff only), static files, and the public OpenAPI schema and its docs page.
SKIPPED_PREFIXES = ("admin/", "static/", "api/schema/", "api/docs/")

OK = "ok"
LOGIN = "login"  # 401 for the API, a redirect to the login page for pages


@dataclass(frozen=True)
class Rule:
    """Who gets through: `allowed` actors; members in `hidden` get 404 (the design hides the
    object from them), other members 403, outsiders 404, anonymous users LOGIN unless public."""

    allowed: frozenset[str]
    hidden: frozenset[str] = frozenset()
    public: bool = False

    def expected(self, actor: str) -> str | int:
        if actor == "anonymous":
            return OK if self.public else LOGIN
        if actor in self.allowed:
            return OK
        if actor == "outsider" or actor in self.hidden:
            return 404
        return 403


def at_least(role: str) -> Rule:
    return Rule(frozenset(m for m in MEMBERS if RANK[m] >= RANK[role]))


def only(*actors: str, hidden: tuple[str, ...] = ()) -> Rule:
    return Rule(frozenset(actors), frozenset(hidden))


ANY_USER = Rule(frozenset(ACTORS) - {"anonymous"})
PUBLIC = Rule(frozenset(ACTORS), public=True)


@dataclass(frozen=True)
class Call:
    """One method of a route: its rule, the body sent (built from the world's objects), and the
    status codes that count as success for allowed actors (default: any 2xx or 3xx)."""

    rule: Rule
    body: Callable[[Any], Any] | None = None
    htmx: bool = False
    content_type: str = "application/json"
    ok: tuple[int, ...] = ()


@dataclass(frozen=True)
class Route:
    api: bool
    params: Callable[[Any], dict[str, Any]] = lambda w: {}
    calls: dict[str, Call] = field(default_factory=dict)
    probe: str = "owner"  # the actor who checks that the other methods answer 405
    # False: its parameters are secrets handed out of band (an invitation's key, a password
    # reset link), not objects of a corpus that only its members may name.
    scoped: bool = True


def _page(params=None, probe="owner", scoped=True, **calls: Call) -> Route:
    return Route(
        api=False, params=params or (lambda w: {}), calls=calls, probe=probe, scoped=scoped
    )


def _api(params=None, **calls: Call) -> Route:
    return Route(api=True, params=params or (lambda w: {}), calls=calls)


def slug(w) -> dict[str, Any]:
    return {"slug": w.corpus.slug}


def article(w) -> dict[str, Any]:
    return {"pk": w.article.pk}


def claim(w) -> dict[str, Any]:
    return {"pk": w.claim.pk}


def group(w) -> dict[str, Any]:
    return {"pk": w.group.pk}


def reviewed(w) -> dict[str, Any]:
    return {"pk": w.reviewed_claim.pk}


def api_id(obj_name: str) -> Callable[[Any], dict[str, Any]]:
    return lambda w: {"id": str(getattr(w, obj_name).pk)}


# --- The matrix ---------------------------------------------------------------------------
# Corpus A is blind: its annotators see only their own annotations and no reviews until they
# submit, and may not read the agreement figures. `claim` was marked by the annotator and tagged
# by the annotator and annotator2; `reviewed_claim` was marked and reviewed by the curator.

READ, ANNOTATE, CURATE, OWN = (at_least(role) for role in MEMBERS)

MATRIX: dict[str, Route] = {
    # Pages: accounts, dashboard, corpus, import
    "login": _page(
        probe="anonymous", GET=Call(PUBLIC), POST=Call(PUBLIC, lambda w: {}), PUT=Call(PUBLIC)
    ),
    "logout": _page(probe="anonymous", POST=Call(PUBLIC)),
    "home": _page(GET=Call(ANY_USER)),
    "corpus-create": _page(
        POST=Call(ANY_USER, lambda w: {"name": "Brand new", "topics": "A new proposition"})
    ),
    "corpus": _page(slug, GET=Call(READ)),
    "corpus-import": _page(
        slug, POST=Call(OWN, lambda w: {"title": "Pasted", "text": "A pasted article."})
    ),
    # Managing articles: details, the trash, bulk actions on the corpus page
    "article-edit": _page(
        article,
        GET=Call(OWN),
        POST=Call(OWN, lambda w: {"title": "Retitled", "version": w.article.version}),
    ),
    "article-delete": _page(article, POST=Call(OWN)),
    "corpus-bulk": _page(
        slug, POST=Call(OWN, lambda w: {"bulk_action": "delete", "articles": [w.article.pk]})
    ),
    # Annotation page and its partials and writes
    "article": _page(article, GET=Call(READ)),
    "article-text": _page(article, GET=Call(READ, htmx=True)),
    "article-claim-list": _page(article, GET=Call(READ, htmx=True)),
    "article-relation-map": _page(article, GET=Call(READ, htmx=True)),
    "claim-create": _page(article, POST=Call(ANNOTATE, lambda w: {"start": "0", "end": "11"})),
    "article-submit": _page(article, POST=Call(ANNOTATE)),
    "corpus-suggestions": _page(slug, GET=Call(CURATE)),
    "suggestion-accept": _page(
        lambda w: {"pk": w.suggestion.pk}, POST=Call(ANNOTATE, lambda w: {"stance": "neutral"})
    ),
    "suggestion-reject": _page(lambda w: {"pk": w.suggestion.pk}, POST=Call(ANNOTATE)),
    "suggestion-undo": _page(lambda w: {"pk": w.suggestion.pk}, POST=Call(ANNOTATE)),
    "suggestions-accept-above": _page(article, POST=Call(ANNOTATE, lambda w: {"threshold": "0.5"})),
    "suggestions-undo-batch": _page(article, POST=Call(ANNOTATE, lambda w: {"batch": "none"})),
    "claim-panel": _page(claim, GET=Call(READ, htmx=True)),
    "claim-edit": _page(
        claim, POST=Call(ANNOTATE, lambda w: {"summary": "Edited", "version": w.claim.version})
    ),
    # The annotator marked `claim`: the creator and curators and owners set its labels.
    "claim-labels": _page(
        claim, POST=Call(ANNOTATE, lambda w: {"labels": [], "version": w.claim.version})
    ),
    # The annotator marked `claim`, but others tagged it: only curators and owners delete it.
    "claim-delete": _page(claim, POST=Call(only("curator", "owner"))),
    "annotation-save": _page(reviewed, POST=Call(ANNOTATE, lambda w: {"stance": "support"})),
    # Curators and owners have no tag of their own on `claim`: 400 asks them to tag it first.
    "evidence-add": _page(
        claim,
        POST=Call(
            ANNOTATE,
            lambda w: {
                "kind": "source",
                "url": "https://example.org/a",
                "title": "Report",
                "version": w.annotation.version,
            },
            ok=(302, 400),
        ),
    ),
    "relation-create": _page(
        claim, POST=Call(ANNOTATE, lambda w: {"target": w.reviewed_claim.pk, "kind": "attacks"})
    ),
    "relation-targets": _page(claim, GET=Call(READ, htmx=True)),
    "comment-create": _page(
        claim, POST=Call(ANNOTATE, lambda w: {"text": "I read it differently."})
    ),
    "annotation-delete": _page(
        lambda w: {"pk": w.annotation.pk}, POST=Call(only("annotator", "owner"))
    ),
    "evidence-delete": _page(
        lambda w: {"pk": w.annotation.pk, "evidence_id": w.evidence.pk},
        POST=Call(only("annotator"), lambda w: {"version": w.annotation.version}),
    ),
    "relation-delete": _page(lambda w: {"pk": w.relation.pk}, POST=Call(ANNOTATE)),
    # Team pages
    "corpus-review": _page(slug, GET=Call(CURATE)),
    "review-claim": _page(
        reviewed,
        GET=Call(CURATE),
        POST=Call(
            CURATE,
            lambda w: {
                "decision": "accepted",
                "stance": "support",
                "topic": w.topic.pk,
                "version": w.review.version,
            },
        ),
    ),
    # Nothing to undo in a fresh session: the refusal (400) is the allowed actors' answer.
    "review-undo": _page(reviewed, POST=Call(CURATE, ok=(400,))),
    "claim-thread": _page(
        claim, GET=Call(READ), POST=Call(ANNOTATE, lambda w: {"text": "Agreed."})
    ),
    "claim-history": _page(claim, GET=Call(CURATE)),
    "claim-merge": _page(
        claim,
        GET=Call(CURATE),
        POST=Call(CURATE, lambda w: {"into": w.reviewed_claim.pk}, ok=(302,)),
    ),
    "corpus-settings": _page(
        slug,
        GET=Call(OWN),
        POST=Call(
            OWN, lambda w: {"action": "corpus", "name": "Renamed", "version": w.corpus.version}
        ),
    ),
    "corpus-assignments": _page(
        slug,
        GET=Call(CURATE),
        POST=Call(CURATE, lambda w: {"action": "balance", "per_article": "1"}),
    ),
    "corpus-audit": _page(slug, GET=Call(CURATE)),
    "corpus-trash": _page(
        slug,
        GET=Call(OWN),
        POST=Call(OWN, lambda w: {"action": "restore_article", "article": w.trashed_article.pk}),
    ),
    "corpus-agreement": _page(slug, GET=Call(only("viewer", "curator", "owner"))),
    "corpus-guidelines": _page(
        slug, GET=Call(READ), POST=Call(OWN, lambda w: {"text": "# Rules", "version": 1})
    ),
    # Accounts: invitations (owners invite; whoever holds the key joins), passwords
    "corpus-invite": _page(
        slug, POST=Call(OWN, lambda w: {"email": "new@example.org", "role": "viewer"})
    ),
    "invitation-revoke": _page(
        lambda w: {"slug": w.corpus.slug, "pk": w.invitation.pk}, POST=Call(OWN)
    ),
    "invitation": _page(
        lambda w: {"key": w.invitation_key},
        probe="anonymous",
        scoped=False,
        GET=Call(PUBLIC),
        POST=Call(PUBLIC, lambda w: {}, ok=(302, 400)),
    ),
    "password-change": _page(GET=Call(ANY_USER), POST=Call(ANY_USER, lambda w: {}, ok=(200,))),
    "password-reset": _page(
        probe="anonymous",
        GET=Call(PUBLIC),
        POST=Call(PUBLIC, lambda w: {"email": "someone@example.org"}),
    ),
    "password-reset-sent": _page(probe="anonymous", GET=Call(PUBLIC)),
    "password-reset-confirm": _page(
        lambda w: {"uidb64": "MQ", "token": "not-a-reset-token"},
        probe="anonymous",
        scoped=False,
        GET=Call(PUBLIC),
        POST=Call(PUBLIC, lambda w: {}),
    ),
    "password-reset-done": _page(probe="anonymous", GET=Call(PUBLIC)),
    # Claim groups, similar claims, argument maps: members read, curators and owners write
    "claim-groups": _page(slug, GET=Call(READ), POST=Call(CURATE, lambda w: {"label": "New one"})),
    "claim-group": _page(
        group,
        GET=Call(READ),
        POST=Call(
            CURATE,
            lambda w: {"action": "edit", "label": "Renamed group", "version": w.group.version},
        ),
    ),
    "claim-group-map": _page(group, GET=Call(READ)),
    "claim-group-map-svg": _page(group, GET=Call(READ)),
    "claim-similar": _page(claim, GET=Call(READ, htmx=True)),
    "claim-to-group": _page(claim, POST=Call(CURATE, lambda w: {"group": w.group.pk})),
    "article-map": _page(article, GET=Call(READ)),
    "article-map-svg": _page(article, GET=Call(READ)),
    "corpus-jobs": _page(slug, GET=Call(CURATE)),  # curators follow their suggest jobs there
    "corpus-suggest-start": _page(slug, POST=Call(CURATE)),
    "corpus-export-start": _page(slug, POST=Call(OWN, lambda w: {"format": "csv"})),
    # API tokens page: each user's own tokens only
    "tokens": _page(GET=Call(ANY_USER), POST=Call(ANY_USER, lambda w: {"name": "script"})),
    "token-revoke": _page(
        lambda w: {"pk": w.owner_token.pk},
        POST=Call(only("owner", hidden=("viewer", "annotator", "curator"))),
    ),
    # --- API ---
    "api-token": _api(POST=Call(PUBLIC, lambda w: {}, ok=(400,)), DELETE=Call(ANY_USER)),
    "api-logout": _api(POST=Call(ANY_USER)),
    "api-corpora": _api(GET=Call(ANY_USER), POST=Call(ANY_USER, lambda w: {"name": "API corpus"})),
    "api-corpus": _api(
        slug,
        GET=Call(READ),
        PATCH=Call(OWN, lambda w: {"description": "Changed", "version": w.corpus.version}),
        DELETE=Call(OWN),
    ),
    "api-topics": _api(slug, GET=Call(READ), POST=Call(OWN, lambda w: {"label": "A third topic"})),
    "api-members": _api(
        slug,
        GET=Call(READ),
        POST=Call(OWN, lambda w: {"username": w.newcomer.username, "role": "viewer"}),
    ),
    "api-member": _api(
        lambda w: {"slug": w.corpus.slug, "username": w.member.username},
        GET=Call(READ),
        PATCH=Call(OWN, lambda w: {"role": "curator"}),
        DELETE=Call(OWN),
    ),
    # Articles that change: pages (edit with preview, versions) and the "text changed" box
    "article-edit-text": _page(
        article,
        GET=Call(CURATE),
        POST=Call(
            CURATE,
            lambda w: {"text": "New words.", "version": w.article.version, "action": "preview"},
        ),
    ),
    "article-versions": _page(article, GET=Call(READ)),
    "article-version": _page(lambda w: {"pk": w.article.pk, "number": 1}, GET=Call(READ)),
    # `claim` is placed: the form's refusal comes back as a message on a redirect.
    "claim-place": _page(claim, POST=Call(ANNOTATE, lambda w: {"exact": "x"})),
    "annotation-confirm": _page(lambda w: {"pk": w.annotation.pk}, POST=Call(only("annotator"))),
    # A notice is its member's own: anyone else is told there is none.
    "notice-dismiss": _page(
        lambda w: {"pk": w.notice.pk},
        POST=Call(only("annotator", hidden=("viewer", "curator", "owner"))),
    ),
    "api-article-text": _api(
        api_id("article"),
        PUT=Call(CURATE, lambda w: {"text": "Brand new words.", "version": w.article.version}),
    ),
    "api-article-versions": _api(api_id("article"), GET=Call(READ)),
    "api-article-version": _api(lambda w: {"id": str(w.article.pk), "number": "1"}, GET=Call(READ)),
    "api-article-orphans": _api(api_id("article"), GET=Call(READ)),
    "api-articles": _api(
        slug, GET=Call(READ), POST=Call(OWN, lambda w: {"title": "New", "text": "Some new text."})
    ),
    "api-guidelines": _api(
        slug, GET=Call(READ), PUT=Call(OWN, lambda w: {"text": "# Rules", "version": 1})
    ),
    "api-assignments": _api(
        slug,
        GET=Call(READ),
        POST=Call(CURATE, lambda w: {"article": str(w.article.pk), "annotator": w.member.username}),
    ),
    "api-topic": _api(
        api_id("spare_topic"),
        GET=Call(READ),
        PATCH=Call(OWN, lambda w: {"description": "Clarified", "version": w.spare_topic.version}),
        DELETE=Call(OWN),
    ),
    "api-article": _api(
        api_id("article"),
        GET=Call(READ),
        PATCH=Call(OWN, lambda w: {"title": "Retitled", "version": w.article.version}),
        DELETE=Call(OWN),
    ),
    "api-claims": _api(
        api_id("article"), GET=Call(READ), POST=Call(ANNOTATE, lambda w: {"start": 0, "end": 11})
    ),
    "api-relations": _api(
        api_id("article"),
        GET=Call(READ),
        POST=Call(
            ANNOTATE,
            lambda w: {
                "source": str(w.reviewed_claim.pk),
                "target": str(w.claim.pk),
                "kind": "attacks",
            },
        ),
    ),
    "api-submit": _api(api_id("article"), POST=Call(ANNOTATE)),
    "api-claim": _api(
        api_id("claim"),
        GET=Call(READ),
        PATCH=Call(ANNOTATE, lambda w: {"summary": "Paraphrase", "version": w.claim.version}),
        DELETE=Call(only("curator", "owner")),
    ),
    "api-annotations": _api(
        api_id("reviewed_claim"),
        GET=Call(READ),
        POST=Call(ANNOTATE, lambda w: {"stance": "neutral"}),
    ),
    # The annotator has not submitted: reviews stay hidden from them (404, not 403).
    "api-review": _api(
        api_id("reviewed_claim"),
        GET=Call(only("viewer", "curator", "owner", hidden=("annotator",))),
        PUT=Call(
            CURATE,
            lambda w: {"decision": "rejected", "note": "Not a claim.", "version": w.review.version},
        ),
        DELETE=Call(CURATE),
    ),
    "api-comments": _api(
        api_id("claim"), GET=Call(READ), POST=Call(ANNOTATE, lambda w: {"text": "Hm."})
    ),
    "api-annotation": _api(
        api_id("annotation"),
        GET=Call(READ),
        PATCH=Call(
            only("annotator"),
            lambda w: {"note": "Changed my mind.", "version": w.annotation.version},
        ),
        PUT=Call(
            only("annotator"), lambda w: {"stance": "oppose", "version": w.annotation.version}
        ),
        DELETE=Call(only("annotator", "owner")),
    ),
    "api-claim-merge": _api(
        api_id("claim"),
        POST=Call(CURATE, lambda w: {"into": str(w.reviewed_claim.pk)}, ok=(200,)),
    ),
    "api-relation": _api(api_id("relation"), GET=Call(READ), DELETE=Call(ANNOTATE)),
    "api-corpus-export": _api(slug, GET=Call(OWN)),
    "corpus-export": _page(slug, GET=Call(OWN)),
    "api-corpus-import": _api(
        slug,
        POST=Call(
            OWN,
            lambda w: b'{"title": "Imported", "text": "An imported article."}\n',
            content_type="application/x-ndjson",
        ),
    ),
    "api-corpus-agreement": _api(slug, GET=Call(only("viewer", "curator", "owner"))),
    # Suggestions: every member reads them; curators and owners store a model's; annotators
    # and up decide (their own annotation).
    "api-suggestions": _api(
        api_id("article"),
        GET=Call(READ),
        POST=Call(CURATE, lambda w: {"model": "m@2", "suggestions": [{"start": 0, "end": 11}]}),
    ),
    "api-suggestion-accept": _api(api_id("suggestion"), POST=Call(ANNOTATE, lambda w: {})),
    "api-suggestion-reject": _api(api_id("suggestion"), POST=Call(ANNOTATE)),
    "api-suggest": _api(api_id("article"), POST=Call(CURATE)),
    "api-suggestion-metrics": _api(slug, GET=Call(CURATE)),
    "api-claim-groups": _api(
        slug, GET=Call(READ), POST=Call(CURATE, lambda w: {"label": "An API group"})
    ),
    "api-claim-group": _api(
        api_id("group"),
        GET=Call(READ),
        PATCH=Call(CURATE, lambda w: {"description": "Clarified", "version": w.group.version}),
        DELETE=Call(CURATE),
    ),
    "api-claim-similar": _api(api_id("claim"), GET=Call(READ)),
    # Background jobs: owners export; a job is seen by the member who asked and by owners
    # (the world's job is the owner's, queued: its download answers 409 until it is done).
    "api-corpus-exports": _api(slug, POST=Call(OWN, lambda w: {"format": "csv"})),
    "api-corpus-jobs": _api(slug, GET=Call(READ)),
    "api-corpus-suggest": _api(slug, POST=Call(CURATE, lambda w: {})),
    "api-job": _api(
        api_id("job"), GET=Call(only("owner", hidden=("viewer", "annotator", "curator")))
    ),
    "api-job-download": _api(
        api_id("job"),
        GET=Call(only("owner", hidden=("viewer", "annotator", "curator")), ok=(409,)),
    ),
}


def url_of(name: str, world) -> str:
    return reverse(name, kwargs=MATRIX[name].params(world))


# --- Discovering the URL patterns ---------------------------------------------------------


def discovered_patterns() -> dict[str, str]:
    """{url name (or route when unnamed): full route} for every pattern outside the skipped
    prefixes, walking included resolvers recursively."""
    found: dict[str, str] = {}
    duplicates: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if route.lstrip("^").startswith(SKIPPED_PREFIXES):
                continue
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                key = entry.name or route
                if key in found:
                    duplicates.append(key)
                found[key] = route

    walk(get_resolver().url_patterns, "")
    assert not duplicates, f"URL names used twice: {duplicates}"
    return found


# --- The worlds: two corpora full of objects ----------------------------------------------


def _world(*, corpus, topic, article, users: dict[str, Any], newcomer) -> SimpleNamespace:
    """Every kind of object in `corpus`, made by the given users (keys: annotator, annotator2,
    curator, owner)."""
    now = timezone.now()
    slug = corpus.slug
    claim = ClaimFactory(
        article=article,
        start=0,
        end=40,
        created_by=users["annotator"],
        summary=f"Summary written in {slug}",
    )
    reviewed_claim = ClaimFactory(article=article, start=42, end=85, created_by=users["curator"])
    annotation = AnnotationFactory(claim=claim, annotator=users["annotator"], topic=topic)
    evidence = EvidenceFactory(annotation=annotation)
    other_annotation = AnnotationFactory(claim=claim, annotator=users["annotator2"], topic=topic)
    other_evidence = EvidenceFactory(annotation=other_annotation, title=f"Their report in {slug}")
    trashed_article = ArticleFactory(corpus=corpus, title=f"Binned from {slug}", deleted_at=now)
    claim_group = ClaimGroup.objects.create(
        corpus=corpus, label=f"Group of {slug}", created_by=users["curator"]
    )
    claim_group.members.create(claim=claim)
    trashed_claim = ClaimFactory(
        article=article, start=87, end=140, created_by=users["curator"], deleted_at=now
    )
    return SimpleNamespace(
        corpus=corpus,
        topic=topic,
        spare_topic=TopicFactory(corpus=corpus, label=f"Unused topic of {slug}"),
        article=article,
        claim=claim,
        reviewed_claim=reviewed_claim,
        annotation=annotation,
        evidence=evidence,
        other_annotation=other_annotation,
        other_evidence=other_evidence,
        review=ReviewFactory(claim=reviewed_claim, curator=users["curator"], topic=topic),
        relation=RelationFactory(
            source_claim=claim, target_claim=reviewed_claim, created_by=users["annotator"]
        ),
        comment=CommentFactory(claim=claim, author=users["annotator"], text=f"Comment in {slug}"),
        assignment=AssignmentFactory(
            article=article, annotator=users["annotator"], assigned_by=users["curator"]
        ),
        trashed_article=trashed_article,
        trashed_claim=trashed_claim,
        group=claim_group,
        member=users["annotator2"],
        newcomer=newcomer,
        owner_token=ApiToken.objects.create(user=users["owner"], name="owner's")[0],
        notice=_notice(article, users["annotator"]),
        invitation=Invitation.objects.create(
            corpus=corpus,
            email=f"invited@{slug}.example.org",
            role=Role.VIEWER,
            key_hash=invitation_key_hash(f"invitation-key-of-{slug}"),
            invited_by=users["owner"],
            expires_at=now + timedelta(days=1),
        ),
        invitation_key=f"invitation-key-of-{slug}",
        suggestion=Suggestion.objects.create(
            article=article,
            start=0,
            end=40,
            exact=article.text[0:40],
            model="m@1",
            stance="support",
            created_by=users["curator"],
        ),
        job=Job.objects.create(
            corpus=corpus,
            kind=JobKind.EXPORT,
            created_by=users["owner"],
            params={"query": {"format": ["jsonl"]}},
        ),
    )


def _notice(article, user) -> TextChangeNotice:
    """A notice of a text change for the annotator (the version is stored as the service would
    store it; the text itself stays, so the other objects keep their offsets)."""
    for number in (1, 2):
        version = ArticleVersion.objects.create(
            article=article, number=number, text=article.text, text_sha256=article.text_sha256
        )
    type(article).objects.filter(pk=article.pk).update(text_version=2)
    article.text_version = 2
    return TextChangeNotice.objects.create(version=version, user=user, moved=[], fuzzy=[])


def secrets_of(world) -> list[str]:
    """Texts found only in this world's corpus: none may show up in another team's answers."""
    return [
        world.corpus.name,
        world.article.title,
        world.topic.label,
        world.spare_topic.label,
        world.claim.summary,
        world.comment.text,
        world.trashed_article.title,
        world.other_evidence.title,
        world.group.label,
    ]


def build_worlds(team) -> tuple[SimpleNamespace, SimpleNamespace]:
    team.corpus.blind = True
    team.corpus.save(update_fields=["blind"])
    world_a = _world(
        corpus=team.corpus,
        topic=team.topic,
        article=team.article,
        users={
            "annotator": team.annotator,
            "annotator2": team.annotator2,
            "curator": team.curator,
            "owner": team.owner,
        },
        newcomer=UserFactory(username="nina"),
    )
    bianca = UserFactory(username="bianca")
    Membership.objects.create(corpus=team.other_corpus, user=bianca, role=Role.ANNOTATOR)
    world_b = _world(
        corpus=team.other_corpus,
        topic=team.other_topic,
        article=team.other_article,
        users={
            "annotator": team.outsider,
            "annotator2": bianca,
            "curator": team.outsider,
            "owner": team.outsider,
        },
        newcomer=UserFactory(username="boris"),
    )
    users = {
        "outsider": team.outsider,
        "viewer": team.viewer,
        "annotator": team.annotator,
        "curator": team.curator,
        "owner": team.owner,
    }
    world_a.users = world_b.users = users
    world_a.keys = {actor: ApiToken.objects.create(user=u)[1] for actor, u in users.items()}
    world_b.keys = world_a.keys
    return world_a, world_b


# --- Clients and requests -----------------------------------------------------------------


def clients_for(world, *, enforce_csrf: bool = False) -> dict[tuple[str, bool], Client]:
    """{(actor, api): client}: pages log in with a session, the API sends the actor's token."""
    clients: dict[tuple[str, bool], Client] = {}
    for actor in ACTORS:
        page = Client(raise_request_exception=False, enforce_csrf_checks=enforce_csrf)
        api = APIClient(raise_request_exception=False, enforce_csrf_checks=enforce_csrf)
        if actor != "anonymous":
            page.force_login(world.users[actor])
            api.credentials(HTTP_AUTHORIZATION=f"Token {world.keys[actor]}")
        clients[(actor, False)] = page
        clients[(actor, True)] = api
    return clients


def send(
    client: Client,
    route: Route,
    method: str,
    call: Call | None,
    world,
    url: str,
    headers: dict[str, str] | None = None,
):
    """One request as the route's kind of client sends it (form posts for pages, JSON for the
    API); the client's cookies are restored afterwards (a logout must not log the actor out)."""
    cookies = copy.deepcopy(client.cookies)
    extra = {"HTTP_HX_REQUEST": "true"} if call is not None and call.htmx else {}
    extra.update(headers or {})
    body = call.body(world) if call is not None and call.body is not None else None
    try:
        if method == "GET":
            return client.get(url, **extra)
        if route.api:
            content_type = call.content_type if call is not None else "application/json"
            data = body if isinstance(body, bytes) else json.dumps(body if body else {})
            return client.generic(method, url, data, content_type=content_type, **extra)
        if method == "POST":
            return client.post(url, body or {}, **extra)
        return client.generic(method, url, "", **extra)
    finally:
        client.cookies = cookies


class _Rollback(Exception):
    pass


def isolated(action: Callable[[], Any]) -> Any:
    """Run `action` in a savepoint that is always rolled back: every request meets the same data."""
    try:
        with transaction.atomic():
            result = action()
            raise _Rollback(result)
    except _Rollback as done:
        return done.args[0]


# --- Did anything change? -----------------------------------------------------------------

IGNORED_MODELS = {"sessions.Session"}  # the test clients' own sessions
# Token auth records each token's last use; logging in records last_login.
VOLATILE_FIELDS = {"articles.ApiToken": {"last_used_at"}, "auth.User": {"last_login"}}


def _counted_models() -> list:
    return [
        m
        for m in apps.get_models()
        if not m._meta.swapped and not m._meta.proxy and m._meta.label not in IGNORED_MODELS
    ]


def _hashed_models() -> list:
    return [*apps.get_app_config("articles").get_models(), get_user_model()]


def fingerprint() -> dict[str, Any]:
    """Row counts of every model (one query), the last AuditEvent id, and a hash of every row
    of the domain models and the users: equal fingerprints mean nothing was written."""
    models = _counted_models()
    quote = connection.ops.quote_name
    # Table names come from the models' own metadata, quoted: nothing here is user input.
    tables = ", ".join(f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})" for m in models)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {tables}")  # noqa: S608
        counts = cursor.fetchone()
    state: dict[str, Any] = {m._meta.label: n for m, n in zip(models, counts, strict=True)}
    for model in _hashed_models():
        label = model._meta.label
        volatile = VOLATILE_FIELDS.get(label, set())
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in volatile]
        rows = list(model._base_manager.order_by("pk").values_list(*names))
        state[label + " rows"] = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    state["last audit event"] = AuditEvent.objects.aggregate(last=Max("id"))["last"]
    return state


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


# --- Checking an answer -------------------------------------------------------------------


def verdict(response, *, api: bool, expected: str | int, call: Call | None) -> str | None:
    """None when the response is what `expected` means, else what it was instead."""
    status = response.status_code
    location = response.get("Location", "")
    login_url = reverse(settings.LOGIN_URL)
    if expected == LOGIN:
        if api:
            return None if status == 401 else f"{status}"
        if status == 302 and location.startswith(login_url):
            return None
        # htmx requests are sent to the login page as a full navigation, with nothing else.
        client_redirect = response.get("HX-Redirect", "")
        if status == 200 and client_redirect.startswith(login_url) and not response.content:
            return None
        return f"{status} {location or client_redirect}".strip()
    if expected == OK:
        accepted = call.ok if call is not None and call.ok else ()
        if status in accepted or (not accepted and 200 <= status < 400):
            if not (api or call is None or call.rule.public) and location.startswith(login_url):
                return f"{status} to the login page"
            return None
        return f"{status}"
    return None if status == expected else f"{status}"
