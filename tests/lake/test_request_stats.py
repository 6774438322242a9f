"""The per-request columns the token levers read, from real span shapes, and lakes written
before those columns existed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from spendpilot.lake.otlp import ingest_otlp_file, read_llm_requests
from spendpilot.lake.otlp.compact import compact_requests
from spendpilot.lake.otlp.stats import request_stats
from spendpilot.lake.otlp.unit_economics import feature_unit_costs
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.spans import LlmRequestProfile, LlmRequestsSpec, write_request_spans

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
NEW_COLUMNS = ("prompt_prefix_chars", "streaming", "outcome")


def _attr(key: str, value: object) -> dict[str, object]:
    kind = "boolValue" if isinstance(value, bool) else "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


def test_openllmetry_streaming_flag_outcome_and_prompt_length_are_read(tmp_path: Path) -> None:
    """An OpenLLMetry span: ``llm.is_streaming``, the prompt as ``gen_ai.prompt.0.*``."""
    span = {
        "traceId": "1" * 32, "spanId": "2" * 16, "name": "openai.chat", "kind": 3,
        "startTimeUnixNano": "1793613540000000000", "endTimeUnixNano": "1793613541000000000",
        "attributes": [
            _attr("gen_ai.system", "openai"), _attr("gen_ai.request.model", "gpt-4.1"),
            _attr("llm.request.type", "chat"), _attr("traceloop.span.kind", "llm"),
            _attr("gen_ai.usage.prompt_tokens", 900), _attr("gen_ai.usage.completion_tokens", 40),
            _attr("llm.is_streaming", True), _attr("spendpilot.outcome", "resolved"),
            _attr("gen_ai.prompt.0.role", "system"), _attr("gen_ai.prompt.0.content", "Be brief. " * 30),
            _attr("gen_ai.prompt.1.role", "user"), _attr("gen_ai.prompt.1.content", "hi"),
        ],
    }
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "bot")]},
                                                   "scopeSpans": [{"spans": [span]}]}]}))
    ingest_otlp_file(path, tmp_path / "lake")
    [request] = read_llm_requests(tmp_path / "lake")
    assert (request.streaming, request.outcome, request.prompt_prefix_chars) == (True, "resolved", 300)
    assert request.system_instructions is None  # the length is kept, the text is not


def _ingest(tmp: Path, name: str, feature: str) -> Path:
    spec = LlmRequestsSpec(days=1, features=[LlmRequestProfile(
        feature=feature, model="gpt-4.1", requests_per_day=20, input_tokens=2000, system_prompt_chars=4000,
        output_tokens=50, streaming=True, success_share=1.0)])
    spans = tmp / f"{name}.jsonl"
    write_request_spans(spec, spans, now=NOW, seed=3)
    ingest_otlp_file(spans, tmp / "lake")
    return tmp / "lake"


def _strip_new_columns(lake: Path) -> None:
    """Rewrite every stored request file as the table looked before these columns existed."""
    for path in (lake / "llm_requests").glob("*.parquet"):
        table = pq.read_table(path)
        pq.write_table(table.drop_columns([c for c in NEW_COLUMNS if c in table.column_names]), path)


def test_a_lake_from_before_the_new_columns_still_sweeps(tmp_path: Path) -> None:
    lake = _ingest(tmp_path, "old", "legacy")
    _strip_new_columns(lake)
    [stats] = request_stats(lake)
    assert stats.requests == 20 and stats.streaming_known == 0
    assert stats.prefixes[0].prefix_chars is None and stats.prefixes[0].prefix_tokens is None
    [row] = feature_unit_costs(lake, PriceBook.bundled())
    assert row.outcomes_reported == 0 and row.cost is not None


def test_old_and_new_request_files_compact_into_one(tmp_path: Path) -> None:
    lake = _ingest(tmp_path, "old", "legacy")
    _strip_new_columns(lake)
    _ingest(tmp_path, "new", "current")
    assert compact_requests(lake, at_least=2) == 2
    stats = {s.feature: s for s in request_stats(lake)}
    assert stats["legacy"].streaming_known == 0 and stats["current"].streaming_requests == 20
