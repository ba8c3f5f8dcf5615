"""The demo corpus: sample articles and a team's work on them, loaded through the services.

`load()` creates the demo users (if missing) and the corpus described in plan.py, every write
going through articles.services so the audit log tells the same story as the data. The articles
are original fictional pieces in articles/demo/articles/*.md, each a small front matter
(`key: value` lines between `---` lines) followed by the plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import User
from django.db import transaction

from articles import services
from articles.models import Corpus, Role, Topic

from . import plan

ARTICLES_DIR = Path(__file__).resolve().parent / "articles"
ARTICLE_FIELDS = {"title", "author", "outlet", "source_url", "published_on", "language"}


@dataclass
class Login:
    username: str
    role: str
    password: str  # the demo password, or a note saying why it is not known
    created: bool


@dataclass
class LoadResult:
    loaded: bool  # False when the corpus was there already and nothing was written
    slug: str
    logins: list[Login]
    counts: dict[str, int] = field(default_factory=dict)


def read_article(path: Path) -> dict[str, str]:
    """Parse one sample article file into article_create's fields."""
    content = path.read_text(encoding="utf-8")
    marker, header, body = content.split("---\n", 2)
    if marker.strip():
        raise ValueError(f"{path.name}: the file must start with a '---' front matter line.")
    fields: dict[str, str] = {}
    for line in header.splitlines():
        if not line.strip():
            continue
        key, _, value = line.partition(":")
        key = key.strip()
        if key not in ARTICLE_FIELDS:
            raise ValueError(f"{path.name}: unknown front matter key {key!r}.")
        fields[key] = value.strip()
    outlet = fields.pop("outlet", "")
    if outlet:
        fields["author"] = f"{fields.get('author', '')} ({outlet})".strip()
    fields["text"] = body.strip() + "\n"
    return fields


def ensure_users() -> tuple[dict[str, User], list[Login]]:
    """Create the missing demo users; existing accounts are kept exactly as they are."""
    users: dict[str, User] = {}
    logins: list[Login] = []
    for username, (role, first_name) in plan.USERS.items():
        password = plan.demo_password(username)
        user = User.objects.filter(username=username).first()
        created = user is None
        if user is None:
            user = User.objects.create_user(
                username=username,
                password=password,
                email=f"{username}@example.org",
                first_name=first_name,
            )
            shown = password
        elif check_password(password, user.password):
            shown = password
        else:
            shown = "(account existed already; its own password, not the demo one)"
        users[username] = user
        logins.append(Login(username=username, role=role, password=shown, created=created))
    return users, logins


def load(*, reset: bool = False) -> LoadResult:
    """Load the demo corpus, or leave it alone when it exists (unless `reset`)."""
    with transaction.atomic():
        users, logins = ensure_users()
        existing = Corpus.objects.filter(slug=plan.CORPUS["slug"]).first()
        if existing is not None:
            if not reset:
                return LoadResult(loaded=False, slug=existing.slug, logins=logins)
            # A command-line action, not a member's: the audit event has no actor.
            services.corpus_delete(actor=None, corpus=existing, role=Role.OWNER)
        counts = _build(users)
    return LoadResult(loaded=True, slug=plan.CORPUS["slug"], logins=logins, counts=counts)


def _build(users: dict[str, User]) -> dict[str, int]:
    owner, curator = users["olivia"], users["carmen"]
    corpus = services.corpus_create(actor=owner, topics=plan.TOPICS, **plan.CORPUS)
    topics = list(Topic.objects.filter(corpus=corpus).order_by("position", "id"))
    roles: dict[str, str] = {"olivia": Role.OWNER}
    for username, (role, _) in plan.USERS.items():
        if username != "olivia":
            services.membership_add(
                actor=owner, corpus=corpus, role=Role.OWNER, username=username, new_role=role
            )
            roles[username] = role
    counts = dict.fromkeys(
        ("articles", "claims", "annotations", "relations", "reviews", "comments"), 0
    )
    for item in plan.ARTICLES:
        article = services.article_create(
            actor=owner, corpus=corpus, role=Role.OWNER, **read_article(ARTICLES_DIR / item.file)
        )
        counts["articles"] += 1
        for username in ("anna", "arjun"):
            services.assignment_create(
                actor=curator, article=article, role=roles["carmen"], annotator=users[username]
            )
        claims = []
        for spec in item.claims:
            claim = services.claim_create(
                actor=users[spec.by],
                article=article,
                role=roles[spec.by],
                exact=spec.exact,
                summary=spec.summary,
                labels=[spec.label],
            )
            claims.append(claim)
            for username, tag in spec.tags.items():
                services.annotation_create(
                    actor=users[username],
                    claim=claim,
                    role=roles[username],
                    stance=tag.stance,
                    topic=topics[tag.topic],
                    labels=[spec.label],
                    confidence=tag.confidence,
                    note=tag.note,
                    evidence=list(tag.evidence),
                )
                counts["annotations"] += 1
        counts["claims"] += len(claims)
        for source, target, kind, username in item.relations:
            services.relation_create(
                actor=users[username],
                source=claims[source],
                target=claims[target],
                role=roles[username],
                kind=kind,
            )
            counts["relations"] += 1
        for username in item.submitted_by:
            services.article_submit(actor=users[username], article=article, role=roles[username])
        for index, (decision, topic, stance, note) in item.reviews.items():
            services.review_set(
                actor=curator,
                claim=claims[index],
                role=roles["carmen"],
                decision=decision,
                topic=topics[topic] if topic is not None else None,
                stance=stance,
                note=note,
            )
            counts["reviews"] += 1
        for index, username, text in item.comments:
            services.comment_create(
                actor=users[username], claim=claims[index], role=roles[username], text=text
            )
            counts["comments"] += 1
    return counts
