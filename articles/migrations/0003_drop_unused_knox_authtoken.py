# knox's own migrations create knox_authtoken even though KNOX_TOKEN_MODEL swaps in
# articles.ApiToken (they lack the `swappable` option). The table is never used, but its foreign
# key to auth_user makes `flush` (and so every transactional test on PostgreSQL) fail with
# "cannot truncate a table referenced in a foreign key constraint". Drop it when swapped.

from django.conf import settings
from django.db import migrations


def drop_unused_table(apps, schema_editor):
    if getattr(settings, "KNOX_TOKEN_MODEL", "knox.AuthToken") == "knox.AuthToken":
        return
    if "knox_authtoken" in schema_editor.connection.introspection.table_names():
        schema_editor.execute("DROP TABLE knox_authtoken")


class Migration(migrations.Migration):

    dependencies = [
        ("articles", "0002_apitoken"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(drop_unused_table, migrations.RunPython.noop)]
