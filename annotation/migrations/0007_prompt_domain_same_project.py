"""A prompt's domain belongs to the prompt's project, whatever writes it. With 0004 (a
response is in its prompt's project) this makes every task the task builder derives from a
project's responses lie wholly in that project, domain progress counters included.

PostgreSQL: a composite foreign key (domain_id, project_id) -> domain (id, project_id).
SQLite: triggers (see 0004 about tables that a later migration remakes there).
"""

from django.db import migrations
from django.db.models import F

CONSTRAINT = "prompt_domain_in_same_project"
MESSAGE = "prompt_domain_in_same_project: a prompt''s domain must belong to its project"

POSTGRESQL = [
    "ALTER TABLE annotation_domain ADD CONSTRAINT domain_id_project_unique UNIQUE (id, project_id)",
    f"ALTER TABLE annotation_prompt ADD CONSTRAINT {CONSTRAINT} "
    "FOREIGN KEY (domain_id, project_id) REFERENCES annotation_domain (id, project_id)",
]
POSTGRESQL_REVERSE = [
    f"ALTER TABLE annotation_prompt DROP CONSTRAINT {CONSTRAINT}",
    "ALTER TABLE annotation_domain DROP CONSTRAINT domain_id_project_unique",
]

_PROMPT_MISMATCH = (
    "EXISTS (SELECT 1 FROM annotation_domain d "
    "WHERE d.id = NEW.domain_id AND d.project_id IS NOT NEW.project_id)"
)
SQLITE = [
    f"CREATE TRIGGER {CONSTRAINT}_insert BEFORE INSERT ON annotation_prompt "
    f"WHEN {_PROMPT_MISMATCH} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER {CONSTRAINT}_update BEFORE UPDATE OF domain_id, project_id "
    f"ON annotation_prompt WHEN {_PROMPT_MISMATCH} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER {CONSTRAINT}_domain_move BEFORE UPDATE OF project_id ON annotation_domain "
    "WHEN EXISTS (SELECT 1 FROM annotation_prompt p "
    "WHERE p.domain_id = NEW.id AND p.project_id IS NOT NEW.project_id) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {CONSTRAINT}_insert",
    f"DROP TRIGGER IF EXISTS {CONSTRAINT}_update",
    f"DROP TRIGGER IF EXISTS {CONSTRAINT}_domain_move",
]


def forwards(apps, schema_editor) -> None:
    Prompt = apps.get_model("annotation", "Prompt")
    crossed = list(
        Prompt.objects.exclude(project_id=F("domain__project_id")).values_list("pk", flat=True)[:20]
    )
    if crossed:
        raise RuntimeError(
            "These prompts have a domain of another project; fix or delete them before "
            f"migrating (first {len(crossed)} ids): {crossed}"
        )
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}.get(vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("annotation", "0006_import_jobs")]

    operations = [migrations.RunPython(forwards, backwards)]
