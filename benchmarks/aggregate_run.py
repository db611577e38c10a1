"""Aggregation benchmark (DESIGN 9): one full run from PostgreSQL on a generated campaign of
15,000 prompts x 4 responses, 300,000 Likert judgments (5 per response, 4 criteria) and
45,000 pairwise votes (one pair per prompt, 3 votes), target under 15 s.

    SECRET_KEY=x TRENCHCOAT_PSEUDONYM_SALT=y bin/with-test-services .venv/bin/python benchmarks/aggregate_run.py

Data is generated with bulk_create (not timed). The run is timed end to end
(``aggregation_run_create``: read, compute with 1000-resample CIs, write 60,000 score rows),
then again split into read / compute / write.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_setup  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N_PROMPTS, PER_PROMPT, RATINGS, VOTES, N_ANNOTATORS = 15_000, 4, 5, 3, 60
SLUG = "bench-aggregate"


def generate():
    from annotation.models import (
        Annotator,
        LikertJudgment,
        PairwiseJudgment,
        Project,
        Prompt,
        Response,
    )
    from annotation.services.projects import project_create

    Project.objects.filter(slug=SLUG).delete()
    project = project_create(
        slug=SLUG,
        name="Aggregation benchmark",
        domains=[{"name": d} for d in ("code", "math", "writing", "safety")],
        likert_quorum=RATINGS,
        pairwise_quorum=VOTES,
    )
    domains = list(project.domains.all())
    annotators = Annotator.objects.bulk_create(
        [Annotator(project=project, external_id=f"bench-{i}") for i in range(N_ANNOTATORS)]
    )
    rng = np.random.default_rng(1)
    keys = [c.key for c in project.criteria.order_by("position")]
    t0 = time.perf_counter()
    for start in range(0, N_PROMPTS, 1000):
        prompts = Prompt.objects.bulk_create(
            [
                Prompt(
                    project=project,
                    domain=domains[i % len(domains)],
                    text=f"prompt {i}",
                    external_id=f"p{i}",
                    content_hash=f"{i:064d}",
                )
                for i in range(start, min(start + 1000, N_PROMPTS))
            ]
        )
        responses = Response.objects.bulk_create(
            [
                Response(
                    project=project,
                    prompt=p,
                    text=f"r{k}",
                    external_id=f"{p.external_id}-{k}",
                    content_hash=f"{p.pk}-{k}",
                )
                for p in prompts
                for k in range(PER_PROMPT)
            ]
        )
        quality = rng.normal(3, 1, len(responses))
        likert = []
        for r, q in zip(responses, quality, strict=True):
            for a in rng.choice(N_ANNOTATORS, RATINGS, replace=False):
                values = np.clip(np.rint(q + rng.normal(0, 0.9, len(keys))), 1, 5).astype(int)
                likert.append(
                    LikertJudgment(
                        response=r,
                        annotator=annotators[a],
                        ratings=dict(zip(keys, values.tolist(), strict=True)),
                    )
                )
        LikertJudgment.objects.bulk_create(likert, batch_size=5000)
        pairwise = []
        for j, p in enumerate(prompts):
            x, y = rng.choice(PER_PROMPT, 2, replace=False)
            ra, rb = responses[j * PER_PROMPT + x], responses[j * PER_PROMPT + y]
            a, b = sorted((ra, rb), key=lambda r: r.pk)
            for ann in rng.choice(N_ANNOTATORS, VOTES, replace=False):
                left, right = (a, b) if rng.random() < 0.5 else (b, a)
                choice = rng.choice(["left", "right", "tie"], p=[0.45, 0.45, 0.1])
                pairwise.append(
                    PairwiseJudgment(
                        prompt=p,
                        left=left,
                        right=right,
                        response_a=a,
                        response_b=b,
                        annotator=annotators[ann],
                        choice=choice,
                    )
                )
        PairwiseJudgment.objects.bulk_create(pairwise, batch_size=5000)
        print(
            f"  generated {min(start + 1000, N_PROMPTS):,} prompts ({time.perf_counter() - t0:.0f} s)",
            end="\r",
        )
    print()
    return project


def main() -> None:
    django_setup()
    from django.db import connection

    from annotation.models import LikertJudgment, PairwiseJudgment
    from scoring import selectors
    from scoring.core.aggregate import aggregate
    from scoring.services import aggregation_run_create

    project = generate()
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    n_likert = LikertJudgment.objects.filter(response__project=project).count()
    n_pair = PairwiseJudgment.objects.filter(prompt__project=project).count()
    print(
        f"campaign: {N_PROMPTS:,} prompts, {N_PROMPTS * PER_PROMPT:,} responses, {n_likert:,} Likert judgments "
        f"({n_likert * 4:,} criterion ratings), {n_pair:,} pairwise votes, {N_ANNOTATORS} annotators"
    )

    t0 = time.perf_counter()
    run = aggregation_run_create(project=project, trigger="command")
    total = time.perf_counter() - t0
    print(
        f"full run (aggregation_run_create, 1000 resamples): {total:.2f} s   target < 15 s   (run {run.pk}, {run.status})"
    )

    t0 = time.perf_counter()
    inp = selectors.aggregation_input(project, n_resamples=1000)
    read = time.perf_counter() - t0
    t0 = time.perf_counter()
    aggregate(inp)
    compute = time.perf_counter() - t0
    print(
        f"  read judgments into arrays: {read:.2f} s; compute (scores, agreement, CIs, disputes): {compute:.2f} s; "
        f"write run + {run.scores.count():,} score rows: ~{total - read - compute:.2f} s"
    )
    a = run.agreement
    for key, c in a["criteria"].items():
        e = c["alpha"]["ordinal"]
        print(f"  {key:<11} ordinal alpha {e['value']:.4f} [{e['ci_low']:.4f}, {e['ci_high']:.4f}]")
    print(
        f"  pairwise nominal alpha {a['pairwise']['alpha_nominal']['value']:.4f}, disputes {len(run.disputes):,}, "
        f"Cohen pairs {len(a['cohen']['likert'])} (Likert) / {len(a['cohen']['pairwise'])} (pairwise)"
    )


if __name__ == "__main__":
    main()
