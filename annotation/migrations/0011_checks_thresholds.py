import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    """The annotator checks' warning thresholds (DESIGN 4.5), project settings."""

    dependencies = [
        ("annotation", "0010_admin_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="check_min_gold_accuracy",
            field=models.FloatField(
                default=0.7,
                help_text="Warn when an annotator's gold accuracy is below this.",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(1.0),
                ],
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="check_min_agreement",
            field=models.FloatField(
                default=0.3,
                help_text="Warn when an annotator's agreement with the others (Pearson r with "
                "their mean rating, from the latest aggregation run) is below this.",
                validators=[
                    django.core.validators.MinValueValidator(-1.0),
                    django.core.validators.MaxValueValidator(1.0),
                ],
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="check_max_straight_lining",
            field=models.FloatField(
                default=0.5,
                help_text="Warn when more than this share of an annotator's Likert judgments "
                "give every criterion the same point.",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(1.0),
                ],
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="check_left_pick_p",
            field=models.FloatField(
                default=0.01,
                help_text="Warn when the binomial test of an annotator's left picks against 0.5 "
                "(position bias) gives a p-value below this.",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(1.0),
                ],
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="check_max_skip_rate",
            field=models.FloatField(
                default=0.3,
                help_text="Warn when an annotator skips more than this share of their tasks.",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(1.0),
                ],
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="check_min_n",
            field=models.PositiveIntegerField(
                default=5,
                help_text="Judge a share (gold, straight-lining, skips) only once it rests on "
                "at least this many answers.",
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(100000),
                ],
            ),
        ),
    ]
