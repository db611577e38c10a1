from django.db import migrations, models


class Migration(migrations.Migration):
    """The run's Arena-style Bradley-Terry ranking of generator models (DESIGN 5)."""

    dependencies = [
        ("scoring", "0005_metaevaluation_probes"),
    ]

    operations = [
        migrations.AddField(
            model_name="aggregationrun",
            name="model_ranking",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
