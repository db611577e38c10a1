"""Streaming, deterministic file writers for releases.

Rows arrive one at a time and leave in bounded batches: JSONL line by line, Parquet one row
group per ``ROW_GROUP`` rows through ``pyarrow.parquet.ParquetWriter``. Nothing in the
output depends on the clock or the host: JSON keys keep the order the row dicts were built
in, floats print as Python's shortest round-trip repr, and Parquet carries no pandas
metadata, so the same rows give the same bytes (a test checks it).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP = 10_000


def json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def finite_or_none(value: Any) -> float | None:
    """A float for the files, or None: NaN and infinities are not valid JSON."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class JsonlWriter:
    def __init__(self, path: Path):
        self.path = path
        self.rows = 0
        self._fh = path.open("w", encoding="utf-8", newline="\n")

    def write(self, row: dict[str, Any]) -> None:
        self._fh.write(json_line(row))
        self.rows += 1

    def close(self) -> None:
        self._fh.close()


class ParquetRowWriter:
    """Buffers rows column-wise and writes a row group every ``row_group`` rows."""

    def __init__(self, path: Path, schema: pa.Schema, *, row_group: int = ROW_GROUP):
        self.path = path
        self.schema = schema
        self.rows = 0
        self._row_group = row_group
        self._names = schema.names
        self._columns: dict[str, list] = {name: [] for name in self._names}
        self._buffered = 0
        self._writer = pq.ParquetWriter(
            str(path),
            schema,
            compression="zstd",
            compression_level=3,
            use_dictionary=True,
            write_statistics=True,
            version="2.6",
        )

    def write(self, row: dict[str, Any]) -> None:
        for name in self._names:
            self._columns[name].append(row[name])
        self._buffered += 1
        self.rows += 1
        if self._buffered >= self._row_group:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered:
            return
        table = pa.Table.from_pydict(self._columns, schema=self.schema)
        self._writer.write_table(table, row_group_size=self._row_group)
        self._columns = {name: [] for name in self._names}
        self._buffered = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


class TwinWriter:
    """The same rows to ``<name>.jsonl`` and ``<name>.parquet``."""

    def __init__(self, directory: Path, name: str, schema: pa.Schema):
        self.jsonl = JsonlWriter(directory / f"{name}.jsonl")
        self.parquet = ParquetRowWriter(directory / f"{name}.parquet", schema)

    @property
    def rows(self) -> int:
        return self.jsonl.rows

    def write(self, row: dict[str, Any]) -> None:
        self.jsonl.write(row)
        self.parquet.write(row)

    def close(self) -> None:
        self.jsonl.close()
        self.parquet.close()


def responses_schema(criteria: list[str]) -> pa.Schema:
    return pa.schema(
        [
            ("prompt_id", pa.string()),
            ("response_id", pa.string()),
            ("prompt", pa.string()),
            ("response", pa.string()),
            ("domain", pa.string()),
            ("split", pa.string()),
            ("origin", pa.string()),
            ("model_name", pa.string()),
            *[(f"mean_{key}", pa.float64()) for key in criteria],
            ("criterion_score", pa.float64()),
            ("borda", pa.float64()),
            ("final", pa.float64()),
            ("final_source", pa.string()),
            ("rank", pa.int32()),
            ("n_likert", pa.int32()),
            ("n_pairwise", pa.int32()),
            ("n_judgments", pa.int32()),
            ("pairwise_wins", pa.int32()),
            ("flags", pa.list_(pa.string())),
        ]
    )


PREFERENCES_SCHEMA = pa.schema(
    [
        ("prompt", pa.string()),
        ("chosen", pa.string()),
        ("rejected", pa.string()),
        ("margin", pa.float64()),
        ("prompt_id", pa.string()),
        ("chosen_id", pa.string()),
        ("rejected_id", pa.string()),
        ("chosen_final", pa.float64()),
        ("rejected_final", pa.float64()),
        ("chosen_rank", pa.int32()),
        ("rejected_rank", pa.int32()),
        ("domain", pa.string()),
        ("split", pa.string()),
    ]
)
