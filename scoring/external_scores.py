"""import_scores (DESIGN 6.1): scores and verdicts produced elsewhere (an LLM judge, a metric
run on another machine) become a finished scoring run of an `external` scorer.

JSONL, one object a line, ids as in the project's item imports (external ids):
  {"response_id": "...", "score": 0.73}
  {"kind": "pairwise", "prompt_id": "...", "response_a": "...", "response_b": "...",
   "choice": "a|b|tie"}
All or nothing: every problem is reported with its line number and field, and nothing is
written if any line fails. The run's fingerprint is the sha256 over the parsed rows, so a
re-import of the same content (in any line order) changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from annotation.errors import DomainError, Problem, ValidationProblems
from annotation.models import Project, Response

from .metaevaluations import metaeval_after_scoring_run
from .models import Scorer, ScorerScore, ScorerVerdict, ScoringRun
from .services import code_version

SCORE_KEYS = {"kind", "response_id", "score"}
PAIR_KEYS = {"kind", "prompt_id", "response_a", "response_b", "choice"}
SWAP = {"a": "b", "b": "a", "tie": "tie"}


@dataclass(frozen=True)
class ImportedScores:
    run: ScoringRun
    created: bool
    scores: int
    verdicts: int


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse(
    lines: Iterable[str], responses: dict[str, tuple[int, int, str]], problems: list[Problem]
) -> tuple[dict[int, float], dict[tuple[int, int], str]]:
    """Score and verdict rows by response pk; problems are appended, line-numbered."""
    scores: dict[int, tuple[float, int]] = {}
    verdicts: dict[tuple[int, int], tuple[str, int]] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(Problem(number, "(json)", f"not valid JSON: {exc.msg}"))
            continue
        if not isinstance(row, dict):
            problems.append(Problem(number, "(line)", "must be a JSON object"))
            continue
        kind = row.get("kind", "score")
        allowed = PAIR_KEYS if kind == "pairwise" else SCORE_KEYS
        if kind not in ("score", "pairwise"):
            problems.append(Problem(number, "kind", f"'{kind}' is not 'score' or 'pairwise'"))
            continue
        for key in sorted(set(row) - allowed):
            problems.append(
                Problem(number, key, f"unknown field; allowed: {', '.join(sorted(allowed))}")
            )
        if kind == "score":
            ext, score = row.get("response_id"), row.get("score")
            found = responses.get(ext) if isinstance(ext, str) else None
            if found is None:
                problems.append(
                    Problem(number, "response_id", f"no response '{ext}' in the project")
                )
            if not _number(score):
                problems.append(Problem(number, "score", f"{score!r} is not a number"))
            elif not math.isfinite(score):
                problems.append(Problem(number, "score", f"{score!r} is not finite"))
            if found is None or not _number(score) or not math.isfinite(score):
                continue
            if found[0] in scores:
                problems.append(
                    Problem(
                        number,
                        "response_id",
                        f"'{ext}' is scored twice (first on line {scores[found[0]][1]})",
                    )
                )
                continue
            scores[found[0]] = (float(score), number)
            continue
        ids = []
        for key in ("response_a", "response_b"):
            ext = row.get(key)
            found = responses.get(ext) if isinstance(ext, str) else None
            if found is None:
                problems.append(Problem(number, key, f"no response '{ext}' in the project"))
            elif found[2] != row.get("prompt_id"):
                problems.append(
                    Problem(
                        number,
                        key,
                        f"'{ext}' answers prompt '{found[2]}', not '{row.get('prompt_id')}'",
                    )
                )
            else:
                ids.append(found[0])
        choice = row.get("choice")
        if choice not in SWAP:
            problems.append(Problem(number, "choice", f"{choice!r} is not 'a', 'b' or 'tie'"))
        if len(ids) != 2 or choice not in SWAP:
            continue
        if ids[0] == ids[1]:
            problems.append(Problem(number, "response_b", "the same response as response_a"))
            continue
        key = (min(ids), max(ids))
        canonical = choice if ids[0] < ids[1] else SWAP[choice]
        if key in verdicts:
            problems.append(
                Problem(
                    number,
                    "response_b",
                    f"this pair already has a verdict (line {verdicts[key][1]})",
                )
            )
            continue
        verdicts[key] = (canonical, number)
    return (
        {pk: s for pk, (s, _) in scores.items()},
        {key: c for key, (c, _) in verdicts.items()},
    )


def _fingerprint(scores: dict[int, float], verdicts: dict[tuple[int, int], str]) -> str:
    digest = hashlib.sha256()
    for pk in sorted(scores):
        digest.update(f"s {pk} {scores[pk]!r}\n".encode())
    for a, b in sorted(verdicts):
        digest.update(f"v {a} {b} {verdicts[(a, b)]}\n".encode())
    return digest.hexdigest()


def scores_import(*, project: Project, scorer: Scorer, lines: Iterable[str]) -> ImportedScores:
    """Import one file of scores and verdicts as a finished run of an external scorer."""
    if scorer.backend != Scorer.Backend.EXTERNAL:
        raise DomainError(
            f"scorer '{scorer.name}' computes its scores (backend {scorer.backend}); "
            "run `manage.py score`, or register an external scorer for imported ones"
        )
    responses = {
        ext: (pk, prompt_pk, prompt_ext)
        for ext, pk, prompt_pk, prompt_ext in Response.objects.filter(project=project).values_list(
            "external_id", "pk", "prompt_id", "prompt__external_id"
        )
    }
    problems: list[Problem] = []
    scores, verdicts = _parse(lines, responses, problems)
    if problems:
        raise ValidationProblems(problems, what="scores file")
    if not scores and not verdicts:
        raise DomainError("the scores file holds no scores or verdicts")
    fingerprint = _fingerprint(scores, verdicts)
    with transaction.atomic():
        same = (
            ScoringRun.objects.select_for_update()
            .filter(project=project, scorer=scorer, input_fingerprint=fingerprint)
            .first()
        )
        if same is not None:
            return ImportedScores(same, False, len(scores), len(verdicts))
        now = timezone.now()
        run = ScoringRun.objects.create(
            project=project,
            scorer=scorer,
            status=ScoringRun.Status.DONE,
            trigger=ScoringRun.Trigger.IMPORT,
            total=len(scores) + len(verdicts),
            scored=len(scores) + len(verdicts),
            input_fingerprint=fingerprint,
            code_version=code_version(),
            device="external",
            started_at=now,
            finished_at=now,
            # Probes need the scorer to score new texts; imported scores cannot (DESIGN 6.4).
            probe_status=ScoringRun.ProbeStatus.NOT_APPLICABLE,
        )
        ScorerScore.objects.bulk_create(
            [ScorerScore(run=run, response_id=pk, score=s) for pk, s in scores.items()],
            batch_size=2000,
        )
        ScorerVerdict.objects.bulk_create(
            [
                ScorerVerdict(run=run, response_a_id=a, response_b_id=b, choice=c)
                for (a, b), c in verdicts.items()
            ],
            batch_size=2000,
        )
        transaction.on_commit(lambda: metaeval_after_scoring_run(run))
    return ImportedScores(run, True, len(scores), len(verdicts))
