"""Growth: how requests and batch jobs scale with the size of a project (issue 12, item 2).

For each size (default 1,000, 15,000 and 100,000 prompts, 3 responses each) a grown project
is generated in the PostgreSQL at DATABASE_URL (not timed: COPY through annotation.bulk):
two thirds of its prompts judged to quorum through leases, as the annotator pages leave
them (a done lease per judgment, 3 Likert judgments per response, 3 votes on each of a
prompt's 3 pairs, by 24 annotators), the last third open. Then, timed:

  requests   in process, one at a time: queries and CPU ms per next task and per submit;
             then 32 annotators over HTTP (gunicorn on loopback, annotate_load.py's
             threads, 1 s pauses, a short bounded phase): next-task and submit p50/p95,
             ending with annotate_load's exactness checks (all must be 0)
  aggregate  aggregation_run_create, 1000 resamples
  release    release_request + release_build
  metaeval   humans_read + noise ceiling + metaeval_compute of one builtin scorer
             (length_chars; its finished scoring run is written directly, not timed)
  import     items_import of a JSONL file of --import-items new prompts x 3 responses

Each figure is printed with its ratio to the smallest size's. Requests should not grow with
the project; batch jobs no faster than linearly (per-prompt cost flat). Exits non-zero if
an exactness check fails or an annotator saw an error.

    SECRET_KEY=x TRENCHCOAT_PSEUDONYM_SALT=y bin/with-test-services \
        .venv/bin/python benchmarks/growth.py [--sizes 1000,15000,100000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import annotate_load  # noqa: E402  (sets ALLOWED_HOSTS for the in-process client first)
from _setup import django_setup  # noqa: E402
from metaeval import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PER_PROMPT, QUORUM, JUDGES = 3, 3, 24
GENERATORS = ("gen-a", "gen-b", "gen-c", "gen-d", "gen-e")
# A vocabulary of 20,000 made-up words: prompts drawn from a few dozen common words share
# most of their shingles, and every stored prompt became a near-duplicate candidate of every
# new one, a degenerate corpus rather than a large one.
VOCABULARY = [f"word{k}" for k in range(20_000)]
DOMAINS = [
    {"name": "chat", "target_share": 0.3},
    {"name": "code", "target_share": 0.5},
    {"name": "safety", "target_share": 0.2, "safety_critical": True},
]


# --- Data (not timed) ----------------------------------------------------------------------


def _prompt_text(rng: np.random.Generator, i: int) -> str:
    words = rng.choice(len(VOCABULARY), int(rng.integers(12, 40)))
    return f"Question {i}: explain " + " ".join(VOCABULARY[w] for w in words) + "?"


def _response_text(rng: np.random.Generator, i: int, j: int) -> str:
    words = rng.choice(len(VOCABULARY), int(rng.integers(20, 120)))
    return f"Answer {j} to question {i}. " + " ".join(VOCABULARY[w] for w in words) + "."


def grow(slug: str, n_prompts: int, seed: int):
    """A project of ``n_prompts`` x 3 responses, two thirds judged to quorum under leases."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from annotation.bulk import bulk_insert
    from annotation.models import (
        Annotator,
        Assignment,
        LikertJudgment,
        Membership,
        PairwiseJudgment,
        Prompt,
        PromptBand,
        Response,
        Task,
    )
    from annotation.services import dedup
    from annotation.services.projects import project_create
    from annotation.services.tasks import tasks_sync

    rng = np.random.default_rng(seed)
    project = project_create(
        slug=slug,
        name=f"Growth {n_prompts:,}",
        likert_quorum=QUORUM,
        pairwise_quorum=QUORUM,
        domains=DOMAINS,
        guidelines="Rate each response on every criterion.",
    )
    domains = [d.pk for d in project.domains.order_by("name")]
    keys = list(project.criteria.order_by("position").values_list("key", flat=True))

    # Prompts as an import stores them: content hash, MinHash signature and its LSH band
    # keys, which the near-duplicate check of a later import compares against.
    signatures = []

    def prompts():
        for i in range(n_prompts):
            text = _prompt_text(rng, i)
            signatures.append(dedup.minhash_of(dedup.shingles(text)).hashvalues)
            yield (
                project.pk,
                domains[i % 3],
                text,
                f"p{i}",
                dedup.content_hash(text),
                signatures[-1].astype(np.uint64).tobytes(),
            )

    bulk_insert(
        Prompt,
        ("project_id", "domain_id", "text", "external_id", "content_hash", "minhash"),
        prompts(),
    )
    prompt_ids = list(Prompt.objects.filter(project=project).order_by("id").values_list("id"))
    bands = dedup.band_keys(np.stack(signatures).astype(np.uint64)).tolist()
    bulk_insert(
        PromptBand,
        ("project_id", "prompt_id", "key"),
        (
            (project.pk, pid, key)
            for (pid,), row in zip(prompt_ids, bands, strict=True)
            for key in row
        ),
    )

    def responses():
        for i, (pid,) in enumerate(prompt_ids):
            for j in range(PER_PROMPT):
                text = _response_text(rng, i, j)
                model = GENERATORS[(i + j) % len(GENERATORS)]
                yield (project.pk, pid, text, model, f"p{i}-r{j}", dedup.content_hash(text))

    bulk_insert(
        Response,
        ("project_id", "prompt_id", "text", "model_name", "external_id", "content_hash"),
        responses(),
    )
    tasks_sync(project=project)

    # Judges: users with memberships, as annotators working through the pages are.
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"{slug}-judge{k}") for k in range(JUDGES)], batch_size=1000
    )
    Membership.objects.bulk_create(
        [Membership(user=u, project=project, role="annotator") for u in users]
    )
    judges = [a.pk for a in Annotator.objects.bulk_create([Annotator(user=u) for u in users])]

    cut = prompt_ids[(2 * n_prompts) // 3 - 1][0] if n_prompts >= 3 else 0
    tasks = list(
        Task.objects.filter(project=project, prompt_id__lte=cut)
        .order_by("id")
        .values_list("id", "kind", "prompt_id", "response_a_id", "response_b_id")
    )
    # Three distinct judges per task: consecutive ones from a random offset.
    offsets = rng.integers(0, JUDGES, len(tasks))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {Assignment._meta.db_table}")
        first_lease = cursor.fetchone()[0] + 1
    now = timezone.now()
    leased = now - timedelta(days=1)
    leases, likert, pairwise = [], [], []
    lease_id = first_lease
    ratings = rng.integers(1, 6, (len(tasks) * QUORUM, len(keys))).tolist()
    choices = rng.choice(["left", "right", "tie"], len(tasks) * QUORUM, p=[0.45, 0.45, 0.1])
    flips = rng.random(len(tasks) * QUORUM) < 0.5
    k = 0
    for (task_id, kind, prompt_id, a, b), offset in zip(tasks, offsets, strict=True):
        for q in range(QUORUM):
            judge = judges[(offset + q) % JUDGES]
            flipped = bool(flips[k])
            leases.append(
                (
                    lease_id,
                    project.pk,
                    task_id,
                    judge,
                    "done",
                    leased,
                    leased,
                    leased,
                    flipped,
                    "",
                    "",
                )
            )
            if kind == Task.Kind.LIKERT:
                row = dict(zip(keys, ratings[k], strict=True))
                likert.append((a, judge, row, uuid.uuid4(), lease_id, ""))
            else:
                left, right = (b, a) if flipped else (a, b)
                pairwise.append(
                    (prompt_id, left, right, a, b, judge, choices[k], uuid.uuid4(), lease_id, "")
                )
            lease_id += 1
            k += 1
    bulk_insert(
        Assignment,
        ("id", "project_id", "task_id", "annotator_id", "state", "leased_at", "expires_at",
         "finished_at", "flipped", "skip_reason", "skip_note"),
        leases,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
            [Assignment._meta.db_table, max(lease_id - 1, 1)],
        )
    bulk_insert(
        LikertJudgment,
        ("response_id", "annotator_id", "ratings", "client_key", "assignment_id", "comment"),
        likert,
    )
    bulk_insert(
        PairwiseJudgment,
        ("prompt_id", "left_id", "right_id", "response_a_id", "response_b_id", "annotator_id",
         "choice", "client_key", "assignment_id", "comment"),
        pairwise,
    )  # fmt: skip
    Task.objects.filter(project=project, prompt_id__lte=cut).update(
        done_count=QUORUM, filled=QUORUM
    )
    tasks_sync(project=project)  # opens the judged prompts' pairs, recounts the domains
    # VACUUM, not only ANALYZE: the UPDATE of the judged tasks above left a dead entry per
    # task in the partial open-task index, which the claim then walked past (729 buffers
    # per claim at 100,000 prompts, 4 after VACUUM) until autovacuum came by. A live
    # project's dead entries follow its recent writes, not its size.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return project, len(likert), len(pairwise)


@contextmanager
def foreign_keys_unchecked():
    """Generated rows are valid by construction: skip the per-row foreign-key triggers that
    made COPY of millions of rows slow (session_replication_role needs a superuser, as
    bin/with-test-services's cluster has). Constraints and indexes still apply."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


def scoring_run_builtin(project):
    """A finished run of the builtin length_chars scorer over every response (written
    directly: the scorer's own code is not what is measured here)."""
    from django.utils import timezone

    from annotation.bulk import bulk_insert
    from annotation.models import Response
    from scoring.backends.builtin import METRICS
    from scoring.models import Scorer, ScorerScore, ScoringRun

    scorer = Scorer.objects.create(
        name=f"length-chars-{project.slug}",
        kind=Scorer.Kind.METRIC,
        backend=Scorer.Backend.BUILTIN,
        metric="length_chars",
        project=project,
    )
    rows = Response.objects.filter(project=project).order_by("id").values_list("id", "text")
    length = METRICS["length_chars"]
    scores = [(rid, float(length(text))) for rid, text in rows.iterator(chunk_size=10_000)]
    run = ScoringRun.objects.create(
        project=project,
        scorer=scorer,
        status=ScoringRun.Status.DONE,
        total=len(scores),
        scored=len(scores),
        probe_status=ScoringRun.ProbeStatus.NOT_APPLICABLE,
        finished_at=timezone.now(),
    )
    bulk_insert(ScorerScore, ("run_id", "response_id", "score"), ((run.pk, *s) for s in scores))
    return run


def items_file(path: Path, n: int, seed: int) -> None:
    """``n`` new prompts x 3 responses, as an items JSONL file."""
    rng = np.random.default_rng(seed)
    with path.open("w") as fh:
        for i in range(n):
            line = {
                "prompt_id": f"new{i}",
                "prompt": _prompt_text(rng, 10_000_000 + i),
                "domain": DOMAINS[i % 3]["name"],
                "responses": [
                    {
                        "response_id": f"new{i}-r{j}",
                        "text": _response_text(rng, i, j),
                        "model": GENERATORS[j],
                    }
                    for j in range(PER_PROMPT)
                ],
            }
            fh.write(json.dumps(line) + "\n")


# --- Requests -----------------------------------------------------------------------------


def explain_requests(project) -> str:
    """The plan of every statement of one next task and one submit, with its actual rows
    and time (auto_explain, sent to this client as notices; needs a superuser, as
    bin/with-test-services's cluster has)."""
    from django.db import connection
    from django.test import Client

    session = annotate_load.make_sessions(project, f"{project.slug}-explain", 1)[0]
    client = Client(SERVER_NAME="127.0.0.1")
    client.cookies["sessionid"] = session
    criteria = list(project.criteria.values_list("key", flat=True))
    plans: list[str] = []
    connection.ensure_connection()
    connection.connection.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        for setting in ("log_min_duration = 0", "log_analyze = on", "log_buffers = on",
                        "log_nested_statements = on", "log_level = notice"):  # fmt: skip
            cursor.execute(f"SET auto_explain.{setting}")
    out = []
    try:
        for kind in ("next task", "submit", "next task", "submit"):  # the 2nd pair is printed
            plans.clear()
            if kind == "next task":
                page = client.get(f"/p/{project.slug}/annotate/", headers={"HX-Request": "true"})
                html = page.content.decode()
            else:
                lease = annotate_load.LEASE_RE.search(html)
                form = {"client_key": annotate_load.KEY_RE.search(html).group(1)}
                if annotate_load.KIND_RE.search(html).group(1) == "likert":
                    form.update({f"rating-{k}": "3" for k in criteria})
                else:
                    form["choice"] = "tie"
                client.post(lease.group(1), form, headers={"Accept": "application/json"})
            out.append(f"--- {kind}: {len(plans)} statements")
            out.extend(plans)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET auto_explain.log_min_duration = -1")
    half = next(i for i, line in enumerate(out) if i and line.startswith("--- next task"))
    return "\n".join(out[half:])


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def requests_measured(project, args) -> dict:
    from django.db import connection

    slug = project.slug
    solo = annotate_load.make_sessions(project, f"{slug}-solo", 1)[0]
    costs = annotate_load.in_process_costs(project, solo, rounds=args.in_process_rounds)
    sessions = annotate_load.make_sessions(project, f"{slug}-a", args.annotators)
    warm = annotate_load.make_sessions(project, f"{slug}-warm", 1)[0]
    connection.close()
    with annotate_load.gunicorn(
        workers=args.workers, threads=1, warm_slug=slug, warm_session=warm
    ) as port:
        load = annotate_load.run_mode(
            port, project, sessions, pause=1.0, seconds=args.seconds, retry_every=0
        )
    checks = annotate_load.exactness(project)
    return {
        "next_p50": pct(load["next"], 50),
        "next_p95": pct(load["next"], 95),
        "submit_p50": pct(load["submit"], 50),
        "submit_p95": pct(load["submit"], 95),
        "next_q": statistics.median(costs["next_q"]),
        "submit_q": statistics.median(costs["submit_q"]),
        "next_cpu": statistics.median(costs["next"]),
        "submit_cpu": statistics.median(costs["submit"]),
        "judgments": load["judgments"],
        "checks": checks,
        "errors": load["errors"],
    }


# --- Batch jobs ---------------------------------------------------------------------------


def timed(call, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return time.perf_counter() - started, result


def batch_measured(project, args) -> dict:
    from annotation.services.imports import items_import
    from exports.services.build import release_build, release_request
    from scoring.metaevaluations import humans_read, metaeval_compute, noise_ceiling_get_or_create
    from scoring.services import aggregation_run_create

    out: dict = {}
    out["aggregate"], run = timed(aggregation_run_create, project=project, trigger="command")
    out["release"], release = timed(
        lambda: release_build(release=release_request(project=project, run=run))
    )
    if release.status != "ready":
        raise SystemExit(f"the release of {project.slug} ended {release.status}: {release.error}")
    scoring_run = scoring_run_builtin(project)

    def metaeval():
        humans = humans_read(run, n_resamples=1000)
        noise_ceiling_get_or_create(humans)
        return metaeval_compute(scoring_run=scoring_run, aggregation_run=run, humans=humans)

    out["metaeval"], record = timed(metaeval)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.jsonl"
        items_file(path, args.import_items, seed=project.pk)
        out["import"], result = timed(items_import, project=project, source=path)
    expected = {"prompts": args.import_items, "responses": PER_PROMPT * args.import_items}
    if result.created != expected:
        raise SystemExit(f"the import created {result.created}, expected {expected}")
    return out


# --- The table ----------------------------------------------------------------------------

ROWS = (
    # key, label, format, per prompt (batch jobs: also shown per 1,000 prompts)
    ("next_p50", "next task p50 (ms), {annotators} annotators", "{:.1f}", False),
    ("next_p95", "next task p95 (ms)", "{:.1f}", False),
    ("submit_p50", "submit p50 (ms)", "{:.1f}", False),
    ("submit_p95", "submit p95 (ms)", "{:.1f}", False),
    ("next_q", "queries per next task", "{:.0f}", False),
    ("submit_q", "queries per submit", "{:.0f}", False),
    ("next_cpu", "CPU ms per next task (in process)", "{:.1f}", False),
    ("submit_cpu", "CPU ms per submit (in process)", "{:.1f}", False),
    ("aggregate", "aggregation run (s)", "{:.2f}", True),
    ("release", "release build (s)", "{:.2f}", True),
    ("metaeval", "meta-evaluation, 1 scorer (s)", "{:.2f}", True),
    ("import", "items import (s)", "{:.2f}", False),
)


def table(results: list[dict], import_items: int, annotators: int) -> str:
    sizes = [r["prompts"] for r in results]
    width = 18
    lines = [f"{'figure':<40}" + "".join(f"{f'{n:,} prompts':>{width}}" for n in sizes)]

    def row(label: str, values: list[float], fmt: str) -> str:
        cells = []
        for k, v in enumerate(values):
            text = fmt.format(v)
            if k:
                text += f" (x{v / values[0]:.2f})" if values[0] else " (x-)"
            cells.append(f"{text:>{width}}")
        return f"{label:<40}" + "".join(cells)

    for key, label, fmt, per_prompt in ROWS:
        values = [r[key] for r in results]
        if key == "import":
            label = f"items import, {import_items:,} new prompts (s)"
        label = label.format(annotators=annotators)
        lines.append(row(label, values, fmt))
        if per_prompt:
            lines.append(
                row("  per 1,000 prompts (s)", [v * 1000 / n for v, n in zip(values, sizes, strict=True)], "{:.3f}")
            )  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,15000,100000", help="prompts per project")
    parser.add_argument("--annotators", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20, help="length of the load phase")
    parser.add_argument("--import-items", type=int, default=2000)
    parser.add_argument("--in-process-rounds", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument(
        "--explain", action="store_true", help="print the query plans of a next task and a submit"
    )
    args = parser.parse_args()
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",")})
    except ValueError:
        parser.error(f"--sizes takes whole numbers separated by commas, not {args.sizes!r}")
    if not sizes or sizes[0] < 30:
        parser.error("--sizes: each size must be at least 30 prompts")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("growth needs PostgreSQL: run it under bin/with-test-services", file=sys.stderr)
        return 2

    django_setup()
    from django.conf import settings

    settings.EXPORT_DIR = Path(tempfile.mkdtemp(prefix="trenchcoat-growth-"))
    print(f"growth benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    stamp = int(time.time())
    results, failed = [], False
    for n in sizes:
        t0 = time.perf_counter()
        with foreign_keys_unchecked():
            project, n_likert, n_pairwise = grow(f"growth-{n}-{stamp}", n, seed=n)
        print(
            f"\n{n:,} prompts: {PER_PROMPT * n:,} responses, {n_likert:,} Likert + "
            f"{n_pairwise:,} pairwise judgments under leases, generated in "
            f"{time.perf_counter() - t0:.0f} s (not timed)"
        )
        if args.explain:
            print(explain_requests(project))
        r = {"prompts": n, **requests_measured(project, args)}
        print(
            f"  requests: next p50 {r['next_p50']:.1f} ms p95 {r['next_p95']:.1f} ms, submit "
            f"p50 {r['submit_p50']:.1f} ms p95 {r['submit_p95']:.1f} ms ({r['judgments']} "
            f"judgments); queries {r['next_q']:.0f} / {r['submit_q']:.0f}"
        )
        print("  " + ", ".join(f"{k}: {v}" for k, v in r["checks"].items()))
        for e in r["errors"][:5]:
            print("  error:", e, file=sys.stderr)
        failed |= any(r["checks"].values()) or bool(r["errors"])
        r.update(batch_measured(project, args))
        print(
            f"  aggregation {r['aggregate']:.2f} s, release {r['release']:.2f} s, "
            f"meta-evaluation {r['metaeval']:.2f} s, import {r['import']:.2f} s"
        )
        results.append(r)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{table(results, args.import_items, args.annotators)}")
    print(f"load average at the end: {load}")
    print("result:", "FAILED (see above)" if failed else "ok: exactness checks all 0, no errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
