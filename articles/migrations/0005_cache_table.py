"""The database cache's table, so that a fresh install (and the test database) has the shared
cache the settings name by default without a manual `createcachetable`.

Throttle counts must be shared by every process serving the app; CACHE_URL's default is
`dbcache://annotator_cache`. The table is created even when CACHE_URL names Redis (an empty
table costs nothing, and switching back then needs no step). A database cache configured under
another table name at the time of this migration gets its table too.
"""

from django.conf import settings
from django.core.management import call_command
from django.db import migrations

DEFAULT_TABLE = "annotator_cache"  # settings.DATABASE_CACHE_TABLE when this migration was written
DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"


def _tables() -> list[str]:
    configured = {
        cache["LOCATION"]
        for cache in settings.CACHES.values()
        if cache.get("BACKEND") == DATABASE_CACHE and cache.get("LOCATION")
    }
    return sorted(configured | {DEFAULT_TABLE})


def create_cache_tables(apps, schema_editor) -> None:
    """Django's own `createcachetable` (idempotent: an existing table is left as it is)."""
    call_command(
        "createcachetable", *_tables(), database=schema_editor.connection.alias, verbosity=0
    )


def drop_cache_table(apps, schema_editor) -> None:
    quoted = schema_editor.connection.ops.quote_name(DEFAULT_TABLE)
    schema_editor.execute(f"DROP TABLE IF EXISTS {quoted}")


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0004_relation_unique_per_creator"),
    ]

    operations = [
        migrations.RunPython(create_cache_tables, drop_cache_table, elidable=False),
    ]
