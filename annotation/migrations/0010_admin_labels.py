from django.db import migrations


class Migration(migrations.Migration):
    """Labels only: the admin index said "Import batchs"."""

    dependencies = [
        ("annotation", "0009_pairwise_method"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="importbatch",
            options={"ordering": ["-created_at"], "verbose_name_plural": "import batches"},
        ),
    ]
