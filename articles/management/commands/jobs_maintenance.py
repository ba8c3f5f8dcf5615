"""Jobs upkeep once (the worker also does it every JOBS_MAINTENANCE_SECONDS): queue again or
fail the jobs whose worker died, send again the jobs whose task was lost, remove expired files."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from articles.jobs.maintenance import maintain


class Command(BaseCommand):
    help = "Requeue or fail jobs whose worker died; remove expired job files."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(str(maintain()))
