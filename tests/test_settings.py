"""Configuration from the environment: secrets, production defaults, database tuning."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("key", ["", "change-me", "django-insecure-abc123"])
def test_production_refuses_a_missing_or_known_secret(key, tmp_path):
    result = _manage(
        "check", DJANGO_SECRET_KEY=key, DJANGO_SECRET_KEY_FILE=str(tmp_path / "no-such-file")
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("content", ["change-me\n", ""])
def test_a_key_file_with_a_known_or_empty_key_is_refused(content, tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(content)
    result = _manage("check", DJANGO_SECRET_KEY_FILE=str(key_file))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_management_commands_read_the_key_that_make_run_keeps(tmp_path):
    """After `make run`, `manage.py createsuperuser` and friends work without exporting the
    key by hand: the key comes from the file (here a stand-in for .secret_key)."""
    key = "a-long-random-local-key-" + "k3Y8" * 10
    key_file = tmp_path / "secret_key"
    key_file.write_text(key + "\n")
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        DJANGO_SECRET_KEY_FILE=str(key_file),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == key


def test_production_settings_pass_the_deploy_check():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="a-long-random-production-key-" + "x7Q9" * 10,
        DJANGO_ALLOWED_HOSTS="annotator.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_unless_asked():
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)",
        DJANGO_SECRET_KEY="a-long-random-production-key-" + "x7Q9" * 10,
    )
    assert result.stdout.split()[-2:] == ["False", "True"], result.stderr


@pytest.mark.django_db
def test_database_is_tuned_for_its_engine():
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys")
            assert cursor.fetchone()[0] == 1
        options = settings.DATABASES["default"]["OPTIONS"]
        assert options["transaction_mode"] == "IMMEDIATE"
        assert "journal_mode=WAL" in options["init_command"]
        # kept open between requests: opening one cost more than a short API request's work
        assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    else:
        assert connection.vendor == "postgresql"
        assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
        # the project's backend: a health check without a round trip, prepared reads
        assert settings.DATABASES["default"]["ENGINE"] == "annotator.db.postgresql"


@pytest.mark.parametrize("value", ["", "0"])
def test_postgresql_gets_the_projects_backend_and_prepared_statements_can_be_off(value):
    """DATABASE_PREPARED_STATEMENTS=0 (e.g. behind a pooler in transaction mode) turns psycopg's
    prepared statements off, as Django has them; the primary and the replica alike."""
    env = {"DATABASE_PREPARED_STATEMENTS": value} if value else {}
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; d = settings.DATABASES; "
        "print(*[(d[a]['ENGINE'], d[a]['CONN_HEALTH_CHECKS'], "
        "'prepare_threshold' in d[a]['OPTIONS'] and d[a]['OPTIONS']['prepare_threshold']) "
        "for a in ('default', 'replica')])",
        DJANGO_DEBUG="1",
        DATABASE_URL="postgres://someone@db.invalid:5432/annotator",
        DATABASE_REPLICA_URL="postgres://someone@replica.invalid:5432/annotator",
        **env,
    )
    kept = "None" if value == "0" else "False"
    expected = f"('annotator.db.postgresql', True, {kept})"
    assert result.stdout.split("\n")[-2] == f"{expected} {expected}", result.stderr


def test_sqlite_file_databases_use_wal(tmp_path):
    """The run command's SQLite file really ends up in WAL mode (tests use in-memory DBs)."""
    db = tmp_path / "wal.sqlite3"
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])",
        DJANGO_DEBUG="1",
        DATABASE_URL=f"sqlite:///{db}",
    )
    assert result.stdout.split()[-1:] == ["wal"], result.stderr
