"""FOCUS ingestion: CSV or Parquet in, validated hive-partitioned Parquet (plus quarantine) out.

Per file: a thread hashes the bytes while DuckDB reads the file as text and runs one validation
query over it (``_validation``), streaming Arrow batches in input order. Good rows are appended to
one staged Parquet file per ``provider=/billing_period=`` partition, bad rows to a staged
quarantine file with their raw text and the reason. When every file of the run has been read,
one commit makes them visible together and drops the rows they restate (``_storage``). No step
visits single rows in Python, which is what keeps a million rows to a few seconds.

Rows are numbered as data records: row 1 is the first record after the header, so in a CSV
file row N is on line N + 1 unless an earlier quoted field spans several lines or blank lines
come before it. A CSV file on which the engine's reader rejects any line is read again line by
line (``_csv_records``), so that every line is stored or quarantined with its own text.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from spendpilot.errors import IngestError
from spendpilot.lake import _dialect, _sources
from spendpilot.lake._csv_records import CsvRecords, count_lines
from spendpilot.lake._sources import SkippedLine
from spendpilot.lake._storage import (
    LakeTransaction,
    StagedWrite,
    StorageFullError,
    content_sha256,
    partition_dir,
    prepare,
    storage_full,
)
from spendpilot.lake._validation import RowCheck, ValidatedBatch, Validator, quarantine_schema
from spendpilot.lake.schema import (
    FOCUS_BY_NAME,
    FOCUS_COLUMNS,
    REQUIRED_COLUMNS,
    Column,
    canonical_name,
    focus_arrow_schema,
)

FOCUS_AREA = "focus"
FOCUS_FORMATS = ("csv", "parquet")
INGESTIBLE_SUFFIXES = tuple(s for fmt in FOCUS_FORMATS for s in _sources.SUFFIXES[fmt])
RESTATEMENT_KEY = ("ProviderName", "BillingAccountId", "BillingPeriodStart")
"""A newer export's rows for one such key replace the stored ones (see ``LakeTransaction``)."""
MAX_EXAMPLES = 5

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


class QuarantinedRow(BaseModel):
    """One quarantined row, as the ingest summary shows it."""

    file: str
    row: int
    """Data row: 1 is the first record after the header (see the module docstring)."""
    field: str | None
    reason: str
    value: str | None = None
    """The text written in ``field``, when the problem is in one field's value."""

    @property
    def message(self) -> str:
        """``BillingPeriodStart: '4/1/25' is not an ISO 8601 date-time; ...`` (one line)."""
        where = f"{self.field}: " if self.field else ""
        if self.value is not None and self.reason.startswith("not "):
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            return f"{where}{shown!r} is {self.reason}"
        if self.value is not None and self.reason.startswith("out of range"):
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            return f"{where}{shown!r} is {self.reason}"
        return f"{where}{self.reason}"


class IngestReport(BaseModel):
    """What one input file became. ``rows_read == rows_stored + rows_quarantined`` always."""

    file: Path
    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    rows_replaced: int = 0
    """Previously stored rows (from earlier ingests) this file's rows replaced by restatement."""
    quarantine_file: Path | None = None
    reasons: dict[str, int] = Field(default_factory=dict)
    """``"<column>: <problem>"`` (or just the problem, for a whole-row defect) → rows."""
    examples: list[QuarantinedRow] = Field(default_factory=list)
    """The first few quarantined rows, in row order."""
    partitions: list[str] = Field(default_factory=list)
    """Partitions written, relative to the area, e.g. ``provider=AWS/billing_period=2024-09``."""
    content_sha256: str = ""
    restatement_key: list[str] = Field(default_factory=list)
    """The columns whose values a newer export restates (``rows_replaced``)."""
    notes: list[str] = Field(default_factory=list)
    """Things the user should know that are not errors (e.g. a header-only file)."""
    format: str = "FOCUS"
    """What the file was read as: FOCUS, CUR 2.0 or legacy CUR (recognised from its own
    columns), or LLM usage."""


@dataclass
class SourcePlan:
    """How to read one input: a FROM-clause item yielding the ``present`` columns as text.

    ``source_sql`` may name Arrow ``tables`` registered on the session; ``skipped`` returns,
    after the read, the lines the reader could not parse.
    """

    path: Path
    fmt: str
    source_sql: str
    present: Sequence[str]
    known: Sequence[Column]
    output: pa.Schema
    row_checks: Sequence[RowCheck] = ()
    partitioned: bool = False
    skipped: Sequence[SkippedLine] = ()
    """Lines a reader outside the engine already found unreadable (JSON Lines)."""
    tables: Mapping[str, pa.Table] = field(default_factory=dict)
    reread: Callable[[], CsvRecords] | None = None
    """For CSV: the line-by-line reader used when the engine's reader rejects any line."""
    date_format: str | None = None
    """An explicit strptime format for dates that are not ISO 8601 (see ``Validator``)."""
    mapping: Callable[[str], str] | None = None
    """Turns a FROM-clause item of the input's own text columns into one yielding ``present``
    (a CUR export's columns → FOCUS columns, ``cur``); applied to the line-by-line re-read too."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Quarantine field names for mapped columns: FOCUS column → the input column it came from."""
    format_name: str = "FOCUS"
    """What the input is read as, for the report (``IngestReport.format``)."""
    source_name: str | None = None
    """Where the input came from, when ``path`` is only a local copy of it (an ``s3://`` URI):
    quarantined rows name it, so a user can find the row where it was delivered."""

    @property
    def origin(self) -> str:
        """The name quarantined rows carry: ``source_name`` or the path."""
        return self.source_name or str(self.path)

    def source(self, text_source: str) -> str:
        """The FROM-clause item the validator reads: ``text_source`` after ``mapping``."""
        return text_source if self.mapping is None else self.mapping(text_source)


def canonical_columns(
    path: Path, columns: Sequence[str], canonical: Callable[[str], str] = canonical_name
) -> list[str]:
    """Spec spellings of the header; a header naming one column twice cannot be trusted."""
    names = [canonical(c) for c in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise IngestError(f"{path}: column(s) appear more than once: {', '.join(duplicates)}")
    return names


def require_columns(path: Path, names: Sequence[str], required: Sequence[str], what: str,
                    also: str = "") -> None:
    """Reject a file that lacks columns the lake cannot do without, naming every one missing.

    ``also`` is appended to the message (what else the file could have been)."""
    missing = [c for c in required if c not in names]
    if missing:
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        hint = ""
        if len(names) == 1 and any(d in names[0] for d in ";\t|"):
            hint = "; the header is not comma-separated, and only ',' is read"
        raise IngestError(
            f"{path}: not {what} file: missing mandatory column(s) {', '.join(missing)} "
            f"(found: {shown or 'no columns'}){hint}{also}"
        )


def renumber(rows: pa.Array | pa.ChunkedArray, skipped: Sequence[int]) -> pa.Array:
    """Row numbers counted over the rows the reader returned → numbers in the input file.

    ``skipped`` are the numbers (in the file) of the records the reader could not return. The
    j-th of them (from 1) has ``s_j - j`` returned rows before it, so returned row r is
    preceded by as many skipped records as there are such counts below r.
    """
    before = [s - j for j, s in enumerate(sorted(skipped), start=1)]
    numbers = rows.to_pylist()
    return pa.array([r + bisect_left(before, r) for r in numbers], pa.int64())


def _merge_skipped(source_file: str, present: Sequence[str], skipped: list[SkippedLine]
                   ) -> Callable[[pa.Table | None], pa.Table]:
    """Quarantine amendment: fix row numbers of bad rows, add the skipped lines, sort by row."""
    schema = quarantine_schema(present)

    def amend(current: pa.Table | None) -> pa.Table:
        n = len(skipped)
        lines = {name: pa.nulls(n, pa.string()) for name in present}
        lines["_source_file"] = pa.repeat(pa.scalar(source_file), n)
        lines["_row"] = pa.array([s.row for s in skipped], pa.int64())
        lines["_field"] = pa.array([s.field for s in skipped], pa.string())
        lines["_reason"] = pa.array([s.reason for s in skipped], pa.string())
        lines["_raw_text"] = pa.array([s.raw_text for s in skipped], pa.string())
        extra = pa.table(lines, schema=schema)
        if current is None:
            return extra
        fixed = renumber(current.column("_row"), [s.row for s in skipped])
        position = current.schema.get_field_index("_row")
        current = current.set_column(position, "_row", fixed)
        merged = pa.concat_tables([current.cast(schema), extra])
        return merged.sort_by("_row")

    return amend


def _partition_path(value: str) -> str:
    """``"AWS\x1f2024-09"`` → ``provider=AWS/billing_period=2024-09``."""
    provider, _, period = value.partition(_PARTITION_SEPARATOR)
    return f"{partition_dir('provider', provider)}/{partition_dir('billing_period', period)}"


def stage_source(run: LakeTransaction, plan: SourcePlan, progress: Progress | None = None
                 ) -> IngestReport:
    """Validate one input into the run's staging area; nothing is visible until the commit.

    A CSV file is read by the engine first; if its reader rejects any line, returns anything
    but one record per line, or fails on the file as a whole, what it staged is discarded and
    the file is read again line by line (``_csv_records``), which accounts for every line. The
    engine's own read errors become a one-line ``IngestError`` naming the file; a full disk
    propagates (see ``run_plans``).
    """
    path = plan.path
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="spendpilot-hash") as pool:
        digest = pool.submit(content_sha256, path)
        lines = pool.submit(count_lines, path) if plan.reread is not None else None
        shown = 0

        def forward(rows: int) -> None:  # a re-read starts from 0: never show fewer rows
            nonlocal shown
            if progress is not None and rows > shown:
                shown = rows
                progress(rows)

        try:
            report = _stage_once(run, plan, digest, forward, line_by_line=False, lines=lines)
            if report is None:
                report = _stage_once(run, plan, digest, forward, line_by_line=True)
        except IngestError:
            raise
        except Exception as exc:  # the engine's own read errors: the file as a whole
            if storage_full(exc):
                raise
            raise IngestError(
                f"{path}: could not be read as {plan.fmt.upper()} ({_dialect.first_line(exc)})"
            ) from exc
        assert report is not None  # the line-by-line pass always returns a report
        report.content_sha256 = digest.result()
    if report.rows_read == 0:
        report.notes.append(
            "no data rows (only a header): nothing to store, and that is not an error"
        )
    return report


def _stage_once(run: LakeTransaction, plan: SourcePlan, digest: Future[str],
                progress: Progress | None, *, line_by_line: bool,
                lines: Future[int] | None = None) -> IngestReport | None:
    """One read of ``plan``; None when the engine's CSV reader cannot be trusted with it.

    The engine's CSV reader is trusted when it rejected no line and returned one record for
    every physical line after the header (``lines``, counted beside the read). Otherwise (a
    broken line, or a quoted field spanning lines, whether meant or not) the caller reads the
    file line by line.
    """
    con = _dialect.connect()
    staged = run.stage(plan.path, digest)
    report = IngestReport(file=plan.path, format=plan.format_name)
    reasons: Counter[str] = Counter()
    try:
        for name, table in plan.tables.items():
            con.register(name, table)
        validator = Validator(
            con, plan.origin, plan.present, plan.known, plan.output, plan.row_checks,
            partition_sql=FOCUS_PARTITION_SQL if plan.partitioned else None,
            date_format=plan.date_format, labels=plan.labels,
        )

        def take(batch: ValidatedBatch) -> None:
            _write_batch(staged, batch, plan.partitioned)
            reasons.update(batch.reasons)
            report.rows_read += batch.rows
            report.rows_stored += batch.good_rows
            if progress is not None:
                progress(report.rows_read)

        skipped: Sequence[SkippedLine] = plan.skipped
        if line_by_line:
            assert plan.reread is not None
            records = plan.reread()
            with closing(records.tables()) as tables:  # type: ignore[type-var]
                for table in tables:
                    con.register("_csv_records", table)
                    for batch in validator.stream(plan.source("_csv_records"),
                                                  first_row=report.rows_read):
                        take(batch)
                    con.unregister("_csv_records")
            skipped = records.broken
        else:
            try:
                for batch in validator.stream(plan.source(plan.source_sql)):
                    take(batch)
            except duckdb.Error as exc:
                if plan.reread is None or storage_full(exc):
                    raise
                staged.discard()
                return None
            if plan.reread is not None and (
                _dialect.reader_stumbled(con)
                or (lines is not None and report.rows_read + 1 != lines.result())
            ):
                staged.discard()
                return None
        if skipped:
            staged.amend_quarantine(_merge_skipped(plan.origin, plan.present, list(skipped)))
            reasons.update(s.label for s in skipped)
            report.rows_read += len(skipped)
            if progress is not None:
                progress(report.rows_read)
        report.partitions = staged.partitions
        staged.finish()
    finally:
        con.close()
    report.rows_quarantined = report.rows_read - report.rows_stored
    report.reasons = dict(reasons.most_common())
    return report


def _write_batch(staged: StagedWrite, batch: ValidatedBatch, partitioned: bool) -> None:
    for value, rows in batch.parts:
        staged.write(_partition_path(value) if partitioned else "", rows)
    if batch.bad is not None:
        staged.write_quarantine(batch.bad)


def commit_run(run: LakeTransaction, reports: Sequence[IngestReport]) -> None:
    """Commit the run and complete each report with what the commit did."""
    done = run.commit()
    for i, report in enumerate(reports):
        report.partitions = done.partitions.get(i, [])
        report.quarantine_file = done.quarantine.get(i)
        report.rows_replaced = done.rows_replaced.get(i, 0)
        if report.quarantine_file is not None:
            report.examples = quarantine_examples(report.quarantine_file)


def quarantine_examples(path: Path, limit: int = MAX_EXAMPLES) -> list[QuarantinedRow]:
    """The first ``limit`` rows of a quarantine file (they are stored in row order)."""
    batches = pq.ParquetFile(path).iter_batches(batch_size=limit)
    first = next(batches, None)
    if first is None:
        return []
    examples = []
    for r in first.to_pylist()[:limit]:
        value = r.get(r["_field"]) if r["_field"] else None
        examples.append(QuarantinedRow(file=r["_source_file"], row=r["_row"], field=r["_field"],
                                       reason=r["_reason"], value=value))
    return examples


def run_ingest(plan: SourcePlan, lake_dir: Path, *, area: str, progress: Progress | None = None,
               restatement_key: Sequence[str] = ()) -> IngestReport:
    """Ingest one input as a run of its own: stage, then commit (see ``ingest_files``)."""
    return run_plans([plan], lake_dir, area=area, progress=progress,
                     restatement_key=restatement_key)[0]


def run_plans(plans: Sequence[SourcePlan], lake_dir: Path, *, area: str,
              progress: Progress | None = None, restatement_key: Sequence[str] = ()
              ) -> list[IngestReport]:
    """Stage every plan, then commit them together; on any failure store nothing.

    First finishes commits a crash interrupted and deletes staging folders dead runs left
    behind. A full disk becomes ``StorageFullError`` after the run's staged files are deleted.
    """
    lake_dir = Path(lake_dir)
    prepare(lake_dir)
    run = LakeTransaction(lake_dir, area, restatement_key=restatement_key)
    reports: list[IngestReport] = []
    done = 0
    try:
        for plan in plans:

            def file_progress(rows: int, offset: int = done) -> None:
                if progress is not None:
                    progress(offset + rows)

            report = stage_source(run, plan, file_progress)
            report.restatement_key = list(restatement_key)
            done += report.rows_read
            reports.append(report)
        commit_run(run, reports)
    except BaseException as exc:
        run.abort()
        full = storage_full(exc)
        if full is None or isinstance(exc, StorageFullError):
            raise
        if run.journal_written:
            raise StorageFullError(
                f"{full} while writing {lake_dir}; the ingest was recorded and completes at the "
                "next ingest or query once there is space"
            ) from exc
        raise StorageFullError(
            f"{full} while writing {lake_dir}; nothing was stored (free some space and ingest again)"
        ) from exc
    return reports


def check_date_format(date_format: str | None) -> None:
    """Refuse a ``date_format`` the engine cannot use, before anything is read."""
    if date_format is None:
        return
    con = _dialect.connect()
    try:
        con.execute("SELECT try_strptime('2025-01-01', ?)", [date_format]).fetchall()
    except duckdb.Error as exc:
        raise IngestError(
            f"date format {date_format!r} is not a strptime format such as '%m/%d/%y' "
            f"({_dialect.first_line(exc)})"
        ) from exc
    finally:
        con.close()
    if "%" not in date_format:
        raise IngestError(f"date format {date_format!r} is not a strptime format such as '%m/%d/%y'")


def focus_plan(path: Path, date_format: str | None = None) -> SourcePlan:
    """Check that ``path`` is a FOCUS, CUR 2.0 or legacy CUR CSV / CSV.gz / Parquet file and
    say how to read it; which one is recognised from the file's own columns (``cur.detect``).

    Reads only the header or schema; raises ``IngestError`` for anything that is none of them.
    """
    from spendpilot.lake import cur  # cur builds on this module's SourcePlan

    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    fmt = _sources.file_format(path, FOCUS_FORMATS)
    if fmt == "csv":
        header = _sources.csv_header(path)
        schema = None
    else:
        schema = _sources.parquet_schema(path)
        header = schema.names
    if cur.detect(header) is not None:
        return cur.cur_plan(path, fmt, header, schema, date_format)
    names = canonical_columns(path, header)
    require_columns(path, names, REQUIRED_COLUMNS, "a FOCUS", cur.NOT_CUR_HINT)
    if schema is None:
        source = _dialect.csv_text_source(path, names)
    else:
        source = _dialect.parquet_text_source(path, schema, names)
    return SourcePlan(
        path=path,
        fmt=fmt,
        source_sql=source,
        present=names,
        known=FOCUS_COLUMNS,
        output=focus_arrow_schema([n for n in names if n not in FOCUS_BY_NAME]),
        row_checks=FOCUS_ROW_CHECKS,
        partitioned=True,
        reread=(lambda: CsvRecords(path, names)) if fmt == "csv" else None,
        date_format=date_format,
    )


def ingest_files(files: Sequence[Path], lake_dir: Path, progress: Progress | None = None,
                 *, date_format: str | None = None) -> list[IngestReport]:
    """Validate FOCUS files and add them to the lake as one run, atomically.

    Every header is checked before any row is read. Raises ``IngestError``, writing nothing,
    when a file is not FOCUS or cannot be read (``StorageFullError`` when the disk fills).
    Rows that fail validation are quarantined, never dropped. The run's rows replace stored
    rows with the same ProviderName, BillingAccountId and BillingPeriodStart from earlier runs
    (restated exports; see ``LakeTransaction``); the same bytes ingested again (under any name)
    replace their earlier copy. ``progress`` receives the running total of rows read.

    Dates must be ISO 8601; ``date_format`` (a strptime format such as ``%m/%d/%y``) reads
    values in that one format too, zone-less values being UTC. Without it, ``4/1/25`` is
    quarantined, because month-first and day-first cannot be told apart.
    """
    check_date_format(date_format)
    plans = [focus_plan(Path(f), date_format) for f in files]
    return run_plans(plans, Path(lake_dir), area=FOCUS_AREA, progress=progress,
                     restatement_key=RESTATEMENT_KEY)


def ingest_file(path: Path, lake_dir: Path, *, progress: Progress | None = None,
                date_format: str | None = None) -> IngestReport:
    """Validate one FOCUS CSV / CSV.gz / Parquet file and add it to the lake (see
    ``ingest_files``)."""
    return ingest_files([Path(path)], lake_dir, progress=progress, date_format=date_format)[0]


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


def ingest_path(path: Path, lake_dir: Path, progress: Progress | None = None, *,
                date_format: str | None = None) -> list[IngestReport]:
    """Ingest a file, or every .csv / .csv.gz / .parquet file directly inside a directory.

    A directory is one run: its files are committed together or not at all, and they never
    replace each other's rows (a delivery split into parts stays whole). An ``IngestError``
    names the file and leaves the lake as it was. ``progress`` receives the running total of
    rows over all files.
    """
    files = ingestible_files(path)
    if not files:
        raise IngestError(f"{path}: no .csv, .csv.gz or .parquet files to ingest")
    return ingest_files(files, lake_dir, progress=progress, date_format=date_format)
