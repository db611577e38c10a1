# The judgments each aggregation run read, recorded on the run (issue 8, item 13).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='aggregationrun',
            name='likert_ids',
            field=models.BinaryField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='aggregationrun',
            name='pairwise_ids',
            field=models.BinaryField(blank=True, editable=False, null=True),
        ),
    ]
