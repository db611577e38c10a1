from django.db import migrations, models

import annotation.models.projects
import annotation.models.targets


class Migration(migrations.Migration):
    """Composition targets (DESIGN 4.5): shares of response origins and prompt sources."""

    dependencies = [
        ("annotation", "0011_checks_thresholds"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="origin_targets",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=annotation.models.projects.ORIGIN_TARGETS_HELP,
                validators=[annotation.models.targets.validate_origin_targets],
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="source_targets",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=annotation.models.projects.SOURCE_TARGETS_HELP,
                validators=[annotation.models.targets.validate_source_targets],
            ),
        ),
    ]
