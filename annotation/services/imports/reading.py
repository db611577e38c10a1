"""Reading an import file: from disk line by line, decoded, parsed as bounded JSON, and every
value checked before it can reach the database.

The file is read once, as it is parsed, and never held whole in memory (a line at a time;
the parsed rows are what the later steps keep). Hostile input becomes problems with a line
and a field, never an exception: a NUL character or a lone UTF-16 surrogate (PostgreSQL and
UTF-8 refuse both), JSON nested deeper than ``MAX_DEPTH`` (the parser would exhaust the
stack), numbers past 64 bits or not finite (Python refuses to parse 4,300+ digits, jsonb
refuses NaN), and strings longer than the column they are stored in (the length is read
from the model field, so the check follows the schema).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import os
import re
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, models

from ...errors import DomainError, Problem
from ...models import ImportBatch
from .result import Progress

# Nesting deeper than this is refused before it can reach the recursive parts of the stack
# (json, jsonb); real provenance objects are a few levels deep.
MAX_DEPTH = 32
# Whole numbers of up to 18 digits fit in a signed 64-bit integer; longer ones are refused
# rather than parsed (int() of 4,300+ digits raises, and nothing downstream stores them).
MAX_INT_DIGITS = 18
# A line with thousands of bad values reports the first few.
MAX_PROBLEMS_PER_LINE = 10
# Lines between two progress reports.
REPORT_EVERY = 500

_SURROGATE = re.compile("[\ud800-\udfff]")


class ImportTooLarge(DomainError):
    """The file is over ``settings.IMPORT_MAX_BYTES``; nothing was read past that."""

    status_code = 413


def too_large_message(size: int | None, filename: str) -> str:
    limit = settings.IMPORT_MAX_BYTES
    what = f"{filename} is {size:,} bytes" if size is not None else f"{filename} is too large"
    return (
        f"{what}; the import limit is {limit:,} bytes. Split the file, or raise the limit "
        "with the TRENCHCOAT_IMPORT_MAX_BYTES setting."
    )


def check_size(size: int | None, filename: str) -> None:
    if size is not None and size > settings.IMPORT_MAX_BYTES:
        raise ImportTooLarge(too_large_message(size, filename))


def default_filename(source: str | Path | IO[bytes] | UploadedFile) -> str:
    if isinstance(source, str | Path):
        return os.path.basename(str(source))
    return getattr(source, "name", None) or "upload.jsonl"


def storable_filename(name: str) -> str:
    """The name as ImportBatch.filename can store it: no NUL, no lone surrogate, cut to the
    column's length (an upload's name is the client's to choose)."""
    text = name.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[: max_length(ImportBatch, "filename")] or "upload"


class ImportFile:
    """One import file (a path, an upload or an open binary file), read once line by line.

    Its SHA-256 and line count are known once ``raw_lines`` has been read to the end.
    """

    def __init__(
        self,
        source: str | Path | IO[bytes] | UploadedFile,
        *,
        filename: str | None = None,
        progress: Progress | None = None,
    ):
        self.source = source
        self.filename = storable_filename(filename or default_filename(source))
        self.progress = progress or Progress()
        self.lines = 0
        self._sha256 = hashlib.sha256()
        check_size(self._size(), self.filename)

    def _size(self) -> int | None:
        if isinstance(self.source, str | Path):
            return Path(self.source).stat().st_size
        if isinstance(self.source, UploadedFile):
            return self.source.size
        if self.source.seekable():
            here = self.source.tell()
            size = self.source.seek(0, os.SEEK_END)
            self.source.seek(here)
            return size
        return None

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def raw_lines(self) -> Iterator[bytes]:
        if isinstance(self.source, str | Path):
            with open(self.source, "rb") as stream:
                yield from self._read(stream)
            return
        stream = self.source.file if isinstance(self.source, UploadedFile) else self.source
        if stream.seekable():
            stream.seek(0)
        yield from self._read(stream)

    def _read(self, stream: IO[bytes]) -> Iterator[bytes]:
        for number, raw in enumerate(stream, start=1):
            if isinstance(raw, str):
                raw = raw.encode("utf-8", "surrogatepass")
            self._sha256.update(raw)
            self.lines = number
            if number % REPORT_EVERY == 0:
                self.progress.report_checked(number)
            yield raw
        self.progress.report_checked(self.lines)

    def decoded_lines(
        self, problems: list[Problem], *, keep_ends: bool = False
    ) -> Iterator[tuple[int, str]]:
        """(line number, text) for each line that is UTF-8; a problem for each that is not."""
        for number, raw in enumerate(self.raw_lines(), start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(
                    Problem(
                        number,
                        "(encoding)",
                        f"not UTF-8 (at byte {exc.start + 1} of the line); save the file as "
                        "UTF-8 and try again",
                    )
                )
                continue
            yield number, (text if keep_ends else text.rstrip("\r\n"))


# -- values --------------------------------------------------------------------------------


class _BadNumber:
    """Stands in for a number the parser refused, so the problem can name its field."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def _parse_int(text: str) -> int | _BadNumber:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _BadNumber(
            f"a number with {digits:,} digits; whole numbers may have at most "
            f"{MAX_INT_DIGITS} digits (write an identifier this long as a string)"
        )
    return int(text)


def _parse_float(text: str) -> float | _BadNumber:
    value = float(text)
    if not math.isfinite(value):
        return _BadNumber(f"{shorten(text)} is too large for a number; write it as a string")
    return value


def _parse_constant(text: str) -> _BadNumber:
    return _BadNumber(f"{text} is not a number that can be stored; use null or a string")


def parse_json(text: str) -> tuple[Any, str | None]:
    """(value, None), or (None, what is wrong) when the text is not JSON this app can store."""
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, f"nested too deeply; at most {MAX_DEPTH} levels of objects and lists"
    except ValueError as exc:  # any other refusal of the parser
        return None, f"not valid JSON ({shorten(str(exc))})"
    return value, None


def text_problem(text: str) -> str | None:
    """What makes a string unstorable, or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored; remove it"
    if _SURROGATE.search(text):
        return (
            "contains a lone UTF-16 surrogate (like \\ud800), which is not text; "
            "fix the encoding of this value"
        )
    return None


def value_problems(value: Any, field: str) -> Iterator[tuple[str, str]]:
    """(field, message) for each unstorable string (values and keys), refused number and
    nesting past ``MAX_DEPTH`` in a parsed JSON value, in document order. Iterative, so it
    cannot itself run out of stack."""
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            message = text_problem(item)
            if message:
                yield path or "(line)", message
        elif isinstance(item, _BadNumber):
            yield path or "(line)", item.message
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                yield path or "(line)", f"nested too deeply; at most {MAX_DEPTH} levels"
                continue
            children: list[tuple[Any, str, int]] = []
            if isinstance(item, dict):
                for key, child in item.items():
                    message = text_problem(key)
                    label = shorten(key if message is None else ascii(key)[1:-1], 40)
                    child_path = f"{path}.{label}" if path else label
                    if message:
                        yield child_path, f"the key {message}"
                        continue
                    children.append((child, child_path, depth + 1))
            else:
                children = [(c, f"{path}[{i}]", depth + 1) for i, c in enumerate(item)]
            stack.extend(reversed(children))


def first_problems(value: Any, field: str) -> list[tuple[str, str]]:
    return list(islice(value_problems(value, field), MAX_PROBLEMS_PER_LINE))


def json_objects(
    lines: Iterator[tuple[int, str]], problems: list[Problem], *, example: str
) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line that is a JSON object holding only
    storable values; problems for every other line."""
    for number, text in lines:
        if not text.strip():
            continue
        obj, error = parse_json(text)
        if error:
            problems.append(
                Problem(number, "(line)", f"{error}; each line must be one JSON object")
            )
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(number, "(line)", f"must be a JSON object, like {example}"))
            continue
        found = first_problems(obj, "")
        if found:
            problems.extend(Problem(number, field, message) for field, message in found)
            continue
        yield number, obj


def shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show(value: Any) -> str:
    """A value as a problem message quotes it: repr, cut short."""
    return shorten(repr(value))


# -- fields --------------------------------------------------------------------------------


def max_length(model: type[models.Model], name: str) -> int:
    return model._meta.get_field(name).max_length


def int_range(model: type[models.Model], name: str) -> tuple[int | None, int | None]:
    """The values the database column accepts (e.g. 0..2,147,483,647 for a PostgreSQL
    PositiveIntegerField)."""
    field = model._meta.get_field(name)
    return connection.ops.integer_field_range(field.get_internal_type())


def str_field(
    obj: dict,
    name: str,
    line: int,
    problems: list[Problem],
    *,
    where: str = "",
    required: bool = True,
    max_len: int | None = None,
) -> str | None:
    """A required identifier-like value: a non-empty string (or a whole number, kept as its
    digits) that fits its column."""
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
    text = str(value)
    if not length_ok(text, max_len, line, f"{where}{name}", problems):
        return None
    return text


def length_ok(
    text: str, max_len: int | None, line: int, field: str, problems: list[Problem]
) -> bool:
    if max_len is not None and len(text) > max_len:
        problems.append(
            Problem(
                line,
                field,
                f"is {len(text):,} characters long; at most {max_len} are allowed, shorten it",
            )
        )
        return False
    return True


def choice(value: Any, choices, line: int, name: str, default: str, problems: list[Problem]) -> str:
    if value is None or value == "":
        return default
    allowed = [c for c, _ in choices]
    if not isinstance(value, str) or value not in allowed:
        problems.append(Problem(line, name, f"{show(value)} is not one of {', '.join(allowed)}"))
        return default
    return value


def dict_field(value: Any, line: int, name: str, problems: list[Problem]) -> dict:
    """An object such as provenance; a string (a CSV cell) is parsed as JSON first."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value, error = parse_json(value)
        if error:
            problems.append(Problem(line, name, f"must be a JSON object: {error}"))
            return {}
        found = first_problems(value, name)
        if found:
            problems.extend(Problem(line, field, message) for field, message in found)
            return {}
    if not isinstance(value, dict):
        problems.append(Problem(line, name, 'must be an object, e.g. {"license": "CC-BY-4.0"}'))
        return {}
    return value
