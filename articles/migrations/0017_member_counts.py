# A member's own figures kept by the counting triggers (articles/member_counters.py): one row per
# membership, filled here from the rows, and the triggers replaced by those that keep them too.

import django.db.models.deletion
from django.db import migrations, models


def forwards(apps, schema_editor):
    from articles import counters, member_counters

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(member_counters.insert_from_rows(member_counters.MEMBERS))
    counters.install_triggers(schema_editor, members=True)


def backwards(apps, schema_editor):
    from articles import counters

    counters.install_triggers(schema_editor, members=False)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0016_claim_deleted_by_partial_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="MemberCounts",
            fields=[
                (
                    "membership",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="counts",
                        serialize=False,
                        to="articles.membership",
                    ),
                ),
                ("assigned", models.IntegerField(default=0)),
                ("submitted", models.IntegerField(default=0)),
                ("tags", models.IntegerField(default=0)),
                ("sub_annotations", models.IntegerField(default=0)),
                ("sub_reviewed", models.IntegerField(default=0)),
                ("sub_claims_tagged", models.IntegerField(default=0)),
                ("sub_assignments", models.IntegerField(default=0)),
                ("sub_assignments_submitted", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
