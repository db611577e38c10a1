"""The REST API fuzzed from its own OpenAPI schema (issue 12, item 4).

Schemathesis reads ``/api/v1/schema/`` from the app (WSGI, in process, on the test database)
and generates requests for every operation in it: schema examples, then random valid and
invalid input (``generation.mode = "all"``). Each request goes out twice, with a lead's token
and with a researcher's, against a project with real data: prompts, judgments, a real
aggregation run, two scorers with finished scoring runs and meta-evaluations, a ready
release that carries one of them, and an import. Every answer must be no 5xx, a documented
status code, a documented content type, and a body that matches the documented schema.

Path parameters mostly name the project's real objects (so that the operation itself runs,
not only its 404), and sometimes keep the generated value (so that the 404 is checked too).
The run is bounded and repeatable: a fixed number of examples per operation, derandomized.
"""

from __future__ import annotations

import io
import json
import zlib

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotation.services.imports import items_import
from config.wsgi import application
from exports.services.build import release_build, release_request
from tests.scoring.metaeval_records import measured_project

# Cases per operation, each sent twice (lead, researcher): 17 operations, 850 requests.
# The schema has no examples of its own yet; schema examples would be sent on top.
MAX_EXAMPLES = 25

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 12,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
    }
)

ITEMS = "".join(
    json.dumps(
        {
            "prompt_id": f"fuzz-{i}",
            "prompt": f"Fuzzed prompt number {i}?",
            "domain": "general",
            "source": "curated",
            "responses": [
                {"response_id": f"fuzz-{i}-a", "text": f"Answer {i}.", "origin": "model"}
            ],
        }
    )
    + "\n"
    for i in range(3)
).encode()


TEST_SETTINGS = {
    # The in-process WSGI client sends Host: localhost.
    "ALLOWED_HOSTS": ["localhost", "testserver"],
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
}

# Loaded at import, as @schema.parametrize() needs it to make one test per operation (the
# schema view reads no table). schemathesis.pytest.from_fixture would load it inside a test,
# but it sets a node attribute that pytest 9.2 no longer has.
with override_settings(**TEST_SETTINGS):
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/schema/?format=json", application, config=CONFIG
    )


@pytest.fixture(scope="module")
def connection_kept_across_requests():
    """Django's WSGI handler closes the database connection at the start and end of every
    request, which would end the test's transaction; Django's test client disconnects the
    same two receivers for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def fuzzed(django_db_setup, django_db_blocker, tmp_path_factory, connection_kept_across_requests):
    """A project with everything the API shows, and a token per persona. Built once for the
    module (about 2 s) in a transaction rolled back at its end; each operation's test runs in
    a savepoint rolled back after it, so what a fuzzed POST creates is gone before the next
    operation."""
    from django.contrib.auth import get_user_model

    from annotation.models import Membership
    from annotation.services.projects import project_create
    from annotation.services.tokens import api_token_create

    with (
        override_settings(**TEST_SETTINGS, EXPORT_DIR=tmp_path_factory.mktemp("releases")),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        project = project_create(slug="fuzz", name="Fuzz", domains=[{"name": "general"}])
        users = {}
        for role in ("lead", "researcher"):
            user = get_user_model().objects.create_user(username=f"fuzz-{role}", password="pw")
            Membership.objects.create(user=user, project=project, role=role)
            users[role] = user
        aggregation = measured_project(project=project, n_prompts=6)
        release = release_build(release=release_request(project=project, scorers=["chars"]))
        assert release.status == "ready", release.error
        imported = items_import(project=project, source=io.BytesIO(ITEMS), filename="items.jsonl")
        yield {
            "slug": project.slug,
            "run_id": aggregation.pk,
            "scoring_run_id": project.scoring_runs.order_by("id").first().pk,
            "ref": release.label,
            "batch_id": imported.batch.pk,
            "scorer": "chars",
            "tokens": {
                role: api_token_create(user=user, name="fuzz", expires_in_days=7).key
                for role, user in users.items()
            },
            "users": [user.pk for user in users.values()],
        }
        transaction.set_rollback(True)


def _kept(value) -> bool:
    """About one case in six keeps its generated value, decided by the value itself, so the
    choice is as repeatable as the value."""
    return zlib.crc32(str(value).encode()) % 6 == 0


def _real_objects(case, fuzzed) -> None:
    """Name the project's real objects in the path and ask for the first page, except where
    a generated value is kept (then the answer is mostly a documented 404 or 400)."""
    real = {"slug": fuzzed["slug"], "batch_id": fuzzed["batch_id"], "ref": fuzzed["ref"]}
    real["run_id"] = fuzzed["scoring_run_id" if "/scoring-runs/" in case.path else "run_id"]
    if "/scorers/" in case.path:  # in /files/{name}, a file name: the schema's enum has them
        real["name"] = fuzzed["scorer"]
    for name, value in (case.path_parameters or {}).items():
        if name in real and not _kept(value):
            case.path_parameters[name] = real[name]
    if case.query and "page" in case.query and not _kept(case.query["page"]):
        case.query["page"] = 1
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("scorer"), str) and not _kept(body):
        body["scorer"] = fuzzed["scorer"]  # start a scoring run of a real scorer


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_its_schema_says_for_a_lead_and_a_researcher(case, fuzzed, db):
    _real_objects(case, fuzzed)
    for token in fuzzed["tokens"].values():
        # The throttle counts every request; the fuzz must not hit the per-user rate.
        cache.delete_many([f"throttle_user_{pk}" for pk in fuzzed["users"]])
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)


def test_a_path_under_the_api_that_matches_no_route_gets_the_json_404(client):
    """Found by the fuzz: a slug with a space or a run id that is not a number matched no
    route, and the API answered Django's HTML 404 page."""
    for path in ("/api/v1/projects/no such project/", "/api/v1/projects/demo/runs/1.5/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}
    page = client.get("/no/such/page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_the_schema_documents_the_error_answers_and_each_file_type(client):
    """Found by the fuzz: no operation documented its 401, 403, 404 or 429, those that take
    input not their 400, and a release's README.md (text/markdown) or responses.jsonl
    (application/x-ndjson) came back under a content type the schema did not list."""
    spec = client.get("/api/v1/schema/?format=json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {"401", "403", "404", "429"} <= documented, (method, path)
            if "requestBody" in operation:
                assert "400" in documented, (method, path)
    files = spec["paths"]["/api/v1/projects/{slug}/releases/{ref}/files/{name}"]["get"]
    assert {
        "application/x-ndjson",
        "application/vnd.apache.parquet",
        "application/json",
        "text/markdown; charset=utf-8",
    } <= set(files["responses"]["200"]["content"])
    # Found by the fuzz: metaeval.json came back as the JSON object it is, documented as a
    # binary string.
    assert files["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "object"
    create = spec["paths"]["/api/v1/projects/{slug}/releases/create/"]["post"]["responses"]
    assert {"202", "400", "409", "503"} <= set(create)
