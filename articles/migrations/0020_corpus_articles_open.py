# A corpus's live articles with at least one assignment not yet submitted, kept by the counting
# triggers (articles/counters.py): the articles list filtered by `state=assigned` gives its
# `count` from it to a member who sees every assignment, instead of counting the corpus. As in
# 0019: the triggers are replaced by those that keep it, then it is counted from the rows; the
# column is added by ALTER TABLE on both databases (SQLite's table rebuild would fail, since the
# triggers on other tables name this one).

from django.db import migrations, models


def forwards(apps, schema_editor):
    from articles import counters

    counters.install_triggers(schema_editor, submitted=True, open_=True)
    counters.fill_open(schema_editor)


def backwards(apps, schema_editor):
    from articles import counters

    counters.install_triggers(schema_editor, submitted=True, open_=False)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0019_corpus_articles_submitted"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE articles_corpuscounts "
                    "ADD COLUMN articles_open integer NOT NULL DEFAULT 0",
                    "ALTER TABLE articles_corpuscounts DROP COLUMN articles_open",
                ),
            ],
            state_operations=[
                migrations.AddField(
                    model_name="corpuscounts",
                    name="articles_open",
                    field=models.IntegerField(default=0),
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
