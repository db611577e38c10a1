from django.db import migrations, models


class Migration(migrations.Migration):
    """The Celery task id of an aggregation run, so a redelivered task can fail the run its
    killed delivery left running."""

    dependencies = [
        ("scoring", "0006_aggregation_model_ranking"),
    ]

    operations = [
        migrations.AddField(
            model_name="aggregationrun",
            name="task_id",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
    ]
