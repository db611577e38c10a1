"""Scoring runs through real Celery workers on the `scoring` queue (DESIGN 6.2): an
in-process worker, and worker processes killed mid-chunk and restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from scoring.models import Scorer, ScorerScore, ScoringRun
from scoring.scoring_runs import scoring_run_start
from scoring.tasks import scorer_chunk

from ..waiting import wait_until
from .tiny_rms import (
    conversation,
    definition,
    project_with_responses,
    reference_scores,
    write_definition,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def llama_dir(models):
    return models["llama"]


def _wait(condition, what: str):
    return wait_until(condition, what, timeout=120.0)


@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_the_score_command_runs_its_chunks_on_a_real_worker(arch, scoring_worker, models, tmp_path):
    project, responses = project_with_responses(f"celery-{arch}")
    call_command(
        "scorer_apply",
        str(write_definition(tmp_path, definition(models[arch], f"worker-{arch}"))),
        stdout=StringIO(),
    )
    out = StringIO()
    call_command(
        "score",
        "--project",
        project.slug,
        "--scorer",
        f"worker-{arch}",
        "--chunk-size",
        "2",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    result = json.loads(out.getvalue())
    assert result["status"] == "done" and result["scored"] == len(responses)
    rows = dict(
        ScorerScore.objects.filter(run_id=result["run_id"]).values_list("response_id", "score")
    )
    assert sorted(rows) == sorted(r.pk for r in responses)
    expected = reference_scores(models[arch], [conversation(r) for r in responses])
    for response, want in zip(responses, expected, strict=True):
        assert rows[response.pk] == pytest.approx(want, abs=1e-4)


def _worker_process(log: Path) -> subprocess.Popen:
    """`celery worker -Q scoring` in a process of its own, on the test database."""
    url = urlsplit(os.environ["DATABASE_URL"])
    test_db = url._replace(path="/" + connection.settings_dict["NAME"])
    env = {**os.environ, "DATABASE_URL": urlunsplit(test_db), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "scoring"]
        + ["--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle"]
        + ["-l", "info"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _sessions(dbname: str, *, waiting_on_a_lock: bool = False) -> set[int]:
    """Backend pids of the other sessions on the test database (threads of earlier tests'
    in-process workers may keep some open: compare sets, not counts)."""
    query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    if waiting_on_a_lock:
        query += " AND wait_event_type = 'Lock'"
    with connection.cursor() as cursor:
        cursor.execute(query, [dbname])
        return {row[0] for row in cursor.fetchall()}


def test_a_run_whose_worker_was_killed_mid_chunk_finishes_with_every_response_once(
    transactional_db, llama_dir, tmp_path
):
    project, responses = project_with_responses("killed")
    call_command(
        "scorer_apply",
        str(write_definition(tmp_path, definition(llama_dir, "killable"))),
        stdout=StringIO(),
    )
    run, _ = scoring_run_start(
        project=project, scorer=Scorer.objects.get(name="killable"), chunk_size=3
    )
    assert len(run.chunks) == 3
    dbname = connection.settings_dict["NAME"]
    worker = _worker_process(tmp_path / "worker1.log")
    try:
        scorer_chunk.delay(run.pk, 0)
        _wait(lambda: ScorerScore.objects.filter(run=run).count() == 3, "the first chunk")
        # Hold the run's row: the worker scores the second chunk, then waits at its commit.
        params = connection.get_connection_params()
        with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as hold:
            hold.execute("SELECT id FROM scoring_scoringrun WHERE id = %s FOR UPDATE", [run.pk])
            scorer_chunk.delay(run.pk, 1)
            blocked = _wait(lambda: _sessions(dbname, waiting_on_a_lock=True), "a blocked commit")
            os.killpg(worker.pid, signal.SIGKILL)  # the worker dies inside its transaction
            worker.wait(timeout=30)
            hold.rollback()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    run.refresh_from_db()
    assert run.status == "running" and run.scored == 3
    # The killed worker's session ends (its transaction rolled back) once it notices.
    _wait(lambda: not blocked & _sessions(dbname), "the killed worker's session gone")
    before = _sessions(dbname)
    assert ScorerScore.objects.filter(run=run).count() == 3
    restarted = _worker_process(tmp_path / "worker2.log")
    try:
        out = StringIO()
        call_command(
            "score",
            "--project",
            "killed",
            "--scorer",
            "killable",
            "--json",
            stdout=out,
            stderr=StringIO(),
        )
    finally:
        os.killpg(restarted.pid, signal.SIGTERM)
        restarted.wait(timeout=30)
    _wait(lambda: not _sessions(dbname) - before, "the restarted worker's sessions closed")
    result = json.loads(out.getvalue())
    assert result["outcome"] == "resumed" and result["run_id"] == run.pk
    assert result["status"] == "done" and result["scored"] == len(responses) == 9
    stored = list(ScorerScore.objects.filter(run=run).values_list("response_id", flat=True))
    assert sorted(stored) == sorted(r.pk for r in responses)  # each exactly once
    assert ScoringRun.objects.filter(scorer__name="killable").count() == 1
