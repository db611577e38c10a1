"""Importing existing judgments, step by step: parse the file, resolve its ids in the
project, compare with what is stored, then write it in one transaction.

Imported judgments count toward quorum like any other (DESIGN 3): ``tasks_count_judgments``
recounts the affected tasks and the domain counters in the same transaction. A pairwise
judgment for a pair outside its prompt's pair design (prompts with more than 4 responses)
is stored and aggregated but gets no task: the design stays balanced, and nobody is asked
to add to an off-design pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from ...errors import Problem, ValidationProblems
from ...models import (
    Annotator,
    Criterion,
    ImportBatch,
    JudgmentSource,
    LikertJudgment,
    PairwiseJudgment,
    Project,
    Prompt,
    Response,
)
from ...side_effects import send_on_commit_safely
from ...signals import judgments_recorded
from ..tasks import tasks_count_judgments, tasks_sync_if_stale
from .judgment_parsing import LikertLine, PairLine, parse_judgments
from .reading import ImportFile
from .result import ImportResult, Progress, batch_close, batch_open

BATCH = 2000


@dataclass
class _Likert:
    judgment: LikertLine
    response_id: int


@dataclass
class _Pair:
    judgment: PairLine
    prompt_id: int
    left: int
    right: int

    @property
    def key(self) -> tuple[int, int]:
        return (min(self.left, self.right), max(self.left, self.right))


@dataclass
class _Resolved:
    likert: list[_Likert] = field(default_factory=list)
    pairwise: list[_Pair] = field(default_factory=list)


def judgments_import(
    *,
    project: Project,
    source: str | Path | IO[bytes] | UploadedFile,
    filename: str | None = None,
    user=None,
    progress: Progress | None = None,
    job: ImportBatch | None = None,
    record_unchanged: bool = False,
) -> ImportResult:
    """Import existing judgments (JSONL, DESIGN 4.4) from another tool or a past campaign.

    Annotators are kept by their external id (an external Annotator per project). A judgment
    that is already stored with the same content is unchanged; with different content it is a
    problem (judgments are never overwritten). Pairs are stored as shown: response_a on the
    left, response_b on the right. ``job`` is the batch row of a background import.
    With ``record_unchanged`` a file that brings nothing new is still recorded as a batch
    (the upload page's history shows every upload, re-imports included).
    """
    progress = Progress.of(progress)
    file = ImportFile(source, filename=filename, progress=progress)
    problems: list[Problem] = []
    criteria = {c.key: c for c in Criterion.objects.filter(project=project)}
    lines = parse_judgments(file, criteria, problems)
    resolved = _resolve(project, lines, problems)
    if problems:
        raise ValidationProblems(problems, what=file.filename)
    new, unchanged = _compare_with_stored(project, resolved, problems)
    if problems:
        raise ValidationProblems(problems, what=file.filename)

    result = ImportResult(batch=None, unchanged=unchanged)
    result.created = {
        "likert": len(new.likert),
        "pairwise": len(new.pairwise),
        "annotators": 0,
    }
    if not new.likert and not new.pairwise and job is None and not record_unchanged:
        return result
    progress.report_writing(result.created)
    with transaction.atomic():
        batch = batch_open(
            project=project,
            kind=ImportBatch.Kind.JUDGMENTS,
            filename=file.filename,
            sha256=file.sha256,
            user=user,
            job=job,
        )
        if new.likert or new.pairwise:
            result.created["annotators"] = _write(project, batch, new, progress)
        batch_close(batch, {**result.created, "unchanged": unchanged})
    result.batch = batch
    return result


def _resolve(
    project: Project, lines: list[LikertLine | PairLine], problems: list[Problem]
) -> _Resolved:
    """The lines with their prompts and responses found in the project (two queries), and
    problems for unknown ids, mismatched pairs and judgments repeated within the file."""
    response_ids: set[str] = set()
    prompt_ids: set[str] = set()
    for j in lines:
        if isinstance(j, LikertLine):
            response_ids.add(j.response_id)
        else:
            response_ids.update((j.response_a, j.response_b))
            prompt_ids.add(j.prompt_id)
    responses = {
        r["external_id"]: r
        for r in Response.objects.filter(project=project, external_id__in=response_ids).values(
            "id", "external_id", "prompt_id", "prompt__external_id"
        )
    }
    prompts = dict(
        Prompt.objects.filter(project=project, external_id__in=prompt_ids).values_list(
            "external_id", "id"
        )
    )

    def missing(line: int, field: str, what: str, external_id: str) -> None:
        problems.append(
            Problem(
                line,
                field,
                f"no {what} '{external_id}' in this project; import the items first",
            )
        )

    resolved = _Resolved()
    seen_likert: dict[tuple[str, int], int] = {}
    seen_pair: dict[tuple[str, int, int], int] = {}
    for j in lines:
        if isinstance(j, LikertLine):
            response = responses.get(j.response_id)
            if response is None:
                missing(j.line, "response_id", "response", j.response_id)
                continue
            key = (j.annotator, response["id"])
            if key in seen_likert:
                problems.append(
                    Problem(
                        j.line,
                        "annotator",
                        f"'{j.annotator}' rated response '{j.response_id}' already on line {seen_likert[key]}",
                    )
                )
                continue
            seen_likert[key] = j.line
            resolved.likert.append(_Likert(j, response["id"]))
            continue
        prompt = prompts.get(j.prompt_id)
        if prompt is None:
            missing(j.line, "prompt_id", "prompt", j.prompt_id)
        pair = []
        for side, rid in (("response_a", j.response_a), ("response_b", j.response_b)):
            r = responses.get(rid)
            if r is None:
                missing(j.line, side, "response", rid)
            elif prompt is not None and r["prompt_id"] != prompt:
                problems.append(
                    Problem(
                        j.line,
                        side,
                        f"response '{rid}' belongs to prompt '{r['prompt__external_id']}', not '{j.prompt_id}'",
                    )
                )
                r = None
            pair.append(r)
        if prompt is None or None in pair:
            continue
        if pair[0]["id"] == pair[1]["id"]:
            problems.append(Problem(j.line, "response_b", "a pair needs two different responses"))
            continue
        resolved_pair = _Pair(j, prompt, pair[0]["id"], pair[1]["id"])
        key = (j.annotator, *resolved_pair.key)
        if key in seen_pair:
            problems.append(
                Problem(
                    j.line,
                    "annotator",
                    f"'{j.annotator}' compared this pair already on line {seen_pair[key]}",
                )
            )
            continue
        seen_pair[key] = j.line
        resolved.pairwise.append(resolved_pair)
    return resolved


def _compare_with_stored(
    project: Project, resolved: _Resolved, problems: list[Problem]
) -> tuple[_Resolved, dict[str, int]]:
    """The judgments not yet stored, and how many are stored already with the same content;
    the same annotator's stored judgment with different content is a problem."""
    external = list(
        Annotator.objects.filter(project=project, user__isnull=True).values_list("id", flat=True)
    )
    stored_likert = {
        (a, r): ratings
        for a, r, ratings in LikertJudgment.objects.filter(
            response__project=project, annotator_id__in=external
        ).values_list("annotator__external_id", "response_id", "ratings")
    }
    stored_pairs = {
        (a, ra, rb): (left, choice)
        for a, ra, rb, left, choice in PairwiseJudgment.objects.filter(
            prompt__project=project, annotator_id__in=external
        ).values_list(
            "annotator__external_id", "response_a_id", "response_b_id", "left_id", "choice"
        )
    }
    new = _Resolved()
    unchanged = {"likert": 0, "pairwise": 0}
    for j in resolved.likert:
        old = stored_likert.get((j.judgment.annotator, j.response_id))
        if old is None:
            new.likert.append(j)
        elif old == j.judgment.ratings:
            unchanged["likert"] += 1
        else:
            problems.append(
                Problem(
                    j.judgment.line,
                    "ratings",
                    f"'{j.judgment.annotator}' already rated this response differently "
                    "in an earlier import; judgments are never overwritten",
                )
            )
    for j in resolved.pairwise:
        old = stored_pairs.get((j.judgment.annotator, *j.key))
        if old is None:
            new.pairwise.append(j)
        elif old == (j.left, j.judgment.choice):
            unchanged["pairwise"] += 1
        else:
            problems.append(
                Problem(
                    j.judgment.line,
                    "choice",
                    f"'{j.judgment.annotator}' already judged this pair differently "
                    "in an earlier import; judgments are never overwritten",
                )
            )
    return new, unchanged


def _write(project: Project, batch: ImportBatch, new: _Resolved, progress: Progress) -> int:
    """Writes the new judgments and the external annotators they need (inside the caller's
    transaction), recounts the affected tasks; returns the number of new annotators."""
    names = {j.judgment.annotator for j in new.likert} | {
        j.judgment.annotator for j in new.pairwise
    }
    annotator_pks = dict(
        Annotator.objects.filter(
            project=project, user__isnull=True, external_id__in=names
        ).values_list("external_id", "id")
    )
    needed = sorted(names - set(annotator_pks))
    Annotator.objects.bulk_create([Annotator(project=project, external_id=name) for name in needed])
    if needed:
        annotator_pks.update(
            Annotator.objects.filter(
                project=project, user__isnull=True, external_id__in=needed
            ).values_list("external_id", "id")
        )
    LikertJudgment.objects.bulk_create(
        [
            LikertJudgment(
                response_id=j.response_id,
                annotator_id=annotator_pks[j.judgment.annotator],
                ratings=j.judgment.ratings,
                comment=j.judgment.extras.comment,
                duration_ms=j.judgment.extras.duration_ms,
                flags=j.judgment.extras.flags,
                source=JudgmentSource.IMPORTED,
                import_batch=batch,
            )
            for j in new.likert
        ],
        batch_size=BATCH,
    )
    progress.report_written(len(new.likert))
    PairwiseJudgment.objects.bulk_create(
        [
            PairwiseJudgment(
                prompt_id=j.prompt_id,
                left_id=j.left,
                right_id=j.right,
                response_a_id=j.key[0],
                response_b_id=j.key[1],
                annotator_id=annotator_pks[j.judgment.annotator],
                choice=j.judgment.choice,
                comment=j.judgment.extras.comment,
                duration_ms=j.judgment.extras.duration_ms,
                flags=j.judgment.extras.flags,
                source=JudgmentSource.IMPORTED,
                import_batch=batch,
            )
            for j in new.pairwise
        ],
        batch_size=BATCH,
    )
    progress.report_written(len(new.pairwise))
    # Items written by another path may have no tasks yet; then count the judgments.
    tasks_sync_if_stale(project=project)
    tasks_count_judgments(
        project=project,
        response_ids={j.response_id for j in new.likert},
        pairs={j.key for j in new.pairwise},
    )
    count = len(new.likert) + len(new.pairwise)
    send_on_commit_safely(
        judgments_recorded, sender=ImportBatch, project_id=project.pk, count=count
    )
    return len(needed)
