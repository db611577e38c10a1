"""A response always belongs to its prompt's project, and a prompt's domain to the prompt's
project, whatever writes them: the model's clean() says so in words, and the database
refuses them on every path (issue 8, item 2)."""

import importlib
import sqlite3

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from annotation.bulk import bulk_insert
from annotation.models import Prompt, Response
from annotation.models.items import RESPONSE_PROMPT_PROJECT_MESSAGE
from annotation.services.projects import project_create

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("annotation.migrations.0004_response_prompt_same_project")
DOMAINS = importlib.import_module("annotation.migrations.0007_prompt_domain_same_project")


@pytest.fixture
def prompts(project):
    other = project_create(slug="other", name="Other", domains=[{"name": "general"}])
    return {
        p: Prompt.objects.create(
            project=p, domain=p.domains.get(), external_id=p.slug, text="t", content_hash="h"
        )
        for p in (project, other)
    }


def _crossed(prompts) -> Response:
    (mine, theirs) = prompts
    return Response(
        project=mine, prompt=prompts[theirs], text="r", external_id="r1", content_hash="h"
    )


def _refused(constraint: str = MIGRATION.CONSTRAINT):
    return pytest.raises((IntegrityError, psycopg.IntegrityError), match=constraint)


def test_clean_explains_a_response_in_another_project_than_its_prompt(prompts):
    with pytest.raises(ValidationError) as raised:
        _crossed(prompts).full_clean()
    assert raised.value.message_dict["prompt"] == [RESPONSE_PROMPT_PROJECT_MESSAGE]


def test_the_database_refuses_a_crossed_response_from_the_orm(prompts):
    with _refused(), transaction.atomic():
        _crossed(prompts).save()
    assert not Response.objects.exists()


def test_the_database_refuses_a_crossed_response_from_bulk_create(prompts):
    with _refused(), transaction.atomic():
        Response.objects.bulk_create([_crossed(prompts)])
    assert not Response.objects.exists()


def test_the_database_refuses_a_crossed_response_from_copy(prompts):
    (mine, theirs) = prompts
    columns = ["project_id", "prompt_id", "text", "model_name", "external_id", "content_hash"]
    with _refused(), transaction.atomic():
        bulk_insert(Response, columns, [(mine.pk, prompts[theirs].pk, "r", "m", "r1", "h")])
    assert not Response.objects.exists()


def test_the_database_refuses_moving_a_response_or_its_prompt_to_another_project(prompts):
    (mine, theirs) = prompts
    response = Response.objects.create(
        project=mine, prompt=prompts[mine], text="r", external_id="r1", content_hash="h"
    )
    with _refused(), transaction.atomic():
        Response.objects.filter(pk=response.pk).update(project=theirs)
    with _refused(), transaction.atomic():
        Prompt.objects.filter(pk=prompts[mine].pk).update(project=theirs)
    response.refresh_from_db()
    assert response.project == mine and response.prompt.project == mine


def test_a_response_in_its_prompts_project_is_stored(prompts):
    (mine, _) = prompts
    response = Response(
        project=mine, prompt=prompts[mine], text="r", external_id="r1", content_hash="h"
    )
    response.full_clean()
    response.save()
    assert Response.objects.get().prompt.project == mine


def test_the_sqlite_triggers_refuse_the_same_rows():
    """`make dev` runs on SQLite: the migration's triggers, on the same two tables."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE annotation_prompt (id INTEGER PRIMARY KEY, project_id INTEGER)")
    db.execute(
        "CREATE TABLE annotation_response "
        "(id INTEGER PRIMARY KEY, prompt_id INTEGER, project_id INTEGER)"
    )
    for sql in MIGRATION.SQLITE:
        db.execute(sql)
    db.executemany("INSERT INTO annotation_prompt VALUES (?, ?)", [(1, 10), (2, 20)])
    db.execute("INSERT INTO annotation_response VALUES (1, 1, 10)")
    refused = [
        "INSERT INTO annotation_response VALUES (2, 2, 10)",
        "UPDATE annotation_response SET project_id = 20 WHERE id = 1",
        "UPDATE annotation_response SET prompt_id = 2 WHERE id = 1",
        "UPDATE annotation_prompt SET project_id = 20 WHERE id = 1",
    ]
    for sql in refused:
        with pytest.raises(sqlite3.IntegrityError, match=MIGRATION.CONSTRAINT):
            db.execute(sql)
    assert db.execute("SELECT id, prompt_id, project_id FROM annotation_response").fetchall() == [
        (1, 1, 10)
    ]
    db.execute("UPDATE annotation_prompt SET project_id = 30 WHERE id = 2")  # no responses


def test_the_database_refuses_a_prompt_with_a_domain_of_another_project(prompts):
    (mine, theirs) = prompts
    foreign = theirs.domains.get()
    with _refused(DOMAINS.CONSTRAINT), transaction.atomic():
        Prompt.objects.create(
            project=mine, domain=foreign, external_id="p2", text="t", content_hash="h"
        )
    with _refused(DOMAINS.CONSTRAINT), transaction.atomic():
        Prompt.objects.filter(pk=prompts[mine].pk).update(domain=foreign)
    assert prompts[mine].domain.project == mine


def test_the_sqlite_triggers_refuse_a_prompt_with_a_domain_of_another_project():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE annotation_domain (id INTEGER PRIMARY KEY, project_id INTEGER)")
    db.execute(
        "CREATE TABLE annotation_prompt "
        "(id INTEGER PRIMARY KEY, domain_id INTEGER, project_id INTEGER)"
    )
    for sql in DOMAINS.SQLITE:
        db.execute(sql)
    db.executemany("INSERT INTO annotation_domain VALUES (?, ?)", [(1, 10), (2, 20)])
    db.execute("INSERT INTO annotation_prompt VALUES (1, 1, 10)")
    for sql in [
        "INSERT INTO annotation_prompt VALUES (2, 2, 10)",
        "UPDATE annotation_prompt SET domain_id = 2 WHERE id = 1",
        "UPDATE annotation_domain SET project_id = 20 WHERE id = 1",
    ]:
        with pytest.raises(sqlite3.IntegrityError, match=DOMAINS.CONSTRAINT):
            db.execute(sql)
    assert db.execute("SELECT * FROM annotation_prompt").fetchall() == [(1, 1, 10)]
