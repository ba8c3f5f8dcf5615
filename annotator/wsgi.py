"""WSGI entry point (gunicorn annotator.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
application = get_wsgi_application()

# A worker's first export would otherwise compile the export's queries on the way.
from articles.exports import warm_up  # noqa: E402  (after the apps are loaded)

warm_up()
