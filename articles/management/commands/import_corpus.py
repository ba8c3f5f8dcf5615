"""Import a file into a corpus, all or nothing: the same rules as the API's import."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from articles import imports
from articles.models import Corpus, Role


class Command(BaseCommand):
    help = (
        "Imports FILE (JSON Lines, a brat zip, text, Markdown, HTML, PDF or Word .docx, "
        "recognised by its content) into the corpus. "
        "Nothing is written unless the whole file is valid; every bad line is listed. "
        "An administrator's tool: runs with an owner's rights, as --as (default: the corpus's "
        "creator), who is recorded as the importer and, for brat stances, as the annotator."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the corpus's slug")
        parser.add_argument("file", help="the file to import")
        parser.add_argument("--as", dest="username", help="import as this user")
        parser.add_argument("--title", help="title of a single text article")

    def handle(self, *args, slug: str, file: str, username: str | None, title=None, **options):
        corpus = Corpus.objects.filter(slug=slug).first()
        if corpus is None:
            raise CommandError(f"No corpus with the slug {slug!r}.")
        if username:
            actor = get_user_model().objects.filter(username=username).first()
            if actor is None:
                raise CommandError(f"No user {username!r}.")
        else:
            actor = corpus.created_by
        kind = imports.kind_for_name(file)  # a hint: the content decides
        try:
            with open(file, "rb") as stream:
                result = imports.import_upload(
                    actor=actor,
                    corpus=corpus,
                    role=Role.OWNER,
                    kind=kind,
                    name=file,
                    file=stream,
                    title=title,
                )
        except OSError as error:
            raise CommandError(f"Cannot read {file!r}: {error}") from None
        except imports.ImportFailed as failure:
            for line, reason in failure.errors:
                self.stderr.write(failure.describe(line, reason))
            raise CommandError(str(failure)) from None
        counts = ", ".join(f"{n} {name}" for name, n in result.as_dict().items())
        self.stdout.write(self.style.SUCCESS(f"Imported into {slug!r}: {counts}."))
