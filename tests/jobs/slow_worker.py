"""`manage.py jobs_worker` with exports slowed down (SLOW_EXPORT_SECONDS seconds per article),
so that a test can kill the worker in the middle of a job. Run as a script by test_worker.py."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from articles.exports import fragments, jsonl, reader  # noqa: E402

delay = float(os.environ.get("SLOW_EXPORT_SECONDS", "0"))
assemble = reader._assemble


def slow_assemble(raw, labels, names):
    rows = assemble(raw, labels, names)
    time.sleep(delay * len(rows))
    return rows


reader._assemble = slow_assemble
jsonl._assemble = slow_assemble  # JSONL's batch writer (PostgreSQL) assembles the rows itself
batch_lines = fragments._batch_lines


def slow_batch_lines(queries, names, run, article_ids):
    # JSONL on SQLite: the lines written by the database (`fragments`).
    lines = batch_lines(queries, names, run, article_ids)
    time.sleep(delay * len(lines))
    return lines


fragments._batch_lines = slow_batch_lines
call_command("jobs_worker", interval=0.1, verbosity=0)
