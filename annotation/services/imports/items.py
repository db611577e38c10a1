"""Importing prompts with their responses, step by step: parse the file, check it on its
own, compare it with what is stored, then write it in one transaction (the writing is
``item_writing``)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from ...errors import DomainError, Problem, ValidationProblems
from ...models import Domain, GoldItem, ImportBatch, Project, Prompt, Response
from .. import dedup
from ..dashboard import dashboard_mark_stale_on_commit
from ..judgments import clean_ratings
from .item_parsing import GoldRow, PromptRow, parse_items
from .item_writing import _Plan, _write, _write_gold
from .reading import ImportFile, shorten
from .result import ImportResult, OnDuplicate, Progress, batch_close, batch_open


def items_import(
    *,
    project: Project,
    source: str | Path | IO[bytes] | UploadedFile,
    filename: str | None = None,
    user=None,
    on_duplicate: OnDuplicate = "reject",
    progress: Progress | None = None,
    job: ImportBatch | None = None,
    record_unchanged: bool = False,
) -> ImportResult:
    """Import prompts with their responses from JSONL (one prompt per line) or CSV (one
    response per row).

    ``on_duplicate`` decides what happens to a prompt whose normalized text equals another
    prompt's (in the file or already stored): "reject" reports it as a problem, "merge"
    attaches its responses to the earlier prompt, "keep" stores it and clusters the two.
    Identical responses are kept: two generators may well produce the same text.
    Raises ValidationProblems (nothing written) if any line has a problem, ImportTooLarge if
    the file is over the import limit. ``job`` is the batch row of a background import.
    With ``record_unchanged`` a file that brings nothing new is still recorded as a batch
    (the upload page's history shows every upload, re-imports included).
    """
    if on_duplicate not in ("reject", "merge", "keep"):
        raise ValueError(f"on_duplicate must be reject, merge or keep, not {on_duplicate!r}")
    progress = Progress.of(progress)
    file = ImportFile(source, filename=filename, progress=progress)
    problems: list[Problem] = []
    rows = parse_items(file, problems)
    domains = {d.name: d for d in project.domains.all()}
    _check_file(rows, domains, problems)
    _check_gold(project, rows, problems)
    if problems:
        raise ValidationProblems(problems, what=file.filename)
    plan = _compare_with_stored(project, rows, on_duplicate, problems)
    if problems:
        raise ValidationProblems(problems, what=file.filename)

    result = ImportResult(batch=None, unchanged=plan.unchanged, merged=plan.merged)
    result.created = {"prompts": len(plan.new_prompts), "responses": len(plan.new_responses)}
    gold = _gold_to_write(project, rows)
    nothing_new = not plan.new_prompts and not plan.new_responses and not gold
    if nothing_new and job is None and not record_unchanged:
        return result
    progress.report_writing(result.created)
    with transaction.atomic():
        batch = batch_open(
            project=project,
            kind=ImportBatch.Kind.ITEMS,
            filename=file.filename,
            sha256=file.sha256,
            user=user,
            job=job,
            options={"on_duplicate": on_duplicate},
        )
        if plan.new_prompts or plan.new_responses:
            result.near_duplicate_clusters = _write(project, batch, plan, domains, progress)
        _write_gold(project, gold, user)
        dashboard_mark_stale_on_commit(project_id=project.pk)  # the composition counts
        batch_close(
            batch,
            {
                **result.created,
                "merged": plan.merged,
                "unchanged": plan.unchanged,
                "near_duplicate_clusters": result.near_duplicate_clusters,
            },
        )
    result.batch = batch
    return result


def _check_file(rows: list[PromptRow], domains: dict[str, Domain], problems: list[Problem]):
    """Problems the file has on its own: unknown domains and ids that appear twice. Fills in
    the content hashes."""
    seen_prompt: dict[str, int] = {}
    seen_response: dict[str, int] = {}
    for row in rows:
        if row.domain not in domains:
            known = ", ".join(sorted(domains)) or "(none)"
            problems.append(
                Problem(
                    row.line,
                    "domain",
                    f"unknown domain '{shorten(row.domain)}'; this project has: {known}. "
                    "Fix the line or add the domain to the project",
                )
            )
        if row.external_id in seen_prompt:
            problems.append(
                Problem(
                    row.line,
                    "prompt_id",
                    f"'{row.external_id}' appears twice in the file (first on line {seen_prompt[row.external_id]})",
                )
            )
        seen_prompt.setdefault(row.external_id, row.line)
        row.content_hash = dedup.content_hash(row.text)
        for r in row.responses:
            if r.external_id in seen_response:
                problems.append(
                    Problem(
                        r.line,
                        "response_id",
                        f"'{r.external_id}' appears twice in the file (first on line {seen_response[r.external_id]})",
                    )
                )
            seen_response.setdefault(r.external_id, r.line)
            r.content_hash = dedup.content_hash(r.text)


def _check_gold(project: Project, rows: list[PromptRow], problems: list[Problem]) -> None:
    """Expected ratings name the project's criteria, each a whole point on its scale."""
    for row in rows:
        for gold in row.gold:
            if not gold.ratings:
                continue
            try:
                gold.ratings = clean_ratings(project, gold.ratings)
            except DomainError as exc:
                problems.append(
                    Problem(
                        gold.line,
                        f"{gold.where}ratings",
                        str(exc).removeprefix("Nothing was saved: "),
                    )
                )


def _gold_fields(gold: GoldRow) -> tuple:
    if gold.response_b:
        return ({}, 0, gold.choice, gold.explanation)
    return (gold.ratings, gold.tolerance, "", gold.explanation)


def _gold_to_write(project: Project, rows: list[PromptRow]) -> list[GoldRow]:
    """The file's gold items that are new or differ from the stored ones (so re-importing
    the same file changes nothing)."""
    wanted = [g for row in rows for g in row.gold]
    if not wanted:
        return []
    stored = {}
    for item in GoldItem.objects.filter(project=project).select_related("response_a", "response_b"):
        a, b = item.response_a.external_id, item.response_b.external_id if item.response_b else ""
        fields = (item.expected_ratings, item.tolerance, item.expected_choice, item.explanation)
        stored[(a, b)] = fields
        if b:  # the file may name the pair in either order
            swapped = {"a": "b", "b": "a"}.get(item.expected_choice, item.expected_choice)
            stored[(b, a)] = ({}, 0, swapped, item.explanation)
    return [g for g in wanted if stored.get((g.response_id, g.response_b)) != _gold_fields(g)]


def _compare_with_stored(
    project: Project, rows: list[PromptRow], on_duplicate: OnDuplicate, problems: list[Problem]
) -> _Plan:
    """Same content as stored is "unchanged"; different content under a stored id is a
    problem (stored work is never overwritten); a repeated prompt text follows
    ``on_duplicate``."""
    existing_prompts = {
        p.external_id: p
        for p in Prompt.objects.filter(
            project=project, external_id__in=[row.external_id for row in rows]
        ).select_related("domain")
    }
    existing_responses = {
        r["external_id"]: r
        for r in Response.objects.filter(
            project=project,
            external_id__in=[r.external_id for row in rows for r in row.responses],
        ).values("id", "external_id", "content_hash", "prompt_id", "prompt__external_id")
    }
    stored_hash_to_prompt: dict[str, Prompt] = {}
    hashes = {row.content_hash for row in rows}
    for p in Prompt.objects.filter(project=project, content_hash__in=hashes).order_by("id"):
        stored_hash_to_prompt.setdefault(p.content_hash, p)

    plan = _Plan()
    file_hash_to_row: dict[str, PromptRow] = {}
    for row in rows:
        stored = existing_prompts.get(row.external_id)
        target: Prompt | PromptRow
        if stored is not None:
            if stored.content_hash != row.content_hash or stored.domain.name != row.domain:
                problems.append(
                    Problem(
                        row.line,
                        "prompt",
                        f"prompt_id '{row.external_id}' is already stored with different "
                        "text or domain; stored prompts are never overwritten, give this one a new prompt_id",
                    )
                )
                continue
            plan.unchanged["prompts"] += 1
            target = stored
        else:
            twin = stored_hash_to_prompt.get(row.content_hash) or file_hash_to_row.get(
                row.content_hash
            )
            if twin is not None and on_duplicate != "keep":
                if on_duplicate == "reject":
                    problems.append(
                        Problem(
                            row.line,
                            "prompt",
                            f"the same text as prompt '{twin.external_id}' (after normalizing case and "
                            "whitespace); remove the line, or import with on_duplicate=merge or keep",
                        )
                    )
                    continue
                plan.merged["prompts"] += 1
                target = twin
            else:
                plan.new_prompts.append(row)
                file_hash_to_row.setdefault(row.content_hash, row)
                target = row
        for r in row.responses:
            old = existing_responses.get(r.external_id)
            if old is not None:
                same_prompt = old["prompt__external_id"] == target.external_id
                if old["content_hash"] != r.content_hash or not same_prompt:
                    problems.append(
                        Problem(
                            r.line,
                            "response_id",
                            f"'{r.external_id}' is already stored with different text or "
                            "for another prompt; give this response a new response_id",
                        )
                    )
                else:
                    plan.unchanged["responses"] += 1
                continue
            plan.new_responses.append((target, r))
    return plan
