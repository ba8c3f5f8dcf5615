# Counters of live work per article and per corpus, kept by database triggers
# (articles/counters.py explains why triggers), filled here for the existing rows.

import django.db.models.deletion
from django.db import migrations, models


def forwards(apps, schema_editor):
    from articles import counters

    counters.fill(schema_editor)
    counters.install_triggers(schema_editor)


def backwards(apps, schema_editor):
    from articles import counters

    counters.drop_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0012_suggest_jobs"),
    ]

    operations = [
        migrations.CreateModel(
            name="ArticleCounts",
            fields=[
                (
                    "article",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="counts",
                        serialize=False,
                        to="articles.article",
                    ),
                ),
                ("claims", models.IntegerField(default=0)),
                ("annotations", models.IntegerField(default=0)),
                ("reviewed", models.IntegerField(default=0)),
                ("claims_tagged", models.IntegerField(default=0)),
                ("assignments", models.IntegerField(default=0)),
                ("assignments_submitted", models.IntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="CorpusCounts",
            fields=[
                (
                    "corpus",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="counts",
                        serialize=False,
                        to="articles.corpus",
                    ),
                ),
                ("articles", models.IntegerField(default=0)),
                ("claims", models.IntegerField(default=0)),
                ("annotations", models.IntegerField(default=0)),
                ("reviewed", models.IntegerField(default=0)),
                ("claims_tagged", models.IntegerField(default=0)),
                ("assignments", models.IntegerField(default=0)),
                ("assignments_submitted", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
