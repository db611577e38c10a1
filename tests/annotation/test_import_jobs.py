"""The import size limit on every entry, and big imports as background jobs (issue 8, item 9).

The limit: an over-limit file is refused with the limit and how to raise it, before its
body is read (Content-Length) or as soon as the streamed file passes it, and nothing is
written. Big files: the API answers 202 with the job's status endpoint, the upload page
shows the job's progress, a real worker runs it, a redelivery writes nothing twice, a failed
job records its problems, and the kept upload is deleted once the job has finished.
"""

from __future__ import annotations

import html
import json
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotation.models import ImportBatch, LikertJudgment, Prompt, Response
from annotation.services.imports import import_job_run, items_import

from ..waiting import wait_until

LIMIT = 4000


def items_file(n: int, *, bad_line: int | None = None) -> bytes:
    rows = []
    for i in range(1, n + 1):
        row = {
            "prompt_id": f"p{i}",
            "prompt": f"Question number {i}: what is {i} squared?",
            "domain": "nowhere" if i == bad_line else "general",
            "responses": [{"response_id": f"p{i}-a", "text": f"{i * i}."}],
        }
        rows.append(json.dumps(row))
    return ("\n".join(rows) + "\n").encode()


def likert_file(n: int) -> bytes:
    return "".join(
        json.dumps(
            {
                "kind": "likert",
                "response_id": f"p{i}-a",
                "annotator": "rater-1",
                "ratings": {"usefulness": 1 + i % 5},
            }
        )
        + "\n"
        for i in range(1, n + 1)
    ).encode()


@pytest.fixture
def jobs(settings, tmp_path):
    """Small thresholds, and the kept uploads in a folder of the test's own."""
    settings.IMPORT_BACKGROUND_LINES = 50
    settings.IMPORT_DIR = tmp_path / "imports"
    return settings.IMPORT_DIR


@pytest.fixture
def api(lead_user, api_token_for):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(lead_user)}")
    return client


def api_upload(api, project, body: bytes, name="items.jsonl"):
    return api.post(
        f"/api/v1/projects/{project.slug}/items/import/",
        {"file": SimpleUploadedFile(name, body)},
        format="multipart",
    )


def page_upload(client, project, body: bytes, *, kind="items", name="items.jsonl"):
    return client.post(
        f"/p/{project.slug}/imports/",
        {"kind": kind, "on_duplicate": "reject", "file": SimpleUploadedFile(name, body)},
    )


# -- the size limit ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "size", [LIMIT + 200, LIMIT + 100_000], ids=["streamed past the limit", "content-length"]
)
def test_an_over_limit_api_upload_gets_413_with_the_limit_and_writes_nothing(
    settings, project, api, size
):
    settings.IMPORT_MAX_BYTES = LIMIT
    body = items_file(1000)[:size]
    assert len(body) == size
    response = api_upload(api, project, body)
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "the import limit is 4,000 bytes" in detail and "TRENCHCOAT_IMPORT_MAX_BYTES" in detail
    assert not Prompt.objects.exists() and not ImportBatch.objects.exists()


@pytest.mark.django_db
def test_a_file_exactly_at_the_limit_is_imported(settings, project, api):
    body = items_file(10)
    settings.IMPORT_MAX_BYTES = len(body)
    response = api_upload(api, project, body)
    assert response.status_code == 201, response.content
    assert Prompt.objects.count() == 10


@pytest.mark.django_db
@pytest.mark.parametrize(
    "size", [LIMIT + 200, LIMIT + 100_000], ids=["streamed past the limit", "content-length"]
)
def test_an_over_limit_page_upload_gets_413_with_the_limit_and_writes_nothing(
    settings, client, project, lead_user, size
):
    settings.IMPORT_MAX_BYTES = LIMIT
    client.force_login(lead_user)
    response = page_upload(client, project, items_file(1000)[:size])
    assert response.status_code == 413
    text = html.unescape(response.content.decode())
    assert "the import limit is 4,000 bytes" in text and "TRENCHCOAT_IMPORT_MAX_BYTES" in text
    assert not Prompt.objects.exists() and not ImportBatch.objects.exists()


@pytest.mark.django_db
def test_the_upload_page_still_checks_csrf(settings, project, lead_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(lead_user)
    assert page_upload(client, project, items_file(2)).status_code == 403
    assert not Prompt.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["import_items", "import_judgments"])
def test_the_commands_refuse_an_over_limit_file_with_the_limit(
    settings, project, tmp_path, command
):
    settings.IMPORT_MAX_BYTES = LIMIT
    path = tmp_path / "big.jsonl"
    path.write_bytes(items_file(200))
    with pytest.raises(CommandError) as exc:
        call_command(command, str(path), "--project", project.slug)
    message = str(exc.value)
    assert f"big.jsonl is {path.stat().st_size:,} bytes" in message
    assert "the import limit is 4,000 bytes" in message
    assert "TRENCHCOAT_IMPORT_MAX_BYTES" in message
    assert not Prompt.objects.exists()


# -- background jobs -----------------------------------------------------------------------


def wait_until_finished(api, location: str) -> dict:
    def finished():
        job = api.get(location).json()
        return job if job["status"] in {"done", "failed"} else None

    return wait_until(finished, f"{location} finished")


@pytest.mark.slow
def test_a_big_api_import_answers_202_and_a_real_worker_completes_it(
    celery_worker, worker_closes_its_connection, jobs, project, api
):
    response = api_upload(api, project, items_file(120))
    assert response.status_code == 202, response.content
    location = response["Location"]
    assert location.endswith(f"/api/v1/projects/{project.slug}/imports/{response.json()['id']}/")
    assert response.json()["status"] == "queued"
    assert response.json()["progress"] == {"lines_checked": 0, "lines_total": 120}

    job = wait_until_finished(api, location)
    assert job["status"] == "done", job
    assert job["result"]["prompts"] == 120 and job["result"]["responses"] == 120
    assert job["progress"] == {"lines_checked": 120, "lines_total": 120}
    assert job["problems"] == [] and job["error"] == ""
    assert Prompt.objects.filter(project=project, import_batch_id=job["id"]).count() == 120
    # The worker deletes the kept upload after the commit that marks the job done, so a
    # client may see "done" a moment before the file is gone.
    wait_until(lambda: not any(jobs.iterdir()), "the kept upload deleted after the job")


@pytest.mark.django_db
def test_the_status_endpoint_is_for_the_projects_leads_only(
    jobs, project, api, annotator_user, outsider_user, api_token_for
):
    job = api_upload(api, project, items_file(60)).json()
    url = f"/api/v1/projects/{project.slug}/imports/{job['id']}/"
    for user, status in [(annotator_user, 403), (outsider_user, 404)]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
        assert client.get(url).status_code == status
    assert APIClient().get(url).status_code == 401
    assert api.get(f"/api/v1/projects/{project.slug}/imports/999999/").status_code == 404


@pytest.mark.django_db
def test_the_upload_page_shows_a_big_imports_progress_until_it_is_done(
    jobs, client, project, lead_user
):
    client.force_login(lead_user)
    response = page_upload(client, project, items_file(80))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/p/{project.slug}/imports/{batch.pk}/"
    page = client.get(response["Location"]).content.decode()
    # Queued (the test's transaction never commits, so nothing was sent to a worker): the
    # status card polls itself.
    assert 'data-status="queued"' in page and "80 lines" in page
    assert f'hx-get="/p/{project.slug}/imports/{batch.pk}/"' in page
    assert 'hx-trigger="every 1s"' in page

    import_job_run(batch_id=batch.pk)  # what the worker does
    card = client.get(response["Location"], headers={"HX-Request": "true"}).content.decode()
    assert card.lstrip().startswith('<section class="card" id="job"')
    assert 'data-status="done"' in card and "80 prompts" in card
    assert "hx-trigger" not in card  # finished: the polling stops
    listing = client.get(f"/p/{project.slug}/imports/").content.decode()
    assert "items.jsonl" in listing and "Done" in listing


@pytest.mark.django_db
def test_a_big_judgments_upload_runs_as_a_job_too(jobs, client, project, lead_user):
    items_import(project=project, source=_bytes(items_file(60)), filename="items.jsonl")
    client.force_login(lead_user)
    response = page_upload(client, project, likert_file(60), kind="judgments", name="j.jsonl")
    batch = ImportBatch.objects.get(kind="judgments")
    assert response.status_code == 302 and batch.status == "queued"
    assert import_job_run(batch_id=batch.pk)["status"] == "done"
    batch.refresh_from_db()
    assert batch.counts["likert"] == 60 and LikertJudgment.objects.count() == 60


@pytest.mark.django_db
def test_a_failed_job_records_its_problems_writes_nothing_and_deletes_the_file(jobs, project, api):
    job = api_upload(api, project, items_file(70, bad_line=64)).json()
    assert import_job_run(batch_id=job["id"])["status"] == "failed"
    job = api.get(f"/api/v1/projects/{project.slug}/imports/{job['id']}/").json()
    assert job["status"] == "failed" and job["result"] is None
    assert "rejected, nothing was written (1 problem)" in job["error"]
    assert job["problems"] == [
        {
            "line": 64,
            "field": "domain",
            "message": "unknown domain 'nowhere'; this project has: general. "
            "Fix the line or add the domain to the project",
        }
    ]
    assert not Prompt.objects.exists() and not Response.objects.exists()
    assert list(jobs.iterdir()) == []


@pytest.mark.django_db
def test_a_redelivered_job_does_nothing(jobs, project, api):
    job = api_upload(api, project, items_file(60)).json()
    first = import_job_run(batch_id=job["id"])
    again = import_job_run(batch_id=job["id"])
    assert first["status"] == again["status"] == "done"
    assert Prompt.objects.count() == 60 and ImportBatch.objects.count() == 1
    assert import_job_run(batch_id=987654) == {"batch_id": 987654, "status": "missing"}


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_running_at_once_import_the_file_once(jobs, project, api):
    from django.db import connection

    job = api_upload(api, project, items_file(300)).json()
    results, errors = [], []

    def deliver():
        try:
            results.append(import_job_run(batch_id=job["id"]))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Prompt.objects.filter(project=project).count() == 300
    assert Response.objects.filter(project=project).count() == 300
    batch = ImportBatch.objects.get()
    assert batch.status == "done" and batch.counts["prompts"] == 300
    assert list(jobs.iterdir()) == []


@pytest.mark.django_db
def test_the_task_is_acks_late_and_on_the_default_queue():
    from annotation.tasks import import_run
    from config.celery import app

    assert import_run.acks_late
    assert app.amqp.router.route({}, import_run.name)["queue"].name == "default"


def _bytes(data: bytes):
    import io

    return io.BytesIO(data)
