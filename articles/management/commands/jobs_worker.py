"""Run background jobs: the queue's worker (database or Redis, as TASKS_BACKEND says) plus the
jobs' maintenance every JOBS_MAINTENANCE_SECONDS (dead workers' jobs, expired files).

    python manage.py jobs_worker            # until Ctrl-C / SIGTERM (finishes the job in hand)
    python manage.py jobs_worker --batch    # run what is queued, then stop
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from articles.jobs.maintenance import maintain
from articles.jobs.runner import new_worker_id
from articles.jobs.services import queue_is_database

logger = logging.getLogger("articles.jobs")


def _maintenance_loop(stop: threading.Event, interval: float) -> None:
    while True:
        try:
            report = maintain()
            if report.requeued or report.failed or report.resent or report.expired:
                logger.warning("Jobs maintenance: %s", report)
        except Exception:
            logger.exception("Jobs maintenance failed; trying again later")
        finally:
            connection.close()
        if stop.wait(interval):
            return


class Command(BaseCommand):
    help = "Run the background jobs worker (exports to files, large imports) and their upkeep."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then stop.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between looks at an empty queue."
        )

    def handle(self, *args: Any, batch: bool, interval: float, **options: Any) -> None:
        stop = threading.Event()
        maintenance = threading.Thread(
            target=_maintenance_loop,
            args=(stop, settings.JOBS_MAINTENANCE_SECONDS),
            name="jobs-maintenance",
            daemon=True,
        )
        maintenance.start()
        verbosity = options.get("verbosity", 1)
        try:
            if queue_is_database():
                call_command(
                    "db_worker",
                    queue_name="default",
                    interval=interval,
                    batch=batch,
                    reload=False,
                    startup_delay=False,
                    worker_id=new_worker_id()[-64:],
                    verbosity=verbosity,
                )
            else:
                call_command(
                    "rqworker",
                    "default",
                    job_class="django_tasks_rq.Job",
                    worker_class="articles.jobs.rq_worker.Worker",
                    burst=batch,
                    name=new_worker_id(),
                    verbosity=verbosity,
                )
        finally:
            stop.set()
