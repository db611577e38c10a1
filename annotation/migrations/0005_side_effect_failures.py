# After-commit side effects that failed, counted per project (issue 8, item 7).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0004_response_prompt_same_project'),
    ]

    operations = [
        migrations.CreateModel(
            name='SideEffectFailure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('what', models.CharField(max_length=200)),
                ('count', models.PositiveBigIntegerField(default=0)),
                ('first_at', models.DateTimeField(auto_now_add=True)),
                ('last_at', models.DateTimeField()),
                ('last_error', models.TextField(blank=True)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='side_effect_failures', to='annotation.project')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('what', 'project'), name='one_side_effect_counter_per_project')],
            },
        ),
    ]
