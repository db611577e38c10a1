from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0002_release_build_claim"),
    ]

    operations = [
        migrations.AddField(
            model_name="release",
            name="scorers",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
