"""Imports of prompts/responses and of existing judgments (DESIGN 4.4).

Every import is all or nothing: the whole file is parsed and checked first, every problem is
collected with its line number and field, and only a clean file is written, in one
transaction. Re-importing the same file changes nothing: rows that already exist with the
same content are counted as unchanged; rows that exist with different content are problems
(stored work is never overwritten).

Imports keep the task table exact in the same transaction (tasks are derived data, so they
commit or roll back with what they are derived from, and there is never a moment when
committed items have no tasks or committed judgments are not counted):

- items: ``tasks_sync`` builds the new Likert tasks and pairs, so the items are claimable the
  moment the import commits, and no annotator's request pays for building them.
- judgments: they count toward quorum like any other (DESIGN 3): ``tasks_count_judgments``
  recounts the affected tasks and the domain counters. A pairwise judgment for a pair outside
  its prompt's pair design (prompts with more than 4 responses) is stored and aggregated but
  gets no task: the design stays balanced, and nobody is asked to add to an off-design pair.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from django.db import transaction

from ..bulk import bulk_insert
from ..errors import Problem, ValidationProblems
from ..models import (
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
from ..signals import judgments_recorded
from . import dedup
from .tasks import tasks_count_judgments, tasks_sync, tasks_sync_if_stale

OnDuplicate = Literal["reject", "merge", "keep"]
Progress = Callable[[int], None]

PROMPT_FIELDS = ("prompt_id", "prompt", "domain", "source", "provenance", "responses")
RESPONSE_FIELDS = ("response_id", "text", "origin", "model", "provenance")
CSV_COLUMNS = (
    "prompt_id",
    "prompt",
    "domain",
    "source",
    "response_id",
    "response",
    "origin",
    "model",
    "prompt_provenance",
    "response_provenance",
)
MAX_PROBLEMS = 1000
PROMPT_COLUMNS = (
    "project_id",
    "domain_id",
    "text",
    "source",
    "external_id",
    "content_hash",
    "minhash",
    "provenance",
    "import_batch_id",
)
RESPONSE_COLUMNS = (
    "project_id",
    "prompt_id",
    "text",
    "origin",
    "model_name",
    "external_id",
    "content_hash",
    "provenance",
)
BATCH = 2000


@dataclass
class ImportResult:
    batch: ImportBatch | None
    created: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    merged: dict[str, int] = field(default_factory=dict)
    near_duplicate_clusters: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch.pk if self.batch else None,
            "created": self.created,
            "unchanged": self.unchanged,
            "merged": self.merged,
            "near_duplicate_clusters": self.near_duplicate_clusters,
        }


# -- reading -------------------------------------------------------------------------------


def _read_source(source: str | Path | IO[bytes]) -> bytes:
    if isinstance(source, str | Path):
        return Path(source).read_bytes()
    data = source.read()
    return data.encode("utf-8") if isinstance(data, str) else data


def _decode(raw: bytes) -> tuple[str | None, Problem | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Problem(
            line, "(encoding)", "the file is not UTF-8; save it as UTF-8 and try again"
        )


def _jsonl_objects(text: str, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    number,
                    "(line)",
                    f"not valid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object",
                )
            )
            continue
        if not isinstance(obj, dict):
            problems.append(
                Problem(number, "(line)", 'must be a JSON object, like {"prompt_id": ...}')
            )
            continue
        yield number, obj


def _str_field(
    obj: dict,
    name: str,
    line: int,
    problems: list[Problem],
    *,
    where: str = "",
    required: bool = True,
) -> str | None:
    value = obj.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(Problem(line, f"{where}{name}", "is required and must not be empty"))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.append(
            Problem(line, f"{where}{name}", f"must be a string, got {type(value).__name__}")
        )
        return None
    return str(value)


def _choice(
    value: Any, choices, line: int, name: str, default: str, problems: list[Problem]
) -> str:
    if value is None or value == "":
        return default
    allowed = [c for c, _ in choices]
    if value not in allowed:
        problems.append(Problem(line, name, f"{value!r} is not one of {', '.join(allowed)}"))
        return default
    return value


def _dict_field(value: Any, line: int, name: str, problems: list[Problem]) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            problems.append(Problem(line, name, "must be a JSON object"))
            return {}
    if not isinstance(value, dict):
        problems.append(Problem(line, name, 'must be an object, e.g. {"license": "CC-BY-4.0"}'))
        return {}
    return value


# -- items ---------------------------------------------------------------------------------


@dataclass
class _ResponseRow:
    line: int
    external_id: str
    text: str
    origin: str
    model_name: str
    provenance: dict
    content_hash: str = ""


@dataclass
class _PromptRow:
    line: int
    external_id: str
    text: str
    domain: str
    source: str
    provenance: dict
    responses: list[_ResponseRow]
    content_hash: str = ""


def _parse_response(
    obj: Any, line: int, where: str, problems: list[Problem]
) -> _ResponseRow | None:
    if not isinstance(obj, dict):
        problems.append(
            Problem(line, where.rstrip("."), "must be an object with response_id and text")
        )
        return None
    for key in obj:
        if key not in RESPONSE_FIELDS:
            problems.append(
                Problem(
                    line, f"{where}{key}", f"unknown field; allowed: {', '.join(RESPONSE_FIELDS)}"
                )
            )
    rid = _str_field(obj, "response_id", line, problems, where=where)
    # An empty model output is real data (and should rate poorly), so "" is accepted.
    text = obj.get("text")
    if not isinstance(text, str):
        problems.append(
            Problem(line, f"{where}text", 'is required and must be text ("" for an empty output)')
        )
        text = None
    origin = _choice(
        obj.get("origin"),
        Response.Origin.choices,
        line,
        f"{where}origin",
        Response.Origin.MODEL,
        problems,
    )
    model = obj.get("model") or ""
    if not isinstance(model, str):
        problems.append(Problem(line, f"{where}model", "must be a string"))
        model = ""
    provenance = _dict_field(obj.get("provenance"), line, f"{where}provenance", problems)
    if rid is None or text is None:
        return None
    return _ResponseRow(line, rid, text, origin, model, provenance)


def _parse_prompt(obj: dict, line: int, problems: list[Problem]) -> _PromptRow | None:
    for key in obj:
        if key not in PROMPT_FIELDS:
            problems.append(
                Problem(line, key, f"unknown field; allowed: {', '.join(PROMPT_FIELDS)}")
            )
    pid = _str_field(obj, "prompt_id", line, problems)
    text = obj.get("prompt")
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(line, "prompt", "is required and must be non-empty text"))
        text = None
    domain = _str_field(obj, "domain", line, problems)
    source = _choice(
        obj.get("source"), Prompt.Source.choices, line, "source", Prompt.Source.CURATED, problems
    )
    provenance = _dict_field(obj.get("provenance"), line, "provenance", problems)
    raw_responses = obj.get("responses", [])
    responses: list[_ResponseRow] = []
    if not isinstance(raw_responses, list):
        problems.append(Problem(line, "responses", "must be a list of response objects"))
    else:
        for i, r in enumerate(raw_responses):
            parsed = _parse_response(r, line, f"responses[{i}].", problems)
            if parsed:
                responses.append(parsed)
    if pid is None or text is None or domain is None:
        return None
    return _PromptRow(line, pid, text, domain, source, provenance, responses)


def _csv_prompts(text: str, problems: list[Problem]) -> list[_PromptRow]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in CSV_COLUMNS]
    for col in unknown:
        problems.append(Problem(1, col, f"unknown column; allowed: {', '.join(CSV_COLUMNS)}"))
    for col in ("prompt_id", "prompt", "domain", "response_id", "response"):
        if col not in header:
            problems.append(Problem(1, col, "required column is missing from the header"))
    if problems:
        return []
    prompts: dict[str, _PromptRow] = {}
    for row in reader:
        line = reader.line_num
        pid = (row.get("prompt_id") or "").strip()
        if not pid:
            problems.append(Problem(line, "prompt_id", "is required and must not be empty"))
            continue
        obj = {
            "prompt_id": pid,
            "prompt": row.get("prompt"),
            "domain": (row.get("domain") or "").strip(),
            "source": (row.get("source") or "").strip() or None,
            "provenance": row.get("prompt_provenance") or None,
        }
        response_obj = {
            "response_id": (row.get("response_id") or "").strip(),
            "text": row.get("response"),
            "origin": (row.get("origin") or "").strip() or None,
            "model": row.get("model") or "",
            "provenance": row.get("response_provenance") or None,
        }
        if pid not in prompts:
            parsed = _parse_prompt(obj, line, problems)
            if parsed is None:
                continue
            prompts[pid] = parsed
        else:
            first = prompts[pid]
            if (obj["prompt"], obj["domain"]) != (first.text, first.domain):
                problems.append(
                    Problem(
                        line,
                        "prompt",
                        f"prompt '{pid}' has different text or domain than on line {first.line}",
                    )
                )
                continue
        response = _parse_response(response_obj, line, "", problems)
        if response:
            prompts[pid].responses.append(response)
    return list(prompts.values())


def _parse_items(raw: bytes, filename: str, problems: list[Problem]) -> list[_PromptRow]:
    text, problem = _decode(raw)
    if problem:
        problems.append(problem)
        return []
    assert text is not None
    if filename.lower().endswith(".csv"):
        return _csv_prompts(text, problems)
    rows = []
    for line, obj in _jsonl_objects(text, problems):
        parsed = _parse_prompt(obj, line, problems)
        if parsed:
            rows.append(parsed)
        if len(problems) > MAX_PROBLEMS:
            break
    return rows


def items_import(
    *,
    project: Project,
    source: str | Path | IO[bytes],
    filename: str | None = None,
    user=None,
    on_duplicate: OnDuplicate = "reject",
    progress: Progress | None = None,
) -> ImportResult:
    """Import prompts with their responses from JSONL (one prompt per line) or CSV (one
    response per row).

    ``on_duplicate`` decides what happens to a prompt whose normalized text equals another
    prompt's (in the file or already stored): "reject" reports it as a problem, "merge"
    attaches its responses to the earlier prompt, "keep" stores it and clusters the two.
    Identical responses are kept: two generators may well produce the same text.
    Raises ValidationProblems (nothing written) if any line has a problem.
    """
    if on_duplicate not in ("reject", "merge", "keep"):
        raise ValueError(f"on_duplicate must be reject, merge or keep, not {on_duplicate!r}")
    filename = filename or (
        os.path.basename(str(source)) if isinstance(source, str | Path) else "upload.jsonl"
    )
    raw = _read_source(source)
    problems: list[Problem] = []
    rows = _parse_items(raw, filename, problems)

    domains = {d.name: d for d in project.domains.all()}
    seen_prompt: dict[str, int] = {}
    seen_response: dict[str, int] = {}
    for row in rows:
        if row.domain not in domains:
            known = ", ".join(sorted(domains)) or "(none)"
            problems.append(
                Problem(
                    row.line,
                    "domain",
                    f"unknown domain '{row.domain}'; this project has: {known}. "
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
    if problems:
        raise ValidationProblems(problems, what=f"{filename}")

    # Compare with what is stored: same content is "unchanged", different content a problem.
    existing_prompts = {
        p.external_id: p
        for p in Prompt.objects.filter(
            project=project, external_id__in=list(seen_prompt)
        ).select_related("domain")
    }
    existing_responses = {
        r["external_id"]: r
        for r in Response.objects.filter(
            project=project, external_id__in=list(seen_response)
        ).values("id", "external_id", "content_hash", "prompt_id", "prompt__external_id")
    }
    stored_hash_to_prompt: dict[str, Prompt] = {}
    hashes = {row.content_hash for row in rows}
    for p in Prompt.objects.filter(project=project, content_hash__in=hashes).order_by("id"):
        stored_hash_to_prompt.setdefault(p.content_hash, p)

    new_prompts: list[_PromptRow] = []
    # (target prompt: stored Prompt or new _PromptRow, response row)
    new_responses: list[tuple[Prompt | _PromptRow, _ResponseRow]] = []
    unchanged = {"prompts": 0, "responses": 0}
    merged = {"prompts": 0}
    file_hash_to_row: dict[str, _PromptRow] = {}
    for row in rows:
        stored = existing_prompts.get(row.external_id)
        target: Prompt | _PromptRow
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
            unchanged["prompts"] += 1
            target = stored
        else:
            twin = stored_hash_to_prompt.get(row.content_hash) or file_hash_to_row.get(
                row.content_hash
            )
            if twin is not None and on_duplicate != "keep":
                twin_id = twin.external_id
                if on_duplicate == "reject":
                    problems.append(
                        Problem(
                            row.line,
                            "prompt",
                            f"the same text as prompt '{twin_id}' (after normalizing case and "
                            "whitespace); remove the line, or import with on_duplicate=merge or keep",
                        )
                    )
                    continue
                merged["prompts"] += 1
                target = twin
            else:
                new_prompts.append(row)
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
                    unchanged["responses"] += 1
                continue
            new_responses.append((target, r))
    if problems:
        raise ValidationProblems(problems, what=f"{filename}")

    result = ImportResult(batch=None, unchanged=unchanged, merged=merged)
    result.created = {"prompts": len(new_prompts), "responses": len(new_responses)}
    if not new_prompts and not new_responses:
        return result

    with transaction.atomic():
        batch = ImportBatch.objects.create(
            project=project,
            kind=ImportBatch.Kind.ITEMS,
            filename=filename[:255],
            sha256=hashlib.sha256(raw).hexdigest(),
            created_by=user if getattr(user, "is_authenticated", False) else None,
            counts={},
        )
        signatures: dict[str, dedup.MinHash] = {}
        for row in new_prompts:
            signatures[row.external_id] = dedup.minhash_of(dedup.shingles(row.text))
        bulk_insert(
            Prompt,
            PROMPT_COLUMNS,
            (
                (
                    project.pk,
                    domains[row.domain].pk,
                    row.text,
                    row.source,
                    row.external_id,
                    row.content_hash,
                    dedup.minhash_bytes(signatures[row.external_id]),
                    row.provenance,
                    batch.pk,
                )
                for row in new_prompts
            ),
        )
        if progress:
            progress(len(new_prompts))
        # COPY returns no ids: read them back by the natural key.
        prompt_ids = dict(
            Prompt.objects.filter(import_batch=batch).values_list("external_id", "id")
        )
        bulk_insert(
            Response,
            RESPONSE_COLUMNS,
            (
                (
                    project.pk,
                    target.pk if isinstance(target, Prompt) else prompt_ids[target.external_id],
                    r.text,
                    r.origin,
                    r.model_name,
                    r.external_id,
                    r.content_hash,
                    r.provenance,
                )
                for target, r in new_responses
            ),
        )
        result.near_duplicate_clusters = _cluster_new_prompts(
            project,
            batch,
            [
                (prompt_ids[row.external_id], row.text, signatures[row.external_id])
                for row in new_prompts
            ],
        )
        batch.counts = {
            **result.created,
            "merged": merged,
            "unchanged": unchanged,
            "near_duplicate_clusters": result.near_duplicate_clusters,
        }
        batch.save(update_fields=["counts"])
        # Last: it locks the project's TaskSync row and writes the domain counters, which
        # are then held only until COMMIT (see services.assignments on lock order).
        tasks_sync(project=project)
    result.batch = batch
    return result


def _cluster_new_prompts(
    project: Project,
    batch: ImportBatch,
    new: list[tuple[int, str, dedup.MinHash]],
) -> int:
    """Assign near_dup_cluster for the new prompts (id, text, signature) and any stored
    prompts they join."""
    existing = (
        (pk, dedup.minhash_from_bytes(bytes(raw)))
        for pk, raw in Prompt.objects.filter(project=project, minhash__isnull=False)
        # Not `exclude(pk__in=new_ids)`: NOT IN over thousands of literals is quadratic.
        .exclude(import_batch=batch)
        .values_list("pk", "minhash")
        .iterator(chunk_size=BATCH)
    )
    clusters = dedup.near_duplicate_clusters(
        new,
        existing,
        {pk: text for pk, text, _ in new},
        lambda ids: dict(Prompt.objects.filter(pk__in=ids).values_list("pk", "text")),
    )
    if not clusters:
        return 0
    # A stored prompt may already belong to a cluster with another root: keep the smallest.
    stored = dict(
        Prompt.objects.filter(pk__in=list(clusters), near_dup_cluster__isnull=False).values_list(
            "pk", "near_dup_cluster"
        )
    )
    root_of_root: dict[int, int] = {}
    for pk, root in clusters.items():
        if pk in stored:
            root_of_root[root] = min(root_of_root.get(root, root), stored[pk])
    final = {pk: root_of_root.get(root, root) for pk, root in clusters.items()}
    old_roots = {stored[pk]: final[pk] for pk in stored if stored[pk] != final[pk]}
    for old_root, new_root in old_roots.items():
        Prompt.objects.filter(project=project, near_dup_cluster=old_root).update(
            near_dup_cluster=new_root
        )
    by_root: dict[int, list[int]] = {}
    for pk, root in final.items():
        by_root.setdefault(root, []).append(pk)
    for root, pks in by_root.items():
        Prompt.objects.filter(pk__in=pks).update(near_dup_cluster=root)
    return len(by_root)


# -- judgments -----------------------------------------------------------------------------

LIKERT_FIELDS = ("kind", "response_id", "annotator", "ratings", "comment", "duration_ms", "flags")
PAIRWISE_FIELDS = (
    "kind",
    "prompt_id",
    "response_a",
    "response_b",
    "annotator",
    "choice",
    "comment",
    "duration_ms",
    "flags",
)
CHOICE_MAP = {"a": "left", "b": "right", "tie": "tie"}


def judgments_import(
    *,
    project: Project,
    source: str | Path | IO[bytes],
    filename: str | None = None,
    user=None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import existing judgments (JSONL, DESIGN 4.4) from another tool or a past campaign.

    Annotators are kept by their external id (an external Annotator per project). A judgment
    that is already stored with the same content is unchanged; with different content it is a
    problem (judgments are never overwritten). Pairs are stored as shown: response_a on the
    left, response_b on the right.
    """
    filename = filename or (
        os.path.basename(str(source)) if isinstance(source, str | Path) else "upload.jsonl"
    )
    raw = _read_source(source)
    problems: list[Problem] = []
    text, problem = _decode(raw)
    if problem:
        raise ValidationProblems([problem], what=filename)
    assert text is not None
    criteria = {c.key: c for c in Criterion.objects.filter(project=project)}
    objects = list(_jsonl_objects(text, problems))

    response_ids = set()
    prompt_ids = set()
    for _, obj in objects:
        for key in ("response_id", "response_a", "response_b"):
            if isinstance(obj.get(key), str | int):
                response_ids.add(str(obj[key]))
        if isinstance(obj.get("prompt_id"), str | int):
            prompt_ids.add(str(obj["prompt_id"]))
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

    likert: list[dict] = []
    pairwise: list[dict] = []
    seen_likert: dict[tuple[str, int], int] = {}
    seen_pair: dict[tuple[str, int, int], int] = {}
    for line, obj in objects:
        kind = obj.get("kind")
        if kind not in ("likert", "pairwise"):
            problems.append(Problem(line, "kind", f"{kind!r} is not 'likert' or 'pairwise'"))
            continue
        allowed = LIKERT_FIELDS if kind == "likert" else PAIRWISE_FIELDS
        for key in obj:
            if key not in allowed:
                problems.append(
                    Problem(
                        line,
                        key,
                        f"unknown field for a {kind} judgment; allowed: {', '.join(allowed)}",
                    )
                )
        annotator = _str_field(obj, "annotator", line, problems)
        extras = _judgment_extras(obj, line, problems)
        if kind == "likert":
            rid = _str_field(obj, "response_id", line, problems)
            response = responses.get(rid) if rid else None
            if rid and response is None:
                problems.append(
                    Problem(
                        line,
                        "response_id",
                        f"no response '{rid}' in this project; import the items first",
                    )
                )
            ratings = _ratings(obj.get("ratings"), criteria, line, problems)
            if None in (annotator, response, ratings):
                continue
            key = (annotator, response["id"])
            if key in seen_likert:
                problems.append(
                    Problem(
                        line,
                        "annotator",
                        f"'{annotator}' rated response '{rid}' already on line {seen_likert[key]}",
                    )
                )
                continue
            seen_likert[key] = line
            likert.append(
                {
                    "line": line,
                    "annotator": annotator,
                    "response": response,
                    "ratings": ratings,
                    **extras,
                }
            )
        else:
            pid = _str_field(obj, "prompt_id", line, problems)
            if pid and pid not in prompts:
                problems.append(
                    Problem(
                        line,
                        "prompt_id",
                        f"no prompt '{pid}' in this project; import the items first",
                    )
                )
            pair = []
            for side in ("response_a", "response_b"):
                rid = _str_field(obj, side, line, problems)
                r = responses.get(rid) if rid else None
                if rid and r is None:
                    problems.append(
                        Problem(
                            line,
                            side,
                            f"no response '{rid}' in this project; import the items first",
                        )
                    )
                elif r is not None and pid in prompts and r["prompt_id"] != prompts[pid]:
                    problems.append(
                        Problem(
                            line,
                            side,
                            f"response '{rid}' belongs to prompt '{r['prompt__external_id']}', not '{pid}'",
                        )
                    )
                    r = None
                pair.append(r)
            choice = obj.get("choice")
            if choice not in CHOICE_MAP:
                problems.append(Problem(line, "choice", f"{choice!r} is not one of a, b, tie"))
                choice = None
            if None in (annotator, choice, pair[0], pair[1]) or pid not in prompts:
                continue
            if pair[0]["id"] == pair[1]["id"]:
                problems.append(Problem(line, "response_b", "a pair needs two different responses"))
                continue
            key = (annotator, *sorted((pair[0]["id"], pair[1]["id"])))
            if key in seen_pair:
                problems.append(
                    Problem(
                        line,
                        "annotator",
                        f"'{annotator}' compared this pair already on line {seen_pair[key]}",
                    )
                )
                continue
            seen_pair[key] = line
            pairwise.append(
                {
                    "line": line,
                    "annotator": annotator,
                    "prompt_id": prompts[pid],
                    "left": pair[0]["id"],
                    "right": pair[1]["id"],
                    "choice": CHOICE_MAP[choice],
                    **extras,
                }
            )
        if len(problems) > MAX_PROBLEMS:
            break
    if problems:
        raise ValidationProblems(problems, what=filename)

    external = dict(
        Annotator.objects.filter(project=project, user__isnull=True).values_list(
            "external_id", "id"
        )
    )
    new_names = sorted({j["annotator"] for j in likert + pairwise} - set(external))
    annotator_pks = {name: external[name] for name in external}
    stored_likert = {
        (a, r): ratings
        for a, r, ratings in LikertJudgment.objects.filter(
            response__project=project, annotator_id__in=list(external.values())
        ).values_list("annotator__external_id", "response_id", "ratings")
    }
    stored_pairs = {
        (a, ra, rb): (left, choice)
        for a, ra, rb, left, choice in PairwiseJudgment.objects.filter(
            prompt__project=project, annotator_id__in=list(external.values())
        ).values_list(
            "annotator__external_id", "response_a_id", "response_b_id", "left_id", "choice"
        )
    }
    new_likert, new_pairwise = [], []
    unchanged = {"likert": 0, "pairwise": 0}
    for j in likert:
        old = stored_likert.get((j["annotator"], j["response"]["id"]))
        if old is None:
            new_likert.append(j)
        elif old == j["ratings"]:
            unchanged["likert"] += 1
        else:
            problems.append(
                Problem(
                    j["line"],
                    "ratings",
                    f"'{j['annotator']}' already rated this response differently "
                    "in an earlier import; judgments are never overwritten",
                )
            )
    for j in pairwise:
        a, b = sorted((j["left"], j["right"]))
        old = stored_pairs.get((j["annotator"], a, b))
        if old is None:
            new_pairwise.append(j)
        elif old == (j["left"], j["choice"]):
            unchanged["pairwise"] += 1
        else:
            problems.append(
                Problem(
                    j["line"],
                    "choice",
                    f"'{j['annotator']}' already judged this pair differently "
                    "in an earlier import; judgments are never overwritten",
                )
            )
    if problems:
        raise ValidationProblems(problems, what=filename)

    result = ImportResult(batch=None, unchanged=unchanged)
    result.created = {"likert": len(new_likert), "pairwise": len(new_pairwise), "annotators": 0}
    if not new_likert and not new_pairwise:
        return result
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            project=project,
            kind=ImportBatch.Kind.JUDGMENTS,
            filename=filename[:255],
            sha256=hashlib.sha256(raw).hexdigest(),
            created_by=user if getattr(user, "is_authenticated", False) else None,
            counts={},
        )
        needed = sorted({j["annotator"] for j in new_likert + new_pairwise} & set(new_names))
        Annotator.objects.bulk_create(
            [Annotator(project=project, external_id=name) for name in needed]
        )
        if needed:
            annotator_pks.update(
                Annotator.objects.filter(
                    project=project, user__isnull=True, external_id__in=needed
                ).values_list("external_id", "id")
            )
        result.created["annotators"] = len(needed)
        LikertJudgment.objects.bulk_create(
            [
                LikertJudgment(
                    response_id=j["response"]["id"],
                    annotator_id=annotator_pks[j["annotator"]],
                    ratings=j["ratings"],
                    comment=j["comment"],
                    duration_ms=j["duration_ms"],
                    flags=j["flags"],
                    source=JudgmentSource.IMPORTED,
                    import_batch=batch,
                )
                for j in new_likert
            ],
            batch_size=BATCH,
        )
        if progress:
            progress(len(new_likert))
        PairwiseJudgment.objects.bulk_create(
            [
                PairwiseJudgment(
                    prompt_id=j["prompt_id"],
                    left_id=j["left"],
                    right_id=j["right"],
                    response_a_id=min(j["left"], j["right"]),
                    response_b_id=max(j["left"], j["right"]),
                    annotator_id=annotator_pks[j["annotator"]],
                    choice=j["choice"],
                    comment=j["comment"],
                    duration_ms=j["duration_ms"],
                    flags=j["flags"],
                    source=JudgmentSource.IMPORTED,
                    import_batch=batch,
                )
                for j in new_pairwise
            ],
            batch_size=BATCH,
        )
        if progress:
            progress(len(new_pairwise))
        batch.counts = {**result.created, "unchanged": unchanged}
        batch.save(update_fields=["counts"])
        # Items written by another path may have no tasks yet; then count the judgments.
        tasks_sync_if_stale(project=project)
        tasks_count_judgments(
            project=project,
            response_ids={j["response"]["id"] for j in new_likert},
            pairs={tuple(sorted((j["left"], j["right"]))) for j in new_pairwise},
        )
        count = len(new_likert) + len(new_pairwise)
        transaction.on_commit(
            lambda: judgments_recorded.send(sender=ImportBatch, project_id=project.pk, count=count)
        )
    result.batch = batch
    return result


def _judgment_extras(obj: dict, line: int, problems: list[Problem]) -> dict:
    comment = obj.get("comment") or ""
    if not isinstance(comment, str):
        problems.append(Problem(line, "comment", "must be a string"))
        comment = ""
    duration = obj.get("duration_ms")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int) or duration < 0
    ):
        problems.append(
            Problem(line, "duration_ms", "must be a non-negative integer (milliseconds)")
        )
        duration = None
    flags = obj.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        problems.append(Problem(line, "flags", "must be a list of strings"))
        flags = []
    return {"comment": comment, "duration_ms": duration, "flags": flags}


def _ratings(
    value: Any, criteria: dict[str, Criterion], line: int, problems: list[Problem]
) -> dict[str, int] | None:
    if not isinstance(value, dict) or not value:
        problems.append(
            Problem(
                line, "ratings", 'must be an object of criterion: value, e.g. {"usefulness": 4}'
            )
        )
        return None
    ok = True
    for key, v in value.items():
        criterion = criteria.get(key)
        if criterion is None:
            problems.append(
                Problem(
                    line,
                    f"ratings.{key}",
                    f"unknown criterion '{key}'; this project has: {', '.join(criteria)}",
                )
            )
            ok = False
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            problems.append(
                Problem(
                    line,
                    f"ratings.{key}",
                    f"{v!r} is not a whole number on {criterion.scale_min}..{criterion.scale_max}",
                )
            )
            ok = False
        elif not criterion.scale_min <= v <= criterion.scale_max:
            problems.append(
                Problem(
                    line,
                    f"ratings.{key}",
                    f"{v} is outside the scale {criterion.scale_min}..{criterion.scale_max}",
                )
            )
            ok = False
    return dict(value) if ok else None
