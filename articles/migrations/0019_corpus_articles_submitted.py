# A corpus's live articles with at least one submitted assignment, kept by the counting triggers
# (articles/counters.py): the corpus page's "submitted by someone" and "by no one" are read from
# it instead of counted. The triggers are replaced by those that keep it, then it is counted
# from the rows. The column is added by ALTER TABLE on both databases: Django's SQLite way
# (a new table copied and renamed) fails, since the triggers on other tables name this one.

from django.db import migrations, models


def forwards(apps, schema_editor):
    from articles import counters

    counters.install_triggers(schema_editor, submitted=True)
    counters.fill_submitted(schema_editor)


def backwards(apps, schema_editor):
    from articles import counters

    counters.install_triggers(schema_editor, submitted=False)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0018_assignment_mine_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE articles_corpuscounts "
                    "ADD COLUMN articles_submitted integer NOT NULL DEFAULT 0",
                    "ALTER TABLE articles_corpuscounts DROP COLUMN articles_submitted",
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name="corpuscounts",
                    name="articles_submitted",
                    field=models.IntegerField(default=0),
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
