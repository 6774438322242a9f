"""Per-request traffic written as an OTLP JSON trace export, the shape the OTel Collector's file exporter writes.

Scenarios send their generated requests through the same path a user's application does:
GenAI spans (current semantic conventions) in a file that ``spendpilot ingest`` reads. One
resource per feature (``service.name`` = the feature), one span per request, system prompt in
``gen_ai.system_instructions`` and the other messages in ``gen_ai.input.messages`` (stored only
when the ingest opts in to prompt text).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from spendpilot.domain import LlmRequest


def _attr(key: str, value: str | int) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _ids(r: LlmRequest, n: int) -> tuple[str, str]:
    digest = hashlib.sha256(f"{r.feature}|{r.conversation_id}|{r.start_time.isoformat()}|{n}".encode()).hexdigest()
    return digest[:32], digest[32:48]


def _span(r: LlmRequest, n: int) -> dict[str, Any]:
    trace_id, span_id = _ids(r, n)
    start = int(r.start_time.timestamp() * 1_000_000) * 1000
    attrs = [
        _attr("gen_ai.operation.name", "chat"), _attr("gen_ai.provider.name", r.provider),
        _attr("gen_ai.request.model", r.model), _attr("spendpilot.feature", r.feature),
        _attr("gen_ai.usage.input_tokens", r.input_tokens), _attr("gen_ai.usage.output_tokens", r.output_tokens),
    ]
    if r.cache_read_input_tokens:
        attrs.append(_attr("gen_ai.usage.cache_read.input_tokens", r.cache_read_input_tokens))
    if r.conversation_id:
        attrs.append(_attr("gen_ai.conversation.id", r.conversation_id))
    if r.team:
        attrs.append(_attr("spendpilot.team", r.team))
    if r.customer:
        attrs.append(_attr("spendpilot.customer", r.customer))
    if r.max_tokens is not None:
        attrs.append(_attr("gen_ai.request.max_tokens", r.max_tokens))
    if r.input_messages:
        messages = json.loads(r.input_messages)
        system = [m["content"] for m in messages if m.get("role") == "system"]
        rest = [{"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]}
                for m in messages if m.get("role") != "system"]
        if system:
            attrs.append(_attr("gen_ai.system_instructions",
                               json.dumps([{"type": "text", "content": s} for s in system])))
        attrs.append(_attr("gen_ai.input.messages", json.dumps(rest)))
    return {
        "traceId": trace_id, "spanId": span_id, "name": f"chat {r.model}", "kind": 3,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 800_000_000),
        "attributes": attrs, "status": {},
    }


def otlp_document(requests: Iterable[LlmRequest]) -> dict[str, Any]:
    by_feature: dict[str, list[LlmRequest]] = defaultdict(list)
    for r in requests:
        by_feature[r.feature].append(r)
    resource_spans = []
    for feature, rows in sorted(by_feature.items()):
        resource_spans.append({
            "resource": {"attributes": [_attr("service.name", feature)]},
            "scopeSpans": [{"scope": {"name": "spendpilot.scenarios", "version": "1"},
                            "spans": [_span(r, n) for n, r in enumerate(rows)]}],
        })
    return {"resourceSpans": resource_spans}


def write_otlp_json(requests: Iterable[LlmRequest], path: Path) -> Path:
    """One JSON document (the file exporter's single-document shape)."""
    path.write_text(json.dumps(otlp_document(requests)))
    return path
