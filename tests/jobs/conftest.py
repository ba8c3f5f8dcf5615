"""Fixtures for the background jobs: job files in this test's own folder, short leases."""

from __future__ import annotations

import pytest
from django.core.files.storage import FileSystemStorage

from articles.models import Job
from tests.api.conftest import _fresh_throttles, anon, client_for  # noqa: F401  (API fixtures)


@pytest.fixture(autouse=True)
def jobs_storage(tmp_path, monkeypatch, settings):
    """STORAGES["jobs"] is read once, when the model loads; tests swap the field's storage."""
    storage = FileSystemStorage(location=tmp_path / "jobs")
    monkeypatch.setattr(Job._meta.get_field("file"), "storage", storage)
    settings.JOBS_HEARTBEAT_SECONDS = 0.05
    settings.JOBS_LEASE_SECONDS = 30
    settings.JOBS_MAX_ATTEMPTS = 3
    return storage


def files_in(storage: FileSystemStorage) -> list[str]:
    """Every file under the storage's folder, temporary ones included, relative to it."""
    from pathlib import Path

    root = Path(storage.location)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
