"""Load the demo corpus and its demo users, then print the logins."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from articles import demo


class Command(BaseCommand):
    help = (
        "Loads the demo corpus 'chip-export-oped' (sample articles, tagged claims, reviews) and "
        "demo users for each role, with known passwords. Development only: refuses to run when "
        "DEBUG is off unless --force. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo corpus and create it afresh (the demo users are kept).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off. Demo accounts have published passwords: "
            "never use this on a server others can reach.",
        )

    def handle(self, *args, reset: bool = False, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "load_demo creates accounts with published passwords, so it refuses to run "
                "when DEBUG is off (a production setting). Set DJANGO_DEBUG=1 for a local "
                "trial, or pass --force if you really mean it."
            )
        result = demo.load(reset=reset)
        if result.loaded:
            counts = ", ".join(f"{n} {name}" for name, n in result.counts.items())
            verb = "reloaded" if reset else "loaded"
            self.stdout.write(self.style.SUCCESS(f"Demo corpus {result.slug!r} {verb}: {counts}."))
        else:
            self.stdout.write(
                f"Demo corpus already loaded ({result.slug!r}); nothing changed. "
                "Use --reset to recreate it."
            )
        self.stdout.write("")
        self.stdout.write("Demo logins (for local use only):")
        width = max(len("username"), *(len(login.username) for login in result.logins))
        self.stdout.write(f"  {'username'.ljust(width)}  {'role'.ljust(9)}  password")
        for login in result.logins:
            self.stdout.write(
                f"  {login.username.ljust(width)}  {login.role.ljust(9)}  {login.password}"
            )
