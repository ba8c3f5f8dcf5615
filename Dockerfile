# The app under gunicorn, and its background jobs worker (`python manage.py jobs_worker`), for
# docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 1000 annotator

COPY pyproject.toml README.md ./
COPY annotator ./annotator
COPY articles ./articles
RUN pip install --no-cache-dir .

COPY manage.py ./
COPY templates ./templates
COPY static ./static
COPY scripts/docker-entrypoint ./scripts/docker-entrypoint
# collectstatic needs settings; a throwaway key is enough to import them at build time.
RUN DJANGO_SECRET_KEY=build-only-not-used-at-runtime-$(date +%s%N) \
    python manage.py collectstatic --noinput -v 0

# Export files and uploads waiting for an import job (a volume shared by web and workers).
RUN mkdir -p /app/media/jobs && chown -R annotator /app/media
USER annotator
EXPOSE 8000
ENTRYPOINT ["/app/scripts/docker-entrypoint"]
CMD ["gunicorn", "annotator.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
