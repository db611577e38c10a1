"""A project with prompts, responses, judgments and a finished aggregation run, built directly
(no aggregation code needed), for release tests and the benchmark."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from django.utils import timezone

from annotation.models import Annotator, LikertJudgment, PairwiseJudgment, Project, Prompt, Response
from scoring.models import AggregationRun, ResponseScore, ids_pack


@dataclass
class Scored:
    project: Project
    run: AggregationRun | None
    prompts: list[Prompt]
    responses: list[Response]


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def scored_project(
    project: Project,
    *,
    n_prompts: int = 60,
    responses_per_prompt: int = 3,
    cluster_every: int = 7,
    annotators: int = 5,
    judgments: bool = True,
    seed: int = 1,
    batch: int = 5000,
    with_run: bool = True,
) -> Scored:
    """Fill ``project`` with scored data. Every ``cluster_every``-th prompt starts a cluster of
    three near-duplicates (0 for none). Domains are used round-robin."""
    rng = random.Random(seed)
    domains = list(project.domains.order_by("name"))
    keys = list(project.criteria.order_by("position").values_list("key", flat=True))
    prompts = [
        Prompt(
            project=project,
            domain=domains[i % len(domains)],
            text=f"Prompt {i}: how do I do thing {i}?",
            external_id=f"p{i:06d}",
            content_hash=_h(f"p{i}"),
        )
        for i in range(n_prompts)
    ]
    prompts = Prompt.objects.bulk_create(prompts, batch_size=batch)
    if cluster_every:
        updates = []
        for i in range(0, n_prompts - 2, cluster_every):
            root = prompts[i]
            for member in prompts[i : i + 3]:
                member.near_dup_cluster = root.pk
                updates.append(member)
        Prompt.objects.bulk_update(updates, ["near_dup_cluster"], batch_size=batch)
    responses = [
        Response(
            project=project,
            prompt=p,
            text=f"Answer {j} to {p.external_id}. " + "lorem ipsum " * rng.randint(1, 20),
            model_name=f"model-{j}",
            external_id=f"{p.external_id}-r{j}",
            content_hash=_h(f"{p.external_id}-r{j}"),
        )
        for p in prompts
        for j in range(responses_per_prompt)
    ]
    responses = Response.objects.bulk_create(responses, batch_size=batch)
    raters = Annotator.objects.bulk_create(
        [Annotator(project=project, external_id=f"rater-{k}") for k in range(annotators)]
    )
    if judgments:
        likert = [
            LikertJudgment(
                response=r,
                annotator=a,
                ratings={key: rng.randint(1, 5) for key in keys},
                duration_ms=rng.randint(1000, 60000),
            )
            for r in responses
            for a in raters
        ]
        LikertJudgment.objects.bulk_create(likert, batch_size=batch)
        pairwise = []
        by_prompt: dict[int, list[Response]] = {}
        for r in responses:
            by_prompt.setdefault(r.prompt_id, []).append(r)
        for rs in by_prompt.values():
            for x in range(len(rs)):
                for y in range(x + 1, len(rs)):
                    a, b = rs[x], rs[y]
                    for rater in raters[:3]:
                        pairwise.append(
                            PairwiseJudgment(
                                prompt_id=a.prompt_id,
                                left=b,
                                right=a,
                                response_a=a,
                                response_b=b,
                                annotator=rater,
                                choice=rng.choice(["left", "right", "tie"]),
                            )
                        )
        PairwiseJudgment.objects.bulk_create(pairwise, batch_size=batch)

    if not with_run:
        return Scored(project=project, run=None, prompts=prompts, responses=responses)
    run = AggregationRun.objects.create(
        project=project,
        status=AggregationRun.Status.DONE,
        config={"blend_alpha": project.blend_alpha, "tie_tolerance": project.tie_tolerance},
        counts={"responses": len(responses)},
        exclusions=[{"reason": "below likert quorum", "count": 0}],
        agreement={"overall": {"alpha": 0.61, "ci": [0.55, 0.66]}},
        code_version="test",
        finished_at=timezone.now(),
        # As a real run records them: every judgment of the project.
        likert_ids=ids_pack(
            list(
                LikertJudgment.objects.filter(response__project=project).values_list(
                    "id", flat=True
                )
            )
        ),
        pairwise_ids=ids_pack(
            list(
                PairwiseJudgment.objects.filter(prompt__project=project).values_list(
                    "id", flat=True
                )
            )
        ),
    )
    scores = []
    by_prompt_scores: dict[int, list[ResponseScore]] = {}
    for r in responses:
        means = {key: round(rng.random(), 4) for key in keys}
        criterion = sum(means.values()) / len(keys)
        borda = rng.choice([0.0, 0.5, 1.0])
        s = ResponseScore(
            run=run,
            response=r,
            criterion_means=means,
            criterion_score=criterion,
            borda=borda,
            final=0.6 * criterion + 0.4 * borda,
            final_source="blend",
            n_likert=annotators,
            n_pairwise=3 * (responses_per_prompt - 1),
            pairwise_wins=rng.randint(0, 3),
            flags=["disputed"] if rng.random() < 0.05 else [],
        )
        scores.append(s)
        by_prompt_scores.setdefault(r.prompt_id, []).append(s)
    for group in by_prompt_scores.values():
        for rank, s in enumerate(sorted(group, key=lambda s: (-s.final, s.response.pk)), start=1):
            s.rank = rank
    ResponseScore.objects.bulk_create(scores, batch_size=batch)
    return Scored(project=project, run=run, prompts=prompts, responses=responses)
