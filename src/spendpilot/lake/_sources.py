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
import itertools
import json
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from spendpilot.errors import IngestError

NULL_TOKENS: tuple[str, ...] = ("",) + tuple(
    sorted({"".join(letters) for letters in itertools.product(*zip("null", "NULL", strict=True))})
)
"""Every spelling of a missing value: an empty field and ``NULL`` in any letter case (the FOCUS
sample writes ``NULL``, the specification's examples ``null``). Read as text, a ``null``
CommitmentDiscountId would look like a commitment."""

MAX_RECORD_BYTES = 2 * 1024 * 1024
"""Longest CSV record read (the engine's default line limit, set explicitly so both CSV readers
agree); a longer one is quarantined as "line too long"."""

UNPARSEABLE_LINE = "unparseable CSV line"


def is_null_token(text: str) -> bool:
    """True for an empty string and ``NULL`` in any letter case."""
    return not text or (len(text) == 4 and text.upper() == "NULL")


SUFFIXES: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".csv.gz"),
    "parquet": (".parquet",),
    "jsonl": (".jsonl", ".jsonl.gz", ".ndjson"),
}


def file_format(path: Path, accepted: tuple[str, ...] = tuple(SUFFIXES)) -> str:
    """``csv``, ``parquet`` or ``jsonl`` by the file name; the error lists only ``accepted``."""
    name = path.name.lower()
    for fmt in accepted:
        if name.endswith(SUFFIXES[fmt]):
            return fmt
    suffixes = [s for fmt in accepted for s in SUFFIXES[fmt]]
    expected = ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
    raise IngestError(f"{path}: unsupported file type (expected {expected})")


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - returned to the caller


def _header_text(path: Path) -> str:
    """The text of the header record alone (a later line that is not UTF-8 is a row's problem,
    quarantined with that row, not the file's)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    taken: list[bytes] = []
    with opener(path, "rb") as handle:
        while len(taken) < 100:
            line = handle.readline(MAX_RECORD_BYTES)
            if not line:
                break
            taken.append(line)
            if b"".join(taken).count(b'"') % 2 == 0:  # no quoted name left open
                break
    return b"".join(taken).decode("utf-8-sig")


def csv_header(path: Path) -> list[str]:
    """The header row, read with the csv module so quoted names are split as the reader does."""
    try:
        text = _header_text(path)
        if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
            raise ValueError("control characters in the header: binary data")
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except (UnicodeDecodeError, OSError, csv.Error, EOFError, ValueError, zlib.error) as exc:
        hint = ""
        if not path.name.lower().endswith(".gz") and _starts_with(path, b"\x1f\x8b"):
            hint = "; it is gzip-compressed: name it .csv.gz"
        elif _starts_with(path, b"PAR1"):
            hint = "; it is a Parquet file: name it .parquet"
        raise IngestError(f"{path}: not a readable CSV file ({exc}){hint}") from exc
    if not header or header == [""]:
        raise IngestError(f"{path}: empty file, no CSV header")
    return header


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError:
        return False


def parquet_schema(path: Path) -> pa.Schema:
    """The Arrow schema of a Parquet file; anything unreadable is an ``IngestError``."""
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(f"{path}: not a readable Parquet file ({exc})") from exc


@dataclass(frozen=True)
class SkippedLine:
    """A line the reader could not turn into a row, so it never reached validation.

    ``row`` counts records after the header, as the rows the reader returns are counted.
    """

    row: int
    reason: str
    raw_text: str
    field: str | None = None

    @property
    def label(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


MALFORMED_ROW = "malformed row"


@dataclass
class JsonLines:
    """A JSON Lines file as one all-text table, plus the lines that were not JSON objects."""

    table: pa.Table
    malformed: list[SkippedLine] = field(default_factory=list)
    """Each line that could not be read."""
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
    return None if is_null_token(text) else text


def read_jsonl(path: Path, wanted: list[str]) -> JsonLines:
    """Read the ``wanted`` keys of every line as text.

    ``parse_float=Decimal`` keeps ``0.1`` as the digits written. Usage exports are one line per
    day, model and feature, so a Python pass over lines is cheap here.
    """
    columns: dict[str, list[str | None]] = {k: [] for k in wanted}
    malformed: list[SkippedLine] = []
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
                    text = f"not a JSON object: {line.strip()[:500]}"
                    malformed.append(SkippedLine(row, MALFORMED_ROW, text))
                    continue
                keys.update(record)
                for key in wanted:
                    columns[key].append(_text(record.get(key)))
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise IngestError(f"{path}: not readable as JSON Lines ({exc})") from exc
    table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    return JsonLines(table=table, malformed=malformed, keys=keys)
