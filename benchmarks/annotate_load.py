"""Annotation under load: next-task and submit latency, saturation throughput, exactness.

Builds a 15,000-prompt project (2 responses each: 30,000 Likert tasks and 15,000 pairs,
quorum 3, domains 0.5/0.3/0.2) in the PostgreSQL at DATABASE_URL, starts gunicorn on
loopback and drives simulated annotators over HTTP through the real pages:

  next task: GET /p/<slug>/annotate/ as HTMX (claim + render of the task partial)
  submit:    POST /p/<slug>/leases/<id>/submit/ (JSON acknowledgement)

(0) in process, one request at a time through django.test.Client: CPU ms and queries per
    next task and per submit (what each request costs, without queueing).
(a) 32 annotators, each pausing 1 s between actions: p50/p95/p99 of both.
(b) saturation, no pauses, every 10th submit retried with the same client key: judgments/s.
Both end with the quorum overshoot and duplicate counts, which must be 0.

    SECRET_KEY=... TRENCHCOAT_PSEUDONYM_SALT=... bin/with-test-services \
        .venv/bin/python benchmarks/annotate_load.py [--prompts 15000] [--seconds-a 40] [--seconds-b 25]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")  # the in-process client's host too

LEASE_RE = re.compile(r'action="(/p/[^"]+/leases/(\d+)/submit/)"')
KEY_RE = re.compile(r'name="client_key" value="([0-9a-f-]+)"')
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KIND_RE = re.compile(r'data-kind="(\w+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answer_form(html: str, rng: random.Random, criteria: list[str]) -> dict[str, str]:
    """A random answer to the task page in ``html``: its client key, CSRF token and ratings
    (Likert) or choice (pairwise)."""
    form = {
        "client_key": KEY_RE.search(html).group(1),
        "csrfmiddlewaretoken": CSRF_RE.search(html).group(1),
    }
    if KIND_RE.search(html).group(1) == "likert":
        form.update({f"rating-{k}": str(rng.randint(1, 5)) for k in criteria})
    else:
        form["choice"] = rng.choice(["left", "right", "tie"])
    return form


@contextmanager
def gunicorn(*, workers: int, threads: int, warm_slug: str, warm_session: str):
    """gunicorn on a free loopback port, the same shape as docker-compose's, with every
    worker thread warmed (templates, connections) on ``warm_slug``'s annotate page outside
    any measurement. Yields the port."""
    port = free_port()
    env = {
        **os.environ,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
            "--log-level", "warning", "--preload",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        for _ in range(4 * workers * threads):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request(
                "GET",
                f"/p/{warm_slug}/annotate/",
                headers={"Cookie": f"sessionid={warm_session}", "HX-Request": "true"},
            )
            conn.getresponse().read()
            conn.close()
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def build_project(slug: str, prompts: int):
    from annotation.models import Prompt, Response
    from annotation.services.projects import project_create
    from annotation.services.tasks import tasks_sync

    project = project_create(
        slug=slug,
        name="Load test",
        likert_quorum=3,
        pairwise_quorum=3,
        domains=[
            {"name": "code", "target_share": 0.5},
            {"name": "chat", "target_share": 0.3},
            {"name": "safety", "target_share": 0.2, "safety_critical": True},
        ],
        guidelines="Rate each response on every criterion.",
    )
    domains = list(project.domains.order_by("name"))
    body = "Here is an answer with `code`, a list:\n\n- one\n- two\n\n" + "Some text. " * 40
    started = time.perf_counter()
    made = Prompt.objects.bulk_create(
        [
            Prompt(
                project=project,
                domain=domains[i % len(domains)],
                text=f"Question {i}: explain **topic {i}** in a few sentences.",
                external_id=f"p{i}",
                content_hash=hashlib.sha256(f"{slug}-p{i}".encode()).hexdigest(),
            )
            for i in range(prompts)
        ],
        batch_size=5000,
    )
    Response.objects.bulk_create(
        [
            Response(
                project=project,
                prompt=p,
                text=f"{body} (variant {j})",
                external_id=f"{p.external_id}-r{j}",
                content_hash=hashlib.sha256(f"{slug}-{p.pk}-{j}".encode()).hexdigest(),
            )
            for p in made
            for j in range(2)
        ],
        batch_size=5000,
    )
    items_s = time.perf_counter() - started
    started = time.perf_counter()
    summary = tasks_sync(project=project)
    sync_s = time.perf_counter() - started
    print(
        f"project: {prompts:,} prompts, {2 * prompts:,} responses in {items_s:.1f} s; "
        f"tasks: {summary.likert_created:,} Likert + {summary.pairwise_created:,} pairwise built in {sync_s:.1f} s"
    )
    return project


def make_sessions(project, prefix: str, n: int) -> list[str]:
    """n annotators with a logged-in session each (no password hashing, no login round trip)."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    from annotation.models import Membership

    cookies = []
    for i in range(n):
        user = get_user_model().objects.create_user(username=f"{prefix}{i}")
        Membership.objects.create(user=user, project=project, role="annotator")
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        cookies.append(session.session_key)
    return cookies


class Annotator(threading.Thread):
    def __init__(self, port, slug, session_key, pause, deadline, retry_every, criteria, seed):
        super().__init__(daemon=True)
        self.port, self.slug, self.pause, self.deadline = port, slug, pause, deadline
        self.retry_every, self.criteria = retry_every, criteria
        self.cookie = f"sessionid={session_key}"
        self.next_ms: list[float] = []
        self.submit_ms: list[float] = []
        self.submitted = 0
        self.retried = 0
        self.nothing = 0
        self.errors: list[str] = []
        self.rng = random.Random(seed)

    def request(self, conn, method, path, body=None, headers=None):
        headers = {"Cookie": self.cookie, **(headers or {})}
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        for value in response.headers.get_all("Set-Cookie") or []:
            if value.startswith("csrftoken="):
                self.csrf_cookie = value.split(";", 1)[0]
        return response.status, data.decode(), elapsed

    def run(self):
        self.csrf_cookie = ""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        # People do not start in lockstep: each annotator begins at a random moment within the
        # first pause, then keeps the fixed pause. (Without it, 32 threads fire together every
        # second and measure a synthetic burst rather than the service.)
        time.sleep(self.rng.uniform(0, self.pause))
        try:
            while time.monotonic() < self.deadline:
                status, html, ms = self.request(
                    conn, "GET", f"/p/{self.slug}/annotate/", headers={"HX-Request": "true"}
                )
                if status != 200:
                    self.errors.append(f"next task: HTTP {status}")
                    return
                self.next_ms.append(ms)
                lease = LEASE_RE.search(html)
                if lease is None:
                    self.nothing += 1
                    time.sleep(0.2)
                    continue
                time.sleep(self.pause)
                path = lease.group(1)
                form = answer_form(html, self.rng, self.criteria)
                body = "&".join(f"{k}={v}" for k, v in form.items())
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                    "Cookie": f"{self.cookie}; {self.csrf_cookie}",
                }
                started = time.perf_counter()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                self.submit_ms.append((time.perf_counter() - started) * 1000)
                if response.status != 201:
                    self.errors.append(f"submit: HTTP {response.status}")
                    return
                self.submitted += 1
                if self.retry_every and self.submitted % self.retry_every == 0:
                    # A client that lost the answer sends the same submission again.
                    conn.request("POST", path, body=body, headers=headers)
                    again = conn.getresponse()
                    again.read()
                    self.retried += 1
                    if again.status != 200:
                        self.errors.append(f"retried submit: HTTP {again.status}, expected 200")
                time.sleep(self.pause)
        except Exception as exc:  # reported below; the run must end cleanly
            self.errors.append(repr(exc))
        finally:
            conn.close()


def in_process_costs(project, session_key: str, rounds: int) -> dict[str, list[float]]:
    """CPU ms and query counts of next-task (HTMX GET) and submit (JSON POST), one request
    at a time in this process: the cost of a request without any queueing."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1")
    client.cookies["sessionid"] = session_key
    criteria = list(project.criteria.values_list("key", flat=True))
    costs: dict[str, list[float]] = {k: [] for k in ("next", "submit", "next_q", "submit_q")}

    def measured(kind, call, *args, **kwargs):
        started = time.process_time()
        with CaptureQueriesContext(connection) as queries:
            response = call(*args, **kwargs)
        costs[kind].append((time.process_time() - started) * 1000)
        costs[f"{kind}_q"].append(len(queries))
        return response

    for i in range(rounds + 10):  # the first 10 warm up
        if i == 10:
            costs = {k: [] for k in costs}
        page = measured(
            "next", client.get, f"/p/{project.slug}/annotate/", headers={"HX-Request": "true"}
        )
        html = page.content.decode()
        lease = LEASE_RE.search(html)
        if lease is None:
            break
        form = {"client_key": KEY_RE.search(html).group(1)}
        if KIND_RE.search(html).group(1) == "likert":
            form.update({f"rating-{k}": "3" for k in criteria})
        else:
            form["choice"] = "tie"
        measured(
            "submit", client.post, lease.group(1), form, headers={"Accept": "application/json"}
        )
    return costs


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {q[49]:6.1f} ms   p95 {q[94]:6.1f} ms   p99 {q[98]:6.1f} ms   (n={len(values)})"


def exactness(project) -> dict[str, int]:
    from django.db import connection

    checks = {
        # Judgments within quorum, or judgments plus live leases, beyond a task's quorum.
        "overshoot": """
            SELECT count(*) FROM (
              SELECT t.id FROM annotation_task t
              JOIN annotation_assignment a ON a.task_id = t.id AND a.state IN ('active', 'done')
              WHERE t.project_id = %s GROUP BY t.id, t.quorum HAVING count(*) > t.quorum) x""",
        "judgments over quorum": """
            SELECT (SELECT count(*) FROM annotation_likertjudgment j JOIN annotation_response r ON r.id = j.response_id
                     WHERE r.project_id = %s AND j.over_quorum)
                 + (SELECT count(*) FROM annotation_pairwisejudgment j JOIN annotation_prompt p ON p.id = j.prompt_id
                     WHERE p.project_id = %s AND j.over_quorum)""",
        "duplicate judgments": """
            SELECT (SELECT count(*) FROM (SELECT 1 FROM annotation_likertjudgment j JOIN annotation_response r
                      ON r.id = j.response_id WHERE r.project_id = %s GROUP BY j.response_id, j.annotator_id
                      HAVING count(*) > 1) a)
                 + (SELECT count(*) FROM (SELECT 1 FROM annotation_pairwisejudgment j JOIN annotation_prompt p
                      ON p.id = j.prompt_id WHERE p.project_id = %s GROUP BY j.response_a_id, j.response_b_id,
                      j.annotator_id HAVING count(*) > 1) b)""",
        "double leases": """
            SELECT count(*) FROM (SELECT 1 FROM annotation_assignment WHERE project_id = %s AND state = 'active'
                                  GROUP BY annotator_id HAVING count(*) > 1) x""",
        "counter drift": """
            SELECT count(*) FROM annotation_task t WHERE t.project_id = %s AND t.done_count <> (
              SELECT count(*) FROM annotation_assignment a WHERE a.task_id = t.id AND a.state = 'done')""",
    }
    result = {}
    with connection.cursor() as cursor:
        for name, sql in checks.items():
            cursor.execute(sql, [project.pk] * sql.count("%s"))
            result[name] = cursor.fetchone()[0]
    return result


def judgments_of(project) -> int:
    from annotation.models import LikertJudgment, PairwiseJudgment

    return (
        LikertJudgment.objects.filter(response__project=project).count()
        + PairwiseJudgment.objects.filter(prompt__project=project).count()
    )


def run_mode(port, project, sessions, *, pause, seconds, retry_every):
    criteria = list(project.criteria.values_list("key", flat=True))
    deadline = time.monotonic() + seconds
    before = judgments_of(project)
    threads = [
        Annotator(port, project.slug, s, pause, deadline, retry_every, criteria, seed=i)
        for i, s in enumerate(sessions)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    errors = [e for t in threads for e in t.errors]
    return {
        "next": [ms for t in threads for ms in t.next_ms],
        "submit": [ms for t in threads for ms in t.submit_ms],
        "judgments": judgments_of(project) - before,
        "submitted": sum(t.submitted for t in threads),
        "retried": sum(t.retried for t in threads),
        "nothing": sum(t.nothing for t in threads),
        "elapsed": elapsed,
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=15000)
    parser.add_argument("--annotators", type=int, default=32)
    parser.add_argument("--seconds-a", type=float, default=40)
    parser.add_argument("--seconds-b", type=float, default=25)
    # Two single-threaded processes per core measured best on 2 cores (next p95 28 ms against
    # 50 ms with two threads each): requests are CPU-bound Python, and threads in one
    # process queue behind its GIL. The same shape as docker-compose's gunicorn.
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--in-process-rounds", type=int, default=100)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print(
            "annotate_load needs PostgreSQL: run it under bin/with-test-services or set DATABASE_URL",
            file=sys.stderr,
        )
        return 2

    from _setup import django_setup

    django_setup()
    from django.db import connection

    slug = f"load-{int(time.time())}"
    project = build_project(slug, args.prompts)
    sessions_a = make_sessions(project, f"{slug}-a", args.annotators)
    sessions_b = make_sessions(project, f"{slug}-b", args.annotators)
    warm = make_sessions(project, f"{slug}-warm", 1)[0]
    solo = make_sessions(project, f"{slug}-solo", 1)[0]
    costs = in_process_costs(project, solo, rounds=args.in_process_rounds)
    print(f"\n(0) in process, one request at a time ({len(costs['next'])} rounds)")
    for kind in ("next", "submit"):
        cpu, queries = costs[kind], costs[f"{kind}_q"]
        print(
            f"    {kind:10} CPU median {statistics.median(cpu):5.1f} ms, "
            f"mean {statistics.fmean(cpu):5.1f} ms; queries median {statistics.median(queries):.0f}, "
            f"max {max(queries)}"
        )
    connection.close()

    with gunicorn(
        workers=args.workers, threads=args.threads, warm_slug=slug, warm_session=warm
    ) as port:
        print(
            f"gunicorn on 127.0.0.1:{port}: {args.workers} workers x {args.threads} threads, {os.cpu_count()} CPUs"
        )

        a = run_mode(port, project, sessions_a, pause=1.0, seconds=args.seconds_a, retry_every=0)
        print(
            f"\n(a) {args.annotators} annotators, 1 s pause between actions, {a['elapsed']:.0f} s"
        )
        print(f"    next task  {percentiles(a['next'])}")
        print(f"    submit     {percentiles(a['submit'])}")
        print(f"    judgments  {a['judgments']} ({a['judgments'] / a['elapsed']:.1f}/s)")
        checks_a = exactness(project)
        print("    " + ", ".join(f"{k}: {v}" for k, v in checks_a.items()))

        b = run_mode(port, project, sessions_b, pause=0.0, seconds=args.seconds_b, retry_every=10)
        print(f"\n(b) saturation: {args.annotators} annotators, no pauses, {b['elapsed']:.0f} s")
        print(
            f"    throughput {b['judgments'] / b['elapsed']:.0f} judgments/s ({b['judgments']} judgments)"
        )
        print(f"    next task  {percentiles(b['next'])}")
        print(f"    submit     {percentiles(b['submit'])}")
        print(
            f"    retried submits {b['retried']}: rows added by retries {b['judgments'] - b['submitted']}"
        )
        checks_b = exactness(project)
        print("    " + ", ".join(f"{k}: {v}" for k, v in checks_b.items()))

    errors = a["errors"] + b["errors"]
    for e in errors[:10]:
        print("error:", e, file=sys.stderr)
    bad = (
        any(checks_a.values())
        or any(checks_b.values())
        or b["judgments"] != b["submitted"]
        or errors
    )
    print(
        "\nresult:", "FAILED" if bad else "ok: zero overshoot, zero duplicates, zero double leases"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
