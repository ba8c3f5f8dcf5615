# An annotation's claim needs no index of its own: the unique (claim, annotator) index starts
# with it and serves every lookup by claim, and one index fewer is written per annotation
# (imports, bulk writes). The index is dropped by name rather than by altering the field, which on
# SQLite would rebuild the table and lose the counting triggers on it (articles/counters.py).

import django.db.models.deletion
from django.db import migrations, models

INDEX = "articles_annotation_claim_id_57e816f2"  # the name Django gave it, on both databases


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0014_imports_counts_deferred"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="annotation",
                    name="claim",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="annotations",
                        to="articles.claim",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX {INDEX} ON articles_annotation (claim_id)",
                ),
            ],
        ),
    ]
