"""Reads for the scoring app, one module each: ``aggregation`` (judgments into numpy arrays,
one query each, from one snapshot), ``runs`` (aggregation runs for pages, the catch-up job,
the lead's panel and the prompts a run scored) and ``probes`` (a scoring run's probe scores).
Every name is re-exported here: callers write ``from scoring import selectors``."""

from .aggregation import (
    adjudication_arrays,
    aggregation_input,
    aggregation_left_out,
    aggregation_snapshot,
    criteria_specs,
    response_model_names,
)
from .probes import probe_arrays
from .runs import (
    annotator_labels,
    projects_with_unaggregated_judgments,
    run_latest,
    run_panel,
    run_prompts,
    runs_for_project,
    runs_recent,
)

__all__ = [
    "adjudication_arrays",
    "aggregation_input",
    "aggregation_left_out",
    "aggregation_snapshot",
    "annotator_labels",
    "criteria_specs",
    "probe_arrays",
    "projects_with_unaggregated_judgments",
    "response_model_names",
    "run_latest",
    "run_panel",
    "run_prompts",
    "runs_for_project",
    "runs_recent",
]
