"""The world of the blind-mode noninterference tests, and the others' work done in it.

A blind corpus where the blind annotator (anna) has done her own work on an article: marked
claims, tagged some with evidence, linked two, commented. Other members (arjun, an annotator;
carmen, the curator; olivia, the owner) then work on the same article. Everything is written
through the services, as the app writes it, at pinned moments (see `at`), so that two runs of the
same scenario differ only by what the scenario does.

The tests compare what anna gets with and without the others' work by doing that work inside a
savepoint (`isolated`), recording, rolling back and recording again: the objects the others
create therefore have known ids, which the walk probes in both recordings (in the run without
them, those ids are as missing as any).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from django.apps import apps
from django.db import connection, models
from django.utils import timezone

from articles import selectors, services
from articles.access import Access
from articles.jobs.services import job_export_start
from articles.models import (
    Annotation,
    ApiToken,
    Article,
    Claim,
    Comment,
    Evidence,
    Job,
    Relation,
    Review,
    Role,
    SuggestionDecision,
    Topic,
)
from tests.factories import SAMPLE_TEXT

# An id no object has: every id-taking URL is also asked with it, the reference "missing" answer.
MISSING_ID = "9000000000"
MISSING_SLUG = "no-such-corpus"
NO_MEMBER = "nobody-here"
# Where the ids of the blind annotator's new objects start in both runs of a write scenario.
PINNED_IDS_START = 7_000_000_000


def span(text: str) -> dict[str, int]:
    start = SAMPLE_TEXT.index(text)
    return {"start": start, "end": start + len(text)}


S1 = span("Restricting chip exports is shortsighted.")  # anna's, tagged by anna (and by arjun)
S2 = span("The lab trained its model on low-end chips.")  # anna's, nobody else ever tags it
S3 = span("Officials say the rules will be tightened next year.")  # arjun's, anna tagged it
S4 = span("Critics call the policy a gift to domestic rivals.")  # arjun's, only arjun tags it
S5 = span("Prices rose by 12% in a single quarter.")  # the curator's claim
ARJUN_EVIDENCE = span("low-end chips")  # a span only arjun's evidence covers
ANNA_EVIDENCE = span("shortsighted")


@dataclass
class Moments:
    """The world is built at `built`, the others work at `others`, anna reads and writes at
    `anna`: her two runs happen at the same moment, so no timestamp of hers differs."""

    built: datetime
    others: datetime
    anna: datetime

    @classmethod
    def around_now(cls) -> Moments:
        now = timezone.now().replace(microsecond=0)
        return cls(built=now - timedelta(days=2), others=now - timedelta(days=1), anna=now)

    def dates(self) -> list[str]:
        """`updated_since` values: before everything, between the world and the others' work
        (only what they touched is newer), after everything."""
        points = [
            self.built - timedelta(hours=1),
            self.others - timedelta(hours=1),
            self.anna + timedelta(hours=1),
        ]
        return [p.isoformat().replace("+00:00", "Z") for p in points]


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Everything that asks the time gets `moment`: django.utils.timezone (auto_now fields,
    services, sessions) and time.time (the Expires headers of never_cache pages)."""
    with (
        mock.patch("django.utils.timezone.now", return_value=moment),
        mock.patch("time.time", return_value=moment.timestamp()),
    ):
        yield


@dataclass
class World:
    corpus: Any
    topics: list[Topic]
    article: Article  # where everyone works
    quiet_article: Article  # where nobody works after the world is built
    users: dict[str, Any]  # blind (anna), other (arjun), curator, owner, viewer
    claims: dict[str, Claim]  # S1..S5, all on `article`
    own: dict[str, Any]  # anna's annotations, evidence, relation, comment
    tokens: list[ApiToken]
    moments: Moments
    suggestions: list[Any]  # a model's, on `article`: on S1, at S4's span, and where nobody marked
    groups: list[Any]  # claim groups across both articles, made by the curator
    # {kind: [ids]} of the objects the others created (filled by others_work)
    theirs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def blind(self):
        return self.users["blind"]

    def ids(self, kind: str) -> list[str] | None:
        """Every value a URL parameter naming an object of `kind` is tried with: the world's
        objects, the others' (once they exist), and one that never exists. None: unknown kind."""
        if kind == "corpus":
            return [self.corpus.slug, MISSING_SLUG]
        if kind == "member":
            return [u.username for u in self.users.values()] + [NO_MEMBER]
        if kind == "version":  # a version number of the article (the first always exists)
            return ["1", MISSING_ID]
        known: dict[str, list[Any]] = {
            "article": [self.article, self.quiet_article],
            "claim": list(self.claims.values()),
            "topic": self.topics,
            "annotation": self.own["annotations"],
            "evidence": self.own["evidence"],
            "relation": [self.own["relation"]],
            "comment": [self.own["comment"]],
            "review": [],
            "token": self.tokens,
            "notice": [],  # a write's target only (dismissing), never read
            # Keys and links the blind annotator never holds: only ones that do not exist.
            "invitation": [],
            "reset-user": [],
            "reset-token": [],
            "suggestion": self.suggestions,
            "group": self.groups,
            "job": [],  # anna may not export: no job is hers
        }
        if kind not in known:
            return None
        return [str(o.pk) for o in known[kind]] + self.theirs.get(kind, []) + [MISSING_ID]

    def members(self) -> list[str]:
        return [u.username for u in self.users.values()]


def build_world(team) -> World:
    """The blind corpus and anna's own work, as it stands before the recordings."""
    moments = Moments.around_now()
    owner, curator = team.owner, team.curator
    anna, arjun = team.annotator, team.annotator2
    with at(moments.built):
        corpus = services.corpus_update(
            actor=owner,
            corpus=team.corpus,
            role=Role.OWNER,
            version=team.corpus.version,
            blind=True,
            claim_labels=["policy", "fact"],
        )
        topic2 = services.topic_create(
            actor=owner, corpus=corpus, role=Role.OWNER, label="Export controls hurt US firms"
        )
        article = team.article
        quiet = services.article_create(
            actor=owner, corpus=corpus, role=Role.OWNER, title="A quiet article", text=SAMPLE_TEXT
        )
        for who in (anna, arjun):
            for a in (article, quiet):
                services.assignment_create(
                    actor=curator, article=a, role=Role.CURATOR, annotator=who
                )

        def claim(actor, role, where, at_span, summary=""):
            return services.claim_create(
                actor=actor, article=where, role=role, summary=summary, **at_span
            )

        claims = {
            "S1": claim(anna, Role.ANNOTATOR, article, S1, "Export limits will not work"),
            "S2": claim(anna, Role.ANNOTATOR, article, S2),
            "S3": claim(arjun, Role.ANNOTATOR, article, S3),
            "S4": claim(arjun, Role.ANNOTATOR, article, S4),
            "S5": claim(curator, Role.CURATOR, article, S5),
        }
        tag = services.annotation_create
        mine_s1 = tag(
            actor=anna,
            claim=claims["S1"],
            role=Role.ANNOTATOR,
            stance="oppose",
            topic=str(team.topic.pk),
            labels=[],
            confidence=4,
            note="anna's own note",
            evidence=[
                {"kind": "span", **ANNA_EVIDENCE, "evidence_type": "expert"},
                {"kind": "source", "url": "https://example.org/anna", "title": "anna's source"},
            ],
        )
        mine_s3 = tag(
            actor=anna,
            claim=claims["S3"],
            role=Role.ANNOTATOR,
            stance="support",
            topic=str(topic2.pk),
        )
        relation = services.relation_create(
            actor=anna,
            source=claims["S2"],
            target=claims["S1"],
            role=Role.ANNOTATOR,
            kind="supports",
        )
        comment = services.comment_create(
            actor=anna, claim=claims["S1"], role=Role.ANNOTATOR, text="anna's own comment"
        )
        _, curator_access = selectors.corpus_with_access(curator, corpus.slug)
        suggestions = services.suggestions_create(
            access=curator_access,
            article=article,
            model="m@1",
            suggestions=[
                {**S1, "stance": "oppose", "score": 0.9},
                {**S4, "stance": "support", "score": 0.6},
                {**S2, "score": 0.3},
            ],
        )
        _, anna_access = selectors.corpus_with_access(anna, corpus.slug)
        services.suggestion_reject(access=anna_access, suggestion=suggestions[2])
        quiet_claim = claim(curator, Role.CURATOR, quiet, S1)
        groups = [
            services.group_create(
                actor=curator,
                corpus=corpus,
                role=Role.CURATOR,
                label="Chip limits fail",
                claims=[str(claims["S1"].pk), str(claims["S3"].pk), str(quiet_claim.pk)],
            ),
            services.group_create(
                actor=curator,
                corpus=corpus,
                role=Role.CURATOR,
                label="Prices",
                claims=[str(claims["S5"].pk)],
            ),
        ]
        tokens = [
            services.api_token_create(actor=anna, name="anna's script")[0],
            services.api_token_create(actor=arjun, name="arjun's script")[0],
        ]
    return World(
        corpus=corpus,
        topics=[team.topic, topic2],
        article=article,
        quiet_article=quiet,
        users={
            "blind": anna,
            "other": arjun,
            "curator": curator,
            "owner": owner,
            "viewer": team.viewer,
        },
        claims=claims,
        own={
            "annotations": [mine_s1, mine_s3],
            "evidence": list(Evidence.objects.filter(annotation=mine_s1).order_by("position")),
            "relation": relation,
            "comment": comment,
            "versions": {
                "S1": claims["S1"].version,
                "annotation": mine_s1.version,
                "annotation_s3": mine_s3.version,
            },
        },
        tokens=tokens,
        moments=moments,
        suggestions=suggestions,
        groups=groups,
    )


# The kinds of objects the others create, and the model behind each.
THEIR_KINDS = {
    "annotation": Annotation,
    "evidence": Evidence,
    "relation": Relation,
    "comment": Comment,
    "review": Review,
    "suggestion_decision": SuggestionDecision,
    "job": Job,
}


def others_work(world: World) -> None:
    """Everyone else works on anna's article: arjun tags her claims and his own with span
    evidence, links claims and comments; the curator accepts one claim with a gold stance,
    rejects another and comments; the owner comments; arjun submits the article. The ids of
    what they create go to `world.theirs`."""
    before = {kind: set(m.objects.values_list("pk", flat=True)) for kind, m in THEIR_KINDS.items()}
    arjun, curator, owner = world.users["other"], world.users["curator"], world.users["owner"]
    claims, topic, topic2 = world.claims, world.topics[0], world.topics[1]
    A, C = Role.ANNOTATOR, Role.CURATOR  # noqa: N806
    with at(world.moments.others):
        for name, stance, evidence_span in [
            ("S1", "support", ARJUN_EVIDENCE),
            ("S3", "oppose", S4),
            ("S4", "neutral", S5),
            ("S5", "oppose", S1),
        ]:
            services.annotation_create(
                actor=arjun,
                claim=claims[name],
                role=A,
                stance=stance,
                topic=str(topic2.pk if name == "S3" else topic.pk),
                labels=["policy"],
                note=f"arjun's secret note on {name}",
                evidence=[
                    {"kind": "span", **evidence_span, "evidence_type": "statistic"},
                    {"kind": "source", "url": "https://example.org/arjun", "title": "arjun's"},
                ],
            )
        for source, target, kind in [("S3", "S1", "attacks"), ("S4", "S2", "supports")]:
            services.relation_create(
                actor=arjun, source=claims[source], target=claims[target], role=A, kind=kind
            )
        for name in ("S1", "S3"):
            services.comment_create(
                actor=arjun, claim=claims[name], role=A, text=f"arjun's secret comment on {name}"
            )
        services.review_set(
            actor=curator,
            claim=claims["S1"],
            role=C,
            decision="accepted",
            topic=str(topic.pk),
            stance="support",
            note="carmen's secret gold note",
        )
        services.review_set(actor=curator, claim=claims["S3"], role=C, decision="rejected")
        services.comment_create(
            actor=curator, claim=claims["S1"], role=C, text="carmen's secret comment"
        )
        services.comment_create(
            actor=owner, claim=claims["S3"], role=Role.OWNER, text="olivia's secret comment"
        )
        _, arjun_access = selectors.corpus_with_access(arjun, world.corpus.slug)
        first, second, third = world.suggestions
        services.suggestion_accept(access=arjun_access, suggestion=first)
        services.suggestion_accept(access=arjun_access, suggestion=second, stance="oppose")
        services.suggestion_reject(access=arjun_access, suggestion=third)
        services.article_submit(actor=arjun, article=world.article, role=A)
        job_export_start(
            access=Access(user=owner, corpus=world.corpus, role=Role.OWNER),
            params={"format": "jsonl"},
            base_url="http://testserver/",
        )
    world.theirs = {
        kind: [str(pk) for pk in sorted(set(m.objects.values_list("pk", flat=True)) - before[kind])]
        for kind, m in THEIR_KINDS.items()
    }
    assert all(world.theirs.values()), world.theirs  # the scenario did create each kind


# --- Ids that do not depend on what happened before ----------------------------------------


def pin_next_ids(start: int = PINNED_IDS_START) -> None:
    """Make the next id of every table of the app `start`, so that the objects the blind
    annotator creates get the same ids whether or not the others created objects before (ids
    are global counters: the objects of other corpora move them too, so their values are no
    channel of this corpus). On PostgreSQL setval is not undone by a rollback, which is why
    each run pins again."""
    # Tables keyed by a counter (not those keyed by another row, such as a corpus's guidelines).
    tables = [
        (m._meta.db_table, m._meta.pk.column)
        for m in apps.get_app_config("articles").get_models()
        if isinstance(m._meta.pk, models.AutoField)
    ]
    with connection.cursor() as cursor:
        for table, column in tables:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)",
                    [table, column, start],
                )
            elif connection.vendor == "sqlite":
                last = [start - 1, table]
                cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", last)
                if cursor.rowcount == 0:
                    cursor.execute("INSERT INTO sqlite_sequence (seq, name) VALUES (%s, %s)", last)
            else:  # pragma: no cover - the project runs on these two only
                raise AssertionError(f"pin_next_ids does not know {connection.vendor}")
