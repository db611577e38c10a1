import pytest

from exports.models import Release
from exports.services.build import release_enqueue, release_path, release_request, release_verify

from ..waiting import wait_until
from .factories import scored_project


def wait_for(release):
    def finished():
        release.refresh_from_db()
        return release if release.status in {Release.Status.READY, Release.Status.FAILED} else None

    return wait_until(finished, f"release {release.pk} ready or failed")


def test_the_build_runs_in_the_exports_worker(
    celery_worker, worker_closes_its_connection, project, export_dir
):
    scored = scored_project(project, n_prompts=12, annotators=3)
    release = release_request(project=scored.project)
    release_enqueue(release=release)
    release = wait_for(release)
    assert release.status == Release.Status.READY and release.version == 1, release.error
    assert release_verify(release=release) == []
    assert (release_path(release) / "preferences.parquet").exists()


def test_the_task_is_routed_to_the_exports_queue(settings):
    from config.celery import app

    route = app.amqp.router.route({}, "exports.tasks.release_build")
    assert route["queue"].name == "exports"


@pytest.mark.django_db
def test_the_task_ignores_a_missing_release():
    from exports.tasks import release_build

    assert release_build.run(123456) == {"release": 123456, "status": "missing"}


@pytest.mark.django_db
def test_the_task_leaves_a_ready_release_as_it_is(project, export_dir):
    from exports.tasks import release_build

    scored_project(project, n_prompts=6, annotators=2)
    release = release_request(project=project)
    first = release_build.run(release.pk)
    assert first["status"] == "ready" and first["version"] == 1
    assert release_build.run(release.pk) == first
    assert Release.objects.filter(status="ready").count() == 1
