"""The work of a job: an export written to a file by the existing writers, or an import of the
kept upload by the existing importer."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS

from .. import exports, imports
from ..exports.reader import ARTICLES_WRITTEN
from ..models import Article, Job, Membership
from ..permissions import Action, can
from ..replica import REPLICA, reads_from, replica_caught_up

if TYPE_CHECKING:
    from .runner import Heartbeat


class Refused(Exception):
    """The job cannot succeed as asked (another attempt would fail the same way)."""


@dataclass
class Outcome:
    path: str | None = None  # the complete file (exports)
    size: int | None = None
    result: dict[str, Any] = field(default_factory=dict)  # an import's counts
    finished: bool = False  # the job was marked done with the work (imports)


def _role(job: Job) -> str | None:
    return (
        Membership.objects.filter(corpus=job.corpus, user=job.created_by)
        .values_list("role", flat=True)
        .first()
    )


def export(job: Job, out: IO[bytes], heartbeat: Heartbeat) -> Outcome:
    """Write the export into `out`, recording progress as articles are written."""
    if not can(_role(job), Action.EXPORT):
        raise Refused("The member who asked for this export may no longer export this corpus.")
    try:
        spec = exports.parse_export_params(job.corpus, job.params.get("query", {}))
    except ValidationError as error:
        raise Refused(f"Invalid export parameters: {error.message_dict}") from None
    # The replica, once it has replayed what the primary had when the export was asked for.
    using = REPLICA if replica_caught_up(job.params.get("wal")) else DEFAULT_DB_ALIAS
    spec = exports.ExportSpec(
        corpus=spec.corpus,
        format=spec.format,
        filters=spec.filters,
        base_url=job.params.get("base_url") or spec.base_url,
        using=using,
    )
    with reads_from(using):
        total = spec.filters.select_articles(
            Article.objects.alive().filter(corpus=job.corpus)
        ).count()
    written = 0

    def count(articles: int) -> None:
        nonlocal written
        written += articles
        heartbeat.progress = written / total if total else 0.0

    # One snapshot for the whole export (exports.stream): REPEATABLE READ on PostgreSQL, a read
    # transaction on SQLite, which lets writers (the heartbeat's included) go on meanwhile.
    chunks = exports.stream(spec)
    token = ARTICLES_WRITTEN.set(count)
    size = 0
    try:
        for chunk in chunks:
            out.write(chunk)
            size += len(chunk)
            heartbeat.check()
    finally:
        ARTICLES_WRITTEN.reset(token)
        if isinstance(chunks, Generator):
            chunks.close()  # stops the export's reader thread and ends its transaction
    out.flush()
    return Outcome(path=out.name, size=size)


def import_(job: Job, heartbeat: Heartbeat) -> Outcome:
    """Import the kept upload, all or nothing (as the synchronous import), and mark the job done
    in the import's own transaction: the articles exist if and only if the job is done. The job
    row stays locked meanwhile, so maintenance cannot give it to another attempt half-way."""
    from django.db import transaction
    from django.utils import timezone

    from ..models import JobStatus
    from .runner import LeaseLost

    role = _role(job)
    storage = job.file.storage
    try:
        with transaction.atomic(), storage.open(job.params["upload"], "rb") as upload:
            owned = Job.objects.select_for_update().filter(
                pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
            )
            if not owned.exists():
                raise LeaseLost(f"job {job.pk} was given to another attempt")
            result = imports.import_upload(
                actor=job.created_by,
                corpus=job.corpus,
                role=role,
                kind=job.params.get("kind"),
                name=job.params.get("name") or "",
                file=upload,
                title=job.params.get("title"),
            )
            owned.update(
                status=JobStatus.DONE,
                progress=1.0,
                result=result.as_dict(),
                finished_at=timezone.now(),
                lease_until=None,
            )
    except PermissionDenied:
        raise Refused("The member who asked for this import may no longer import.") from None
    except imports.ImportFailed as failure:
        lines = [imports.ImportFailed.describe(line, reason) for line, reason in failure.errors]
        raise Refused(" ".join([str(failure), *lines[:20]])) from None
    return Outcome(result=result.as_dict(), finished=True)


def drop_upload(job: Job) -> None:
    name = job.params.get("upload")
    if name:
        job.file.storage.delete(name)


def suggest(job: Job, heartbeat: Heartbeat) -> Outcome:
    """The built-in suggester on each live article of the corpus (or on the articles the job
    names), one article per transaction, as the member who asked; progress after each article.
    Running it again adds only what this suggester's version had not suggested (the service
    skips the spans it stored already), so a retried attempt does not double anything."""
    from .. import services, suggester
    from ..access import Access

    role = _role(job)
    if not can(role, Action.REVIEW):
        raise Refused("The member who asked for these suggestions may no longer review them.")
    assert role is not None
    access = Access(user=job.created_by, corpus=job.corpus, role=role)
    articles = Article.objects.alive().filter(corpus=job.corpus)
    chosen = job.params.get("articles")
    if chosen:
        articles = articles.filter(pk__in=chosen)
    ids = list(articles.order_by("pk").values_list("pk", flat=True))
    created = 0
    done = 0
    for position, article_id in enumerate(ids, start=1):
        heartbeat.check()
        article = Article.objects.alive().filter(pk=article_id).select_related("corpus").first()
        if article is not None:  # deleted since the job started: skipped
            stored = services.suggestions_store_builtin(
                access=access,
                article=article,
                model=suggester.MODEL,
                items=suggester.suggest(article),
            )
            created += len(stored)
            done += 1
        heartbeat.progress = position / len(ids)
    return Outcome(result={"articles": done, "suggestions": created})
