"""WSGI entry point (gunicorn annotator.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
application = get_wsgi_application()

# What a worker's first request would otherwise do on the way, done before it accepts one: the
# URLconf imports every view (some 400 modules, 0.2 s of CPU), and the export's queries
# (`exports.warm_up`). No database connection is opened.
from django.urls import get_resolver  # noqa: E402

from articles.exports import warm_up  # noqa: E402  (after the apps are loaded)

get_resolver().url_patterns  # noqa: B018  (loading it is the point)
warm_up()

# The export's second process, kept for this worker's exports (PostgreSQL; articles/exports/
# parallel.py, `Resident`): forked now, while no thread runs, and connected on its own.
# SQLite's (articles/exports/sqlite_resident.py) only while this process has no connection to the
# database open, which holds here.
from articles.exports.parallel import Resident  # noqa: E402
from articles.exports.sqlite_resident import SqliteResident  # noqa: E402

Resident.start_at_worker_start()
SqliteResident.start_at_worker_start()
