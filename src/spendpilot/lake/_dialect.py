"""Everything DuckDB-specific, in one place.

The lake's queries are otherwise plain SQL (SELECT / WHERE / GROUP BY over named columns with
bound parameters), so moving to a distributed engine later means rewriting this module: how a
file set becomes a relation, how a CSV is read as text, how a tag value is pulled out of the
Tags JSON, and the client API calls. Nothing outside this module and the ingestion readers
names a DuckDB function.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from spendpilot.lake._sources import MAX_RECORD_BYTES, NULL_TOKENS


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory session in which a zone-less timestamp means UTC, as FOCUS says."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'").fetchall()
    con.execute("SET enable_progress_bar = false").fetchall()
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}").fetchall()
    return con


def literal(text: str) -> str:
    """A SQL string literal (table-function arguments cannot always be bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def arrow_reader(relation: duckdb.DuckDBPyRelation, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream a query's result as Arrow batches, in input order (DuckDB 1.x and 2.x)."""
    if hasattr(relation, "to_arrow_reader"):
        return iter(relation.to_arrow_reader(batch_rows))
    return iter(relation.fetch_record_batch(batch_rows))


def arrow_table(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    if hasattr(relation, "to_arrow_table"):
        return relation.to_arrow_table()
    return relation.arrow()


def rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """Run a query to completion and return plain Python rows.

    Goes through Arrow so that timestamps come back as aware UTC datetimes without pytz, and
    decimals as ``Decimal``.
    """
    return arrow_table(con.sql(sql, params=list(params) or None)).to_pylist()


# --- reading inputs as text -------------------------------------------------------------------

REJECTS_TABLE = "csv_rejects"

def csv_text_source(path: Path, names: Sequence[str]) -> str:
    """A FROM-clause item reading every CSV field as text.

    The dialect is fixed (comma, double quote, header line) and the columns are given, so the
    reader never sniffs: a sniffer that meets a broken line gives up on the whole file. Empty
    fields and ``NULL`` in any letter case are nulls (``_sources.NULL_TOKENS``); the header's
    names are replaced by ``names`` (the spec's spellings). Lines that cannot be split into the
    right number of fields, carry a stray quote, or are not UTF-8 are recorded in
    ``REJECTS_TABLE``. The reader's recovery from such a line is not exact (a quote that never
    closes can take the following lines with it, and the text it logs can be another line's), so
    the caller re-reads a file with any rejected line with ``_csv_records`` instead of trusting
    it (``reader_stumbled``).
    """
    columns = ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names)
    nulls = ", ".join(literal(t) for t in NULL_TOKENS)
    return (
        f"read_csv({literal(str(path))}, auto_detect = false, header = true, "
        f"columns = {{{columns}}}, nullstr = [{nulls}], delim = ',', quote = '\"', "
        f"escape = '\"', ignore_errors = true, store_rejects = true, "
        f"max_line_size = {MAX_RECORD_BYTES}, "
        f"rejects_table = '{REJECTS_TABLE}', rejects_scan = 'csv_reject_scans', parallel = true)"
    )


def reader_stumbled(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the last ``csv_text_source`` read rejected any line."""
    try:
        found = con.sql(f"SELECT count(*) FROM {REJECTS_TABLE}").fetchall()
    except duckdb.CatalogException:
        return False
    return bool(found[0][0])


def parquet_text_source(path: Path, schema: pa.Schema, names: Sequence[str]) -> str:
    """A FROM-clause item reading a Parquet file with every column turned to text.

    Typed values print exactly (decimals and timestamps in full, doubles as their shortest exact
    form); a map or struct (a Tags column written as a map) prints as a JSON object. ``''`` and
    ``NULL`` in any letter case become nulls, as in CSV.
    """
    parts = []
    for field, name in zip(schema, names, strict=True):
        column = '"' + field.name.replace('"', '""') + '"'
        if pa.types.is_nested(field.type):
            text = f"CAST(to_json({column}) AS VARCHAR)"
        else:
            text = f"CAST({column} AS VARCHAR)"
        alias = '"' + name.replace('"', '""') + '"'
        parts.append(
            f"CASE WHEN {text} = '' OR upper({text}) = 'NULL' THEN NULL ELSE {text} END AS {alias}"
        )
    return f"(SELECT {', '.join(parts)} FROM read_parquet({literal(str(path))}))"


# --- querying the lake -----------------------------------------------------------------------


def parquet_relation(pattern: str) -> str:
    """A FROM-clause item over every Parquet file matching ``pattern``.

    ``union_by_name`` lets files that carry different extra columns sit in one relation; hive
    partitioning exposes ``provider`` and ``billing_period`` for pruning.
    """
    return (
        f"read_parquet({literal(pattern)}, hive_partitioning = true, union_by_name = true)"
    )


def exact_sum_sql(expression: str, alias: str) -> str:
    """Two aggregates whose total is the exact sum of a decimal column, and cannot overflow.

    A plain SUM of DECIMAL(38, 12) overflows past 10^26 and then fails every query that reads
    the lake. Summing whole units as HUGEINT (about 1.7 * 10^38) and the fractions as decimals
    (each below 1 in magnitude) keeps the total exact; it would take 10^12 rows of 10^26 each to
    overflow. ``exact_total`` joins the two parts; ``approximate_total_sql`` orders by them.
    """
    return (
        f"CAST(sum(CAST(trunc({expression}) AS HUGEINT)) AS VARCHAR) AS {alias}_units, "
        f"sum({expression} - trunc({expression})) AS {alias}_fraction"
    )


def approximate_total_sql(alias: str) -> str:
    """The total of ``exact_sum_sql`` as a double, for ordering only."""
    return f"(CAST({alias}_units AS DOUBLE) + CAST({alias}_fraction AS DOUBLE))"


def exact_total(row: dict[str, Any], alias: str) -> Decimal | None:
    """The exact total from a row holding the two parts of ``exact_sum_sql`` (None: no rows)."""
    units, fraction = row[f"{alias}_units"], row[f"{alias}_fraction"]
    if units is None:
        return None
    with localcontext(prec=80):  # the default 28 digits would round a 10^26 total
        return Decimal(units) + Decimal(fraction)


def full_match_sql(expression: str, pattern: str) -> str:
    """True when the whole text of ``expression`` matches the regular expression ``pattern``."""
    return f"regexp_full_match({expression}, {literal(pattern)})"


def first_line(error: BaseException) -> str:
    """The engine's message for a whole-file failure, cut to its first line.

    DuckDB appends many lines of advice to some errors; a user needs the one that says what
    went wrong.
    """
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return lines[0] if lines else type(error).__name__


def tag_value_sql(tags_column: str, key_param: str) -> str:
    """The value (as text) of the tag whose key, trimmed, equals the bound parameter ``key_param``.

    Exports carry keys with stray spaces (``" org"``), so a lookup cannot use a fixed JSON path:
    find the first key that matches once trimmed, then extract it by JSON pointer (``~`` and
    ``/`` escaped). Tolerates repeated keys and non-string values; NULL when nothing matches.
    """
    key = f"list_filter(json_keys({tags_column}), lambda k: trim(k) = {key_param})[1]"
    pointer = f"'/' || replace(replace({key}, '~', '~0'), '/', '~1')"
    return f"json_extract_string({tags_column}, {pointer})"


def day_sql(timestamp_column: str) -> str:
    """The UTC calendar day of a timestamp (the session time zone is UTC)."""
    return f"CAST({timestamp_column} AS DATE)"
