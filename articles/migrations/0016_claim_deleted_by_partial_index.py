# A claim's `deleted_by` is indexed only where it is set (the trashed claims): the PROTECT check
# when a user is deleted still finds them by index, and inserting a live claim, almost every row
# (imports, bulk writes), writes one index entry fewer. The old index is dropped by name rather
# than by altering the field, which on SQLite would rebuild the table and lose its counting
# triggers (articles/counters.py).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEX = "articles_claim_deleted_by_id_808f902a"  # the name Django gave it, on both databases


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0015_annotation_claim_index_redundant"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="claim",
                    name="deleted_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX {INDEX} ON articles_claim (deleted_by_id)",
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                condition=models.Q(("deleted_by__isnull", False)),
                fields=["deleted_by"],
                name="claim_deleted_by",
            ),
        ),
    ]
