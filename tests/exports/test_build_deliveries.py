"""A release build delivered more than once (issue 8, item 12).

Celery delivers the build task at least once: ``acks_late`` with ``reject_on_worker_lost``
redelivers the task of a killed worker, and Redis redelivers a task that outlives its
visibility timeout while the first worker still runs it. Each delivery here is the task
function called in its own thread, with its own PostgreSQL connection.
"""

import threading
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.db import connection
from django.utils import timezone

from exports.models import Release
from exports.services.build import (
    ALL_FILES,
    publish,
    release_catch_up_enqueue,
    release_enqueue,
    release_request,
    release_verify,
)
from exports.tasks import release_build

from ..waiting import wait_until
from .factories import scored_project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def requested(project, export_dir):
    scored_project(project, n_prompts=12, annotators=3)
    return release_request(project=project)


@pytest.fixture
def builds(monkeypatch):
    """Counts the builds that write files; ``hold`` lets a test pause a build after it
    wrote its files (``then`` runs in the builder's thread once the test lets it go on)."""
    state = {"n": 0, "hold": None}
    write = publish.release_files_write

    def counting(**kwargs):
        state["n"] += 1
        result = write(**kwargs)
        hold = state["hold"]
        if hold is not None and state["n"] == 1:
            hold["wrote"].set()
            assert hold["go_on"].wait(timeout=60)
            if hold.get("then"):
                hold["then"]()
        return result

    monkeypatch.setattr(publish, "release_files_write", counting)
    return state


def deliver(release_id, results, key):
    try:
        results[key] = release_build.run(release_id)
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        results[key] = exc
    finally:
        connection.close()


def building_dirs(export_dir):
    return sorted(p.name for p in (export_dir / "demo").iterdir() if p.name.startswith("."))


def published_dirs(export_dir):
    return sorted(p.name for p in (export_dir / "demo").iterdir() if not p.name.startswith("."))


def assert_published_once(release, export_dir):
    release.refresh_from_db()
    assert release.status == Release.Status.READY and release.version == 1, release.error
    assert release_verify(release=release) == []
    assert sorted(release.files) == sorted(ALL_FILES)
    assert published_dirs(export_dir) == ["v1"] and building_dirs(export_dir) == []
    assert Release.objects.filter(project=release.project).count() == 1


def test_two_deliveries_at_once_build_the_release_once(requested, builds, export_dir):
    start = threading.Barrier(2)
    results = {}

    def at_once(key):
        start.wait(timeout=30)
        deliver(requested.pk, results, key)

    threads = [threading.Thread(target=at_once, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert builds["n"] == 1
    assert_published_once(requested, export_dir)
    assert sorted(r["status"] for r in results.values()) in (
        ["building", "ready"],
        ["ready", "ready"],
    )


def test_a_delivery_while_another_builds_does_nothing(requested, builds, export_dir):
    hold = {"wrote": threading.Event(), "go_on": threading.Event()}
    builds["hold"] = hold
    results = {}
    first = threading.Thread(target=deliver, args=(requested.pk, results, "first"))
    first.start()
    try:
        assert hold["wrote"].wait(timeout=60)
        (tmp,) = building_dirs(export_dir)
        deliver(requested.pk, results, "second")
        assert results["second"] == {"release": requested.pk, "status": "building", "version": None}
        # The second delivery left the first one's files alone.
        assert building_dirs(export_dir) == [tmp]
        assert (export_dir / "demo" / tmp / "responses.parquet").exists()
    finally:
        hold["go_on"].set()
        first.join(timeout=120)
    assert results["first"]["status"] == "ready" and results["first"]["version"] == 1
    assert builds["n"] == 1
    assert_published_once(requested, export_dir)


@pytest.mark.parametrize("slow_build_then", ["finishes", "fails"])
def test_a_stale_claim_is_taken_over_and_the_slow_build_cannot_clobber_the_release(
    requested, builds, export_dir, settings, slow_build_then
):
    """The first build is presumed dead once its claim is stale; a redelivery takes over and
    publishes. When the first build comes back, whether it finishes or fails, the ready
    release stays as published."""

    def fail():
        raise OSError("disk full")

    hold = {
        "wrote": threading.Event(),
        "go_on": threading.Event(),
        "then": fail if slow_build_then == "fails" else None,
    }
    builds["hold"] = hold
    results = {}
    slow = threading.Thread(target=deliver, args=(requested.pk, results, "slow"))
    slow.start()
    try:
        assert hold["wrote"].wait(timeout=60)
        stale = timezone.now() - timedelta(seconds=settings.RELEASE_BUILD_STALE_SECONDS + 1)
        Release.objects.filter(pk=requested.pk).update(build_claimed_at=stale)
        deliver(requested.pk, results, "redelivery")
        assert results["redelivery"]["status"] == "ready"
        published = Release.objects.get(pk=requested.pk)
    finally:
        hold["go_on"].set()
        slow.join(timeout=120)
    assert builds["n"] == 2
    assert results["slow"]["status"] == "ready" and results["slow"]["version"] == 1
    assert_published_once(requested, export_dir)
    requested.refresh_from_db()
    assert requested.files == published.files and requested.error == ""
    assert requested.build_token == published.build_token


def test_a_build_left_by_a_killed_worker_is_finished_by_the_redelivered_task(
    celery_worker, worker_closes_its_connection, requested, export_dir, settings
):
    """A worker was killed mid-build: the release is building under its claim and its
    temporary directory is left over. The redelivered task, run by a real worker once the
    claim is stale, takes it over and publishes. (The delivery that finds the claim still
    fresh and comes back later is the countdown test below: a second Celery test worker in
    one process does not run ETA messages, so that path is checked on the task itself.)"""
    dead = "0" * 32
    claimed = timezone.now() - timedelta(seconds=settings.RELEASE_BUILD_STALE_SECONDS + 1)
    Release.objects.filter(pk=requested.pk).update(
        status=Release.Status.BUILDING, build_token=dead, build_claimed_at=claimed
    )
    leftover = export_dir / "demo" / f"{publish.BUILDING_PREFIX}{requested.pk}-{dead}"
    leftover.mkdir(parents=True)
    (leftover / "responses.jsonl").write_text("half a file")

    release_enqueue(release=requested)

    def built():
        requested.refresh_from_db()
        return requested.status != Release.Status.BUILDING

    wait_until(built, f"release {requested.pk} no longer building")
    assert requested.build_token != dead
    assert_published_once(requested, export_dir)


def test_a_delivery_that_finds_a_fresh_claim_comes_back_when_the_claim_would_be_stale(
    requested, settings
):
    """What a worker does with a redelivered build whose claim is still fresh: nothing now,
    and a retry counted down to the moment the claim goes stale (run as a worker runs it:
    with a delivery's request, not eagerly)."""
    settings.RELEASE_BUILD_STALE_SECONDS = 30
    alive = "1" * 32
    Release.objects.filter(pk=requested.pk).update(
        status=Release.Status.BUILDING, build_token=alive, build_claimed_at=timezone.now()
    )
    release_build.push_request(
        id="redelivered", args=[requested.pk], kwargs={}, retries=0, is_eager=False,
        called_directly=False, delivery_info={"routing_key": "exports"},
    )  # fmt: skip
    try:
        with pytest.raises(Retry) as retried:
            release_build.run(requested.pk)
    finally:
        release_build.pop_request()
    assert 29 <= retried.value.when <= 31
    requested.refresh_from_db()
    assert requested.status == Release.Status.BUILDING and requested.build_token == alive


def test_a_release_whose_build_message_was_lost_is_queued_again_and_built(
    requested, export_dir, settings, celery_worker, worker_closes_its_connection
):
    """The worker started after the request and purged the queue: the request's message is
    gone, as after a Redis restart without its data. The periodic catch-up queues the build
    again once the release has waited a stale period, once per period, and the worker
    publishes it."""
    requested.refresh_from_db()
    assert requested.status == Release.Status.PENDING
    assert release_catch_up_enqueue() == []  # a fresh request is waiting its turn
    later = timezone.now() + timedelta(seconds=settings.RELEASE_BUILD_STALE_SECONDS + 1)
    assert release_catch_up_enqueue(now=later) == [requested.pk]
    assert release_catch_up_enqueue(now=later) == []  # claimed for this period

    def built():
        requested.refresh_from_db()
        return requested.status == Release.Status.READY

    wait_until(built, f"release {requested.pk} built after the catch-up")
    assert_published_once(requested, export_dir)
    assert release_catch_up_enqueue(now=later + timedelta(days=1)) == []  # ready: left alone


def test_the_catch_up_takes_only_releases_no_build_will_finish(requested, settings):
    stale = settings.RELEASE_BUILD_STALE_SECONDS
    now = timezone.now() + timedelta(seconds=stale + 1)
    Release.objects.filter(pk=requested.pk).update(
        status=Release.Status.BUILDING, build_token="1" * 32, build_claimed_at=timezone.now()
    )
    assert release_catch_up_enqueue(now=now - timedelta(seconds=2)) == []  # a live claim
    assert release_catch_up_enqueue(now=now) == [requested.pk]  # its worker died
    Release.objects.filter(pk=requested.pk).update(
        status=Release.Status.FAILED, requeued_at=None, error="disk full"
    )
    assert release_catch_up_enqueue(now=now + timedelta(days=1)) == []
