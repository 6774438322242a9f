"""A read-only check of a lake's files, for ``spendpilot doctor`` and for tests.

``health`` changes nothing: it neither finishes interrupted commits nor deletes staging left by
dead ingests (the next ingest does both; ``_storage.prepare``). It reports what it finds so a
user can tell a healthy lake from one that needs attention, and why.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from spendpilot.lake import _dialect
from spendpilot.lake._storage import QUARANTINE_DIR, interrupted_commits, orphaned_staging
from spendpilot.lake.ingest import FOCUS_AREA
from spendpilot.lake.llm_usage import LLM_USAGE_AREA
from spendpilot.lake.otlp.store import REQUESTS_AREA
from spendpilot.lake.schema import FOCUS_COLUMNS, ColumnType

_SUM_COST = _dialect.exact_sum_sql('"EffectiveCost"', "cost")
_PATTERNS = {
    FOCUS_AREA: f"{FOCUS_AREA}/*/*/*.parquet",
    LLM_USAGE_AREA: f"{LLM_USAGE_AREA}/*.parquet",
    REQUESTS_AREA: f"{REQUESTS_AREA}/*.parquet",
    QUARANTINE_DIR: f"{QUARANTINE_DIR}/*.parquet",
}


class LakeHealth(BaseModel):
    """What ``health`` found. ``readable`` is False when any error was found."""

    lake_dir: Path
    exists: bool
    readable: bool
    rows: int = 0
    """FOCUS rows stored."""
    llm_usage_rows: int = 0
    llm_request_rows: int = 0
    """Model requests stored from OpenTelemetry spans (``lake.otlp``)."""
    quarantined: int = 0
    """Rows held in quarantine files (bad input rows, with their reasons)."""
    orphaned_staging: list[Path] = Field(default_factory=list)
    """Staging folders of ingests that died before committing; the next ingest deletes them."""
    interrupted_commits: list[Path] = Field(default_factory=list)
    """Commit journals a crash left; the next ingest or query finishes them."""
    errors: list[str] = Field(default_factory=list)
    """One line each: an unreadable file, or files that cannot be queried together."""
    warnings: list[str] = Field(default_factory=list)
    """One line each: things that read but need attention (values beyond the ingest bounds,
    stored before ingest enforced them)."""


def _count(files: list[Path], errors: list[str]) -> int:
    total = 0
    for path in files:
        try:
            total += pq.read_metadata(path).num_rows
        except (pa.ArrowException, OSError) as exc:
            errors.append(f"{path}: unreadable Parquet file ({_dialect.first_line(exc)}); move it "
                          "out of the lake and ingest its source again")
    return total


def _out_of_bounds(lake_dir: Path, errors: list[str], warnings: list[str]) -> None:
    """Rows beyond the bounds ingest enforces (written before it did): sums still work, but
    such a value is no real charge."""
    checks = [
        f'count(*) FILTER (WHERE abs("{c.name}") >= {c.limit}) AS "{c.name}"'
        for c in FOCUS_COLUMNS
        if c.type is ColumnType.DECIMAL and c.limit is not None and c.required
    ]
    relation = _dialect.parquet_relation(str(lake_dir / _PATTERNS[FOCUS_AREA]))
    con = _dialect.connect()
    try:
        found = _dialect.rows(con, f"SELECT {', '.join(checks)} FROM {relation}")[0]
        con.execute(f"SELECT {_SUM_COST} FROM {relation}").fetchall()
    except duckdb.Error as exc:
        errors.append(f"{lake_dir / FOCUS_AREA}: the FOCUS files cannot be queried together "
                      f"({_dialect.first_line(exc)})")
        return
    finally:
        con.close()
    for column, count in found.items():
        if count:
            warnings.append(
                f"{lake_dir / FOCUS_AREA}: {count:,} stored row(s) have {column} of 10^12 or "
                "more (stored before ingest bounded values); ingest their source again to "
                "quarantine them"
            )


def health(lake_dir: Path) -> LakeHealth:
    """Check every lake file without changing anything (see the module docstring)."""
    lake_dir = Path(lake_dir)
    if not lake_dir.is_dir():
        return LakeHealth(lake_dir=lake_dir, exists=False, readable=True)
    errors: list[str] = []
    warnings: list[str] = []
    files = {area: sorted(lake_dir.glob(pattern)) for area, pattern in _PATTERNS.items()}
    rows = _count(files[FOCUS_AREA], errors)
    usage = _count(files[LLM_USAGE_AREA], errors)
    requests = _count(files[REQUESTS_AREA], errors)
    quarantined = _count(files[QUARANTINE_DIR], errors)
    if files[FOCUS_AREA] and not errors:
        _out_of_bounds(lake_dir, errors, warnings)
    return LakeHealth(
        lake_dir=lake_dir,
        exists=True,
        readable=not errors,
        rows=rows,
        llm_usage_rows=usage,
        llm_request_rows=requests,
        quarantined=quarantined,
        orphaned_staging=orphaned_staging(lake_dir),
        interrupted_commits=[j.parent for j in interrupted_commits(lake_dir)],
        errors=errors,
        warnings=warnings,
    )
