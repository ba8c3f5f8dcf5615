"""Recount every corpus's (or the named corpora's) counters from the rows and repair them.

The database's triggers keep the counters (articles/counters.py); this is for a database
restored from a dump made without them, or rows written while the triggers were off.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from articles import counters
from articles.models import Corpus


class Command(BaseCommand):
    help = "Recount the counters (per article, corpus and member) from the rows, and repair them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slugs", nargs="*", help="corpora to recount (default: every one)")
        parser.add_argument(
            "--check", action="store_true", help="only report differences (exit 1 when any)"
        )

    def handle(self, *args, slugs: list[str], check: bool, **options) -> None:
        ids = None
        if slugs:
            found = dict(Corpus.objects.filter(slug__in=slugs).values_list("slug", "pk"))
            missing = sorted(set(slugs) - set(found))
            if missing:
                raise CommandError(f"No such corpus: {', '.join(missing)}.")
            ids = list(found.values())
        differences = counters.recount(ids, repair=not check)
        slug_of = dict(Corpus.objects.values_list("pk", "slug"))
        for d in differences:
            where = {
                "corpus": f"corpus {slug_of.get(d.key, d.key)}",
                "member": f"membership {d.key}",
            }.get(d.table, f"article {d.key}")
            kept = "missing" if d.kept is None else d.kept
            self.stdout.write(f"{where}: {d.field} kept {kept}, counted {d.counted}")
        verb = "found" if check else "repaired"
        self.stdout.write(f"{len(differences)} difference(s) {verb}.")
        if check and differences:
            raise SystemExit(1)
