# The counting triggers stand aside while a bulk import counts its new articles itself
# (articles/counters.py, `deferred`): PostgreSQL's trigger functions read a setting local to
# the transaction, SQLite's triggers a table written only inside the importer's transaction.


from django.db import migrations


def forwards(apps, schema_editor):
    from articles import counters

    counters.install_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0013_counters"),
    ]

    # Going back keeps the triggers as they are: they count the same rows either way.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
