"""Scorers in a release (DESIGN 6.5, 7.1): ``scores.parquet`` (with its JSONL twin) and
``metaeval.json`` for the scorers the release request named.

Each scorer's scoring run was pinned when the release was requested (``Release.scorers``),
so a rebuild reads the same scores. ``metaeval.json`` holds each pinned run's stored
``MetaEvaluation`` against the release's aggregation run (computed once, before the build's
transaction, when it does not exist yet; the computation is seeded and deterministic) and
the run's ``NoiseCeiling``. Both documents hold figures only: counts, estimates, scorer and
generator-model names; no annotator ids or names and no texts (probe figures are numbers
about perturbed texts that are never stored; a check below refuses a document with a key
that could carry either). Probe *scores* are never read here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from scoring.core.splits import TRAIN
from scoring.metaevaluations import humans_read, metaeval_compute, noise_ceiling_get_or_create
from scoring.models import AggregationRun, MetaEvaluation, NoiseCeiling, ScoringRun

from ... import selectors
from ..writers import TwinWriter, finite_or_none

SCORES_FILES = ("scores.jsonl", "scores.parquet", "metaeval.json")
METAEVAL_FORMAT = "trenchcoat-metaeval/1"

SCORES_SCHEMA = pa.schema(
    [
        ("response_id", pa.string()),
        ("scorer", pa.string()),
        ("score", pa.float64()),
        ("split", pa.string()),
    ]
)

# Keys that would carry a person or a text: the figures have none, and a release must not
# gain one through a future change of their layout unnoticed.
_FORBIDDEN_KEYS = frozenset(
    {
        "annotator",
        "annotator_id",
        "annotators",
        "user",
        "user_id",
        "username",
        "email",
        "text",
        "prompt_text",
        "response_text",
        "perturbed",
        "perturbed_text",
    }
)


def _pinned_runs(scorers: dict[str, int]) -> dict[str, ScoringRun]:
    runs = ScoringRun.objects.select_related("scorer", "project").in_bulk(list(scorers.values()))
    missing = sorted(name for name, pk in scorers.items() if pk not in runs)
    if missing:
        raise RuntimeError(
            "the scoring runs pinned for "
            + ", ".join(f"'{name}' (run {scorers[name]})" for name in missing)
            + " no longer exist; request the release again"
        )
    return {name: runs[scorers[name]] for name in sorted(scorers)}


def metaevaluations_ensure(*, run: AggregationRun, scorers: dict[str, int]) -> None:
    """Compute the meta-evaluations (and the noise ceiling) the release needs and that are
    not stored yet. Runs before the build's transaction, so a failure stays recorded on its
    MetaEvaluation (and the build fails with it)."""
    if not scorers:
        return
    done = set(
        MetaEvaluation.objects.filter(
            aggregation_run=run,
            scoring_run_id__in=list(scorers.values()),
            status=MetaEvaluation.Status.DONE,
        ).values_list("scoring_run_id", flat=True)
    )
    humans = None
    for scoring_run in _pinned_runs(scorers).values():
        if scoring_run.pk in done:
            continue
        humans = humans or humans_read(run)
        metaeval_compute(scoring_run=scoring_run, aggregation_run=run, humans=humans)
    if not NoiseCeiling.objects.filter(aggregation_run=run).exists():
        noise_ceiling_get_or_create(humans or humans_read(run))


def scores_write(
    *, directory: Path, run: AggregationRun, scorers: dict[str, int], assignment: dict[int, str]
) -> dict[str, dict[str, int]]:
    """Write scores.jsonl and scores.parquet: one row per (scorer, released response it
    scored), sorted by scorer then response id (code-point order, independent of the
    database's collation). Returns per scorer its rows and the released responses without
    a score (a run over the project made before some responses were imported)."""
    released = selectors.run_score_count(run=run)
    writer = TwinWriter(directory, "scores", SCORES_SCHEMA)
    per_scorer: dict[str, dict[str, int]] = {}
    try:
        for name in sorted(scorers):
            rows = sorted(
                selectors.release_scorer_scores(run=run, scoring_run_id=scorers[name]),
                key=lambda row: row[0],
            )
            for response_ext, prompt_pk, score in rows:
                writer.write(
                    {
                        "response_id": response_ext,
                        "scorer": name,
                        "score": finite_or_none(score),
                        "split": assignment.get(prompt_pk, TRAIN),
                    }
                )
            per_scorer[name] = {
                "scoring_run": scorers[name],
                "rows": len(rows),
                "responses_without_score": released - len(rows),
            }
    finally:
        writer.close()
    return per_scorer


def metaeval_document(*, run: AggregationRun, scorers: dict[str, int]) -> dict[str, Any]:
    """The content of metaeval.json: the stored records, without their ids and times."""
    records = {
        m.scoring_run_id: m
        for m in MetaEvaluation.objects.filter(
            aggregation_run=run,
            scoring_run_id__in=list(scorers.values()),
            status=MetaEvaluation.Status.DONE,
        )
    }
    ceiling = NoiseCeiling.objects.filter(aggregation_run=run).first()
    entries = {}
    for name, scoring_run_id in sorted(scorers.items()):
        record = records.get(scoring_run_id)
        if record is None:
            raise RuntimeError(
                f"no meta-evaluation of scoring run {scoring_run_id} ('{name}') against "
                f"aggregation run {run.pk}"
            )
        entries[name] = {
            "scoring_run": scoring_run_id,
            "figures": record.figures,
            "config": record.config,
            "counts": record.counts,
            "code_version": record.code_version,
        }
    document = {
        "format": METAEVAL_FORMAT,
        "aggregation_run": run.pk,
        "definitions": "DESIGN 6.3 of Trenchcoat; the layout of each scorer's `figures` is "
        "documented in scoring/metaevaluations/__init__.py. Every estimate is "
        "{value, reason, ci_low, ci_high, n_units, n_pairable, n_resamples}; value is null "
        "(with the reason) when undefined",
        "noise_ceiling": None
        if ceiling is None
        else {"figures": ceiling.figures, "code_version": ceiling.code_version},
        "scorers": entries,
    }
    _check_no_people_or_texts(document)
    return document


def _check_no_people_or_texts(value: Any, path: str = "metaeval") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _FORBIDDEN_KEYS:
                raise ValueError(
                    f"{path}.{key}: a release's metaeval.json names no people or texts"
                )
            _check_no_people_or_texts(item, f"{path}.{key}")
    elif isinstance(value, list):
        for k, item in enumerate(value):
            _check_no_people_or_texts(item, f"{path}[{k}]")


def _estimate(est: dict | None) -> str:
    if not est or est.get("value") is None:
        return "n/a"
    text = f"{est['value']:.3f}"
    if est.get("ci_low") is not None and est.get("ci_high") is not None:
        text += f" [{est['ci_low']:.3f}, {est['ci_high']:.3f}]"
    return text


def leaderboard_rows(
    document: dict[str, Any], per_scorer: dict[str, dict[str, int]]
) -> dict[str, Any]:
    """The dataset card's small leaderboard: per scorer the headline accuracy [CI], tau_b
    per prompt and ECE, and the noise ceiling as its own row."""
    rows = []
    for name, entry in sorted(document["scorers"].items()):
        headline = entry["figures"].get("headline") or {}
        rows.append(
            {
                "scorer": name,
                "scoring_run": entry["scoring_run"],
                "scored": per_scorer[name]["rows"],
                "without_score": per_scorer[name]["responses_without_score"],
                "pairs": headline.get("pairs") or "none",
                "accuracy": _estimate(headline.get("accuracy")),
                "tau_b": _estimate(headline.get("tau_prompt")),
                "ece": _estimate(headline.get("ece")),
            }
        )
    ceiling = (document.get("noise_ceiling") or {}).get("figures") or {}
    return {
        "rows": rows,
        "ceiling_votes": _estimate((ceiling.get("votes") or {}).get("value")),
        "ceiling_likert": _estimate((ceiling.get("likert") or {}).get("value")),
    }
