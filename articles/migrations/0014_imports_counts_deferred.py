# The counting triggers stand aside while a bulk import counts its new articles itself
# (articles/counters.py, `deferred`): PostgreSQL's trigger functions now read a setting local to
# the transaction first. And on PostgreSQL the articles' text is compressed with LZ4 instead of
# pglz: compressing each new text took pglz about 0.2 ms (a third of the database's time for
# the articles of an import), LZ4 about a quarter of that, and it reads back faster too
# (bench/README.md, "The import with spans"). Texts stored before stay as they are; both read.

from django.db import migrations


def install_triggers(apps, schema_editor):
    from articles import counters

    counters.install_triggers(schema_editor)


def _lz4_available(cursor) -> bool:
    cursor.execute(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def text_compression(method: str):
    def change(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            if method == "lz4" and not _lz4_available(cursor):
                return  # a server built without LZ4: pglz, as before
            cursor.execute(
                f"ALTER TABLE articles_article ALTER COLUMN text SET COMPRESSION {method}"
            )

    return change


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0013_counters"),
    ]

    operations = [
        # Going back keeps the triggers as they are: they count the same rows either way.
        migrations.RunPython(install_triggers, migrations.RunPython.noop),
        migrations.RunPython(text_compression("lz4"), text_compression("pglz")),
    ]
