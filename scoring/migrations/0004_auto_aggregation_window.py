# The automatic aggregation's debounce window per project (issue 8, item 7).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0001_initial'),
        ('scoring', '0003_scorers'),
    ]

    operations = [
        migrations.CreateModel(
            name='AutoAggregation',
            fields=[
                ('project', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='auto_aggregation', serialize=False, to='annotation.project')),
                ('queued_at', models.DateTimeField()),
            ],
        ),
    ]
