import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0013_disputes_adjudications"),
    ]

    operations = [
        migrations.CreateModel(
            name="DashboardSnapshot",
            fields=[
                (
                    "project",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="dashboard_snapshot",
                        serialize=False,
                        to="annotation.project",
                    ),
                ),
                ("figures", models.JSONField(default=dict)),
                ("computed_at", models.DateTimeField()),
                ("stale_since", models.DateTimeField(blank=True, null=True)),
                ("queued_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
    ]
