"""Agreement figures for a corpus (or one of its articles), read from the database.

Reads everything in a fixed number of queries (five, whatever the size of the corpus), turns it
into ``(item, coder, label)`` triples and hands them to :mod:`articles.agreement`.

Definitions (also shown on the agreement page and in the API schema):

- **Stance.** An item is a claim *and the topic* the stance is taken toward: a stance only
  compares with a stance toward the same proposition. Coders are annotators (by username), the
  label is the stance. Annotations of live claims of live articles count, drafts included unless
  ``submitted_only``. Items tagged by a single annotator are not pairable and enter no figure.
- **Topic.** When the corpus has two or more topics, a second, smaller report measures whether
  annotators chose the same topic for the same claim (item = claim, label = topic).
- **Spans.** An annotator's spans are the claims they annotated or created. Two annotators are
  compared only on the articles both *worked on* (assigned to them, or holding at least one of
  their spans): a claim marked by one and not the other there is a disagreement, while articles
  only one of them saw are left out. Exact F1 counts identical ``(start, end)`` spans, overlap F1
  counts spans that share at least one character. The corpus figure pools the counts of every
  pair on every shared article (micro average).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from . import agreement, selectors
from .access import Access
from .models import Annotation, AnnotationStatus, Article, Assignment, Claim, Corpus, Stance, Topic
from .spreadsheet import neutralise

STANCES: tuple[str, ...] = tuple(Stance.values)


@dataclass
class SpanFigures:
    pairs: dict[tuple[str, str], dict[str, agreement.Figure]]
    micro: dict[str, agreement.Figure]
    per_article: dict[int, dict[str, agreement.Figure]]


@dataclass
class CorpusAgreement:
    corpus: Corpus
    article: Article | None
    submitted_only: bool
    stance: agreement.AgreementReport  # groups: one report per article id
    confusion: agreement.ConfusionMatrix  # rows and columns in STANCES order
    topic: agreement.AgreementReport | None  # None when the corpus has a single topic
    spans: SpanFigures
    stance_counts: dict[str, Counter]  # annotator -> Counter of stances (all their annotations)
    annotators: list[str]
    article_titles: dict[int, str]
    topic_labels: dict[int, str] = field(default_factory=dict)

    # --- serialisations ------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of GET /api/v1/corpora/{slug}/agreement (ids as strings)."""
        stance = self.stance.as_dict()
        stance.pop("groups", None)
        stance["confusion"] = self.confusion.as_dict()
        return {
            "corpus": self.corpus.slug,
            "article": str(self.article.pk) if self.article else None,
            "submitted_only": self.submitted_only,
            "annotators": self.annotators,
            "stance": stance,
            "per_article": [
                {
                    "article": str(article_id),
                    "title": self._title(article_id),
                    "n_items": group.n_items,
                    "krippendorff_alpha": group.krippendorff_alpha.as_dict(),
                    "fleiss_kappa": group.fleiss_kappa.as_dict(),
                    "percent_agreement": group.percent_agreement.as_dict(),
                }
                for article_id, group in self.stance.groups.items()
            ],
            "per_annotator": [
                {
                    "annotator": name,
                    "agreement_with_others": self.stance.per_coder.get(
                        name, _no_pairs(name)
                    ).as_dict(),
                    "stances": {s: self.stance_counts.get(name, Counter())[s] for s in STANCES},
                }
                for name in self.annotators
            ],
            "topic": _topic_dict(self.topic),
            "spans": {
                "micro": {mode: f.as_dict() for mode, f in self.spans.micro.items()},
                "pairs": [
                    {"annotators": [a, b], **{m: f.as_dict() for m, f in figures.items()}}
                    for (a, b), figures in self.spans.pairs.items()
                ],
                "per_article": [
                    {"article": str(aid), **{m: f.as_dict() for m, f in figures.items()}}
                    for aid, figures in self.spans.per_article.items()
                ],
            },
        }

    def _title(self, article_id: Hashable) -> str:
        """The title of an article named by a group key of the stance report (an article id)."""
        return self.article_titles.get(article_id, "") if isinstance(article_id, int) else ""

    def csv_rows(self) -> list[list[Any]]:
        """Every figure as one row: scope, figure, subject(s), value, items, reason."""
        rows: list[list[Any]] = [
            ["scope", "figure", "subject", "other", "value", "n_items", "reason"]
        ]
        scope = f"article {self.article.pk}" if self.article else "corpus"

        def add(
            where: str, name: str, subject: Hashable, other: Hashable, fig: agreement.Figure
        ) -> None:
            # A float, not text, so that the formula guard leaves negative values alone.
            value = "" if fig.value is None else round(fig.value, 4) + 0.0
            rows.append([where, name, subject, other, value, fig.n_items, fig.reason])

        report = self.stance
        add(scope, "krippendorff_alpha", "", "", report.krippendorff_alpha)
        add(scope, "fleiss_kappa", "", "", report.fleiss_kappa)
        add(scope, "percent_agreement", "", "", report.percent_agreement)
        for (a, b), fig in report.pairwise_cohen.items():
            add(scope, "cohen_kappa", a, b, fig)
        for name in self.annotators:
            add(
                scope,
                "agreement_with_others",
                name,
                "",
                report.per_coder.get(name, _no_pairs(name)),
            )
        for article_id, group in report.groups.items():
            where = f"article {article_id}"
            title = self._title(article_id)
            add(where, "krippendorff_alpha", title, "", group.krippendorff_alpha)
            add(where, "fleiss_kappa", title, "", group.fleiss_kappa)
            add(where, "percent_agreement", title, "", group.percent_agreement)
        labels = self.confusion.labels
        for i, label_a in enumerate(labels):
            for j in range(i, len(labels)):
                count = self.confusion.counts[i][j]
                rows.append([scope, "stance_pairs", label_a, labels[j], count, count, ""])
        if self.topic is not None:
            add(scope, "topic_krippendorff_alpha", "", "", self.topic.krippendorff_alpha)
            add(scope, "topic_percent_agreement", "", "", self.topic.percent_agreement)
        for mode, fig in self.spans.micro.items():
            add(scope, f"span_f1_{mode}", "", "", fig)
        for (a, b), figures in self.spans.pairs.items():
            for mode, fig in figures.items():
                add(scope, f"span_f1_{mode}", a, b, fig)
        return rows

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        for row in self.csv_rows():
            writer.writerow([neutralise(cell) for cell in row])
        return out.getvalue()


def _no_pairs(_name: str) -> agreement.Figure:
    return agreement.Figure(
        None, 0, "not enough data: no item this coder coded was coded by another"
    )


def _topic_dict(report: agreement.AgreementReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "n_items": report.n_items,
        "krippendorff_alpha": report.krippendorff_alpha.as_dict(),
        "percent_agreement": report.percent_agreement.as_dict(),
    }


def agreement_corpus(user, slug: str) -> tuple[Corpus, Access]:
    """The corpus and the caller's access when they may read its agreement figures: 404 to
    non-members, 403 to annotators of a blind corpus (see Access.may_see_agreement). Shared by
    the page and the API."""
    corpus, access = selectors.corpus_with_access(user, slug)
    if not access.may_see_agreement():
        raise PermissionDenied(
            "In a blind corpus only curators, owners and viewers see the agreement figures."
        )
    return corpus, access


def scope_article(corpus: Corpus, raw: str | None) -> Article | None:
    """The `?article=` scope: None for the whole corpus; Http404 for an id not in this corpus."""
    if not raw:
        return None
    article = (
        Article.objects.alive()
        .filter(pk=selectors.parse_id(raw), corpus=corpus)
        .defer("text")
        .first()
    )
    if article is None:
        raise Http404("No such article in this corpus.")
    return article


def corpus_agreement(
    corpus: Corpus, *, article: Article | None = None, submitted_only: bool = False
) -> CorpusAgreement:
    """All the agreement figures of `corpus` (or of one of its articles), in five queries.

    `corpus` and `article` must have been fetched with permission by the caller.
    """
    claims = Claim.objects.alive().filter(article__corpus=corpus, article__deleted_at__isnull=True)
    annotations = Annotation.objects.alive().filter(
        claim__article__corpus=corpus, claim__article__deleted_at__isnull=True
    )
    assignments = Assignment.objects.filter(
        article__corpus=corpus, article__deleted_at__isnull=True
    )
    articles = Article.objects.alive().filter(corpus=corpus)
    if article is not None:
        claims = claims.filter(article=article)
        annotations = annotations.filter(claim__article=article)
        assignments = assignments.filter(article=article)
        articles = articles.filter(pk=article.pk)
    if submitted_only:
        annotations = annotations.filter(status=AnnotationStatus.SUBMITTED)

    rows = list(
        annotations.order_by().values_list(
            "claim_id",
            "claim__article_id",
            "claim__start",
            "claim__end",
            "annotator__username",
            "topic_id",
            "stance",
        )
    )
    created = list(
        claims.placed().order_by().values_list("article_id", "start", "end", "created_by__username")
    )
    worked = set(assignments.order_by().values_list("article_id", "annotator__username"))
    titles = dict(articles.order_by("id").values_list("id", "title"))
    topic_labels = dict(
        Topic.objects.filter(corpus=corpus).order_by("position", "id").values_list("id", "label")
    )

    article_of: dict[Hashable, int] = {}
    stance_ratings = []
    topic_ratings = []
    stance_counts: dict[str, Counter] = defaultdict(Counter)
    spans: dict[str, set[tuple[int, int, int]]] = defaultdict(set)
    for claim_id, article_id, start, end, username, topic_id, stance in rows:
        item = (claim_id, topic_id)
        article_of[item] = article_id
        stance_ratings.append((item, username, stance))
        topic_ratings.append((claim_id, username, topic_id))
        stance_counts[username][stance] += 1
        user_spans = spans[username]
        if start is not None and end is not None:  # an orphan's tags count, but it has no span
            user_spans.add((article_id, start, end))
    annotators = sorted(spans)
    coders = set(annotators)
    # Claims an annotator created count as their spans too (only for people who annotate here).
    for article_id, start, end, username in created:
        if username in coders and start is not None and end is not None:
            spans[username].add((article_id, start, end))
    for username, user_spans in spans.items():
        worked.update((article_id, username) for article_id, _, _ in user_spans)

    stance_report = agreement.report(stance_ratings, group_by=lambda item: article_of[item])
    # Every live article in scope gets a group, even with no annotations, so pages can say so.
    groups: dict[Hashable, agreement.AgreementReport] = {
        aid: stance_report.groups.get(aid) or agreement.report([]) for aid in titles
    }
    stance_report = _with_groups(stance_report, groups)
    topic = agreement.report(topic_ratings) if len(topic_labels) >= 2 else None
    return CorpusAgreement(
        corpus=corpus,
        article=article,
        submitted_only=submitted_only,
        stance=stance_report,
        confusion=agreement.confusion(stance_ratings, labels=STANCES),
        topic=topic,
        spans=_span_figures(spans, worked, annotators, list(titles)),
        stance_counts=dict(stance_counts),
        annotators=annotators,
        article_titles=titles,
        topic_labels=topic_labels,
    )


def _with_groups(
    report: agreement.AgreementReport, groups: dict[Hashable, agreement.AgreementReport]
) -> agreement.AgreementReport:
    return replace(report, groups=groups)


def _span_figures(
    spans: dict[str, set[tuple[int, int, int]]],
    worked: set[tuple[int, str]],
    annotators: list[str],
    article_ids: list[int],
) -> SpanFigures:
    worked_by: dict[str, set[int]] = defaultdict(set)
    for article_id, username in worked:
        worked_by[username].add(article_id)

    pairs: dict[tuple[str, str], dict[str, agreement.Figure]] = {}
    # Pooled counts: two virtual coders, one document per (pair, article), so the library's
    # single pair is exactly the micro average over every pair on every shared article.
    pooled: dict[str, set[tuple[Hashable, int, int]]] = {"first": set(), "second": set()}
    any_shared = False
    for i, a in enumerate(annotators):
        for b in annotators[i + 1 :]:
            shared = worked_by[a] & worked_by[b]
            spans_a = {s for s in spans[a] if s[0] in shared}
            spans_b = {s for s in spans[b] if s[0] in shared}
            if not shared:
                none = agreement.Figure(None, 0, "not enough data: no article worked on by both")
                pairs[(a, b)] = {"exact": none, "overlap": none}
                continue
            any_shared = True
            result = agreement.span_agreement({a: spans_a, b: spans_b})
            pairs[(a, b)] = result["pairs"][(a, b)]
            pooled["first"].update(((a, b, d), s, e) for d, s, e in spans_a)
            pooled["second"].update(((a, b, d), s, e) for d, s, e in spans_b)
    if any_shared:
        micro = agreement.span_agreement(pooled)["pairs"][("first", "second")]
    else:
        reason = (
            agreement.FEWER_THAN_TWO_CODERS
            if len(annotators) < 2
            else "not enough data: no article worked on by two annotators"
        )
        micro = {mode: agreement.Figure(None, 0, reason) for mode in ("exact", "overlap")}

    per_article: dict[int, dict[str, agreement.Figure]] = {}
    for article_id in article_ids:
        coders = {
            name: {s for s in spans[name] if s[0] == article_id}
            for name in annotators
            if article_id in worked_by[name]
        }
        per_article[article_id] = agreement.span_agreement(coders)["micro"]
    return SpanFigures(pairs=pairs, micro=micro, per_article=per_article)
