"""Parsing an items file into prompt rows: JSONL (one prompt per line, with its responses) or
CSV (one response per row). Each field is checked on its own; nothing here reads the
database."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ...errors import Problem
from ...models import Prompt, Response
from .reading import (
    ImportFile,
    choice,
    dict_field,
    first_problems,
    json_objects,
    length_ok,
    max_length,
    shorten,
    str_field,
)
from .result import MAX_PROBLEMS

PROMPT_FIELDS = ("prompt_id", "prompt", "domain", "source", "provenance", "responses", "gold")
GOLD_FIELDS = ("response_id", "ratings", "tolerance", "response_b", "choice", "explanation")
GOLD_CHOICES = ("a", "b", "tie")
MAX_GOLD_TOLERANCE = 10
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
CSV_REQUIRED = ("prompt_id", "prompt", "domain", "response_id", "response")

# The csv module refuses cells over 128 KiB by default, and long model outputs are real data.
# The limit is per process; the file as a whole is already bounded by IMPORT_MAX_BYTES.
csv.field_size_limit(max(csv.field_size_limit(), settings.IMPORT_MAX_BYTES))


@dataclass
class ResponseRow:
    line: int
    external_id: str
    text: str
    origin: str
    model_name: str
    provenance: dict
    content_hash: str = ""


@dataclass
class GoldRow:
    """A gold item of the line's prompt (DESIGN 4.5): expected ``ratings`` of one response
    (+-``tolerance``), or the expected ``choice`` (a, b or tie) of response_id (a) against
    ``response_b`` (b). Criteria and scales are checked against the project later."""

    line: int
    where: str
    response_id: str
    response_b: str
    ratings: dict
    tolerance: int
    choice: str
    explanation: str


@dataclass
class PromptRow:
    line: int
    external_id: str
    text: str
    domain: str
    source: str
    provenance: dict
    responses: list[ResponseRow]
    content_hash: str = ""
    gold: list[GoldRow] = dataclasses.field(default_factory=list)


def parse_items(file: ImportFile, problems: list[Problem]) -> list[PromptRow]:
    if file.filename.lower().endswith(".csv"):
        return _csv_prompts(file, problems)
    rows = []
    lines = file.decoded_lines(problems)
    for line, obj in json_objects(lines, problems, example='{"prompt_id": ...}'):
        parsed = parse_prompt(obj, line, problems)
        if parsed:
            rows.append(parsed)
        if len(problems) > MAX_PROBLEMS:
            break
    return rows


def parse_prompt(obj: dict, line: int, problems: list[Problem]) -> PromptRow | None:
    for key in obj:
        if key not in PROMPT_FIELDS:
            problems.append(
                Problem(
                    line, shorten(key, 40), f"unknown field; allowed: {', '.join(PROMPT_FIELDS)}"
                )
            )
    pid = str_field(obj, "prompt_id", line, problems, max_len=max_length(Prompt, "external_id"))
    text = obj.get("prompt")
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(line, "prompt", "is required and must be non-empty text"))
        text = None
    domain = str_field(obj, "domain", line, problems)
    source = choice(
        obj.get("source"), Prompt.Source.choices, line, "source", Prompt.Source.CURATED, problems
    )
    provenance = dict_field(obj.get("provenance"), line, "provenance", problems)
    raw_responses = obj.get("responses", [])
    responses: list[ResponseRow] = []
    if not isinstance(raw_responses, list):
        problems.append(Problem(line, "responses", "must be a list of response objects"))
    else:
        for i, r in enumerate(raw_responses):
            parsed = parse_response(r, line, f"responses[{i}].", problems)
            if parsed:
                responses.append(parsed)
    gold = parse_gold(obj.get("gold"), line, {r.external_id for r in responses}, problems)
    if pid is None or text is None or domain is None:
        return None
    return PromptRow(line, pid, text, domain, source, provenance, responses, gold=gold)


def parse_gold(
    value: Any, line: int, response_ids: set[str], problems: list[Problem]
) -> list[GoldRow]:
    """The line's ``gold``: one gold object or a list of them; each names responses of the
    same line."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    rows = []
    for i, obj in enumerate(items):
        where = f"gold[{i}]." if isinstance(value, list) else "gold."
        if not isinstance(obj, dict):
            problems.append(
                Problem(
                    line, where.rstrip("."), "must be an object with response_id and explanation"
                )
            )
            continue
        rows.append(_gold_row(obj, line, where, response_ids, problems))
    return [r for r in rows if r is not None]


def _gold_row(
    obj: dict, line: int, where: str, response_ids: set[str], problems: list[Problem]
) -> GoldRow | None:
    before = len(problems)
    for key in obj:
        if key not in GOLD_FIELDS:
            problems.append(
                Problem(
                    line,
                    f"{where}{shorten(key, 40)}",
                    f"unknown field; allowed: {', '.join(GOLD_FIELDS)}",
                )
            )
    ids = []
    for name in ("response_id", "response_b"):
        rid = obj.get(name)
        if rid is None and name == "response_b":
            ids.append("")
            continue
        if isinstance(rid, int) and not isinstance(rid, bool):
            rid = str(rid)
        if not isinstance(rid, str) or rid not in response_ids:
            problems.append(
                Problem(
                    line,
                    f"{where}{name}",
                    "must be the response_id of one of this line's responses",
                )
            )
            rid = ""
        ids.append(rid)
    explanation = obj.get("explanation")
    if not isinstance(explanation, str) or not explanation.strip():
        problems.append(
            Problem(line, f"{where}explanation", "is required: say why this is the expected answer")
        )
        explanation = ""
    ratings, tolerance, choice_ = {}, 1, ""
    if "response_b" in obj:
        choice_ = obj.get("choice")
        if choice_ not in GOLD_CHOICES:
            problems.append(
                Problem(line, f"{where}choice", "must be a, b or tie for a pair (response_b given)")
            )
        if ids[0] and ids[0] == ids[1]:
            problems.append(Problem(line, f"{where}response_b", "must differ from response_id"))
        if "ratings" in obj or "tolerance" in obj:
            problems.append(
                Problem(line, f"{where}ratings", "a pair takes a choice, not ratings or tolerance")
            )
    else:
        ratings = obj.get("ratings")
        if not isinstance(ratings, dict) or not ratings:
            problems.append(
                Problem(
                    line,
                    f"{where}ratings",
                    'must be an object of expected points, e.g. {"usefulness": 4, ...}',
                )
            )
            ratings = {}
        tolerance = obj.get("tolerance", 1)
        if (
            not isinstance(tolerance, int)
            or isinstance(tolerance, bool)
            or not 0 <= tolerance <= MAX_GOLD_TOLERANCE
        ):
            problems.append(
                Problem(
                    line,
                    f"{where}tolerance",
                    f"must be a whole number of points from 0 to {MAX_GOLD_TOLERANCE} (default 1)",
                )
            )
            tolerance = 1
        if "choice" in obj:
            problems.append(
                Problem(
                    line,
                    f"{where}choice",
                    "a single response takes ratings; add response_b for a pair",
                )
            )
    if len(problems) > before:
        return None
    return GoldRow(line, where, ids[0], ids[1], ratings, tolerance, choice_, explanation.strip())


def parse_response(obj: Any, line: int, where: str, problems: list[Problem]) -> ResponseRow | None:
    if not isinstance(obj, dict):
        problems.append(
            Problem(line, where.rstrip("."), "must be an object with response_id and text")
        )
        return None
    for key in obj:
        if key not in RESPONSE_FIELDS:
            problems.append(
                Problem(
                    line,
                    f"{where}{shorten(key, 40)}",
                    f"unknown field; allowed: {', '.join(RESPONSE_FIELDS)}",
                )
            )
    rid = str_field(
        obj,
        "response_id",
        line,
        problems,
        where=where,
        max_len=max_length(Response, "external_id"),
    )
    # An empty model output is real data (and should rate poorly), so "" is accepted.
    text = obj.get("text")
    if not isinstance(text, str):
        problems.append(
            Problem(line, f"{where}text", 'is required and must be text ("" for an empty output)')
        )
        text = None
    origin = choice(
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
    elif not length_ok(model, max_length(Response, "model_name"), line, f"{where}model", problems):
        model = ""
    provenance = dict_field(obj.get("provenance"), line, f"{where}provenance", problems)
    if rid is None or text is None:
        return None
    return ResponseRow(line, rid, text, origin, model, provenance)


def _csv_prompts(file: ImportFile, problems: list[Problem]) -> list[PromptRow]:
    lines = (text for _, text in file.decoded_lines(problems, keep_ends=True))
    reader = csv.reader(lines)
    try:
        return _csv_prompts_of(reader, problems)
    except csv.Error as exc:
        problems.append(
            Problem(reader.line_num, "(line)", f"not valid CSV ({exc}); check the quoting")
        )
        return []


def _csv_prompts_of(reader, problems: list[Problem]) -> list[PromptRow]:
    header = next(reader, [])

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        """(line, row): ``line`` is where the row starts (a quoted cell may span lines)."""
        start = reader.line_num + 1
        for values in reader:
            yield start, dict(zip(header, values, strict=False))
            start = reader.line_num + 1

    for field, message in first_problems(header, "(header)"):
        problems.append(Problem(1, field, message))
    if problems:
        return []
    for col in header:
        if col not in CSV_COLUMNS:
            problems.append(
                Problem(1, shorten(col, 40), f"unknown column; allowed: {', '.join(CSV_COLUMNS)}")
            )
    for col in CSV_REQUIRED:
        if col not in header:
            problems.append(Problem(1, col, "required column is missing from the header"))
    if problems:
        return []
    prompts: dict[str, PromptRow] = {}
    for line, row in rows():
        if len(problems) > MAX_PROBLEMS:
            break
        found = [(f, m) for col, value in row.items() for f, m in first_problems(value, col)]
        if found:
            problems.extend(Problem(line, field, message) for field, message in found)
            continue
        pid = (row.get("prompt_id") or "").strip()
        if not pid:
            problems.append(Problem(line, "prompt_id", "is required and must not be empty"))
            continue
        # Parsed here, so that a problem names the column it is in.
        provenances = {
            col: dict_field(row.get(col), line, col, problems)
            for col in ("prompt_provenance", "response_provenance")
        }
        obj = {
            "prompt_id": pid,
            "prompt": row.get("prompt"),
            "domain": (row.get("domain") or "").strip(),
            "source": (row.get("source") or "").strip() or None,
            "provenance": provenances["prompt_provenance"],
        }
        response_obj = {
            "response_id": (row.get("response_id") or "").strip(),
            "text": row.get("response"),
            "origin": (row.get("origin") or "").strip() or None,
            "model": row.get("model") or "",
            "provenance": provenances["response_provenance"],
        }
        if pid not in prompts:
            parsed = parse_prompt(obj, line, problems)
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
        response = parse_response(response_obj, line, "", problems)
        if response:
            prompts[pid].responses.append(response)
    return list(prompts.values())
