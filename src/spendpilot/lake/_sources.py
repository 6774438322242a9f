"""What an input file is, what its columns are called, and (for JSON Lines) its rows as text.

CSV and Parquet rows are read by the query engine itself (``_dialect.csv_text_source`` /
``parquet_text_source``); this module only looks at headers, so that a file that is not what it
claims to be is rejected before anything is read or written. JSON Lines is parsed here because
numbers must keep the digits written (a cost never passes through a float).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from spendpilot.errors import IngestError

NULL_TOKENS = ("NULL", "")
"""Both spellings of a missing value in FOCUS CSV exports (the FOCUS sample writes ``NULL``)."""


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return "jsonl"
    raise IngestError(f"{path}: unsupported file type (expected .csv, .csv.gz, .parquet or .jsonl)")


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - returned to the caller


def csv_header(path: Path) -> list[str]:
    """The header row, read with the csv module so quoted names are split as the reader does."""
    try:
        with _open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, OSError, csv.Error, EOFError) as exc:
        raise IngestError(f"{path}: not a readable CSV file ({exc})") from exc
    if not header or header == [""]:
        raise IngestError(f"{path}: empty file, no CSV header")
    return header


def parquet_schema(path: Path) -> pa.Schema:
    """The Arrow schema of a Parquet file; anything unreadable is an ``IngestError``."""
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(f"{path}: not a readable Parquet file ({exc})") from exc


@dataclass
class JsonLines:
    """A JSON Lines file as one all-text table, plus the lines that were not JSON objects."""

    table: pa.Table
    malformed: list[tuple[int, str]] = field(default_factory=list)
    """(data row number, description) of each line that could not be read."""
    keys: set[str] = field(default_factory=set)
    """Every key seen, to tell a usage export from some other JSON."""


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return None if text in NULL_TOKENS else text


def read_jsonl(path: Path, wanted: list[str]) -> JsonLines:
    """Read the ``wanted`` keys of every line as text.

    ``parse_float=Decimal`` keeps ``0.1`` as the digits written. Usage exports are one line per
    day, model and feature, so a Python pass over lines is cheap here.
    """
    columns: dict[str, list[str | None]] = {k: [] for k in wanted}
    malformed: list[tuple[int, str]] = []
    keys: set[str] = set()
    row = 0
    try:
        with _open_text(path) as handle:
            for line in handle:
                if not line.strip():
                    continue
                row += 1
                try:
                    record = json.loads(line, parse_float=Decimal)
                except json.JSONDecodeError:
                    record = None
                if not isinstance(record, dict):
                    malformed.append((row, f"not a JSON object: {line.strip()[:500]}"))
                    continue
                keys.update(record)
                for key in wanted:
                    columns[key].append(_text(record.get(key)))
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise IngestError(f"{path}: not readable as JSON Lines ({exc})") from exc
    table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    return JsonLines(table=table, malformed=malformed, keys=keys)
