"""The lead dashboard on a 15,000-prompt project with 40 annotators (issue 11, DESIGN 7.4):
server time and queries for the full lead page and for each HTMX fragment it loads.

Generates two projects in the PostgreSQL at DATABASE_URL: a small one (500 prompts, 5
annotators) and the big one (15,000 prompts x 3 responses, 40 annotators; each response
has 5 Likert judgments and each pair 3 pairwise ones, spread over the last 30 days; 20
finished aggregation runs with the agreement a real run writes; a running aggregation, a
pending release and a queued scoring run, so the jobs panel polls). Then, through the
Django test client as a lead, for the lead page and every fragment it names (hx-get, so a
new panel is measured without touching this script): the median of 7 timed requests after
one warm-up, and the number of queries. A query count that does not grow with the number of
annotators or prompts is the same in both columns. Target: every fragment under 100 ms
(reported; the exit status is 1 only when a query count grew).

What a lead sees while the campaign runs: before each timed request one new Likert judgment
is submitted through the real write path (claim a lease, ``judgment_submit_likert``,
commit), so no request is served from figures that the previous one already computed. The
figures that are a scan over every judgment are stored and recounted by a debounced job
(``annotation.tasks.dashboard_refresh``, the ``aggregate`` queue); the panels show when
they were counted. Under bin/with-test-services the job is queued to Redis, where no worker
runs, so the requests never wait for it; the job itself is timed separately and printed.
Fragments are requested as htmx requests them (``HX-Request: true``); the lead page plainly.

    SECRET_KEY=x TRENCHCOAT_PSEUDONYM_SALT=y bin/with-test-services .venv/bin/python benchmarks/dashboard.py

``--prompts 2000 --annotators 10`` for a quicker run while developing; ``--reuse`` measures
projects a previous run left in the same database instead of generating them again.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._setup import django_setup  # noqa: E402

django_setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from annotation.models import (  # noqa: E402
    Annotator,
    DashboardSnapshot,
    LikertJudgment,
    Membership,
    PairwiseJudgment,
    Project,
    Response,
)
from annotation.services.assignments import annotator_for_user, assignment_claim_next  # noqa: E402
from annotation.services.dashboard import dashboard_refresh  # noqa: E402
from annotation.services.judgments import judgment_submit_likert  # noqa: E402
from annotation.services.projects import project_create  # noqa: E402
from annotation.services.tasks import tasks_count_judgments, tasks_sync  # noqa: E402
from exports.services.build import release_request  # noqa: E402
from scoring.models import AggregationRun, Scorer  # noqa: E402
from scoring.scoring_runs import scoring_run_start  # noqa: E402
from scoring.services import aggregation_run_create  # noqa: E402
from tests.exports.factories import scored_project  # noqa: E402

RUNS = 20
REPEATS = 7
BATCH = 5000


def generate(slug: str, n_prompts: int, n_annotators: int) -> Project:
    rng = random.Random(n_prompts)
    project = project_create(
        slug=slug,
        name=f"Dashboard bench {n_prompts}",
        domains=[{"name": n} for n in ("chat", "code", "math", "safety", "writing")],
    )
    scored = scored_project(
        project, n_prompts=n_prompts, annotators=n_annotators, judgments=False, with_run=False
    )
    raters = list(Annotator.objects.filter(project=project).order_by("pk"))
    keys = list(project.criteria.values_list("key", flat=True))
    likert = [
        LikertJudgment(
            response=r,
            annotator=raters[(i + k) % len(raters)],
            ratings={key: rng.randint(1, 5) for key in keys},
            duration_ms=rng.randint(2000, 90000),
        )
        for i, r in enumerate(scored.responses)
        for k in range(min(5, len(raters)))
    ]
    LikertJudgment.objects.bulk_create(likert, batch_size=BATCH)
    by_prompt: dict[int, list[Response]] = {}
    for r in scored.responses:
        by_prompt.setdefault(r.prompt_id, []).append(r)
    pairwise = [
        PairwiseJudgment(
            prompt_id=a.prompt_id,
            left=b,
            right=a,
            response_a=a,
            response_b=b,
            annotator=raters[(a.pk + k) % len(raters)],
            choice=rng.choice(["left", "right", "tie"]),
        )
        for rs in by_prompt.values()
        for x, a in enumerate(rs)
        for b in rs[x + 1 :]
        for k in range(min(3, len(raters)))
    ]
    PairwiseJudgment.objects.bulk_create(pairwise, batch_size=BATCH)
    # Spread the work over the last 30 days (created_at is set on insert).
    with connection.cursor() as cursor:
        for table, join in (
            (
                "annotation_likertjudgment",
                "response_id IN (SELECT id FROM annotation_response WHERE project_id = %s)",
            ),
            (
                "annotation_pairwisejudgment",
                "prompt_id IN (SELECT id FROM annotation_prompt WHERE project_id = %s)",
            ),
        ):
            cursor.execute(
                f"UPDATE {table} SET created_at = created_at - (id %% 30) * interval '1 day' "  # noqa: S608
                f"WHERE {join}",
                [project.pk],
            )
    tasks_sync(project=project)
    with transaction.atomic():
        tasks_count_judgments(
            project=project,
            response_ids={r.pk for r in scored.responses},
            pairs={(p.response_a_id, p.response_b_id) for p in pairwise},
        )
    run = aggregation_run_create(project=project, trigger="command", n_resamples=200)
    # More finished runs with the same shape of agreement (a real run each would take
    # minutes and change nothing the dashboard reads).
    AggregationRun.objects.bulk_create(
        [
            AggregationRun(
                project=project,
                status=AggregationRun.Status.DONE,
                config=run.config,
                counts=run.counts,
                agreement=run.agreement,
                finished_at=run.finished_at,
            )
            for _ in range(RUNS - 1)
        ]
    )
    AggregationRun.objects.create(project=project, status=AggregationRun.Status.RUNNING)
    release_request(project=project, run=run)
    scorer, _ = Scorer.objects.get_or_create(
        name="bench-length", kind="metric", backend="builtin", metric="length_chars"
    )
    scoring_run_start(project=project, scorer=scorer)
    return project


class Arrivals:
    """New judgments arriving: annotators (members) who each claim the next task and submit
    a Likert judgment through the services, as the annotate page does. The Likert quorum is
    raised first so that tasks are open again (the generated judgments filled them)."""

    def __init__(self, project: Project, n: int = 4) -> None:
        self.project = project
        self.rng = random.Random(7)
        self.keys = list(project.criteria.values_list("key", flat=True))
        project.likert_quorum = 8
        project.save(update_fields=["likert_quorum"])
        tasks_sync(project=project)
        self.annotators = []
        for i in range(n):
            user, _ = get_user_model().objects.get_or_create(username=f"arrive-{project.slug}-{i}")
            Membership.objects.get_or_create(
                user=user, project=project, defaults={"role": Membership.Role.ANNOTATOR}
            )
            self.annotators.append(annotator_for_user(user=user))
        self.count = 0

    def one(self) -> None:
        annotator = self.annotators[self.count % len(self.annotators)]
        lease = assignment_claim_next(project=self.project, annotator=annotator)
        assert lease is not None, "no open task for an arriving judgment"
        judgment_submit_likert(
            project=self.project,
            annotator=annotator,
            assignment_id=lease.pk,
            client_key=uuid.uuid4(),
            ratings={key: self.rng.randint(1, 5) for key in self.keys},
            duration_ms=self.rng.randint(2000, 90000),
        )
        self.count += 1


def measure(project: Project) -> tuple[dict[str, tuple[float, int]], float]:
    """Per URL: the median ms of REPEATS requests, each right after a new judgment, and the
    queries of one such request. Then the median ms of three refreshes of the stored
    figures (the job the new judgments queue)."""
    user, _ = get_user_model().objects.get_or_create(username=f"lead-{project.slug}")
    Membership.objects.get_or_create(
        user=user, project=project, defaults={"role": Membership.Role.LEAD}
    )
    arrivals = Arrivals(project)
    client = Client()  # the test client's host, "testserver", is allowed by setup_test_environment
    client.force_login(user)
    page = f"/p/{project.slug}/lead/"
    html = client.get(page).content.decode()
    urls = [page] + sorted(set(re.findall(r'hx-get="([^"]+)"', html)))
    out = {}
    for url in urls:
        headers = {} if url == page else {"HTTP_HX_REQUEST": "true"}
        assert client.get(url, **headers).status_code == 200, url  # warm-up
        arrivals.one()
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, **headers)
        # Read now: the list is a slice of the connection's log, which the next request clears.
        queries = len(ctx.captured_queries)
        times = []
        for _ in range(REPEATS):
            arrivals.one()
            t0 = time.perf_counter()
            client.get(url, **headers)
            times.append((time.perf_counter() - t0) * 1000)
        name = url.replace(f"/{project.slug}/", "/SLUG/")
        out[name] = (statistics.median(times), queries)
    refresh = []
    for _ in range(3):
        t0 = time.perf_counter()
        dashboard_refresh(project_id=project.pk)
        refresh.append((time.perf_counter() - t0) * 1000)
    stale = DashboardSnapshot.objects.get(project=project).stale_since
    assert stale is None, "the refresh left the stored figures stale"
    return out, statistics.median(refresh)


def generated(slug: str, n_prompts: int, n_annotators: int, reuse: bool) -> Project:
    found = Project.objects.filter(slug=slug).first() if reuse else None
    return found or generate(slug, n_prompts, n_annotators)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=15_000)
    parser.add_argument("--annotators", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="measure projects left by a run")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("run with DATABASE_URL pointing at PostgreSQL", file=sys.stderr)
        return 2
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    print(
        f"dashboard benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, PostgreSQL {pg}"
    )
    setup_test_environment()
    t0 = time.perf_counter()
    small, small_refresh = measure(generated("bench-dash-small", 500, 5, args.reuse))
    big_project = generated(
        f"bench-dash-big-{args.prompts}-{args.annotators}",
        args.prompts,
        args.annotators,
        args.reuse,
    )
    print(
        f"{LikertJudgment.objects.count():,} Likert and "
        f"{PairwiseJudgment.objects.count():,} pairwise judgments in the database "
        f"({'reused' if args.reuse else 'generated'}) in {time.perf_counter() - t0:.0f} s"
    )
    big, big_refresh = measure(big_project)
    column = f"ms ({args.prompts:,} prompts)"
    print(f"{'request':<48} {column:>20} {'queries':>8} {'queries (500)':>14}")
    slow = []
    for url, (ms, queries) in big.items():
        print(f"{url:<48} {ms:>20.1f} {queries:>8} {small.get(url, (0, '-'))[1]:>14}")
        if url != "/p/SLUG/lead/" and ms >= 100:
            slow.append(url)
    print(
        f"refresh of the stored figures (the debounced job each burst of new work queues): "
        f"{big_refresh:.0f} ms ({args.prompts:,} prompts), {small_refresh:.0f} ms (500)"
    )
    grew = [u for u in big if u in small and big[u][1] != small[u][1]]
    print(
        f"fragments over 100 ms: {', '.join(slow) or 'none'}; "
        f"query counts that grew: {', '.join(grew) or 'none'}; "
        f"load average now {os.getloadavg()[0]:.1f}"
    )
    # Times are reported, not enforced (a loaded machine is slow); a growing count is a bug.
    return 1 if grew else 0


if __name__ == "__main__":
    sys.exit(main())
