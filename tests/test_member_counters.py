"""A member's own figures (MemberCounts, kept by the counting triggers: articles/member_counters.py)
equal a recount from the rows after every kind of write, in random order, and what each member
reads from them equals counting the rows they may see. On SQLite and PostgreSQL (CI runs both)."""

from __future__ import annotations

import json
import random

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from articles import counters, imports, selectors, services
from articles.access import Access
from articles.models import (
    Annotation,
    Article,
    Assignment,
    AssignmentState,
    Claim,
    MemberCounts,
    Membership,
    Review,
    Role,
)
from articles.services.base import Conflict, StaleVersion

from .factories import AnnotationFactory, ArticleFactory, AssignmentFactory, ClaimFactory
from .test_counters import _reference

pytestmark = pytest.mark.django_db

# What a service refuses (a duplicate, a role, an import naming someone removed meanwhile).
REFUSED = (ValidationError, PermissionDenied, Conflict, StaleVersion, imports.ImportFailed)
ROLES = ("owner", "curator", "annotator", "annotator2", "viewer")
WORKERS = ("owner", "curator", "annotator", "annotator2")
TEXT = "Chips are scarce. Labs adapt quickly. Rules fail often. Prices rose again."


def _agree(corpus) -> None:
    differences = counters.recount([corpus.pk], repair=False)
    assert differences == []


def _reads_agree(team) -> None:
    """Every member's dashboard and corpus detail give what counting their visible rows gives."""
    for name in ROLES:
        user = getattr(team, name)
        rows = [c for c in selectors.corpora_for_dashboard(user) if c.pk == team.corpus.pk]
        if not rows:  # removed from the corpus for now
            continue
        row = rows[0]
        expected = _reference(user, team.corpus)
        assert {k: getattr(row, k) for k in expected} == expected, name
        mine = Assignment.objects.filter(
            annotator=user, article__corpus=team.corpus, article__deleted_at__isnull=True
        )
        assert (row.n_my_assigned, row.n_my_submitted) == (
            mine.count(),
            mine.filter(state=AssignmentState.SUBMITTED).count(),
        ), name
        detail, _access = selectors.corpus_detail_with_access(user, team.corpus.slug)
        shown = ("n_articles", "n_claims", "n_annotations", "n_reviewed")
        assert {k: getattr(detail, k) for k in (*shown, "n_my_assigned", "n_my_submitted")} == {
            k: getattr(row, k) for k in (*shown, "n_my_assigned", "n_my_submitted")
        }, name


class Writer:
    """Random writes through the services (and a few plain ORM writes, as an admin or a script
    would make them) on one corpus."""

    def __init__(self, team, rng: random.Random):
        self.team, self.rng = team, rng
        self.access = Access(user=team.owner, corpus=team.corpus, role=Role.OWNER)
        self.texts = 0

    def text(self) -> str:
        self.texts += 1
        return f"{TEXT} Number {self.texts}."

    def user(self, names=WORKERS):
        name = self.rng.choice(names)
        return getattr(self.team, name), Role.OWNER if name == "owner" else (
            Role.CURATOR if name == "curator" else Role.ANNOTATOR
        )

    def articles(self, *, live=True):
        rows = Article.objects.filter(corpus=self.team.corpus, deleted_at__isnull=live)
        return list(rows.order_by("pk"))

    def claims(self, *, live=True):
        rows = Claim.objects.filter(article__corpus=self.team.corpus, deleted_at__isnull=live)
        return list(rows.filter(article__deleted_at__isnull=True).order_by("pk"))

    def pick(self, rows):
        return self.rng.choice(rows) if rows else None

    # --- the operations -----------------------------------------------------------------------

    def new_article(self):
        services.article_create(
            actor=self.team.owner,
            corpus=self.team.corpus,
            role=Role.OWNER,
            title="A",
            text=self.text(),
        )

    def new_claim(self):
        article = self.pick(self.articles())
        if article is None:
            return
        start = self.rng.randrange(0, len(article.text) - 6)
        user, role = self.user()
        services.claim_create(
            actor=user, article=article, role=role, start=start, end=start + self.rng.randint(3, 6)
        )

    def bulk_claims(self):
        article = self.pick(self.articles())
        if article is None:
            return
        user, role = self.user()
        starts = self.rng.sample(range(0, len(article.text) - 8), 3)
        items = [
            {"start": s, "end": s + 5, "annotation": {"stance": "support"}} for s in sorted(starts)
        ]
        services.claims_create_many(actor=user, article=article, role=role, items=items)

    def tag(self):
        claim = self.pick(self.claims())
        if claim is None:
            return
        user, role = self.user()
        services.annotation_create(
            actor=user, claim=claim, role=role, stance=self.rng.choice(["support", "oppose"])
        )

    def untag(self):
        annotation = self.pick(
            list(Annotation.objects.filter(claim__article__corpus=self.team.corpus).order_by("pk"))
        )
        if annotation is not None:
            services.annotation_delete(
                actor=annotation.annotator, annotation=annotation, role=Role.ANNOTATOR
            )

    def review(self):
        claim = self.pick(self.claims())
        if claim is None:
            return
        existing = Review.objects.filter(claim=claim).first()
        if existing is not None and self.rng.random() < 0.5:
            services.review_delete(actor=self.team.curator, review=existing, role=Role.CURATOR)
            return
        services.review_set(
            actor=self.team.curator,
            claim=claim,
            role=Role.CURATOR,
            decision="accepted",
            topic=self.team.topic,
            stance="support",
        )

    def assign(self):
        article = self.pick(self.articles())
        if article is None:
            return
        user, _role = self.user(("annotator", "annotator2", "curator"))
        services.assignment_create(
            actor=self.team.owner, article=article, role=Role.OWNER, annotator=user
        )

    def unassign(self):
        assignment = self.pick(
            list(
                Assignment.objects.filter(
                    article__corpus=self.team.corpus, state=AssignmentState.ASSIGNED
                ).order_by("pk")
            )
        )
        if assignment is not None:
            services.assignment_delete(
                actor=self.team.owner, assignment=assignment, role=Role.OWNER
            )

    def submit(self):
        article = self.pick(self.articles())
        if article is None:
            return
        user, role = self.user()
        services.article_submit(actor=user, article=article, role=role)

    def reopen(self):  # no service reopens work: an admin's or a script's write
        assignment = self.pick(
            list(
                Assignment.objects.filter(
                    article__corpus=self.team.corpus, state=AssignmentState.SUBMITTED
                ).order_by("pk")
            )
        )
        if assignment is not None:
            Assignment.objects.filter(pk=assignment.pk).update(state=AssignmentState.ASSIGNED)

    def trash_claim(self):
        claim = self.pick(self.claims())
        if claim is not None:
            services.claim_delete(access=self.access, claim=claim)

    def restore_claim(self):
        claim = self.pick(self.claims(live=False))
        if claim is not None:
            services.claim_restore(actor=self.team.owner, claim=claim, role=Role.OWNER)

    def purge_claim(self):  # the trash emptied by a script: rows deleted with their cascade
        claim = self.pick(self.claims(live=False))
        if claim is not None:
            claim.delete()

    def trash_article(self):
        article = self.pick(self.articles())
        if article is not None:
            services.article_delete(actor=self.team.owner, article=article, role=Role.OWNER)

    def restore_article(self):
        article = self.pick(self.articles(live=False))
        if article is not None:
            services.article_restore(actor=self.team.owner, article=article, role=Role.OWNER)

    def purge_article(self):
        article = self.pick(self.articles(live=False))
        if article is not None:
            services.article_purge(actor=self.team.owner, article=article, role=Role.OWNER)

    def merge(self):
        claims = self.claims()
        if len(claims) < 2:
            return
        claim = self.pick(claims)
        others = [c for c in claims if c.article_id == claim.article_id and c.pk != claim.pk]
        into = self.pick(others)
        if into is None:
            return
        services.claim_merge(
            access=self.access,
            claim=claim,
            into=into,
            keep={
                getattr(self.team, name).username: self.rng.choice(["claim", "into"])
                for name in WORKERS
            }
            | {"review": self.rng.choice(["claim", "into"])},
        )

    def new_text(self):
        article = self.pick(self.articles())
        if article is None:
            return
        words = article.text.split(" ")
        self.rng.shuffle(words)
        services.article_text_replace(
            actor=self.team.owner,
            article=article,
            role=Role.OWNER,
            text=" ".join(words),
            version=article.version,
        )

    def import_articles(self):
        members = set(
            Membership.objects.filter(corpus=self.team.corpus).values_list(
                "user__username", flat=True
            )
        )

        def tags(*pairs):  # the import names members only
            return [
                {"annotator": who, "stance": stance, **extra}
                for who, stance, extra in pairs
                if who in members
            ]

        line = {
            "title": "Imported",
            "claims": [
                {
                    "start": 0,
                    "end": 16,
                    "annotations": tags(
                        ("anna", "support", {"status": "submitted"}), ("arjun", "oppose", {})
                    ),
                    "review": {"curator": "carmen", "decision": "rejected"},
                },
                {"start": 18, "end": 35, "annotations": tags(("anna", "neutral", {}))},
            ],
        }
        lines = [{**line, "text": self.text()} for _ in range(self.rng.randint(1, 3))]
        body = "\n".join(json.dumps(one) for one in lines).encode()
        imports.import_file(
            actor=self.team.owner,
            corpus=self.team.corpus,
            role=Role.OWNER,
            name="a.jsonl",
            data=body,
        )

    def factories(self):  # plain ORM writes
        article = ArticleFactory(corpus=self.team.corpus)
        claim = ClaimFactory(article=article)
        AnnotationFactory(claim=claim, annotator=self.team.annotator, topic=self.team.topic)
        AssignmentFactory(article=article, annotator=self.team.annotator, state="submitted")

    def membership(self):
        """A member leaves, or comes back (their work stays in the corpus meanwhile)."""
        name = self.rng.choice(("annotator", "annotator2"))
        user = getattr(self.team, name)
        kept = Membership.objects.filter(corpus=self.team.corpus, user=user).first()
        if kept is not None:
            services.membership_remove(actor=self.team.owner, membership=kept, role=Role.OWNER)
        else:
            services.membership_add(
                actor=self.team.owner,
                corpus=self.team.corpus,
                role=Role.OWNER,
                username=user.username,
                new_role=Role.ANNOTATOR,
            )

    OPERATIONS = (
        ("new_article", 2),
        ("new_claim", 8),
        ("bulk_claims", 2),
        ("tag", 10),
        ("untag", 3),
        ("review", 3),
        ("assign", 5),
        ("unassign", 2),
        ("submit", 4),
        ("reopen", 2),
        ("trash_claim", 2),
        ("restore_claim", 2),
        ("purge_claim", 1),
        ("trash_article", 1),
        ("restore_article", 2),
        ("purge_article", 1),
        ("merge", 2),
        ("new_text", 1),
        ("import_articles", 2),
        ("factories", 1),
        ("membership", 1),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_random_writes_keep_every_members_counters_right(team, seed):
    team.corpus.blind = True
    team.corpus.save()
    rng = random.Random(seed)
    writer = Writer(team, rng)
    names = [name for name, weight in Writer.OPERATIONS for _ in range(weight)]
    done: dict[str, int] = {}
    for step in range(160):
        name = rng.choice(names)
        try:
            getattr(writer, name)()
        except REFUSED:
            continue
        done[name] = done.get(name, 0) + 1
        _agree(team.corpus)
        if step % 20 == 19:
            _reads_agree(team)
    _reads_agree(team)
    # Every kind of write happened, and the figures are not all zero.
    assert set(done) == {name for name, _ in Writer.OPERATIONS}, done
    kept = MemberCounts.objects.filter(membership__corpus=team.corpus)
    assert any(row.submitted and row.tags and row.sub_annotations for row in kept)


def test_a_new_member_starts_with_their_work_counted(team):
    """A membership's row is counted from the rows when it is created: someone removed and
    added again finds their figures as they were."""
    article = ArticleFactory(corpus=team.corpus)
    claim = ClaimFactory(article=article)
    AnnotationFactory(claim=claim, annotator=team.annotator, topic=team.topic)
    AssignmentFactory(article=team.article, annotator=team.annotator)
    before = counters.counts_of_member(team.corpus.pk, team.annotator.pk)
    assert (before["assigned"], before["tags"]) == (1, 1)
    Membership.objects.filter(corpus=team.corpus, user=team.annotator).delete()
    assert counters.counts_of_member(team.corpus.pk, team.annotator.pk) == {}
    Membership.objects.create(corpus=team.corpus, user=team.annotator, role=Role.ANNOTATOR)
    assert counters.counts_of_member(team.corpus.pk, team.annotator.pk) == before
    _agree(team.corpus)


def test_recount_repairs_a_members_figures(team):
    AssignmentFactory(article=team.article, annotator=team.annotator)
    MemberCounts.objects.filter(membership__user=team.annotator).update(assigned=7, tags=-1)
    differences = counters.recount([team.corpus.pk], repair=True)
    assert {(d.table, d.field, d.kept, d.counted) for d in differences} == {
        ("member", "assigned", 7, 1),
        ("member", "tags", -1, 0),
    }
    _agree(team.corpus)
