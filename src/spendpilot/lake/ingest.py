"""FOCUS ingestion: CSV or Parquet in, validated hive-partitioned Parquet (plus quarantine) out.

Per file: a thread hashes the bytes while DuckDB reads the file as text and runs one validation
query over it (``_validation``), streaming Arrow batches in input order. Good rows are appended to
one staged Parquet file per ``provider=/billing_period=`` partition, bad rows to a staged
quarantine file with their raw text and the reason; when the whole input has been read the staged
files are renamed into place together (``_storage``). No step visits single rows in Python, which
is what keeps a million rows to a few seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from spendpilot.errors import IngestError
from spendpilot.lake import _dialect, _sources
from spendpilot.lake._storage import StagedWrite, content_sha256, partition_dir
from spendpilot.lake._validation import (
    MALFORMED_ROW,
    RowCheck,
    Validator,
    quarantine_schema,
)
from spendpilot.lake.schema import (
    FOCUS_BY_NAME,
    FOCUS_COLUMNS,
    REQUIRED_COLUMNS,
    Column,
    canonical_name,
    focus_arrow_schema,
)

FOCUS_AREA = "focus"
INGESTIBLE_SUFFIXES = (".csv", ".csv.gz", ".parquet")

FOCUS_ROW_CHECKS = (
    RowCheck(
        "ChargePeriodEnd",
        "ChargePeriodEnd before ChargePeriodStart",
        '"ChargePeriodEnd" < "ChargePeriodStart"',
        needs=("ChargePeriodEnd", "ChargePeriodStart"),
    ),
    RowCheck(
        "BillingPeriodEnd",
        "BillingPeriodEnd before BillingPeriodStart",
        '"BillingPeriodEnd" < "BillingPeriodStart"',
        needs=("BillingPeriodEnd", "BillingPeriodStart"),
    ),
)

_PARTITION_SEPARATOR = "\x1f"
FOCUS_PARTITION_SQL = "\"ProviderName\" || chr(31) || strftime(\"BillingPeriodStart\", '%Y-%m')"
"""Provider and UTC billing month of a row, joined by an ASCII unit separator."""

Progress = Callable[[int], None]


class IngestReport(BaseModel):
    """What one input file became. ``rows_read == rows_stored + rows_quarantined`` always."""

    file: Path
    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    quarantine_file: Path | None = None
    reasons: dict[str, int] = Field(default_factory=dict)
    """``"<column>: <problem>"`` (or just the problem, for a whole-row defect) → rows."""
    partitions: list[str] = Field(default_factory=list)
    """Partitions written, relative to the area, e.g. ``provider=AWS/billing_period=2024-09``."""
    content_sha256: str = ""


def canonical_columns(
    path: Path, columns: Sequence[str], canonical: Callable[[str], str] = canonical_name
) -> list[str]:
    """Spec spellings of the header; a header naming one column twice cannot be trusted."""
    names = [canonical(c) for c in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise IngestError(f"{path}: column(s) appear more than once: {', '.join(duplicates)}")
    return names


def require_columns(path: Path, names: Sequence[str], required: Sequence[str], what: str) -> None:
    """Reject a file that lacks columns the lake cannot do without, naming every one missing."""
    missing = [c for c in required if c not in names]
    if missing:
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise IngestError(
            f"{path}: not {what} file: missing mandatory column(s) {', '.join(missing)} "
            f"(found: {shown or 'no columns'})"
        )


def renumber(rows: pa.Array | pa.ChunkedArray, skipped: Sequence[int]) -> pa.Array:
    """Row numbers counted over the rows the reader returned → numbers in the input file.

    The reader skips malformed lines but reports where they were; every row at or after a
    skipped line moves down by one.
    """
    fixed = pc.cast(rows, pa.int64())
    for line in sorted(skipped):
        fixed = pc.add(fixed, pc.cast(pc.greater_equal(fixed, line), pa.int64()))
    if isinstance(fixed, pa.ChunkedArray):
        return fixed.combine_chunks()
    return fixed


def _merge_skipped(source_file: str, present: Sequence[str], skipped: list[tuple[int, str]]
                   ) -> Callable[[pa.Table | None], pa.Table]:
    """Quarantine amendment: fix row numbers of bad rows, add the skipped lines, sort by row."""
    schema = quarantine_schema(present)

    def amend(current: pa.Table | None) -> pa.Table:
        n = len(skipped)
        lines = {name: pa.nulls(n, pa.string()) for name in present}
        lines["_source_file"] = pa.repeat(pa.scalar(source_file), n)
        lines["_row"] = pa.array([row for row, _ in skipped], pa.int64())
        lines["_field"] = pa.nulls(n, pa.string())
        lines["_reason"] = pa.repeat(pa.scalar(MALFORMED_ROW), n)
        lines["_raw_text"] = pa.array([text for _, text in skipped], pa.string())
        extra = pa.table(lines, schema=schema)
        if current is None:
            return extra
        fixed = renumber(current.column("_row"), [row for row, _ in skipped])
        position = current.schema.get_field_index("_row")
        current = current.set_column(position, "_row", fixed)
        merged = pa.concat_tables([current.cast(schema), extra])
        return merged.sort_by("_row")

    return amend


def _partition_path(value: str) -> str:
    """``"AWS\x1f2024-09"`` → ``provider=AWS/billing_period=2024-09``."""
    provider, _, period = value.partition(_PARTITION_SEPARATOR)
    return f"{partition_dir('provider', provider)}/{partition_dir('billing_period', period)}"


def run_ingest(
    path: Path,
    lake_dir: Path,
    *,
    area: str,
    source_sql: str,
    present: Sequence[str],
    known: Sequence[Column],
    output: pa.Schema,
    row_checks: Sequence[RowCheck] = (),
    partitioned: bool = False,
    skipped: Callable[[duckdb.DuckDBPyConnection], list[tuple[int, str]]] | None = None,
    tables: Mapping[str, pa.Table] | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """The shared validate → stage → publish loop behind every kind of input.

    ``source_sql`` is a FROM-clause item yielding the ``present`` columns as text (it may name
    Arrow ``tables`` registered on the session); ``skipped`` returns, after the read, the
    (row, description) of lines the reader could not parse. Any exception leaves the lake
    untouched.
    """
    con = _dialect.connect()
    for name, table in (tables or {}).items():
        con.register(name, table)
    report = IngestReport(file=path)
    reasons: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spendpilot-hash") as pool:
        digest = pool.submit(content_sha256, path)
        staged = StagedWrite(lake_dir, area, path, digest)
        try:
            validator = Validator(
                con, str(path), present, known, output, row_checks,
                partition_sql=FOCUS_PARTITION_SQL if partitioned else None,
            )
            for batch in validator.stream(source_sql):
                for value, rows in batch.parts:
                    staged.write(_partition_path(value) if partitioned else "", rows)
                if batch.bad is not None:
                    staged.write_quarantine(batch.bad)
                    reasons.update(batch.reasons)
                report.rows_read += batch.rows
                report.rows_stored += batch.good_rows
                if progress is not None:
                    progress(report.rows_read)
            lost = skipped(con) if skipped is not None else []
            if lost:
                staged.amend_quarantine(_merge_skipped(str(path), present, lost))
                reasons[MALFORMED_ROW] += len(lost)
                report.rows_read += len(lost)
            report.partitions, report.quarantine_file = staged.publish()
        except BaseException:
            staged.abort()
            raise
        finally:
            con.close()
    report.rows_quarantined = report.rows_read - report.rows_stored
    report.reasons = dict(reasons.most_common())
    report.content_sha256 = digest.result()
    return report


def ingest_file(path: Path, lake_dir: Path, *, progress: Progress | None = None) -> IngestReport:
    """Validate one FOCUS CSV / CSV.gz / Parquet file and add it to the lake.

    Raises ``IngestError``, writing nothing, when the file is not FOCUS or cannot be read. Rows
    that fail validation are quarantined, never dropped. Re-ingesting the same bytes (under any
    name) replaces the earlier copy. ``progress`` receives the running total of rows read.
    """
    path = Path(path)
    lake_dir = Path(lake_dir)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    fmt = _sources.file_format(path)
    if fmt == "csv":
        header = _sources.csv_header(path)
    elif fmt == "parquet":
        schema = _sources.parquet_schema(path)
        header = schema.names
    else:
        raise IngestError(f"{path}: FOCUS input must be .csv, .csv.gz or .parquet")
    names = canonical_columns(path, header)
    require_columns(path, names, REQUIRED_COLUMNS, "a FOCUS")
    if fmt == "csv":
        source = _dialect.csv_text_source(path, names)
    else:
        source = _dialect.parquet_text_source(path, schema, names)
    try:
        return run_ingest(
            path,
            lake_dir,
            area=FOCUS_AREA,
            source_sql=source,
            present=names,
            known=FOCUS_COLUMNS,
            output=focus_arrow_schema([n for n in names if n not in FOCUS_BY_NAME]),
            row_checks=FOCUS_ROW_CHECKS,
            partitioned=True,
            skipped=_dialect.csv_rejects if fmt == "csv" else None,
            progress=progress,
        )
    except IngestError:
        raise
    except Exception as exc:  # the engine's own read errors: the file as a whole is unusable
        raise IngestError(f"{path}: could not be read as {fmt.upper()} ({exc})") from exc


def ingestible_files(path: Path) -> list[Path]:
    """The inputs ``ingest_path`` reads: the file itself, or a directory's FOCUS files.

    Directories are not searched recursively, so pointing at a folder that also holds the lake
    never feeds the lake its own output.
    """
    path = Path(path)
    if path.is_dir():
        return sorted(
            p
            for p in path.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and p.name.lower().endswith(INGESTIBLE_SUFFIXES)
        )
    return [path]


def ingest_path(path: Path, lake_dir: Path, progress: Progress | None = None) -> list[IngestReport]:
    """Ingest a file, or every .csv / .csv.gz / .parquet file directly inside a directory.

    Files go in name order, each atomically; an ``IngestError`` stops the run naming its file and
    leaves earlier files ingested (re-running is safe: ingestion is idempotent). ``progress``
    receives the running total of rows over all files.
    """
    files = ingestible_files(path)
    if not files:
        raise IngestError(f"{path}: no .csv, .csv.gz or .parquet files to ingest")
    reports: list[IngestReport] = []
    done = 0
    for file in files:

        def file_progress(rows: int, offset: int = done) -> None:
            if progress is not None:
                progress(offset + rows)

        report = ingest_file(file, lake_dir, progress=file_progress)
        done += report.rows_read
        reports.append(report)
    return reports
