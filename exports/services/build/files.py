"""Writing every file of a release into one directory (DESIGN 7.1).

Determinism: the files depend only on the run, the seed, the test fraction, the holdout
domains and the project's configuration. They contain no build time, no version number and
no release id, so rebuilding from the same run and seed gives byte-identical files (the
version is the directory name and lives in the database and the API).

The rows of the data files (responses, preference pairs, judgments) are written by ``rows``;
this module plans the scans, drives those writers and adds the checksums, the scores files,
the manifest and the card.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from annotation.composition import composition_from_counts
from annotation.models import Domain, Project
from scoring import selectors as scoring_selectors
from scoring.core.splits import TEST, TRAIN, split_prompts
from scoring.models import AggregationRun

from ... import selectors
from ..writers import PREFERENCES_SCHEMA, TwinWriter, file_sha256, responses_schema
from .manifest import card_render, json_dumps_pretty, pseudonymizer, release_manifest
from .rows import _by_prompt, _write_judgments, _write_prompt
from .scores import (
    leaderboard_rows,
    metaeval_document,
    metaevaluations_ensure,
    scores_write,
)

DATA_FILES = (
    "responses.jsonl",
    "responses.parquet",
    "preferences.jsonl",
    "preferences.parquet",
    "judgments.jsonl",
    "README.md",
)
ALL_FILES = (*DATA_FILES, "manifest.json")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class FilesResult:
    files: dict[str, dict[str, Any]]
    counts: dict[str, Any]


def release_files_write(
    *,
    directory: Path,
    project: Project,
    run: AggregationRun,
    seed: int,
    test_fraction: float,
    holdout_domains: Iterable[str] = (),
    scorers: dict[str, int] | None = None,
    progress: Progress | None = None,
) -> FilesResult:
    """Write every release file into ``directory``; returns checksums and counts.

    ``scorers`` ({name: pinned scoring run id}) adds scores.jsonl, scores.parquet and
    metaeval.json (``SCORES_FILES``)."""
    holdout = sorted(set(holdout_domains))
    criteria = list(project.criteria.order_by("position", "id"))
    keys = [c.key for c in criteria]
    run_config = run.config or {}
    tie_tolerance = float(run_config.get("tie_tolerance", project.tie_tolerance))
    scorers = dict(scorers or {})
    metaevaluations_ensure(run=run, scorers=scorers)

    with transaction.atomic(), _planned_for_full_scans():
        return _files_write(
            directory=directory,
            project=project,
            run=run,
            seed=seed,
            test_fraction=test_fraction,
            holdout=holdout,
            criteria=criteria,
            keys=keys,
            tie_tolerance=tie_tolerance,
            scorers=scorers,
            progress=progress,
        )


@contextmanager
def _planned_for_full_scans():
    """The build reads whole tables through server-side cursors. PostgreSQL plans cursors for
    the first 10% of rows and, on tables filled by a bulk import that autovacuum has not yet
    analyzed, believes they hold a few dozen rows: together these pick nested loops that made
    a 5,000-prompt build take 100 s instead of 5. Hash joins are right for full reads.

    A plan that keeps a nested loop anyway is costed at 10^10, over ``jit_above_cost``: JIT
    would compile each such small query (half a second apiece), so JIT is off too. SET LOCAL
    outlives a savepoint's release: inside a caller's transaction the settings would stay for
    the caller's later queries, so they are put back on the way out (an error rolls the
    savepoint back, which restores them itself)."""
    if connection.vendor != "postgresql":
        yield
        return
    names = ("enable_nestloop", "cursor_tuple_fraction", "jit")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{n}')" for n in names))
        before = cursor.fetchone()
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        cursor.execute("SET LOCAL jit = off")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"set_config('{n}', %s, true)" for n in names), before)


def _files_write(
    *,
    directory,
    project,
    run,
    seed,
    test_fraction,
    holdout,
    criteria,
    keys,
    tie_tolerance,
    scorers,
    progress,
) -> FilesResult:
    split = split_prompts(
        scoring_selectors.run_prompts(run=run),
        test_fraction=test_fraction,
        seed=seed,
        holdout_domains=holdout,
    )
    assignment = split.assignment

    responses = TwinWriter(directory, "responses", responses_schema(keys))
    preferences = TwinWriter(directory, "preferences", PREFERENCES_SCHEMA)
    coverage: dict[str, dict[str, int]] = {}
    try:
        for batch in _by_prompt(selectors.run_score_rows(run=run)):
            _write_prompt(batch, keys, assignment, tie_tolerance, responses, preferences, coverage)
            if progress is not None:
                progress(len(batch))
    finally:
        responses.close()
        preferences.close()

    pseudonym = pseudonymizer(
        project=project, run=run, seed=seed, test_fraction=test_fraction, holdout=holdout
    )
    judgment_counts = _write_judgments(directory / "judgments.jsonl", run, assignment, pseudonym)

    counts = {
        "prompts": len(assignment),
        "split_groups": split.n_groups,
        "responses": responses.rows,
        "preferences": preferences.rows,
        **judgment_counts,
        "by_split": {
            side: {
                "prompts": sum(c[f"{side}_prompts"] for c in coverage.values()),
                "responses": sum(c[f"{side}_responses"] for c in coverage.values()),
                "preferences": sum(c[f"{side}_preferences"] for c in coverage.values()),
            }
            for side in (TRAIN, TEST)
        },
    }
    domains = {d.name: d for d in Domain.objects.filter(project=project)}
    domain_coverage = {}
    total_prompts = max(len(assignment), 1)
    for name in sorted(set(domains) | set(coverage)):
        c = coverage.get(name, {})
        d = domains.get(name)
        per = split.per_domain.get(name, {"prompts": 0, "test": 0, "target": 0.0})
        domain_coverage[name] = {
            "target_share": d.target_share if d else None,
            "safety_critical": d.safety_critical if d else False,
            "share_of_prompts": round(per["prompts"] / total_prompts, 6),
            "prompts": per["prompts"],
            "responses": c.get("train_responses", 0) + c.get("test_responses", 0),
            "preferences": c.get("train_preferences", 0) + c.get("test_preferences", 0),
            "test_prompts": per["test"],
            "test_target": round(per["target"], 6),
            "holdout": name in holdout,
        }

    origins, sources = selectors.run_composition_counts(run=run)
    composition = composition_from_counts(
        project=project, origins=origins, sources=sources, unit_prefix="released "
    )

    files: dict[str, dict[str, Any]] = {}
    for name, rows in (
        ("responses.jsonl", responses.rows),
        ("responses.parquet", responses.rows),
        ("preferences.jsonl", preferences.rows),
        ("preferences.parquet", preferences.rows),
        (
            "judgments.jsonl",
            judgment_counts["likert_judgments"] + judgment_counts["pairwise_judgments"],
        ),
    ):
        files[name] = _file_meta(directory / name, rows)

    scores = leaderboard = None
    if scorers:
        per_scorer = scores_write(
            directory=directory, run=run, scorers=scorers, assignment=assignment
        )
        rows = sum(s["rows"] for s in per_scorer.values())
        counts["scores"] = rows
        files["scores.jsonl"] = _file_meta(directory / "scores.jsonl", rows)
        files["scores.parquet"] = _file_meta(directory / "scores.parquet", rows)
        document = metaeval_document(run=run, scorers=scorers)
        (directory / "metaeval.json").write_text(
            json_dumps_pretty(document), encoding="utf-8", newline="\n"
        )
        files["metaeval.json"] = _file_meta(directory / "metaeval.json", len(scorers))
        scores = per_scorer
        leaderboard = leaderboard_rows(document, per_scorer)

    manifest = release_manifest(
        project=project,
        criteria=criteria,
        run=run,
        seed=seed,
        test_fraction=test_fraction,
        holdout=holdout,
        tie_tolerance=tie_tolerance,
        counts=counts,
        domain_coverage=domain_coverage,
        files=files,
        pseudonym=pseudonym,
        composition=composition,
        scores=scores,
    )
    card = card_render(
        manifest=manifest,
        criteria=criteria,
        project=project,
        leaderboard=leaderboard,
        composition=composition,
    )
    (directory / "README.md").write_text(card, encoding="utf-8", newline="\n")
    files["README.md"] = _file_meta(directory / "README.md", None)
    manifest["files"] = {name: files[name] for name in sorted(files)}
    (directory / "manifest.json").write_text(
        json_dumps_pretty(manifest), encoding="utf-8", newline="\n"
    )
    all_files = dict(files)
    all_files["manifest.json"] = _file_meta(directory / "manifest.json", None)
    return FilesResult(files={name: all_files[name] for name in sorted(all_files)}, counts=counts)


def _file_meta(path: Path, rows: int | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    if rows is not None:
        meta["rows"] = rows
    return meta
