"""A response belongs to its prompt's project, whatever writes it (admin, ORM, bulk_create,
COPY in annotation/bulk.py, raw SQL).

PostgreSQL: a composite foreign key (prompt_id, project_id) -> prompt (id, project_id), which
needs the pair to be unique on prompt (it is: id alone is). It also refuses moving a prompt
with responses to another project. SQLite cannot add a constraint to an existing table, so
triggers do the same there. A later migration that remakes either table on SQLite (Django
copies it into a new table) drops the triggers: run ``create_sqlite_triggers`` again there.
"""

from django.db import migrations
from django.db.models import F

CONSTRAINT = "response_prompt_in_same_project"
MESSAGE = "response_prompt_in_same_project: a response must belong to its prompt''s project"

POSTGRESQL = [
    "ALTER TABLE annotation_prompt ADD CONSTRAINT prompt_id_project_unique UNIQUE (id, project_id)",
    f"ALTER TABLE annotation_response ADD CONSTRAINT {CONSTRAINT} "
    "FOREIGN KEY (prompt_id, project_id) REFERENCES annotation_prompt (id, project_id) "
    "ON DELETE CASCADE",
]
POSTGRESQL_REVERSE = [
    f"ALTER TABLE annotation_response DROP CONSTRAINT {CONSTRAINT}",
    "ALTER TABLE annotation_prompt DROP CONSTRAINT prompt_id_project_unique",
]

_RESPONSE_MISMATCH = (
    "EXISTS (SELECT 1 FROM annotation_prompt p "
    "WHERE p.id = NEW.prompt_id AND p.project_id IS NOT NEW.project_id)"
)
SQLITE = [
    f"CREATE TRIGGER {CONSTRAINT}_insert BEFORE INSERT ON annotation_response "
    f"WHEN {_RESPONSE_MISMATCH} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER {CONSTRAINT}_update BEFORE UPDATE OF prompt_id, project_id "
    f"ON annotation_response WHEN {_RESPONSE_MISMATCH} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER {CONSTRAINT}_prompt_move BEFORE UPDATE OF project_id ON annotation_prompt "
    "WHEN EXISTS (SELECT 1 FROM annotation_response r "
    "WHERE r.prompt_id = NEW.id AND r.project_id IS NOT NEW.project_id) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {CONSTRAINT}_insert",
    f"DROP TRIGGER IF EXISTS {CONSTRAINT}_update",
    f"DROP TRIGGER IF EXISTS {CONSTRAINT}_prompt_move",
]


def _run(schema_editor, statements) -> None:
    for sql in statements:
        schema_editor.execute(sql)


def create_sqlite_triggers(schema_editor) -> None:
    _run(schema_editor, SQLITE)


def forwards(apps, schema_editor) -> None:
    Response = apps.get_model("annotation", "Response")
    crossed = list(
        Response.objects.exclude(project_id=F("prompt__project_id")).values_list("pk", flat=True)[
            :20
        ]
    )
    if crossed:
        raise RuntimeError(
            "These responses belong to another project than their prompt; fix or delete them "
            f"before migrating (first {len(crossed)} ids): {crossed}"
        )
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRESQL)
    elif vendor == "sqlite":
        create_sqlite_triggers(schema_editor)


def backwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_REVERSE)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("annotation", "0003_api_tokens")]

    operations = [migrations.RunPython(forwards, backwards)]
