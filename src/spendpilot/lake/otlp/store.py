"""GenAI spans into the lake: one row per model request, and the daily usage rolled up from them.

Layout (next to ``llm_usage``, see ``spendpilot.lake``)::

    llm_requests/<source-stem>-<hash8>.parquet    one row per request (``GenAiRequest``)
    quarantine/<source-stem>-<hash8>.parquet      spans refused, with field and reason

A delivery (a file, or one OTLP/HTTP request) is one ``LakeTransaction``: its requests and its
quarantine become visible together or not at all, exactly like a usage export.

**Duplicates.** Exporters retry, and a collector's file can be copied and ingested twice, so a
span (trace id + span id) is stored once: inside one delivery the first copy is kept and the
others are skipped as duplicates; across deliveries the key is a restatement key, so the newest
delivery's copy replaces the stored one (and ingesting the same bytes again changes nothing).

**Accounting.** Every record read is exactly one of: stored, skipped (not a model call, or a
duplicate within the delivery) or quarantined (``spans_read == spans_stored + spans_skipped +
spans_quarantined``). An unreadable JSON Lines line counts as one quarantined record.

**Daily usage.** The checks read ``LlmUsage`` (one day, provider, model and feature).
``span_daily_usage`` computes it from the stored requests at read time rather than storing a
second copy, so a late span, a duplicate or a restated delivery can never leave the two
disagreeing. Spans carry no prices: the roll-up's ``cost`` is 0 and the checks price tokens
from the price file themselves.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, Field

from spendpilot.config import OtelSettings
from spendpilot.domain import LlmUsage
from spendpilot.errors import IngestError
from spendpilot.lake import _dialect
from spendpilot.lake._storage import (
    LakeTransaction,
    StorageFullError,
    content_sha256,
    prepare,
    recover_if_needed,
    storage_full,
)
from spendpilot.lake._validation import quarantine_schema
from spendpilot.lake.otlp._wire import (
    AttrValue,
    BrokenRecord,
    WireSpan,
    looks_like_otlp_json,
    read_otlp_json_file,
)
from spendpilot.lake.otlp.genai import GenAiRequest, Refused, Skipped, read_request, redacted

REQUESTS_AREA = "llm_requests"
REQUEST_KEY = ("trace_id", "span_id")
MAX_EXAMPLES = 5
DUPLICATE = "duplicate span (same trace and span id earlier in this delivery)"

_S, _I, _F = pa.string(), pa.int64(), pa.float64()
REQUEST_SCHEMA = pa.schema([
    ("trace_id", _S), ("span_id", _S), ("start_time", pa.timestamp("us", tz="UTC")),
    ("day", pa.date32()), ("latency_ms", _F), ("provider", _S), ("operation", _S),
    ("request_model", _S), ("response_model", _S), ("model", _S), ("feature", _S), ("team", _S),
    ("customer", _S), ("conversation_id", _S), ("service_name", _S), ("input_tokens", _I),
    ("cache_read_input_tokens", _I), ("cache_creation_input_tokens", _I),
    ("uncached_input_tokens", _I), ("output_tokens", _I), ("reasoning_output_tokens", _I),
    ("max_tokens", _I), ("finish_reason", _S), ("prompt_prefix_sha256", _S),
    ("attribute_style", _S), ("system_instructions", _S), ("input_messages", _S),
])
_QUARANTINE_COLUMNS = ("line", "trace_id", "span_id", "value")


class SpanProblem(BaseModel):
    """One quarantined span, as the summary shows it: ``file:line span <id> field: reason``."""

    file: str
    line: int
    span_id: str
    field: str | None
    reason: str
    value: str | None = None

    @property
    def message(self) -> str:
        where = f"{self.file}:{self.line}" + (f" span {self.span_id}" if self.span_id else "")
        shown = "" if self.value is None else f" ({self.value[:60]!r})"
        return f"{where} {self.field + ': ' if self.field else ''}{self.reason}{shown}"


class FeatureTotal(BaseModel):
    feature: str
    requests: int = 0
    input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0


class OtlpIngestReport(BaseModel):
    """What one delivery became. ``spans_read == stored + skipped + quarantined`` always."""

    source: str
    spans_read: int = 0
    spans_stored: int = 0
    spans_skipped: int = 0
    spans_quarantined: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    reasons: dict[str, int] = Field(default_factory=dict)
    """``"<field>: <problem>"`` → quarantined spans."""
    examples: list[SpanProblem] = Field(default_factory=list)
    rows_replaced: int = 0
    """Stored requests of earlier deliveries that this one re-delivered (now stored once)."""
    quarantine_file: Path | None = None
    features: list[FeatureTotal] = Field(default_factory=list)
    """Totals of the requests stored from this delivery, by feature."""


def _done(value: str) -> Future[str]:
    future: Future[str] = Future()
    future.set_result(value)
    return future


def _ancestors(span: WireSpan, by_id: Mapping[tuple[str, str], WireSpan]
               ) -> list[dict[str, AttrValue]]:
    found, seen = [], {span.span_id}
    parent = by_id.get((span.trace_id, span.parent_span_id))
    while parent is not None and parent.span_id not in seen:
        seen.add(parent.span_id)
        found.append(parent.attributes)
        parent = by_id.get((parent.trace_id, parent.parent_span_id))
    return found


def ingest_otlp_records(records: Iterable[WireSpan | BrokenRecord], source: Path, digest: str,
                        lake_dir: Path, settings: OtelSettings | None = None) -> OtlpIngestReport:
    """Store one delivery's GenAI spans (module docstring); raises ``IngestError`` storing nothing.

    ``source`` names the delivery (its stem names the lake files) and ``digest`` is the SHA-256
    of its bytes (the same bytes again replace their earlier copy).
    """
    settings = settings or OtelSettings()
    items = list(records)
    by_id = {(s.trace_id, s.span_id): s for s in reversed(items) if isinstance(s, WireSpan)}
    report = OtlpIngestReport(source=str(source))
    stored: list[GenAiRequest] = []
    refused: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for item in items:
        report.spans_read += 1
        if isinstance(item, BrokenRecord):
            refused.append({"_row": item.ordinal, "line": str(item.line), "_field": None,
                            "_reason": item.reason, "_raw_text": item.raw_text})
            continue
        outcome = read_request(item, _ancestors(item, by_id), settings)
        if isinstance(outcome, Skipped):
            skipped[outcome.reason] += 1
        elif isinstance(outcome, Refused):
            refused.append({
                "_row": item.ordinal, "line": str(item.line), "trace_id": item.trace_id,
                "span_id": item.span_id, "value": outcome.value, "_field": outcome.field,
                "_reason": outcome.reason,
                "_raw_text": redacted(item.raw, settings.store_prompt_text),
            })
        elif (outcome.trace_id, outcome.span_id) in seen:
            skipped[DUPLICATE] += 1
        else:
            seen.add((outcome.trace_id, outcome.span_id))
            stored.append(outcome)
    report.spans_stored = len(stored)
    report.spans_skipped = sum(skipped.values())
    report.spans_quarantined = len(refused)
    report.skipped = dict(skipped.most_common())
    report.reasons = dict(Counter(
        f"{r['_field']}: {r['_reason']}" if r["_field"] else str(r["_reason"]) for r in refused
    ).most_common())
    report.features = _feature_totals(stored)
    _commit(report, stored, refused, source, digest, Path(lake_dir))
    return report


def _feature_totals(stored: Sequence[GenAiRequest]) -> list[FeatureTotal]:
    totals: dict[str, FeatureTotal] = {}
    for r in stored:
        t = totals.setdefault(r.feature, FeatureTotal(feature=r.feature))
        t.requests += 1
        t.input_tokens += r.input_tokens
        t.cache_read_input_tokens += r.cache_read_input_tokens
        t.output_tokens += r.output_tokens
    return [totals[name] for name in sorted(totals)]


def _commit(report: OtlpIngestReport, stored: list[GenAiRequest], refused: list[dict[str, Any]],
            source: Path, digest: str, lake_dir: Path) -> None:
    prepare(lake_dir)
    run = LakeTransaction(lake_dir, REQUESTS_AREA, restatement_key=REQUEST_KEY)
    try:
        staged = run.stage(source, _done(digest))
        if stored:
            rows = [r.model_dump() for r in stored]
            staged.write("", pa.Table.from_pylist(rows, schema=REQUEST_SCHEMA))
        if refused:
            schema = quarantine_schema(_QUARANTINE_COLUMNS)
            rows = [{**r, "_source_file": str(source)} for r in refused]
            staged.write_quarantine(pa.Table.from_pylist(rows, schema=schema))
        staged.finish()
        done = run.commit()
    except BaseException as exc:
        run.abort()
        full = storage_full(exc)
        if full is None or isinstance(exc, StorageFullError):
            raise
        raise StorageFullError(f"{full} while writing {lake_dir}; nothing was stored") from exc
    report.rows_replaced = done.rows_replaced.get(0, 0)
    report.quarantine_file = done.quarantine.get(0)
    report.examples = [
        SpanProblem(file=str(source), line=int(str(r["line"])), span_id=str(r.get("span_id") or ""),
                    field=r["_field"], reason=str(r["_reason"]),
                    value=r.get("value"))
        for r in refused[:MAX_EXAMPLES]
    ]


def ingest_otlp_file(path: Path, lake_dir: Path, settings: OtelSettings | None = None
                     ) -> OtlpIngestReport:
    """Store the GenAI spans of an OTLP JSON trace file (one document or JSON Lines, gzip or
    not); see ``ingest_otlp_records``."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    records = list(read_otlp_json_file(path))
    return ingest_otlp_records(records, path, content_sha256(path), lake_dir, settings)


def otlp_files(path: Path) -> list[Path]:
    """``path`` if it is an OTLP JSON trace file, or a folder's trace files (not recursive,
    hidden files skipped), recognised by content whatever their names."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir()
                      if p.is_file() and not p.name.startswith(".") and looks_like_otlp_json(p))
    return [path] if path.is_file() and looks_like_otlp_json(path) else []


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def read_llm_requests(lake_dir: Path) -> list[GenAiRequest]:
    """Every stored request, oldest first."""
    found = _query(lake_dir, "SELECT * FROM {t} ORDER BY start_time, trace_id, span_id", [])
    return [GenAiRequest(**row) for row in found]


def span_daily_usage(lake_dir: Path, since: date | None = None) -> list[LlmUsage]:
    """Stored requests rolled up per (day, provider, model, feature), as ``LlmUsage``.

    ``cached_input_tokens`` is the cache reads (part of ``input_tokens``, which counts every
    input token); ``cost`` is 0 (module docstring).
    """
    where, params = ("WHERE day >= CAST(? AS DATE)", [since.isoformat()]) if since else ("", [])
    found = _query(
        lake_dir,
        "SELECT day, provider, model, feature, count(*) AS requests, "
        "sum(input_tokens)::BIGINT AS input_tokens, "
        "sum(cache_read_input_tokens)::BIGINT AS cached_input_tokens, "
        f"sum(output_tokens)::BIGINT AS output_tokens FROM {{t}} {where} "
        "GROUP BY ALL ORDER BY day, provider, model, feature",
        params,
    )
    return [LlmUsage(**row) for row in found]


class HourlyRequestUsage(BaseModel):
    """Requests and tokens of one UTC hour, feature, model and provider (``hourly_request_usage``)."""

    hour: datetime
    feature: str
    model: str
    provider: str
    requests: int
    uncached_input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    output_tokens: int


def hourly_request_usage(lake_dir: Path, since: datetime | None = None) -> list[HourlyRequestUsage]:
    """Stored requests summed per UTC hour (from ``since``), for hourly anomaly detection.

    Summed in DuckDB so a large table is not loaded row by row; the hour is computed from the
    epoch, which does not depend on the session's time zone.
    """
    where, params = ("WHERE start_time >= ?", [since]) if since else ("", [])
    found = _query(
        lake_dir,
        "SELECT CAST(floor(epoch(start_time) / 3600) AS BIGINT) AS hour_index, feature, model, provider, "
        "count(*) AS requests, sum(uncached_input_tokens)::BIGINT AS uncached_input_tokens, "
        "sum(cache_read_input_tokens)::BIGINT AS cache_read_input_tokens, "
        "sum(cache_creation_input_tokens)::BIGINT AS cache_creation_input_tokens, "
        f"sum(output_tokens)::BIGINT AS output_tokens FROM {{t}} {where} GROUP BY ALL ORDER BY hour_index",
        params,
    )
    return [HourlyRequestUsage(hour=datetime.fromtimestamp(row.pop("hour_index") * 3600, UTC), **row)
            for row in found]


def _query(lake_dir: Path, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
    lake_dir = Path(lake_dir)
    recover_if_needed(lake_dir)
    files = lake_dir / REQUESTS_AREA
    if not any(files.glob("*.parquet")):
        return []
    relation = _dialect.parquet_relation(str(files / "*.parquet"))
    con = _dialect.connect()
    try:
        return _dialect.rows(con, sql.replace("{t}", relation), params)
    finally:
        con.close()
