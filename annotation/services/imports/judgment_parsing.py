"""Parsing a judgments file (JSONL, DESIGN 4.4) into Likert and pairwise lines. Each field is
checked on its own and ratings against the project's criteria; ids are resolved later."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import Problem
from ...models import Annotator, Criterion, LikertJudgment, Prompt, Response
from .reading import (
    ImportFile,
    int_range,
    json_objects,
    max_length,
    shorten,
    show,
    str_field,
)
from .result import MAX_PROBLEMS

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


@dataclass
class Extras:
    comment: str
    duration_ms: int | None
    flags: list[str]


@dataclass
class LikertLine:
    line: int
    annotator: str
    response_id: str
    ratings: dict[str, int]
    extras: Extras


@dataclass
class PairLine:
    line: int
    annotator: str
    prompt_id: str
    response_a: str
    response_b: str
    # left, right or tie (response_a is shown on the left)
    choice: str
    extras: Extras


# Fields of a prompts-and-responses line (item_parsing) that no judgment line has.
ITEM_FIELDS = frozenset({"prompt", "responses"})
ITEMS_FILE_MESSAGE = (
    "this looks like an items file (it has prompt/responses); import it as items, "
    "or give judgment lines with a kind of likert or pairwise"
)


def parse_judgments(
    file: ImportFile, criteria: dict[str, Criterion], problems: list[Problem]
) -> list[LikertLine | PairLine]:
    parsed: list[LikertLine | PairLine] = []
    lines = file.decoded_lines(problems)
    for line, obj in json_objects(lines, problems, example='{"kind": "likert", ...}'):
        if "kind" not in obj and ITEM_FIELDS & obj.keys():
            # One clear problem, not one "kind" problem per line of an items file.
            problems.append(Problem(line, "kind", ITEMS_FILE_MESSAGE))
            break
        judgment = parse_judgment(obj, line, criteria, problems)
        if judgment is not None:
            parsed.append(judgment)
        if len(problems) > MAX_PROBLEMS:
            break
    return parsed


def parse_judgment(
    obj: dict, line: int, criteria: dict[str, Criterion], problems: list[Problem]
) -> LikertLine | PairLine | None:
    kind = obj.get("kind")
    if kind is None:
        problems.append(Problem(line, "kind", "missing; give a kind of likert or pairwise"))
        return None
    if kind not in ("likert", "pairwise"):
        problems.append(Problem(line, "kind", f"{show(kind)} is not 'likert' or 'pairwise'"))
        return None
    allowed = LIKERT_FIELDS if kind == "likert" else PAIRWISE_FIELDS
    for key in obj:
        if key not in allowed:
            problems.append(
                Problem(
                    line,
                    shorten(key, 40),
                    f"unknown field for a {kind} judgment; allowed: {', '.join(allowed)}",
                )
            )
    annotator = str_field(
        obj, "annotator", line, problems, max_len=max_length(Annotator, "external_id")
    )
    extras = _extras(obj, line, problems)
    if kind == "likert":
        rid = str_field(
            obj, "response_id", line, problems, max_len=max_length(Response, "external_id")
        )
        ratings = _ratings(obj.get("ratings"), criteria, line, problems)
        if None in (annotator, rid, ratings):
            return None
        return LikertLine(line, annotator, rid, ratings, extras)
    pid = str_field(obj, "prompt_id", line, problems, max_len=max_length(Prompt, "external_id"))
    ra, rb = (
        str_field(obj, side, line, problems, max_len=max_length(Response, "external_id"))
        for side in ("response_a", "response_b")
    )
    choice = obj.get("choice")
    if not isinstance(choice, str) or choice not in CHOICE_MAP:
        problems.append(Problem(line, "choice", f"{show(choice)} is not one of a, b, tie"))
        choice = None
    if None in (annotator, pid, ra, rb, choice):
        return None
    return PairLine(line, annotator, pid, ra, rb, CHOICE_MAP[choice], extras)


def _extras(obj: dict, line: int, problems: list[Problem]) -> Extras:
    comment = obj.get("comment") or ""
    if not isinstance(comment, str):
        problems.append(Problem(line, "comment", "must be a string"))
        comment = ""
    duration = obj.get("duration_ms")
    low, high = int_range(LikertJudgment, "duration_ms")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, int)
        or duration < 0
        or (high is not None and duration > high)
    ):
        problems.append(
            Problem(
                line,
                "duration_ms",
                f"must be a whole number of milliseconds from 0 to {high:,}",
            )
        )
        duration = None
    flags = obj.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        problems.append(Problem(line, "flags", "must be a list of strings"))
        flags = []
    return Extras(comment, duration, flags)


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
        field = f"ratings.{shorten(key, 40)}"
        if criterion is None:
            problems.append(
                Problem(
                    line,
                    field,
                    f"unknown criterion '{shorten(key)}'; this project has: {', '.join(criteria)}",
                )
            )
            ok = False
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            problems.append(
                Problem(
                    line,
                    field,
                    f"{show(v)} is not a whole number on {criterion.scale_min}..{criterion.scale_max}",
                )
            )
            ok = False
        elif not criterion.scale_min <= v <= criterion.scale_max:
            problems.append(
                Problem(
                    line,
                    field,
                    f"{v} is outside the scale {criterion.scale_min}..{criterion.scale_max}",
                )
            )
            ok = False
    return dict(value) if ok else None
