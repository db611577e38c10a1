"""Small builders for aggregation tests: a project with prompts, responses and judgments."""

from __future__ import annotations

import itertools

from annotation.models import Annotator, LikertJudgment, PairwiseJudgment, Prompt, Response

_ids = itertools.count(1)


def prompt_with_responses(project, n: int, *, domain=None):
    domain = domain or project.domains.first()
    k = next(_ids)
    prompt = Prompt.objects.create(
        project=project,
        domain=domain,
        text=f"prompt {k}",
        external_id=f"p{k}",
        content_hash=f"h{k}",
    )
    responses = [
        Response.objects.create(
            project=project,
            prompt=prompt,
            text=f"r{k}-{i}",
            external_id=f"r{k}-{i}",
            content_hash=f"rh{k}-{i}",
        )
        for i in range(n)
    ]
    return prompt, responses


def raters(project, n: int) -> list[Annotator]:
    return [
        Annotator.objects.create(project=project, external_id=f"rater{next(_ids)}")
        for _ in range(n)
    ]


def rate(response, annotator, **ratings) -> LikertJudgment:
    return LikertJudgment.objects.create(response=response, annotator=annotator, ratings=ratings)


def vote(winner, loser, annotator, *, tie: bool = False) -> PairwiseJudgment:
    """``winner`` shown left and chosen (or a tie)."""
    a, b = sorted([winner, loser], key=lambda r: r.pk)
    return PairwiseJudgment.objects.create(
        prompt=winner.prompt,
        left=winner,
        right=loser,
        response_a=a,
        response_b=b,
        annotator=annotator,
        choice="tie" if tie else "left",
    )
