"""Compute the stored embeddings of claims that have none, or an outdated one (another model,
or a text that changed since): `python manage.py embed_claims [SLUG ...]`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from articles import similarity
from articles.models import Claim, Corpus


class Command(BaseCommand):
    help = "Embed the claims that have no stored vector or an outdated one (similar claims)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", help="Corpora to embed (default: every corpus).")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args: Any, slugs: list[str], batch_size: int, **options: Any) -> None:
        claims = Claim.objects.alive().filter(article__deleted_at__isnull=True)
        if slugs:
            known = set(Corpus.objects.filter(slug__in=slugs).values_list("slug", flat=True))
            unknown = sorted(set(slugs) - known)
            if unknown:
                raise CommandError(f"No corpus {', '.join(unknown)}.")
            claims = claims.filter(article__corpus__slug__in=slugs)
        started = time.perf_counter()
        outdated = similarity.outdated_claims(claims)
        done = similarity.embed_missing(outdated, batch_size=batch_size)
        seconds = time.perf_counter() - started
        self.stdout.write(f"Embedded {done} claims in {seconds:.1f} s.")
