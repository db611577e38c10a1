"""Faults under load: nothing acknowledged is lost, no invariant breaks, interrupted jobs finish.

Starts its own PostgreSQL cluster, Redis (append-only file, as docker-compose runs it),
gunicorn on loopback and the two Celery workers of docker-compose (`default,aggregate,exports`
with concurrency 2; `scoring` with concurrency 1, prefetch 1). Annotators in threads work
through the real pages (annotate_load's HTMX next task and JSON submit) and keep a ledger of
every acknowledged submission: its client_key and the judgment id the server answered. A
submission without an answer (a dropped connection, a 5xx) is sent again with the same
client_key, as a browser retry would, until it is acknowledged. Then, in turn, while they run:

  1. kill -9 of one gunicorn worker;
  2. Redis stopped (SIGTERM) for 20 s and started again on its append-only file;
  3. PostgreSQL restarted (pg_ctl -m fast restart);
  4. the aggregation worker killed (-9, its whole process group) during an aggregation run,
  5. ... during a release build (once the build has written files into its temporary dir),
  6. the scoring worker killed during a scoring run (builtin length_chars, small chunks).

Jobs 4-6 run on a second, frozen project (generated judgments, no annotators on it), so an
uninterrupted rerun in this process reads the same snapshot and must give the same result:
equal run figures and score rows, equal release file sha256s, equal scorer rows. A killed
worker's unacknowledged message comes back after the broker's visibility timeout; this
script sets it short (CELERY_VISIBILITY_TIMEOUT, default 3600 s) and starts the new worker
once it has passed (kombu restores expired messages when a worker starts), and sets
TRENCHCOAT_RELEASE_BUILD_STALE_SECONDS short so the redelivered build takes over the claim.

After each fault: every acknowledged submission stored exactly once with the id it was
acknowledged with, no task over quorum, no annotator with two live leases, no counter
(task done/active/filled, domain done/assigned/complete) off its COUNT, no release listed
ready whose files are missing or differ from their sha256, and no job left queued/running.
One line per fault; the exit status is 1 on any loss or broken invariant.

    .venv/bin/python benchmarks/faults.py [--seconds 20] [--annotators 12] [--frozen-prompts 3000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
os.environ.setdefault("TRENCHCOAT_PSEUDONYM_SALT", "bench-only-salt")

from _servers import Servers, redis_client, running, wait_for  # noqa: E402
from annotate_load import (  # noqa: E402
    LEASE_RE,
    answer_form,
    build_project,
    exactness,
    make_sessions,
)

# Short enough that a killed worker's task comes back within the run, longer than any task
# here takes (the longest, the frozen project's aggregation, takes a few seconds).
VISIBILITY_TIMEOUT = 15
RELEASE_STALE_SECONDS = 10
REDIS_DOWN_SECONDS = 20
JOB_TIMEOUT = 180


# --- annotators and their ledger ------------------------------------------------------------


@dataclass
class Ledger:
    """What the annotators were told: client_key -> acknowledged judgment id."""

    acked: dict[str, int] = field(default_factory=dict)
    acked_on_retry: int = 0  # acknowledged only when sent again (the first answer was lost)
    failed_requests: int = 0  # dropped connections and 5xx answers, each retried
    refused: list[str] = field(default_factory=list)  # 4xx answers to a submission
    unresolved: int = 0  # submissions still unanswered when the annotator gave up
    lock: threading.Lock = field(default_factory=threading.Lock)
    ack_times: list[float] = field(default_factory=list)


class FaultAnnotator(threading.Thread):
    """annotate_load's annotator, but it keeps going through faults: a request without an
    answer is retried (a submission with the same client_key) until it is acknowledged."""

    def __init__(self, port, slug, session_key, criteria, ledger, stop, pause, seed):
        super().__init__(daemon=True)
        self.port, self.slug, self.criteria = port, slug, criteria
        self.ledger, self.stop, self.pause = ledger, stop, pause
        self.cookie = f"sessionid={session_key}"
        self.csrf_cookie = ""
        self.rng = random.Random(seed)
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method, path, body=None, headers=None) -> tuple[int, str]:
        """(status, body), or (0, "") when the connection failed (counted, reconnected)."""
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read().decode()
            for value in response.headers.get_all("Set-Cookie") or []:
                if value.startswith("csrftoken="):
                    self.csrf_cookie = value.split(";", 1)[0]
            status = response.status
        except (OSError, http.client.HTTPException):
            status, data = 0, ""
        if status == 0 or status >= 500:
            with self.ledger.lock:
                self.ledger.failed_requests += 1
            if self.conn is not None:
                self.conn.close()
            self.conn = None
        return status, data

    def run(self) -> None:
        time.sleep(self.rng.uniform(0, self.pause))
        while not self.stop.is_set():
            status, html = self.request(
                "GET",
                f"/p/{self.slug}/annotate/",
                headers={"Cookie": self.cookie, "HX-Request": "true"},
            )
            lease = LEASE_RE.search(html) if status == 200 else None
            if lease is None:
                time.sleep(0.2)
                continue
            time.sleep(self.pause)
            form = answer_form(html, self.rng, self.criteria)
            self.submit(lease.group(1), form)
        if self.conn is not None:
            self.conn.close()

    def submit(self, path: str, form: dict[str, str]) -> None:
        body = "&".join(f"{k}={v}" for k, v in form.items())
        give_up = None
        for attempt in range(1000):
            status, data = self.request(
                "POST",
                path,
                body=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                    "Cookie": f"{self.cookie}; {self.csrf_cookie}",
                },
            )
            if status in (200, 201):
                ack = json.loads(data)
                with self.ledger.lock:
                    self.ledger.acked[form["client_key"]] = ack["judgment_id"]
                    self.ledger.acked_on_retry += attempt > 0
                    self.ledger.ack_times.append(time.monotonic())
                return
            if 400 <= status < 500:
                with self.ledger.lock:
                    self.ledger.refused.append(f"HTTP {status}: {data[:200]}")
                return
            # No answer: the server may or may not have stored it. Send it again, as long
            # as a person would (a minute after the phase ends).
            if self.stop.is_set():
                give_up = give_up or time.monotonic() + 60
                if time.monotonic() > give_up:
                    break
            time.sleep(0.3)
        with self.ledger.lock:
            self.ledger.unresolved += 1


class Crowd:
    """The annotators of the live project, started and stopped around each fault."""

    def __init__(self, port, project, sessions, pause):
        self.port, self.project, self.sessions, self.pause = port, project, sessions, pause
        self.criteria = list(project.criteria.values_list("key", flat=True))
        self.ledger = Ledger()
        self.threads: list[FaultAnnotator] = []
        self.stop = threading.Event()
        self.rounds = 0

    def start(self) -> None:
        self.stop = threading.Event()
        self.rounds += 1
        self.threads = [
            FaultAnnotator(
                self.port, self.project.slug, s, self.criteria, self.ledger, self.stop,
                self.pause, seed=1000 * self.rounds + i,
            )
            for i, s in enumerate(self.sessions)
        ]  # fmt: skip
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)


# --- checks ---------------------------------------------------------------------------------


DRIFT_SQL = {
    "task done_count": """
        SELECT count(*) FROM annotation_task t WHERE t.project_id = %(p)s AND t.done_count <> (
          (SELECT count(*) FROM annotation_likertjudgment j JOIN annotation_assignment a ON a.id = j.assignment_id
            WHERE a.task_id = t.id AND NOT j.over_quorum AND NOT j.gold)
        + (SELECT count(*) FROM annotation_pairwisejudgment j JOIN annotation_assignment a ON a.id = j.assignment_id
            WHERE a.task_id = t.id AND NOT j.over_quorum AND NOT j.gold))""",
    "task active_count": """
        SELECT count(*) FROM annotation_task t WHERE t.project_id = %(p)s AND t.active_count <> (
          SELECT count(*) FROM annotation_assignment a WHERE a.task_id = t.id AND a.state = 'active' AND NOT a.gold)""",
    "task filled": """
        SELECT count(*) FROM annotation_task t
        WHERE t.project_id = %(p)s AND t.filled <> t.done_count + t.active_count""",
    "domain counters": """
        SELECT count(*) FROM annotation_domainprogress d JOIN (
          SELECT domain_id, sum(done_count) AS done, sum(filled) AS assigned,
                 count(*) FILTER (WHERE done_count >= quorum) AS complete
          FROM annotation_task WHERE project_id = %(p)s GROUP BY domain_id) t ON t.domain_id = d.domain_id
        WHERE d.done <> t.done OR d.assigned <> t.assigned OR d.tasks_complete <> t.complete""",
}


def ledger_check(project, ledger: Ledger) -> dict[str, int]:
    """Acknowledged submissions found, by client_key, with the id they were acknowledged with."""
    from annotation.models import LikertJudgment, PairwiseJudgment

    with ledger.lock:
        acked = dict(ledger.acked)
    stored: dict[str, int] = {}
    keys = list(acked)
    for model in (LikertJudgment, PairwiseJudgment):
        for start in range(0, len(keys), 5000):
            rows = model.objects.filter(client_key__in=keys[start : start + 5000])
            stored.update((str(k), pk) for k, pk in rows.values_list("client_key", "pk"))
    same = sum(1 for k, pk in acked.items() if stored.get(k) == pk)
    return {"acked": len(acked), "stored": same, "lost": len(acked) - len(stored)}


def drift(project) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        total = 0
        for sql in DRIFT_SQL.values():
            cursor.execute(sql, {"p": project.pk})
            total += cursor.fetchone()[0]
    return total


def half_releases() -> int:
    """Releases listed ready whose files are not all there with their sha256, plus
    published directories of releases that are not ready."""
    from exports.models import Release
    from exports.services.build import ALL_FILES, export_root, release_path, release_verify

    bad = 0
    ready_dirs = set()
    for release in Release.objects.filter(status=Release.Status.READY).select_related("project"):
        ready_dirs.add(release_path(release))
        if set(release.files) != set(ALL_FILES) or release_verify(release=release):
            bad += 1
    root = export_root()
    if root.exists():
        for published in root.glob("*/v*"):
            bad += published not in ready_dirs
    return bad


def active_jobs() -> dict[str, int]:
    from exports.models import Release
    from scoring.models import AggregationRun, ScoringRun

    return {
        "aggregation runs running": AggregationRun.objects.filter(
            status=AggregationRun.Status.RUNNING
        ).count(),
        "releases pending or building": Release.objects.filter(
            status__in=[Release.Status.PENDING, Release.Status.BUILDING]
        ).count(),
        "scoring runs queued or running": ScoringRun.objects.filter(
            status__in=[ScoringRun.Status.QUEUED, ScoringRun.Status.RUNNING]
        ).count(),
    }


def stuck_jobs(settle: float) -> dict[str, int]:
    """Jobs still queued or running once the workers had ``settle`` seconds to finish."""
    deadline = time.monotonic() + settle
    while True:
        jobs = active_jobs()
        if not any(jobs.values()) or time.monotonic() > deadline:
            return {k: v for k, v in jobs.items() if v}
        time.sleep(0.5)


# --- the frozen project's jobs ---------------------------------------------------------------


def frozen_project(prompts: int):
    from annotation.services.projects import project_create
    from tests.exports.factories import scored_project

    project = project_create(
        slug="faults-frozen",
        name="Faults: frozen snapshot",
        domains=[{"name": n} for n in ("chat", "code", "math", "safety")],
    )
    scored_project(project, n_prompts=prompts, responses_per_prompt=3, annotators=5, with_run=False)
    return project


def unacked_in_flight() -> list[tuple[str, float]]:
    """(task name, delivered at) of every message a consumer holds unacknowledged."""
    client = redis_client()
    delivered = dict(client.zrange("unacked_index", 0, -1, withscores=True))
    out = []
    for tag, raw in client.hgetall("unacked").items():
        message = json.loads(raw)[0]
        out.append((message["headers"].get("task", "?"), delivered.get(tag, time.time())))
    return out


def kill_and_redeliver(
    servers: Servers, name: str, observe=lambda: None
) -> tuple[list[str], object]:
    """kill -9 the worker, look at the state it left (``observe``), wait out the visibility
    timeout of the messages it held and start a new one. Returns the names of the tasks it
    held and what ``observe`` returned."""
    servers.worker_kill(name)
    held = unacked_in_flight()
    seen = observe()
    if held:
        due = max(at for _, at in held) + VISIBILITY_TIMEOUT + 1
        time.sleep(max(0.0, due - time.time()))
    servers.worker_start(name)
    return [task.rsplit(".", 1)[-1] for task, _ in held], seen


def wait_until(check, *, what: str, timeout: float = JOB_TIMEOUT, every: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


def run_figures(run) -> str:
    """A run's result, everything but ids and timings, as one canonical string."""
    fields = (
        "status", "config", "counts", "exclusions", "agreement", "disputes", "tie_rule",
        "model_ranking", "input_fingerprint", "code_version",
    )  # fmt: skip
    scores = list(
        run.scores.order_by("response_id").values_list(
            "response_id", "criterion_means", "criterion_score", "borda", "final",
            "final_source", "n_likert", "n_pairwise", "pairwise_wins", "rank", "flags",
        )
    )  # fmt: skip
    return json.dumps([{f: getattr(run, f) for f in fields}, scores], sort_keys=True, default=str)


def fault_aggregation(servers: Servers, project) -> tuple[bool, list[str], str]:
    from annotation.side_effects import task_enqueue_safely
    from scoring.models import AggregationRun
    from scoring.services import aggregation_run_create
    from scoring.tasks import aggregation_run

    runs = AggregationRun.objects.filter(project=project)
    before = runs.count()
    task_enqueue_safely(aggregation_run, project.pk, "api", project_id=project.pk)
    wait_until(
        lambda: runs.filter(status=AggregationRun.Status.RUNNING).exists(),
        what="the aggregation run to start",
    )
    held, _ = kill_and_redeliver(servers, "main")
    done = wait_until(
        lambda: runs.filter(status=AggregationRun.Status.DONE).order_by("-id").first(),
        what="the redelivered aggregation run to finish",
        every=0.2,
    )
    made = runs.count() - before
    again = aggregation_run_create(project=project, trigger=AggregationRun.Trigger.COMMAND)
    equal = run_figures(done) == run_figures(again)
    return equal, held, f"run {done.pk} ({made} run rows made by the task)"


def fault_release(servers: Servers, project) -> tuple[bool, list[str], str]:
    from exports.models import Release
    from exports.services.build import export_root, release_build, release_enqueue, release_request

    release = release_request(project=project, holdout_domains=["safety"])
    release_enqueue(release=release)
    tmp = export_root() / project.slug

    def writing() -> bool:
        return any(any(d.iterdir()) for d in tmp.glob(f".building-{release.pk}-*"))

    wait_until(writing, what="the release build to write files")
    held, visible_meanwhile = kill_and_redeliver(servers, "main", observe=half_releases)
    release = wait_until(
        lambda: (
            Release.objects.filter(pk=release.pk)
            .exclude(status__in=[Release.Status.PENDING, Release.Status.BUILDING])
            .first()
        ),
        what="the redelivered release build to finish",
        every=0.2,
    )
    again = release_build(
        release=release_request(project=project, run=release.run, seed=release.seed, holdout_domains=["safety"])
    )  # fmt: skip
    equal = (
        release.status == Release.Status.READY
        and again.status == Release.Status.READY
        and {n: m["sha256"] for n, m in release.files.items()}
        == {n: m["sha256"] for n, m in again.files.items()}
    )
    leftovers = len(list(tmp.glob(".building-*")))
    note = f"v{release.version} {release.status}; half visible while down {visible_meanwhile}; temp dirs left {leftovers}"
    return equal and leftovers == 0 and visible_meanwhile == 0, held, note


def fault_scoring(servers: Servers, project, chunk_size: int) -> tuple[bool, list[str], str]:
    from scoring.models import Scorer, ScorerScore, ScoringRun
    from scoring.scorers import scorer_apply
    from scoring.scoring_runs import scoring_run_chunk, scoring_run_enqueue, scoring_run_start

    def scorer(name: str) -> Scorer:
        definition = {
            "name": name,
            "kind": Scorer.Kind.METRIC,
            "backend": Scorer.Backend.BUILTIN,
            "metric": "length_chars",
            "description": "faults.py: the built-in length metric",
        }
        return scorer_apply(definition=definition)[0]

    def rows(run) -> list[tuple]:
        scores = ScorerScore.objects.filter(run=run).order_by("response_id")
        return list(scores.values_list("response_id", "score", "tokens", "truncated"))

    run, _ = scoring_run_start(
        project=project, scorer=scorer("faults_length_a"), chunk_size=chunk_size
    )
    scoring_run_enqueue(run)
    wait_until(
        lambda: ScoringRun.objects.filter(pk=run.pk, scored__gt=0).exists(),
        what="the scoring run's first chunk",
    )
    # Kill while the worker holds a chunk (taken, not yet acknowledged): mid-chunk.
    wait_until(
        lambda: any(task.endswith("scorer_chunk") for task, _ in unacked_in_flight()),
        what="the scoring worker to take a chunk",
        every=0.002,
    )
    held, scored_at_kill = kill_and_redeliver(
        servers, "scoring", observe=lambda: ScoringRun.objects.get(pk=run.pk).scored
    )
    run = wait_until(
        lambda: ScoringRun.objects.filter(
            pk=run.pk, status__in=[ScoringRun.Status.DONE, ScoringRun.Status.FAILED]
        ).first(),
        what="the redelivered scoring run to finish",
        every=0.2,
    )
    again, _ = scoring_run_start(
        project=project, scorer=scorer("faults_length_b"), chunk_size=chunk_size
    )
    for index in range(len(again.chunks)):
        scoring_run_chunk(run_id=again.pk, index=index)
    again.refresh_from_db()
    responses = project.responses.count()
    mine, theirs = rows(run), rows(again)
    equal = (
        run.status == again.status == ScoringRun.Status.DONE
        and run.scored == run.total == len(mine) == responses
        and mine == theirs
    )
    note = f"run {run.pk} {run.status}: {run.scored}/{responses} scored ({scored_at_kill} when the worker was killed)"
    return equal, held, note


# --- phases ---------------------------------------------------------------------------------


COLUMNS = (
    ("fault", 34), ("acked", 6), ("stored", 6), ("lost", 4), ("dup", 3), ("over-q", 6),
    ("2 leases", 8), ("drift", 5), ("half rel.", 9), ("stuck", 5), ("same result", 11),
    ("failed req.", 11), ("acked on retry", 14),
)  # fmt: skip


def line(values) -> str:
    return "  ".join(
        f"{str(v):>{w}}" if i else f"{str(v):<{w}}"
        for i, ((_, w), v) in enumerate(zip(COLUMNS, values, strict=True))
    )


class Harness:
    def __init__(self, args, servers: Servers, live, frozen, crowd: Crowd):
        self.args, self.servers, self.live, self.frozen, self.crowd = (
            args,
            servers,
            live,
            frozen,
            crowd,
        )
        self.failed = False
        self.failed_before = 0
        self.retried_before = 0

    def report(self, name: str, same: bool | None, note: str) -> None:
        from django.db import connection

        connection.close()  # a connection from before a PostgreSQL restart is gone
        ledger = self.crowd.ledger
        found = ledger_check(self.live, ledger)
        exact = exactness(self.live)
        counters = drift(self.live)
        half = half_releases()
        stuck = stuck_jobs(settle=30)
        with ledger.lock:
            failed, retried = ledger.failed_requests, ledger.acked_on_retry
            refused, unresolved = list(ledger.refused), ledger.unresolved
        print(
            line(
                [
                    name,
                    found["acked"],
                    found["stored"],
                    found["lost"],
                    exact["duplicate judgments"] + found["acked"] - found["stored"] - found["lost"],
                    exact["overshoot"],
                    exact["double leases"],
                    counters,
                    half,
                    sum(stuck.values()),
                    "-" if same is None else ("yes" if same else "NO"),
                    failed - self.failed_before,
                    retried - self.retried_before,
                ]
            ),  # fmt: skip
            flush=True,
        )
        if note:
            print(f"    {note}", flush=True)
        for what, n in stuck.items():
            print(f"    stuck: {n} {what}", flush=True)
        for problem in refused[:5]:
            print(f"    refused submission: {problem}", flush=True)
        self.failed_before, self.retried_before = failed, retried
        self.failed |= bool(
            found["lost"]
            or found["acked"] != found["stored"]
            or exact["duplicate judgments"]
            or exact["overshoot"]
            or exact["double leases"]
            or counters
            or half
            or stuck
            or refused
            or unresolved
            or same is False
        )

    def web(self, name: str, fault) -> None:
        """Annotators run 5 s, the fault happens, they go on ``--seconds``; then the checks."""
        self.crowd.start()
        time.sleep(5)
        before = len(self.crowd.ledger.acked)
        started = time.monotonic()
        detail = fault()
        ended = time.monotonic()
        during = len(self.crowd.ledger.acked) - before
        time.sleep(self.args.seconds)
        self.crowd.finish()
        after = [t for t in self.crowd.ledger.ack_times if t >= ended]
        first = f"{min(after) - ended:.1f} s" if after else "never"
        self.report(
            name,
            None,
            f"{detail}; fault lasted {ended - started:.1f} s, {during} acks meanwhile; "
            f"first ack after it {first}",
        )

    def job(self, name: str, fault, *args) -> None:
        """The fault on the frozen project's job while annotators work on the live one."""
        self.crowd.start()
        time.sleep(2)
        started = time.monotonic()
        try:
            same, held, note = fault(self.servers, self.frozen, *args)
        except TimeoutError as exc:
            same, held, note = False, [], str(exc)
        took = time.monotonic() - started
        self.crowd.finish()
        killed = ", ".join(held) or "nothing"
        self.report(name, same, f"{note}; worker held: {killed}; done {took:.0f} s after queueing")


def kill_web_worker(servers: Servers) -> str:
    # A worker on the CPU is most likely inside a request: kill that one if one shows up.
    deadline, pid = time.monotonic() + 5, None
    while pid is None and time.monotonic() < deadline:
        busy = [w for w in servers.web_workers() if running(w)]
        pid = busy[0] if busy else None
        time.sleep(0.001)
    pid = pid or random.choice(servers.web_workers())
    os.kill(pid, signal.SIGKILL)
    wait_for(
        lambda: (
            len(servers.web_workers()) == servers.gunicorn_workers
            and pid not in servers.web_workers()
        ),
        what="gunicorn's replacement worker",
    )
    return f"killed gunicorn worker {pid}"


def redis_outage(servers: Servers) -> str:
    servers.redis_stop()
    time.sleep(REDIS_DOWN_SECONDS)
    servers.redis_start()
    return f"Redis down {REDIS_DOWN_SECONDS} s"


def pg_restart(servers: Servers) -> str:
    servers.pg_restart()
    return "pg_ctl -m fast restart"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="annotation after each fault")
    parser.add_argument("--annotators", type=int, default=12)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between actions")
    parser.add_argument("--prompts", type=int, default=600, help="the live project (x2 responses)")
    parser.add_argument("--frozen-prompts", type=int, default=3000, help="the jobs' project (x3)")
    parser.add_argument("--chunk-size", type=int, default=32, help="responses per scoring chunk")
    parser.add_argument("--gunicorn-workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--keep", action="store_true", help="keep the logs and data directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="trenchcoat-faults-"))
    work.chmod(0o755)
    servers = Servers(
        work,
        args.gunicorn_workers,
        env={
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "TRENCHCOAT_RELEASE_BUILD_STALE_SECONDS": str(RELEASE_STALE_SECONDS),
            "TRENCHCOAT_EXPORT_DIR": str(work / "releases"),
        },
    )
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_VISIBILITY_TIMEOUT",
                "TRENCHCOAT_RELEASE_BUILD_STALE_SECONDS", "TRENCHCOAT_EXPORT_DIR"):  # fmt: skip
        os.environ[key] = servers.env[key]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    try:
        servers.pg_start()
        servers.redis_start()
        from _setup import django_setup

        django_setup()
        from django.db import connection

        live = build_project(f"faults-{int(time.time())}", args.prompts)
        sessions = make_sessions(live, f"{live.slug}-a", args.annotators)
        t0 = time.monotonic()
        frozen = frozen_project(args.frozen_prompts)
        print(
            f"frozen project: {args.frozen_prompts:,} prompts x 3 responses, 5 Likert + 3 pairwise "
            f"judgments each, generated in {time.monotonic() - t0:.0f} s"
        )
        connection.close()
        servers.web_start()
        servers.worker_start("main")
        servers.worker_start("scoring")
        crowd = Crowd(servers.web_port, live, sessions, args.pause)
        load = os.getloadavg()
        print(
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, load "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; gunicorn {args.gunicorn_workers} workers, "
            f"{args.annotators} annotators pausing {args.pause} s, {args.seconds:.0f} s after each "
            f"fault; broker visibility timeout {VISIBILITY_TIMEOUT} s, release claims stale "
            f"after {RELEASE_STALE_SECONDS} s\n"
        )
        print(line([c for c, _ in COLUMNS]), flush=True)
        h = Harness(args, servers, live, frozen, crowd)
        h.web("none (baseline)", lambda: "no fault")
        h.web("1 kill -9 gunicorn worker", lambda: kill_web_worker(servers))
        h.web("2 Redis down 20 s", lambda: redis_outage(servers))
        h.web("3 PostgreSQL fast restart", lambda: pg_restart(servers))
        h.job("4 kill -9 worker: aggregation", fault_aggregation)
        h.job("5 kill -9 worker: release build", fault_release)
        h.job("6 kill -9 worker: scoring chunk", fault_scoring, args.chunk_size)
        load = os.getloadavg()
        print(
            f"\n{time.monotonic() - started:.0f} s in all; load average at the end "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        print(
            "result:",
            "FAILED"
            if h.failed
            else "ok: nothing lost, no invariant broken, every job finished the same",
        )
        return 1 if h.failed else 0
    finally:
        servers.stop_all()
        if args.keep:
            print(f"logs and data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
