"""Row validation as one streamed SQL query: parse every value and name the first thing wrong.

The query reads the source as text (``_sources`` builds that part), ``TRY_CAST``s every known
column to its type and computes ``_error``: the index of the first failed check, NULL for a good
row. For bad rows it also carries the original text of the typed columns, so the quarantine
shows exactly what was written. DuckDB runs it in parallel and streams Arrow batches in input
order; Python only splits each batch on ``_error``, it never visits a row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from spendpilot.lake._dialect import arrow_reader, full_match_sql, literal
from spendpilot.lake.schema import DECIMAL_PRECISION, TIMESTAMP_RANGE, Column, ColumnType

MISSING = "missing value"
NOT_DECIMAL = "not a decimal"
NOT_TIMESTAMP = "not a timestamp"
NOT_DATE = "not a date"
NOT_INTEGER = "not an integer"
NOT_JSON_OBJECT = "not a JSON object"
NOT_ALLOWED = "not one of the allowed values"
NOT_ISO_TIMESTAMP = (
    "not an ISO 8601 date-time such as 2025-04-01T00:00:00Z; a date like 4/1/25 is ambiguous "
    "and never guessed (see ingest --date-format)"
)
NOT_ISO_DATE = (
    "not an ISO 8601 date such as 2025-04-01; a date like 4/1/25 is ambiguous and never guessed "
    "(see ingest --date-format)"
)
OUT_OF_TIME_RANGE = f"outside {TIMESTAMP_RANGE[0][:4]}-{int(TIMESTAMP_RANGE[1][:4]) - 1}, not a real billing date"

ISO_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?: ?(?:Z|UTC|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?))?)?"
)
"""The shape of ISO 8601 as billing exports write it: a date, optionally a time (``T`` or a
space), optional fractional seconds, and an optional zone: ``Z``, ``±HH``, ``±HHMM``, ``±HH:MM``
or BigQuery's `` UTC``. A zone-less value is UTC (the FOCUS rule); an offset is converted to UTC.
Only the shape is matched here; a value of that shape that is no real moment (September 31st,
25 o'clock) fails the parse that follows and is reported as such."""
ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def out_of_range(limit: int) -> str:
    """The quarantine reason for a number whose magnitude reaches ``limit``."""
    return f"out of range (magnitude must be below 1e{len(str(limit)) - 1}; no real bill has it)"

_PARSE_FAILURE = {
    ColumnType.DECIMAL: NOT_DECIMAL,
    ColumnType.TIMESTAMP: NOT_TIMESTAMP,
    ColumnType.DATE: NOT_DATE,
    ColumnType.INTEGER: NOT_INTEGER,
}

QUARANTINE_COLUMNS = ("_source_file", "_row", "_field", "_reason", "_raw_text")
"""Appended to the raw columns of every quarantined row: where it came from and why."""


def quote(name: str) -> str:
    """A SQL identifier, safe whatever a CSV header contains."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class RowCheck:
    """A rule across typed columns. ``failing_sql`` is true for a bad row (NULL counts as pass)."""

    field: str
    reason: str
    failing_sql: str
    needs: tuple[str, ...] = ()
    """Columns the SQL reads; the check is skipped for an input that lacks one of them."""
    early: bool = False
    """Checked before the column checks: a problem in a source column that a mapped column is
    computed from is reported under the source column, not as the mapped column's symptom."""


@dataclass(frozen=True)
class Problem:
    field: str | None
    reason: str

    @property
    def label(self) -> str:
        """The key used in ``IngestReport.reasons``."""
        return f"{self.field}: {self.reason}" if self.field else self.reason


@dataclass
class ValidatedBatch:
    rows: int
    parts: list[tuple[str, pa.Table]]
    """Typed rows that passed, in the output schema, grouped by partition value (``""`` when the
    validator has no partition expression)."""
    bad: pa.Table | None
    """Failed rows as text (the present columns) plus ``QUARANTINE_COLUMNS``; None when none."""
    reasons: dict[str, int]
    """``Problem.label`` → number of bad rows in this batch."""

    @property
    def good_rows(self) -> int:
        return sum(table.num_rows for _, table in self.parts)


class Validator:
    """Validates a text source whose columns are ``present`` against the ``known`` columns.

    ``output`` is the stored schema; known columns absent from the input are filled with typed
    nulls so every file in an area has the same columns. Present columns that are not known pass
    through as text. ``partition_sql`` (optional) is an expression over typed columns whose value
    comes back in a ``_partition`` column for the writer to split on.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source_file: str,
        present: Sequence[str],
        known: Sequence[Column],
        output: pa.Schema,
        row_checks: Sequence[RowCheck] = (),
        partition_sql: str | None = None,
        date_format: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self._con = con
        self._labels = dict(labels or {})
        self._source_file = source_file
        self.present = list(present)
        self.output = output
        self.date_format = date_format
        self.problems: list[Problem] = []
        self._sql_before, self._sql_after = self._build(known, row_checks, partition_sql)
        self._fields = pa.array([p.field for p in self.problems], pa.string())
        self._reasons = pa.array([p.reason for p in self.problems], pa.string())
        self._partitioned = partition_sql is not None

    def _problem(self, field: str | None, reason: str) -> int:
        """``labels`` name a mapped column by the input column it was copied from."""
        self.problems.append(Problem(self._labels.get(field, field) if field else field, reason))
        return len(self.problems) - 1

    def _parse_checks(self, name: str, raw: str, column: Column) -> list[str]:
        """CASE branches for a typed column: the format, then the parse, then the range.

        Dates must look ISO before they are parsed: the engine reads ``4/1/25`` as the year 4.
        With ``date_format`` a value may instead match that format exactly. A number that
        parses as a float but not as the column's type is too large, not malformed.
        """
        typed = quote(name)
        branches = []
        if column.type in (ColumnType.TIMESTAMP, ColumnType.DATE):
            is_date = column.type is ColumnType.DATE
            iso = full_match_sql(raw, ISO_DATE if is_date else ISO_TIMESTAMP)
            not_iso = NOT_ISO_DATE if is_date else NOT_ISO_TIMESTAMP
            if self.date_format is None:
                failure = self._problem(name, not_iso)
                branches.append(f"WHEN {raw} IS NOT NULL AND NOT {iso} THEN {failure}")
            else:
                reason = f"{not_iso.split(';')[0]} and does not match the date format {self.date_format!r}"
                failure = self._problem(name, reason)
                branches.append(
                    f"WHEN {raw} IS NOT NULL AND {typed} IS NULL AND NOT {iso} THEN {failure}"
                )
            failure = self._problem(name, _PARSE_FAILURE[column.type])
            branches.append(f"WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {failure}")
            low, high = TIMESTAMP_RANGE
            failure = self._problem(name, OUT_OF_TIME_RANGE)
            branches.append(
                f"WHEN {typed} < {column.sql_type} {literal(low)} OR {typed} >= "
                f"{column.sql_type} {literal(high)} THEN {failure}"
            )
            return branches
        if column.limit is not None:
            number = f"TRY_CAST({raw} AS DOUBLE)"
            failure = self._problem(name, out_of_range(column.limit))
            branches.append(
                f"WHEN {raw} IS NOT NULL AND {typed} IS NULL AND NOT isnan({number}) AND "
                f"abs({number}) >= {column.limit} THEN {failure}"
            )
        failure = self._problem(name, _PARSE_FAILURE[column.type])
        branches.append(f"WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN {failure}")
        if column.limit is not None:
            failure = self._problem(name, out_of_range(column.limit))
            branches.append(f"WHEN abs({typed}) >= {column.limit} THEN {failure}")
        return branches

    def _build(self, known: Sequence[Column], row_checks: Sequence[RowCheck],
               partition_sql: str | None) -> tuple[str, str]:
        """The query as the text before and after the source's FROM-clause item."""
        known_by_name = {c.name: c for c in known}
        present_set = set(self.present)
        stored = set(self.output.names)
        # Innermost: each raw text as _r<i>, each typed value under the column's own name, so
        # row checks and the partition expression read like plain SQL over typed columns.
        inner: list[str] = []
        cases: list[str] = []
        self._raw_kept: dict[str, str] = {}
        for i, name in enumerate(self.present):
            column = known_by_name.get(name)
            raw = quote(f"_r{i}")
            inner.append(f"{quote(name)} AS {raw}")
            if column is None or column.type not in _PARSE_FAILURE:
                inner.append(quote(name))
                if name not in stored:  # read only to check or show: kept for bad rows alone
                    self._raw_kept[name] = f"_r{i}"
            else:
                typed = _typed_sql(quote(name), column, self.date_format)
                inner.append(f"{typed} AS {quote(name)}")
                self._raw_kept[name] = f"_r{i}"
            if column is None:
                continue
            if not column.nullable:
                cases.append(f"WHEN {raw} IS NULL THEN {self._problem(name, MISSING)}")
            if column.type in _PARSE_FAILURE:
                cases += self._parse_checks(name, raw, column)
            if column.allowed:
                values = ", ".join(literal(v) for v in column.allowed)
                failure = self._problem(name, f"{NOT_ALLOWED} ({', '.join(column.allowed)})")
                cases.append(
                    f"WHEN {raw} IS NOT NULL AND {quote(name)} NOT IN ({values}) THEN {failure}"
                )
            if column.pattern:
                matches = full_match_sql(quote(name), column.pattern)
                failure = self._problem(name, column.pattern_reason)
                cases.append(f"WHEN {raw} IS NOT NULL AND NOT {matches} THEN {failure}")
            if column.type is ColumnType.JSON:
                is_object = f"coalesce(json_type(TRY_CAST({raw} AS JSON)) = 'OBJECT', false)"
                failure = self._problem(name, NOT_JSON_OBJECT)
                cases.append(f"WHEN {raw} IS NOT NULL AND NOT {is_object} THEN {failure}")
        early: list[str] = []
        for check in row_checks:
            if set(check.needs) <= present_set:
                failure = self._problem(check.field, check.reason)
                (early if check.early else cases).append(f"WHEN {check.failing_sql} THEN {failure}")
        cases = early + cases
        middle: list[str] = []
        for f in self.output:
            if f.name in present_set:
                middle.append(quote(f.name))
            else:
                column = known_by_name.get(f.name)
                sql_type = column.sql_type if column is not None else "VARCHAR"
                middle.append(f"CAST(NULL AS {sql_type}) AS {quote(f.name)}")
        if partition_sql is not None:
            middle.append(f"{partition_sql} AS _partition")
        middle += [quote(raw) for raw in self._raw_kept.values()]
        error = f"CASE {' '.join(cases)} END" if cases else "CAST(NULL AS INTEGER)"
        middle.append(f"{error} AS _error")
        # Outermost: raw text only survives for bad rows, so good rows cost nothing extra.
        outer = [quote(f.name) for f in self.output]
        if partition_sql is not None:
            outer.append("_partition")
        outer += [
            f"CASE WHEN _error IS NOT NULL THEN {quote(raw)} END AS {quote(raw)}"
            for raw in self._raw_kept.values()
        ]
        outer.append("_error")
        return (
            f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(middle)} FROM "
            f"(SELECT {', '.join(inner)} FROM ",
            "))",
        )

    def stream(self, source_sql: str, batch_rows: int = 122_880, first_row: int = 0
               ) -> Iterator[ValidatedBatch]:
        """Validate every row of ``source_sql`` (a FROM-clause item yielding text columns).

        Rows are numbered from ``first_row + 1`` (a source fed in chunks continues the count).
        """
        sql = self._sql_before + source_sql + self._sql_after
        reader = arrow_reader(self._con.sql(sql), batch_rows)
        seen = first_row
        for batch in reader:
            yield self._split(pa.Table.from_batches([batch]), seen)
            seen += batch.num_rows

    def _parts(self, result: pa.Table, ok: pa.Array | None) -> list[tuple[str, pa.Table]]:
        """Good rows grouped by partition with a single copy (none when nothing needs moving)."""
        good = _conform(result.select(self.output.names), self.output)
        if not self._partitioned:
            return [("", good if ok is None else good.filter(ok))]
        keys = result.column("_partition")
        values = pc.unique(keys if ok is None else keys.filter(ok)).to_pylist()
        if not values:  # no good row in this batch
            return []
        if ok is None and len(values) == 1:
            return [(values[0], good)]
        groups = []
        for value in values:
            member = pc.equal(keys, value)
            groups.append(pc.indices_nonzero(member if ok is None else pc.and_(member, ok)))
        taken = good.take(pa.chunked_array(groups).combine_chunks())
        parts, offset = [], 0
        for value, indices in zip(values, groups, strict=True):
            parts.append((value, taken.slice(offset, len(indices))))
            offset += len(indices)
        return parts

    def _split(self, result: pa.Table, first: int) -> ValidatedBatch:
        error = result.column("_error")
        if error.null_count == len(error):
            return ValidatedBatch(result.num_rows, self._parts(result, None), None, {})
        ok = pc.is_null(error)
        bad_rows = result.filter(pc.invert(ok))
        positions = pc.cast(pc.indices_nonzero(pc.invert(ok)), pa.int64())
        codes = bad_rows.column("_error")
        text = {}
        for name in self.present:
            raw = self._raw_kept.get(name)
            text[name] = pc.cast(bad_rows.column(raw if raw else name), pa.string())
        n = bad_rows.num_rows
        text["_source_file"] = pa.repeat(pa.scalar(self._source_file), n)
        text["_row"] = pc.add(positions, first + 1)
        text["_field"] = pc.take(self._fields, codes)
        text["_reason"] = pc.take(self._reasons, codes)
        text["_raw_text"] = pa.nulls(n, pa.string())
        reasons = {
            self.problems[code.as_py()].label: count.as_py()
            for code, count in zip(*pc.value_counts(codes).flatten(), strict=True)
        }
        return ValidatedBatch(result.num_rows, self._parts(result, ok), pa.table(text), reasons)


def quarantine_schema(present: Sequence[str]) -> pa.Schema:
    fields = [pa.field(n, pa.string()) for n in present]
    fields += [
        pa.field("_source_file", pa.string()),
        pa.field("_row", pa.int64()),
        pa.field("_field", pa.string()),
        pa.field("_reason", pa.string()),
        pa.field("_raw_text", pa.string()),
    ]
    return pa.schema(fields)


def _typed_sql(text: str, column: Column, date_format: str | None = None) -> str:
    """The typed value of a text column, NULL when it does not parse.

    Integers go through an exact decimal so that ``1.5`` is refused rather than rounded to 2.
    With ``date_format``, a date or timestamp matching it exactly is read with it (zone-less
    means UTC); any other value must be ISO 8601 (checked in ``Validator._parse_checks``).
    """
    if column.type is ColumnType.INTEGER:
        exact = f"TRY_CAST({text} AS DECIMAL({DECIMAL_PRECISION}, 18))"
        return f"CASE WHEN {exact} = trunc({exact}) THEN TRY_CAST({exact} AS BIGINT) END"
    if date_format is not None and column.type in (ColumnType.TIMESTAMP, ColumnType.DATE):
        iso = ISO_DATE if column.type is ColumnType.DATE else ISO_TIMESTAMP
        parsed = f"CAST(try_strptime({text}, {literal(date_format)}) AS {column.sql_type})"
        iso_cast = (
            f"CASE WHEN {full_match_sql(text, iso)} THEN TRY_CAST({text} AS {column.sql_type}) END"
        )
        return f"coalesce({parsed}, {iso_cast})"
    return f"TRY_CAST({text} AS {column.sql_type})"


def _conform(table: pa.Table, target: pa.Schema) -> pa.Table:
    """Cast to the exact stored types (DuckDB may hand back string views or other widths)."""
    if table.schema.equals(target):
        return table
    return table.cast(target)
