"""Aggregates of the per-request table for the token-lever checks (``LlmRequestStats``).

Everything is computed by DuckDB over ``llm_requests/`` so that a sweep holds a few numbers
per (provider, model, feature), never the requests themselves: three queries (per feature, per
static prefix, per hour of day) whatever the table's size.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

from spendpilot.domain.llm_requests import LlmRequestStats, PrefixStats
from spendpilot.lake.otlp.store import REQUESTS_AREA, _query

_KEY = ("provider", "model", "feature")
_AT_LIMIT = (
    "(lower(coalesce(finish_reason, '')) SIMILAR TO '.*(length|max_tokens).*' "
    "OR (max_tokens IS NOT NULL AND output_tokens >= max_tokens))"
)


_ADDED_COLUMNS = {"prompt_prefix_chars": "BIGINT", "streaming": "BOOLEAN", "outcome": "VARCHAR"}
"""Columns newer than some stored files: NULL where no stored file has them yet."""


def request_table(lake_dir: Path) -> str:
    """A FROM item over the stored requests with every column of ``_ADDED_COLUMNS``, for
    ``_query`` (whose ``{t}`` it contains), even when every stored file predates them."""
    columns = {str(r["column_name"]) for r in _query(lake_dir, "DESCRIBE SELECT * FROM {t}", [])}
    missing = ", ".join(f"NULL::{kind} AS {name}" for name, kind in _ADDED_COLUMNS.items() if name not in columns)
    return f"(SELECT *{', ' + missing if missing else ''} FROM {{t}})"


def request_stats(lake_dir: Path, since: date | None = None) -> list[LlmRequestStats]:
    """One ``LlmRequestStats`` per (provider, model, feature) with requests from ``since`` on."""
    if not any((Path(lake_dir) / REQUESTS_AREA).glob("*.parquet")):
        return []
    table = request_table(lake_dir)
    where, params = ("WHERE day >= CAST(? AS DATE)", [since.isoformat()]) if since else ("", [])
    features = _query(
        lake_dir,
        "SELECT provider, model, feature, min(day) AS first_day, max(day) AS last_day, "
        "count(DISTINCT day) AS days, count(*) AS requests, "
        "sum(input_tokens)::BIGINT AS input_tokens, "
        "sum(cache_read_input_tokens)::BIGINT AS cache_read_input_tokens, "
        "sum(cache_creation_input_tokens)::BIGINT AS cache_creation_input_tokens, "
        "sum(output_tokens)::BIGINT AS output_tokens, "
        "sum(reasoning_output_tokens)::BIGINT AS reasoning_output_tokens, "
        "quantile_cont(output_tokens, 0.5) AS output_p50, "
        "quantile_cont(output_tokens, 0.95) AS output_p95, "
        "quantile_cont(output_tokens, 0.99) AS output_p99, "
        "max(output_tokens) AS output_max, "
        "count(*) FILTER (WHERE max_tokens IS NULL) AS requests_without_max_tokens, "
        "quantile_disc(max_tokens, 0.5) AS max_tokens_p50, max(max_tokens) AS max_tokens_max, "
        f"count(*) FILTER (WHERE {_AT_LIMIT}) AS finished_at_limit, "
        "count(*) FILTER (WHERE streaming) AS streaming_requests, "
        "count(streaming) AS streaming_known, "
        "count(conversation_id) AS requests_with_conversation, "
        f"quantile_cont(latency_ms, 0.5) AS latency_p50_ms FROM {table} {where} "
        "GROUP BY ALL ORDER BY provider, model, feature",
        params,
    )
    if not features:
        return []
    prefixes: dict[tuple[str, ...], list[PrefixStats]] = defaultdict(list)
    for row in _query(
        lake_dir,
        "SELECT provider, model, feature, prompt_prefix_sha256, count(*) AS requests, "
        "max(prompt_prefix_chars) AS prefix_chars, min(input_tokens) AS min_input_tokens, "
        "sum(input_tokens)::BIGINT AS input_tokens, "
        "sum(cache_read_input_tokens)::BIGINT AS cache_read_input_tokens, "
        "sum(cache_creation_input_tokens)::BIGINT AS cache_creation_input_tokens "
        f"FROM {table} {where} {'AND' if where else 'WHERE'} prompt_prefix_sha256 IS NOT NULL "
        "GROUP BY ALL ORDER BY requests DESC, prompt_prefix_sha256",
        params,
    ):
        key = tuple(str(row.pop(k)) for k in _KEY)
        prefixes[key].append(PrefixStats(**row))
    hours: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * 24)
    for row in _query(
        lake_dir,
        "SELECT provider, model, feature, hour(start_time) AS hour, count(*) AS n "
        f"FROM {table} {where} GROUP BY ALL",
        params,
    ):
        hours[(row["provider"], row["model"], row["feature"])][int(row["hour"])] = int(row["n"])
    tails: dict[tuple[str, ...], dict[str, object]] = {
        (row["provider"], row["model"], row["feature"]): row
        for row in _query(
            lake_dir,
            f"WITH r AS (SELECT * FROM {table} {where}), "
            "q AS (SELECT provider, model, feature, quantile_cont(output_tokens, 0.99) AS p99 FROM r GROUP BY ALL) "
            "SELECT r.provider, r.model, r.feature, "
            "coalesce(sum(greatest(r.output_tokens - q.p99, 0)), 0)::BIGINT AS output_excess_over_p99, "
            "coalesce(sum(greatest(r.output_tokens - 2 * q.p99, 0)), 0)::BIGINT AS output_excess_over_2x_p99 "
            "FROM r JOIN q USING (provider, model, feature) GROUP BY ALL",
            params,
        )
    }
    out = []
    for row in features:
        key = tuple(str(row[k]) for k in _KEY)
        tail = tails.get(key, {})
        out.append(LlmRequestStats(
            **row, hour_counts=hours[key], prefixes=prefixes.get(key, []),
            output_excess_over_p99=int(str(tail.get("output_excess_over_p99", 0))),
            output_excess_over_2x_p99=int(str(tail.get("output_excess_over_2x_p99", 0))),
        ))
    return out
