"""Write a corpus export to a file or stdout: the same bytes as the API's export."""

from __future__ import annotations

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from articles import exports
from articles.models import Corpus


class Command(BaseCommand):
    help = (
        "Exports a corpus (jsonl, w3c, brat, csv or aif) with the API's filters, streamed to "
        "--output or stdout. An administrator's tool: no membership is checked."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the corpus's slug")
        parser.add_argument("--format", default="jsonl", choices=list(exports.FORMATS))
        parser.add_argument("--output", "-o", help="file to write (default: stdout)")
        parser.add_argument(
            "--article", action="append", default=[], help="article id (repeatable)"
        )
        parser.add_argument("--annotator", help="only this username's annotations")
        parser.add_argument("--status", help="draft or submitted annotations only")
        parser.add_argument("--gold-only", action="store_true", help="only accepted claims")
        parser.add_argument("--updated-since", help="ISO 8601 date or date-time")
        parser.add_argument(
            "--base-url",
            default="http://localhost:8000",
            help="site address that W3C annotation IRIs are built on",
        )

    def handle(self, *args, **options):
        corpus = Corpus.objects.filter(slug=options["slug"]).first()
        if corpus is None:
            raise CommandError(f"No corpus with the slug {options['slug']!r}.")
        params = {"format": [options["format"]], "article": options["article"]}
        for name in ("annotator", "status", "updated_since"):
            if options[name] is not None:
                params[name] = [options[name]]
        if options["gold_only"]:
            params["gold_only"] = ["true"]
        try:
            spec = exports.parse_export_params(corpus, params)
        except ValidationError as error:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            raise CommandError(problems) from None
        spec = exports.ExportSpec(
            corpus=corpus,
            format=spec.format,
            filters=spec.filters,
            base_url=options["base_url"],
        )
        if options["output"]:
            with open(options["output"], "wb") as file:
                for chunk in exports.stream(spec):
                    file.write(chunk)
            self.stderr.write(f"Wrote {options['output']}.")
        else:
            stdout = sys.stdout.buffer
            for chunk in exports.stream(spec):
                stdout.write(chunk)
            stdout.flush()
