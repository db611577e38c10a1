"""Building and publishing releases (DESIGN 7.1).

``release_request`` validates and records a pending release; ``release_build`` (run by the
``exports.tasks.release_build`` task, or inline by the ``release`` command) writes every file
into a hidden temporary directory next to the published ones, then publishes in one step:
under a lock on the project row it takes the next version number, renames the directory to
``v<N>`` (atomic on one filesystem) and commits the row. A build that fails at any point
removes its temporary directory and leaves no version and no visible files.

Determinism: the files depend only on the run, the seed, the test fraction, the holdout
domains and the project's configuration. They contain no build time, no version number and
no release id, so rebuilding from the same run and seed gives byte-identical files (the
version is the directory name and lives in the database and the API). For the same reason
annotator pseudonyms are keyed by the secret salt and that release identity (project, run,
seed, test fraction, holdout), not by the version: a rebuild gets the same pseudonyms, a
release of another run or seed gets unlinkable ones.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone

from annotation.errors import ConflictError, DomainError, Problem, ValidationProblems
from annotation.models import Criterion, Domain, Project
from scoring.models import AggregationRun

from .. import selectors
from ..models import Release
from .splits import TEST, TRAIN, split_prompts
from .writers import (
    PREFERENCES_SCHEMA,
    JsonlWriter,
    TwinWriter,
    file_sha256,
    finite_or_none,
    json_line,
    responses_schema,
)

logger = logging.getLogger(__name__)

FORMAT = "trenchcoat-release/1"
DATA_FILES = (
    "responses.jsonl",
    "responses.parquet",
    "preferences.jsonl",
    "preferences.parquet",
    "judgments.jsonl",
    "README.md",
)
ALL_FILES = (*DATA_FILES, "manifest.json")
BUILDING_PREFIX = ".building-"

Progress = Callable[[int], None]


class ReleaseBuildError(DomainError):
    pass


def export_root() -> Path:
    return Path(settings.EXPORT_DIR)


def release_path(release: Release) -> Path:
    return export_root() / release.directory


# ---------------------------------------------------------------------------------------
# Request


def release_request(
    *,
    project: Project,
    user=None,
    run: AggregationRun | None = None,
    seed: int | None = None,
    holdout_domains: Iterable[str] = (),
    test_fraction: float | None = None,
) -> Release:
    """Validate and record a pending release of ``run`` (default: the latest finished run)."""
    if run is None:
        run = selectors.run_latest_done(project=project)
        if run is None:
            raise ConflictError(
                f"project '{project.slug}' has no finished aggregation run yet; "
                f"run `manage.py aggregate --project {project.slug}` first"
            )
    if run.project_id != project.pk:
        raise DomainError(f"aggregation run {run.pk} belongs to another project")
    if run.status != AggregationRun.Status.DONE:
        raise ConflictError(
            f"aggregation run {run.pk} is {run.status}, not done; release a finished run"
        )
    if not run.scores.exists():
        raise ConflictError(
            f"aggregation run {run.pk} scored no responses (none reached the Likert quorum?); nothing to release"
        )

    problems: list[Problem] = []
    holdout = sorted(set(holdout_domains))
    known = set(Domain.objects.filter(project=project).values_list("name", flat=True))
    for name in holdout:
        if name not in known:
            problems.append(
                Problem(
                    None,
                    "holdout_domains",
                    f"no domain '{name}' in this project; known: {', '.join(sorted(known))}",
                )
            )
    fraction = project.test_fraction if test_fraction is None else test_fraction
    if not 0.0 <= fraction <= 1.0:
        problems.append(Problem(None, "test_fraction", f"{fraction} is not between 0 and 1"))
    if problems:
        raise ValidationProblems(problems, what="release")
    return Release.objects.create(
        project=project,
        run=run,
        seed=project.seed if seed is None else int(seed),
        test_fraction=fraction,
        holdout_domains=holdout,
        created_by=user if user is not None and user.is_authenticated else None,
    )


def release_enqueue(*, release: Release) -> None:
    """Queue the build once the surrounding transaction (if any) commits."""
    from ..tasks import release_build as release_build_task

    release_build_task.delay_on_commit(release.pk)


# ---------------------------------------------------------------------------------------
# Build and publish


def release_build(*, release: Release, progress: Progress | None = None) -> Release:
    """Build the release's files and publish them as the project's next version.

    Idempotent: a ready release is returned as is; a release left in 'building' by a killed
    worker is rebuilt from scratch. Raises on failure after marking the release failed.
    """
    claimed = Release.objects.filter(
        pk=release.pk, status__in=[Release.Status.PENDING, Release.Status.BUILDING]
    ).update(status=Release.Status.BUILDING, error="")
    release.refresh_from_db()
    if not claimed:
        return release

    started = time.monotonic()
    project = release.project
    root = export_root() / project.slug
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f"{BUILDING_PREFIX}{release.pk}-*"):
        _remove(stale)
    tmp = root / f"{BUILDING_PREFIX}{release.pk}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        result = release_files_write(
            directory=tmp,
            project=project,
            run=release.run,
            seed=release.seed,
            test_fraction=release.test_fraction,
            holdout_domains=release.holdout_domains,
            progress=progress,
        )
        _publish(release=release, tmp=tmp, root=root, result=result, started=started)
    except BaseException as exc:
        _remove(tmp)
        Release.objects.filter(pk=release.pk).update(
            status=Release.Status.FAILED,
            version=None,
            directory="",
            error=f"{type(exc).__name__}: {exc}"[:4000],
            finished_at=timezone.now(),
        )
        release.refresh_from_db()
        raise
    return release


def _publish(
    *, release: Release, tmp: Path, root: Path, result: FilesResult, started: float
) -> None:
    _make_read_only(tmp)
    with transaction.atomic():
        # Serializes publishers of one project: the version number and the directory
        # name are taken together.
        Project.objects.select_for_update().filter(pk=release.project_id).first()
        db_max = (
            Release.objects.filter(project_id=release.project_id).aggregate(m=Max("version"))["m"]
            or 0
        )
        # A directory with no row (a crash between rename and commit) keeps its number.
        disk_max = max(
            (int(p.name[1:]) for p in root.iterdir() if p.name[:1] == "v" and p.name[1:].isdigit()),
            default=0,
        )
        version = max(db_max, disk_max) + 1
        final = root / f"v{version}"
        os.rename(tmp, final)
        try:
            release.status = Release.Status.READY
            release.version = version
            release.directory = f"{release.project.slug}/v{version}"
            release.files = result.files
            release.counts = result.counts
            release.finished_at = timezone.now()
            release.duration_ms = int((time.monotonic() - started) * 1000)
            release.save(
                update_fields=[
                    "status",
                    "version",
                    "directory",
                    "files",
                    "counts",
                    "finished_at",
                    "duration_ms",
                ]
            )
        except BaseException:
            os.rename(final, tmp)
            raise


def _remove(directory: Path) -> None:
    if directory.exists():
        directory.chmod(stat.S_IRWXU)
        shutil.rmtree(directory, ignore_errors=True)


def _make_read_only(directory: Path) -> None:
    """Published files are immutable: read-only files in a read-only directory."""
    for path in directory.iterdir():
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    directory.chmod(
        stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    )


def release_verify(*, release: Release) -> list[str]:
    """Files of a published release whose bytes no longer match their recorded sha256."""
    directory = release_path(release)
    bad = []
    for name, meta in sorted(release.files.items()):
        path = directory / name
        if not path.is_file() or file_sha256(path) != meta["sha256"]:
            bad.append(name)
    return bad


# ---------------------------------------------------------------------------------------
# Files


@dataclass(frozen=True)
class FilesResult:
    files: dict[str, dict[str, Any]]
    counts: dict[str, Any]


def pseudonymizer(
    *, project: Project, run: AggregationRun, seed: int, test_fraction: float, holdout: list[str]
):
    """annotator pk -> stable opaque id for this release identity (HMAC-SHA256, secret salt)."""
    identity = f"{FORMAT}|{project.slug}|run={run.pk}|seed={seed}|test={test_fraction!r}|holdout={','.join(holdout)}"
    key = hmac.new(
        settings.EXPORT_PSEUDONYM_SALT.encode(), identity.encode(), hashlib.sha256
    ).digest()
    cache: dict[int, str] = {}

    def pseudonym(annotator_id: int) -> str:
        if annotator_id not in cache:
            cache[annotator_id] = (
                "ann_" + hmac.new(key, str(annotator_id).encode(), hashlib.sha256).hexdigest()[:16]
            )
        return cache[annotator_id]

    return pseudonym


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
    progress: Progress | None = None,
) -> FilesResult:
    """Write every release file into ``directory``; returns checksums and counts."""
    holdout = sorted(set(holdout_domains))
    criteria = list(project.criteria.order_by("position", "id"))
    keys = [c.key for c in criteria]
    run_config = run.config or {}
    tie_tolerance = float(run_config.get("tie_tolerance", project.tie_tolerance))

    with transaction.atomic():
        _plan_for_full_scans()
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
            progress=progress,
        )


def _plan_for_full_scans() -> None:
    """The build reads whole tables through server-side cursors. PostgreSQL plans cursors for
    the first 10% of rows and, on tables filled by a bulk import that autovacuum has not yet
    analyzed, believes they hold a few dozen rows: together these pick nested loops that made
    a 5,000-prompt build take 100 s instead of 5. Hash joins are right for full reads."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")


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
    progress,
) -> FilesResult:
    split = split_prompts(
        selectors.run_prompts(run=run),
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

    judgment_counts = _write_judgments(
        directory / "judgments.jsonl", run, assignment, project, seed, test_fraction, holdout
    )

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

    manifest = _manifest(
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
    )
    card = render_to_string(
        "exports/dataset_card.md", {"m": manifest, "criteria": criteria, "project": project}
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


def json_dumps_pretty(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n"


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
    path, run, assignment, project, seed, test_fraction, holdout
) -> dict[str, int]:
    pseudonym = pseudonymizer(
        project=project, run=run, seed=seed, test_fraction=test_fraction, holdout=holdout
    )
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


def _manifest(
    *,
    project,
    criteria: list[Criterion],
    run,
    seed,
    test_fraction,
    holdout,
    tie_tolerance,
    counts,
    domain_coverage,
    files,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "project": {
            "slug": project.slug,
            "name": project.name,
            "config": {
                "likert_quorum": project.likert_quorum,
                "pairwise_quorum": project.pairwise_quorum,
                "blend_alpha": project.blend_alpha,
                "agreement_target": project.agreement_target,
                "test_fraction": project.test_fraction,
                "seed": project.seed,
                "tie_tolerance": project.tie_tolerance,
                "criteria": [
                    {
                        "key": c.key,
                        "label": c.label,
                        "description": c.description,
                        "scale_min": c.scale_min,
                        "scale_max": c.scale_max,
                        "level": c.level,
                        "weight": c.weight,
                    }
                    for c in criteria
                ],
                "domains": [
                    {
                        "name": d.name,
                        "target_share": d.target_share,
                        "safety_critical": d.safety_critical,
                    }
                    for d in project.domains.order_by("name")
                ],
            },
        },
        "run": {
            "id": run.pk,
            "trigger": run.trigger,
            "created_at": run.created_at.isoformat() if run.created_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "code_version": run.code_version,
            "input_fingerprint": run.input_fingerprint,
            "config": run.config,
            "tie_rule": run.tie_rule,
            "counts": run.counts,
            "disputes": len(run.disputes or []),
        },
        "code_version": {
            "trenchcoat": settings.TRENCHCOAT_VERSION,
            "aggregation": run.code_version,
        },
        "seeds": {"split": seed, "aggregation": (run.config or {}).get("seed", project.seed)},
        "split": {
            "method": "groups = near-duplicate cluster, else prompt; stratified by domain; "
            "greedy by group size with sha256(seed, group) order",
            "test_fraction": test_fraction,
            "holdout_domains": holdout,
        },
        "preferences": {
            "pairs": "every pair of scored responses of a prompt whose final scores differ by more "
            "than the tie tolerance; chosen has the higher final",
            "tie_tolerance": tie_tolerance,
        },
        "judgments": {
            "included": "the judgments the run aggregated (ids up to its judgment_cutoff) on prompts in this release",
            "judgment_cutoff": (run.config or {}).get("judgment_cutoff"),
            "annotator_ids": "HMAC-SHA256 pseudonyms keyed by a secret salt and this release's identity "
            "(project, run, seed, test fraction, holdout); not linkable to users or to other releases",
            "omitted": ["annotator names and emails", "free-text comments", "timestamps"],
        },
        "counts": counts,
        "agreement": run.agreement,
        "domain_coverage": domain_coverage,
        "exclusions": run.exclusions,
        "files": files,
    }
