"""LLM usage exports (one row per day, model and product feature) into the lake, and back out.

Provider usage APIs and gateways export tokens and cost per day; spendpilot's LLM checks need
them per product feature. The rules are those of FOCUS ingestion: the file is rejected whole if
it lacks the mandatory columns, bad rows are quarantined with a reason, cost is an exact decimal,
counts and costs are bounded (``COUNT_LIMIT``, ``MONEY_LIMIT``), and re-ingesting the same bytes
replaces the earlier copy.

**Restatement.** Usage exports are re-delivered like bills: a day's numbers are revised while
late requests are counted, and a user re-downloads a range that overlaps the last one. The
newest delivery is the truth for every (provider, feature, day) its stored rows carry: the rows
of older deliveries with that key are replaced, so re-delivering "the same rows plus one" keeps
each day once. Why that key:

* *day*: usage is exported and corrected per day;
* *feature* (and not only the provider): separate exports for separate features (a gateway per
  team) must not replace each other;
* not *model*: a restated day is the feature's whole day. If a correction moves a feature's
  traffic from one model to another, a key with the model would keep the old model's rows next
  to the new ones and count that traffic twice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from spendpilot.domain import LlmUsage
from spendpilot.errors import IngestError
from spendpilot.lake import _dialect, _sources
from spendpilot.lake._csv_records import CsvRecords
from spendpilot.lake._sources import SkippedLine
from spendpilot.lake._storage import recover_if_needed
from spendpilot.lake._validation import RowCheck
from spendpilot.lake.ingest import (
    IngestReport,
    SourcePlan,
    canonical_columns,
    check_date_format,
    require_columns,
    run_ingest,
)
from spendpilot.lake.schema import COUNT_LIMIT, MONEY_LIMIT, Column, ColumnType

LLM_USAGE_AREA = "llm_usage"
LLM_RESTATEMENT_KEY = ("provider", "feature", "day")
"""A newer usage export's rows for one such key replace the stored ones (module docstring)."""

_S, _I = ColumnType.STRING, ColumnType.INTEGER


def _needed(name: str, type_: ColumnType) -> Column:
    limit = COUNT_LIMIT if type_ is _I else MONEY_LIMIT if type_ is ColumnType.DECIMAL else None
    return Column(name, type_, required=True, nullable=False, focus_level="", limit=limit)


LLM_USAGE_COLUMNS: tuple[Column, ...] = (
    _needed("day", ColumnType.DATE),
    _needed("provider", _S),
    _needed("model", _S),
    _needed("feature", _S),
    Column("project_id", _S, focus_level=""),
    _needed("requests", _I),
    _needed("input_tokens", _I),
    Column("cached_input_tokens", _I, focus_level="", limit=COUNT_LIMIT),
    _needed("output_tokens", _I),
    _needed("cost", ColumnType.DECIMAL),
    Column("currency", _S, focus_level=""),
)
LLM_USAGE_REQUIRED = tuple(c.name for c in LLM_USAGE_COLUMNS if c.required)
_NAMES = {c.name for c in LLM_USAGE_COLUMNS}

LLM_ROW_CHECKS = tuple(
    RowCheck(name, "negative count", f'"{name}" < 0', needs=(name,))
    for name in ("requests", "input_tokens", "cached_input_tokens", "output_tokens")
)


def _output_schema(extras: list[str]) -> pa.Schema:
    fields = [pa.field(c.name, c.arrow_type) for c in LLM_USAGE_COLUMNS]
    return pa.schema(fields + [pa.field(n, pa.string()) for n in extras])


def _canonical(name: str) -> str:
    stripped = name.strip()
    return stripped.lower() if stripped.lower() in _NAMES else stripped


def ingest_llm_usage_file(path: Path, lake_dir: Path, *, date_format: str | None = None
                          ) -> IngestReport:
    """Validate one usage export (CSV, CSV.gz or JSON Lines) and add it to the lake.

    Mandatory columns: day, provider, model, feature, requests, input_tokens, output_tokens,
    cost. Optional: project_id, cached_input_tokens (0 when absent), currency (USD when absent).
    ``day`` is an ISO date (YYYY-MM-DD) or, with ``date_format``, a date in that format. The
    export restates stored rows with the same (provider, feature, day) (module docstring).
    """
    path = Path(path)
    lake_dir = Path(lake_dir)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    check_date_format(date_format)
    fmt = _sources.file_format(path, ("csv", "jsonl"))
    tables: dict[str, pa.Table] = {}
    skipped: list[SkippedLine] = []
    if fmt == "csv":
        names = canonical_columns(path, _sources.csv_header(path), _canonical)
        require_columns(path, names, LLM_USAGE_REQUIRED, "an LLM usage")
        source = _dialect.csv_text_source(path, names)
    else:
        lines = _sources.read_jsonl(path, [c.name for c in LLM_USAGE_COLUMNS])
        if lines.table.num_rows == 0 and lines.malformed:
            raise IngestError(f"{path}: not JSON Lines: no line is a JSON object")
        if lines.table.num_rows:
            require_columns(path, sorted(lines.keys), LLM_USAGE_REQUIRED, "an LLM usage")
        present = [c.name for c in LLM_USAGE_COLUMNS if c.name in lines.keys]
        names = present or list(LLM_USAGE_REQUIRED)
        tables["_jsonl_rows"] = lines.table.select(names)
        skipped = lines.malformed
        source = "_jsonl_rows"
    plan = SourcePlan(
        path=path,
        fmt=fmt,
        source_sql=source,
        present=names,
        known=LLM_USAGE_COLUMNS,
        output=_output_schema([n for n in names if n not in _NAMES]),
        row_checks=LLM_ROW_CHECKS,
        skipped=skipped,
        tables=tables,
        reread=(lambda: CsvRecords(path, names)) if fmt == "csv" else None,
        date_format=date_format,
        format_name="LLM usage",
    )
    return run_ingest(plan, lake_dir, area=LLM_USAGE_AREA, restatement_key=LLM_RESTATEMENT_KEY)


def read_llm_usage(lake_dir: Path, since: date | None = None) -> list[LlmUsage]:
    """Every stored usage row (from ``since`` on), oldest first, with defaults applied.

    Usage rolled up from OpenTelemetry GenAI spans (``lake.otlp``) is included for every
    (provider, feature, day) that no usage export covers: an export is the provider's own
    count (spans may be sampled), so where both exist the export wins and nothing is counted
    twice.
    """
    from spendpilot.lake.otlp import span_daily_usage

    exported = _read_exported_usage(Path(lake_dir), since)
    covered = {(u.provider, u.feature, u.day) for u in exported}
    spans = [u for u in span_daily_usage(Path(lake_dir), since)
             if (u.provider, u.feature, u.day) not in covered]
    if not spans:
        return exported
    return sorted(exported + spans,
                  key=lambda u: (u.day, u.provider, u.model, u.feature, u.project_id or ""))


def _read_exported_usage(lake_dir: Path, since: date | None) -> list[LlmUsage]:
    recover_if_needed(Path(lake_dir))
    files = Path(lake_dir) / LLM_USAGE_AREA
    if not any(files.glob("*.parquet")):
        return []
    relation = _dialect.parquet_relation(str(files / "*.parquet"))
    where, params = ("WHERE day >= CAST(? AS DATE)", [since.isoformat()]) if since else ("", [])
    con = _dialect.connect()
    try:
        found = _dialect.rows(
            con,
            "SELECT day, provider, model, feature, project_id, requests, input_tokens, "
            "coalesce(cached_input_tokens, 0) AS cached_input_tokens, output_tokens, cost, "
            f"coalesce(currency, 'USD') AS currency FROM {relation} {where} "
            "ORDER BY day, provider, model, feature, project_id",
            params,
        )
    finally:
        con.close()
    return [LlmUsage(**{**row, "cost": Decimal(row["cost"])}) for row in found]
