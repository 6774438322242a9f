"""A CSV reader that accounts for every line of a file the engine's reader stumbled on.

The engine's CSV reader (``_dialect.csv_text_source``) is fast and exact on well-formed files.
Its recovery from a broken line is not: a quote opened at the start of a line can pair with a
quote on a later line, so that the reader returns neither line, or logs one line's text under
another's number. When it rejects any line, or fails the whole file (mixed line endings do
that), ingestion reads the file again with this module, which applies one rule everywhere:

* Records follow RFC 4180: comma, double quote, ``""`` inside quotes; a quoted field may span
  lines; ``\\r\\n`` and ``\\n`` both end a line.
* A record is broken when it has the wrong number of fields, text after a closing quote, bytes
  that are not UTF-8, a NUL byte, more than ``MAX_RECORD_BYTES``, or a quote still open at the
  end of the file. A broken record that spans several lines is not trusted as one record: only
  its first line (where the quote opened) is quarantined, and reading starts again on the next
  line. A quote that never closes therefore costs its own line, not the rest of the file, and
  every line ends up in a stored record or quarantined with its own text as evidence.
* Blank lines are not records (the engine skips them too).

Rows are numbered as the engine numbers them: row 1 is the first record after the header.
Three C-speed pieces do the work: a regular expression recognises a line that is one
well-formed record of the right width (most lines); Python's csv module splits the others and
says where a record breaks; Arrow's CSV parser turns the good records' bytes into columns. This
module only decides where reading starts again after a broken record. It reads about 130,000
FOCUS rows a second (the engine: about 100,000 including validation, in parallel), so a file
with one broken line takes a little over twice as long to ingest as a clean one.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from spendpilot.errors import IngestError
from spendpilot.lake._sources import MAX_RECORD_BYTES, NULL_TOKENS, UNPARSEABLE_LINE, SkippedLine

MAX_EVIDENCE_CHARS = 10_000
"""Longest raw text kept for a quarantined line (the rest is summarised by its length)."""

UNTERMINATED_QUOTE = "unterminated or stray quote"
TOO_FEW_FIELDS = "too few fields"
TOO_MANY_FIELDS = "too many fields"
NOT_UTF8 = "not UTF-8"
LINE_TOO_LONG = "line too long"
NUL_BYTE = "NUL byte"

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class _LongLine:
    """A physical line longer than ``MAX_RECORD_BYTES``: its start and its length."""

    head: bytes
    length: int


class _RecordTooLong(Exception):
    """Raised inside the line feed when a record outgrows ``MAX_RECORD_BYTES``."""


class _Lines:
    """Physical lines of a binary file, terminators kept, with push-back for re-reading.

    Lines end at ``terminator``: ``\n`` (which also covers ``\r\n``), or ``\r`` for the
    classic Mac files spreadsheets still write ("CSV (Macintosh)").
    """

    _CHUNK = 1 << 20

    def __init__(self, handle: BinaryIO, terminator: bytes = b"\n", start: bytes = b"") -> None:
        self._handle = handle
        self._terminator = terminator
        self._buffer = start
        """Bytes read (``start``: those read to sniff the file); lines before ``_position``
        have been returned."""
        self._position = 0
        self._eof = False
        self._back: list[bytes | _LongLine] = []

    def pop(self) -> bytes | _LongLine | None:
        if self._back:
            return self._back.pop()
        while True:
            end = self._buffer.find(self._terminator, self._position)
            if 0 <= end < self._position + MAX_RECORD_BYTES:
                line = self._buffer[self._position : end + 1]
                self._position = end + 1
                return line
            if end >= 0 or len(self._buffer) - self._position > MAX_RECORD_BYTES:
                return self._skip_long_line()
            if self._eof:
                line = self._buffer[self._position :]
                self._buffer, self._position = b"", 0
                return line or None
            chunk = self._handle.read(self._CHUNK)
            self._eof = not chunk
            self._buffer = self._buffer[self._position :] + chunk
            self._position = 0

    def _skip_long_line(self) -> _LongLine:
        self._buffer, self._position = self._buffer[self._position :], 0
        head = self._buffer[: MAX_EVIDENCE_CHARS * 4]
        length = 0
        while (end := self._buffer.find(self._terminator)) < 0 and not self._eof:
            length += len(self._buffer)
            self._buffer = self._handle.read(self._CHUNK)
            self._eof = not self._buffer
        if end < 0:
            length += len(self._buffer)
            self._buffer = b""
        else:
            length += end + 1
            self._buffer = self._buffer[end + 1 :]
        return _LongLine(head, length)

    def push_back(self, lines: Sequence[bytes | _LongLine]) -> None:
        self._back.extend(reversed(lines))


@dataclass
class _Attempt:
    """The physical lines the csv module consumed for the record being read."""

    lines: list[bytes | _LongLine] = field(default_factory=list)
    size: int = 0
    bad_encoding: bool = False


class _Feed:
    """Hands lines to ``csv.reader`` one at a time, recording which lines each record used."""

    def __init__(self, lines: _Lines) -> None:
        self._lines = lines
        self.attempt = _Attempt()
        self.reader = csv.reader(self._generate(), strict=True)

    def _generate(self) -> Iterator[str]:
        while (line := self._lines.pop()) is not None:
            self.attempt.lines.append(line)
            if isinstance(line, _LongLine):
                raise _RecordTooLong
            self.attempt.size += len(line)
            if self.attempt.size > MAX_RECORD_BYTES:
                raise _RecordTooLong
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError:
                self.attempt.bad_encoding = True
                yield line.decode("utf-8", "surrogateescape")


def _evidence(line: bytes | _LongLine) -> str:
    """The quarantined line as text (undecodable bytes replaced), bounded in length."""
    if isinstance(line, _LongLine):
        head = line.head.decode("utf-8", "replace")[:MAX_EVIDENCE_CHARS]
        return f"{head}… ({line.length:,} bytes in all)"
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    if len(text) > MAX_EVIDENCE_CHARS:
        return f"{text[:MAX_EVIDENCE_CHARS]}… ({len(text):,} characters in all)"
    return text


def _quote_field(text: str) -> int | None:
    """Index of the field where a line's quoting breaks: a quote left open at the end of the
    line, or a closing quote followed by something other than a comma. None if neither."""
    index, position, size = 0, 0, len(text)
    while position < size:
        if text[position] == '"':
            position += 1
            while True:
                position = text.find('"', position)
                if position < 0:
                    return index  # still open at the end of the line
                if text.startswith('""', position):
                    position += 2
                    continue
                position += 1
                break
            if position < size and text[position] != ",":
                return index
        else:
            comma = text.find(",", position)
            if comma < 0:
                return None
            position = comma
        if position < size:  # at a comma
            index += 1
            position += 1
    return None


def _undecodable_field(fields: Sequence[str]) -> int | None:
    for i, value in enumerate(fields):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return i
    return None


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when the name ends in ``.gz``."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 - the caller closes it


def _terminator(start: bytes) -> bytes:
    """``\r`` for a file whose first bytes end lines with it alone, else ``\n``."""
    return b"\r" if b"\n" not in start and b"\r" in start else b"\n"


def count_lines(path: Path) -> int:
    """Physical lines in a CSV file, not counting empty lines at its end.

    The engine's reader is trusted only when it returned one record per line after the header
    (no quoted field spanning lines, no blank line, nothing lost): counting terminators is
    C-speed, so this check costs little beside the read itself. Empty lines at the end of a
    file are common and harmless, so they are not counted.
    """
    count, tail = 0, b""
    with open_binary(path) as handle:
        chunk = handle.read(1 << 16)
        terminator = _terminator(chunk)
        while chunk:
            count += chunk.count(terminator)
            tail = (tail + chunk[-256:])[-256:]
            chunk = handle.read(8 << 20)
    if not tail:
        return 0
    if not tail.endswith(terminator):
        return count + 1  # an unterminated last line

    def strip(body: bytes) -> bytes:
        body = body[: -len(terminator)]
        return body.removesuffix(b"\r") if terminator == b"\n" else body

    body = strip(tail)
    while body.endswith(terminator):
        count -= 1
        body = strip(body)
    return count


class CsvRecords:
    """The records of one CSV file, read line by line (see the module docstring).

    ``tables()`` yields the good records as all-text tables of at most ``chunk_rows`` rows, in
    file order, empty fields and ``NULL`` (any case) as nulls; once it is exhausted, ``broken``
    holds every quarantined line with its row number among all records.
    """

    def __init__(self, path: Path, names: Sequence[str], chunk_rows: int = 122_880) -> None:
        self.path = path
        self.names = list(names)
        self.chunk_rows = chunk_rows
        self.broken: list[SkippedLine] = []
        self.rows = 0
        """Records seen so far, good and broken."""

    def _quarantine(self, line: bytes | _LongLine, kind: str, position: int | None) -> None:
        self.rows += 1
        name = self.names[position] if position is not None and position < len(self.names) else None
        self.broken.append(SkippedLine(self.rows, f"{UNPARSEABLE_LINE} ({kind})", _evidence(line), name))

    def tables(self) -> Iterator[pa.Table]:
        limit = csv.field_size_limit()
        csv.field_size_limit(max(limit, MAX_RECORD_BYTES))
        try:
            with open_binary(self.path) as handle:
                start = handle.read(1 << 16)
                lines = _Lines(handle, _terminator(start), start.removeprefix(_BOM))
                yield from self._read(lines)
        finally:
            csv.field_size_limit(limit)

    def _read(self, lines: _Lines) -> Iterator[pa.Table]:
        width = len(self.names)
        simple = _simple_record(width)
        feed = _Feed(lines)
        good: list[bytes] = []
        """The raw bytes of each good record, parsed into columns a chunk at a time."""
        header = True
        while True:
            if not header:
                # Fast lane: a line that is one well-formed record of the right width, in valid
                # UTF-8, needs no Python-level parsing (most lines of most files).
                line = lines.pop()
                if line is None:
                    break
                if isinstance(line, bytes) and simple.fullmatch(line) and _is_utf8(line):
                    self.rows += 1
                    good.append(line)
                    if len(good) >= self.chunk_rows:
                        yield self._table(good)
                        good = []
                    continue
                lines.push_back([line])
            feed.attempt = attempt = _Attempt()
            try:
                fields = next(feed.reader)
            except StopIteration:
                break
            except (csv.Error, _RecordTooLong) as exc:
                feed = _Feed(lines)  # a reader whose feed raised cannot be resumed
                first, rest = attempt.lines[0], attempt.lines[1:]
                lines.push_back(rest)
                if header:
                    raise IngestError(f"{self.path}: the header line is not valid CSV ({exc})") from exc
                if isinstance(exc, _RecordTooLong) and not rest:
                    self._quarantine(first, LINE_TOO_LONG, None)
                elif "NUL" in str(exc):
                    self._quarantine(first, NUL_BYTE, None)
                else:
                    self._quarantine(first, UNTERMINATED_QUOTE, self._quote_position(first))
                continue
            if header:
                header = False
                continue
            if not fields:  # a blank line
                continue
            if len(attempt.lines) > 1 and (attempt.bad_encoding or len(fields) != width):
                first = attempt.lines[0]
                lines.push_back(attempt.lines[1:])
                self._quarantine(first, UNTERMINATED_QUOTE, self._quote_position(first))
            elif attempt.bad_encoding:
                self._quarantine(attempt.lines[0], NOT_UTF8, _undecodable_field(fields))
            elif len(fields) != width:
                kind = TOO_FEW_FIELDS if len(fields) < width else TOO_MANY_FIELDS
                self._quarantine(attempt.lines[0], kind, None)
            else:
                self.rows += 1
                good.append(b"".join(x for x in attempt.lines if isinstance(x, bytes)))
                if len(good) >= self.chunk_rows:
                    yield self._table(good)
                    good = []
        if good:
            yield self._table(good)

    @staticmethod
    def _quote_position(line: bytes | _LongLine) -> int | None:
        if isinstance(line, _LongLine):
            return None
        return _quote_field(line.decode("utf-8", "replace").rstrip("\r\n"))

    def _table(self, records: list[bytes]) -> pa.Table:
        """Good records (raw bytes, each one complete record) as an all-text table.

        Arrow's CSV parser (C++) splits them; they are known to be well formed and of the right
        width, so it splits them as the csv module did. If it ever disagrees on the count, the
        slower csv module result is used instead.
        """
        body = b"".join(r if r.endswith((b"\n", b"\r")) else r + b"\n" for r in records)
        try:
            table = pacsv.read_csv(
                io.BytesIO(body),
                read_options=pacsv.ReadOptions(column_names=self.names, use_threads=False),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in self.names},
                    null_values=list(NULL_TOKENS), strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
        except pa.ArrowInvalid:
            table = None
        if table is None or table.num_rows != len(records):
            return self._table_slowly(records)
        return table

    def _table_slowly(self, records: list[bytes]) -> pa.Table:
        rows = [next(csv.reader(io.StringIO(r.decode("utf-8"), newline=""))) for r in records]
        columns = {}
        for name, values in zip(self.names, zip(*rows, strict=True), strict=True):
            text = pa.array(values, pa.string())
            missing = pc.or_(pc.equal(text, ""), pc.equal(pc.utf8_upper(text), "NULL"))
            columns[name] = pc.if_else(missing, pa.scalar(None, pa.string()), text)
        return pa.table(columns)


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _simple_record(width: int) -> re.Pattern[bytes]:
    """A whole line that is exactly one record of ``width`` fields: each field either quoted
    (``""`` inside) or free of quotes, commas and line breaks; then the line's end."""
    field_ = rb'(?:"[^"]*(?:""[^"]*)*"|[^",\r\n]*)'
    return re.compile(field_ + (rb"," + field_) * (width - 1) + rb"\r?\n?")
