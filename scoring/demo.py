"""The demo's scorers (`make dev`): the three built-in metrics, shared by every project,
each run once over the demo project in this process (no worker, no model, no download),
then measured against the demo's humans, so the leaderboard shows real figures."""

from __future__ import annotations

from annotation.models import Project

from .metaevaluations import humans_read, metaeval_compute
from .models import AggregationRun, Scorer, ScoringRun
from .scorers import scorer_apply
from .scoring_runs import scoring_run_chunk, scoring_run_start
from .services import aggregation_run_create

BUILTIN_SCORERS = [
    {
        "name": "length_chars",
        "metric": "length_chars",
        "description": "Unicode code points of the response: the length bias every RM is checked for.",
    },
    {
        "name": "length_words",
        "metric": "length_words",
        "description": "Whitespace-separated words of the response.",
    },
    {
        "name": "markdown_density",
        "metric": "markdown_density",
        "description": "Share of non-empty lines that are Markdown structure (headings, lists, tables, fences).",
    },
]


def demo_scoring_seed(*, project: Project) -> list[ScoringRun]:
    """Register the built-in metrics and score the project with each. Idempotent: a run that
    already scored every response is kept as it is."""
    runs = []
    for body in BUILTIN_SCORERS:
        scorer, _ = scorer_apply(
            definition={**body, "kind": Scorer.Kind.METRIC, "backend": Scorer.Backend.BUILTIN}
        )
        run, _ = scoring_run_start(
            project=project, scorer=scorer, trigger=ScoringRun.Trigger.COMMAND
        )
        for index in range(len(run.chunks)):
            scoring_run_chunk(run_id=run.pk, index=index)
        run.refresh_from_db()
        runs.append(run)
    aggregation = aggregation_run_create(
        project=project, trigger=AggregationRun.Trigger.COMMAND, reuse_identical=True
    )
    humans = humans_read(aggregation)
    for run in runs:
        metaeval_compute(scoring_run=run, aggregation_run=aggregation, humans=humans)
    return runs
