import hashlib
import json
import sys
import types

import pytest
import yaml
from django.core.cache import cache
from django.test import Client
from openapi_spec_validator import validate
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from exports.models import Release
from exports.services.build import release_build, release_path, release_request

from .factories import scored_project

pytestmark = pytest.mark.django_db

ITEMS = (
    json.dumps(
        {
            "prompt_id": "new-1",
            "prompt": "What is a monad?",
            "domain": "code",
            "source": "curated",
            "responses": [
                {
                    "response_id": "new-1-a",
                    "text": "A monoid in the category of endofunctors.",
                    "origin": "model",
                }
            ],
        }
    )
    + "\n"
).encode()


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()  # throttle counters live in the cache
    yield
    cache.clear()


@pytest.fixture
def aggregation_calls(monkeypatch):
    """Records the trigger's aggregation_run.delay calls instead of queueing them."""
    calls = []

    class FakeTask:
        name = "scoring.tasks.aggregation_run"

        @staticmethod
        def delay(*args):
            calls.append(args)

    try:
        import scoring.tasks as tasks
    except ImportError:
        tasks = types.ModuleType("scoring.tasks")
        monkeypatch.setitem(sys.modules, "scoring.tasks", tasks)
    monkeypatch.setattr(tasks, "aggregation_run", FakeTask, raising=False)
    return calls


@pytest.fixture
def scored(project):
    return scored_project(project, n_prompts=9, annotators=3)


@pytest.fixture
def v1(export_dir, scored):
    return release_build(release=release_request(project=scored.project))


@pytest.fixture
def personas(lead_user, researcher_user, annotator_user, outsider_user):
    return {
        "lead": lead_user,
        "researcher": researcher_user,
        "annotator": annotator_user,
        "outsider": outsider_user,
        "anonymous": None,
    }


def client_for(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"file": SimpleUploadedFile("items.jsonl", ITEMS, content_type="application/x-ndjson")}


READ = {"lead": 200, "researcher": 200, "annotator": 403, "outsider": 404, "anonymous": 401}
MANAGE = {"lead": 202, "researcher": 403, "annotator": 403, "outsider": 404, "anonymous": 401}
ENDPOINTS = [
    ("GET", "/api/v1/projects/", None, {**READ, "annotator": 200, "outsider": 200}),
    ("GET", "/api/v1/projects/demo/", None, READ),
    ("GET", "/api/v1/projects/demo/runs/", None, READ),
    ("GET", "/api/v1/projects/demo/runs/{run}/", None, READ),
    ("POST", "/api/v1/projects/demo/runs/trigger/", None, MANAGE),
    ("GET", "/api/v1/projects/demo/releases/", None, READ),
    ("GET", "/api/v1/projects/demo/releases/v1/", None, READ),
    ("GET", "/api/v1/projects/demo/releases/{release_id}/", None, READ),
    ("POST", "/api/v1/projects/demo/releases/create/", {"seed": 4}, MANAGE),
    ("GET", "/api/v1/projects/demo/releases/v1/files/preferences.parquet", None, READ),
    ("POST", "/api/v1/projects/demo/items/import/", upload, {**MANAGE, "lead": 201}),
]


@pytest.mark.parametrize("persona", ["lead", "researcher", "annotator", "outsider", "anonymous"])
@pytest.mark.parametrize(
    ("method", "url", "data", "expected"), ENDPOINTS, ids=[f"{m} {u}" for m, u, _, _ in ENDPOINTS]
)
def test_permission_matrix(persona, method, url, data, expected, personas, v1, aggregation_calls):
    client = client_for(personas[persona])
    url = url.format(run=v1.run_id, release_id=v1.pk)
    if method == "GET":
        response = client.get(url)
    elif callable(data):
        response = client.post(url, data(), format="multipart")
    else:
        response = client.post(url, data or {}, format="json")
    assert response.status_code == expected[persona], getattr(response, "data", response)
    if url == "/api/v1/projects/" and persona in {"annotator", "outsider"}:
        assert response.data["results"] == []
    if url.endswith("trigger/"):
        assert aggregation_calls == ([(v1.project.pk, "api")] if persona == "lead" else [])


def test_a_token_authenticates_a_researcher(researcher_user, v1, api_token_for):
    key = api_token_for(researcher_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/projects/demo/releases/")
    assert response.status_code == 200
    assert response.data["count"] == 1 and response.data["results"][0]["label"] == "v1"
    assert APIClient().get("/api/v1/projects/demo/releases/").status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token nope")
    assert bad.get("/api/v1/projects/demo/releases/").status_code == 401


def test_lists_are_paginated(researcher_user, v1):
    data = client_for(researcher_user).get("/api/v1/projects/demo/runs/").data
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["results"][0]["agreement"] == v1.run.agreement


def test_lists_are_throttled(researcher_user, v1, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "rate", "3/minute", raising=False)
    client = client_for(researcher_user)
    codes = [client.get("/api/v1/projects/demo/releases/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_a_release_detail_lists_its_files_with_checksums(researcher_user, v1):
    data = client_for(researcher_user).get("/api/v1/projects/demo/releases/v1/").data
    assert data["status"] == "ready" and data["version"] == 1
    names = {f["name"]: f for f in data["files"]}
    assert names["manifest.json"]["sha256"] == v1.files["manifest.json"]["sha256"]
    assert (
        names["responses.jsonl"]["url"] == "/api/v1/projects/demo/releases/v1/files/responses.jsonl"
    )


def test_creating_a_release_answers_202_with_the_pending_release(
    lead_user, scored, export_dir, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("exports.tasks.release_build.delay", lambda *a: queued.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead_user).post(
            "/api/v1/projects/demo/releases/create/",
            {"holdout_domains": ["math"], "seed": 9},
            format="json",
        )
    assert response.status_code == 202
    release = Release.objects.get()
    assert response.data["status"] == "pending" and response.data["version"] is None
    assert response["Location"] == f"/api/v1/projects/demo/releases/{release.pk}/"
    assert (release.seed, release.holdout_domains, release.created_by) == (9, ["math"], lead_user)
    assert queued == [(release.pk,)]


def test_creating_a_release_with_bad_input_is_a_400_with_the_reason(lead_user, scored):
    client = client_for(lead_user)
    response = client.post(
        "/api/v1/projects/demo/releases/create/", {"holdout_domains": ["poetry"]}, format="json"
    )
    assert response.status_code == 400 and "no domain 'poetry'" in response.data["detail"]
    response = client.post("/api/v1/projects/demo/releases/create/", {"run": 999999}, format="json")
    assert response.status_code == 400


def test_creating_a_release_without_a_run_is_a_409(lead_user, project):
    response = client_for(lead_user).post(
        "/api/v1/projects/demo/releases/create/", {}, format="json"
    )
    assert response.status_code == 409 and "no finished aggregation run" in response.data["detail"]


def test_downloads_stream_the_file_with_its_sha256_as_etag(researcher_user, v1):
    client = client_for(researcher_user)
    response = client.get("/api/v1/projects/demo/releases/v1/files/responses.jsonl")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    sha = hashlib.sha256(body).hexdigest()
    assert sha == v1.files["responses.jsonl"]["sha256"]
    assert response["ETag"] == f'"{sha}"'
    assert body == (release_path(v1) / "responses.jsonl").read_bytes()
    assert "attachment" in response["Content-Disposition"]


def test_downloads_honour_if_none_match(researcher_user, v1):
    client = client_for(researcher_user)
    url = "/api/v1/projects/demo/releases/v1/files/manifest.json"
    etag = client.get(url)["ETag"]
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified["ETag"] == etag
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_unknown_files_and_releases_are_404(researcher_user, v1):
    client = client_for(researcher_user)
    assert client.get("/api/v1/projects/demo/releases/v1/files/secrets.txt").status_code == 404
    assert client.get("/api/v1/projects/demo/releases/v9/").status_code == 404
    assert client.get("/api/v1/projects/demo/releases/../files/x").status_code == 404


def test_a_failed_release_has_no_files_to_download(researcher_user, scored, export_dir):
    release = release_request(project=scored.project)
    Release.objects.filter(pk=release.pk).update(status=Release.Status.FAILED, error="boom")
    client = client_for(researcher_user)
    data = client.get(f"/api/v1/projects/demo/releases/{release.pk}/").data
    assert data["status"] == "failed" and data["files"] == []
    assert (
        client.get(f"/api/v1/projects/demo/releases/{release.pk}/files/manifest.json").status_code
        == 404
    )
    assert client.get("/api/v1/projects/demo/releases/?status=ready").data["count"] == 0


def test_importing_a_bad_items_file_reports_the_problems(lead_user, project):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("items.jsonl", b'{"prompt_id": "x"}\n')
    response = client_for(lead_user).post(
        "/api/v1/projects/demo/items/import/", {"file": bad}, format="multipart"
    )
    assert response.status_code == 400 and response.data["problems"]


def test_the_schema_validates_and_documents_every_endpoint(db):
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    spec = yaml.safe_load(response.content)
    validate(spec)
    paths = set(spec["paths"])
    assert {
        "/api/v1/projects/",
        "/api/v1/projects/{slug}/",
        "/api/v1/projects/{slug}/runs/",
        "/api/v1/projects/{slug}/runs/trigger/",
        "/api/v1/projects/{slug}/runs/{run_id}/",
        "/api/v1/projects/{slug}/releases/",
        "/api/v1/projects/{slug}/releases/create/",
        "/api/v1/projects/{slug}/releases/{ref}/",
        "/api/v1/projects/{slug}/releases/{ref}/files/{name}",
        "/api/v1/projects/{slug}/items/import/",
    } <= paths
    assert "tokenAuth" in spec["components"]["securitySchemes"]


def test_the_docs_page_is_served_without_a_cdn(db):
    response = Client().get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "cdn.jsdelivr.net" not in html
