"""Writing every file of a release into one directory (DESIGN 7.1).

Determinism: the files depend only on the run, the seed, the test fraction, the holdout
domains and the project's configuration. They contain no build time, no version number and
no release id, so rebuilding from the same run and seed gives byte-identical files (the
version is the directory name and lives in the database and the API).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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
from ..writers import (
    PREFERENCES_SCHEMA,
    JsonlWriter,
    TwinWriter,
    file_sha256,
    finite_or_none,
    json_line,
    responses_schema,
)
from .manifest import Pseudonym, card_render, json_dumps_pretty, pseudonymizer, release_manifest
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


def _flags(value: Any) -> list[str]:
    if not value:
        return []
    if not isinstance(value, list):
        value = [value]
    return [v if isinstance(v, str) else json_line(v).strip() for v in value]


def _by_prompt(rows: Iterator[tuple]) -> Iterator[list[tuple]]:
    """Consecutive score rows of one prompt (the query orders them by prompt)."""
    batch: list[tuple] = []
    current = None
    for row in rows:
        prompt_id = row[5]
        if batch and prompt_id != current:
            yield batch
            batch = []
        current = prompt_id
        batch.append(row)
    if batch:
        yield batch


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


def _write_prompt(batch, keys, assignment, tie_tolerance, responses, preferences, coverage) -> None:
    first = batch[0]
    prompt_pk, prompt_ext, prompt_text, domain = first[5], first[6], first[7], first[8]
    side = assignment.get(prompt_pk, TRAIN)
    cov = coverage.setdefault(
        domain,
        {
            f"{s}_{what}": 0
            for s in (TRAIN, TEST)
            for what in ("prompts", "responses", "preferences")
        },
    )
    cov[f"{side}_prompts"] += 1
    ranked = []
    for (
        _response_pk,
        response_ext,
        response_text,
        origin,
        model_name,
        _prompt_pk,
        _prompt_ext,
        _prompt_text,
        _domain,
        means,
        criterion_score,
        borda,
        final,
        final_source,
        rank,
        n_likert,
        n_pairwise,
        wins,
        flags,
    ) in batch:
        means = means or {}
        final = finite_or_none(final)
        row = {
            "prompt_id": prompt_ext,
            "response_id": response_ext,
            "prompt": prompt_text,
            "response": response_text,
            "domain": domain,
            "split": side,
            "origin": origin,
            "model_name": model_name,
            **{f"mean_{key}": finite_or_none(means.get(key)) for key in keys},
            "criterion_score": finite_or_none(criterion_score),
            "borda": finite_or_none(borda),
            "final": final,
            "final_source": final_source,
            "rank": rank,
            "n_likert": n_likert,
            "n_pairwise": n_pairwise,
            "n_judgments": n_likert + n_pairwise,
            "pairwise_wins": wins,
            "flags": _flags(flags),
        }
        responses.write(row)
        cov[f"{side}_responses"] += 1
        if final is not None:
            ranked.append((final, rank, response_ext, response_text))

    # Preference pairs: every pair of scored responses of the prompt whose finals differ by
    # more than the tie tolerance, the higher final chosen. Ties are left out rather than
    # broken, so a pair never teaches an order the humans did not express.
    ranked.sort(key=lambda r: (-r[0], r[1] if r[1] is not None else 1 << 30, r[2]))
    for i, (final_a, rank_a, id_a, text_a) in enumerate(ranked):
        for final_b, rank_b, id_b, text_b in ranked[i + 1 :]:
            margin = final_a - final_b
            if margin <= tie_tolerance:
                continue
            preferences.write(
                {
                    "prompt": prompt_text,
                    "chosen": text_a,
                    "rejected": text_b,
                    "margin": margin,
                    "prompt_id": prompt_ext,
                    "chosen_id": id_a,
                    "rejected_id": id_b,
                    "chosen_final": final_a,
                    "rejected_final": final_b,
                    "chosen_rank": rank_a,
                    "rejected_rank": rank_b,
                    "domain": domain,
                    "split": side,
                }
            )
            cov[f"{side}_preferences"] += 1


def _write_judgments(
    path: Path, run: AggregationRun, assignment: dict[int, str], pseudonym: Pseudonym
) -> dict[str, int]:
    writer = JsonlWriter(path)
    likert = pairwise = 0
    annotators: set[int] = set()
    try:
        for (
            prompt_pk,
            prompt_ext,
            response_ext,
            annotator_id,
            ratings,
            flags,
            duration,
            source,
            over,
        ) in selectors.run_likert_judgments(run=run):
            side = assignment.get(prompt_pk)
            if side is None:  # its prompt is not in the release (no score in the run)
                continue
            writer.write(
                {
                    "kind": "likert",
                    "prompt_id": prompt_ext,
                    "response_id": response_ext,
                    "annotator": pseudonym(annotator_id),
                    "ratings": {key: ratings[key] for key in sorted(ratings)},
                    "flags": _flags(flags),
                    "duration_ms": duration,
                    "source": source,
                    "over_quorum": over,
                    "split": side,
                }
            )
            likert += 1
            annotators.add(annotator_id)
        for (
            prompt_pk,
            prompt_ext,
            left,
            right,
            choice,
            annotator_id,
            flags,
            duration,
            source,
            over,
        ) in selectors.run_pairwise_judgments(run=run):
            side = assignment.get(prompt_pk)
            if side is None:
                continue
            writer.write(
                {
                    "kind": "pairwise",
                    "prompt_id": prompt_ext,
                    "left_id": left,
                    "right_id": right,
                    "choice": choice,
                    "annotator": pseudonym(annotator_id),
                    "flags": _flags(flags),
                    "duration_ms": duration,
                    "source": source,
                    "over_quorum": over,
                    "split": side,
                }
            )
            pairwise += 1
            annotators.add(annotator_id)
    finally:
        writer.close()
    return {
        "likert_judgments": likert,
        "pairwise_judgments": pairwise,
        "annotators": len(annotators),
    }
