"""Synthetic OpenTelemetry GenAI spans for scenarios: per-request traffic a check can read.

A scenario's ``llm_requests.yaml`` describes each feature's requests (model, sizes, static
system prompt, caching, ``max_tokens``, output tail, streaming, arrival hours); this writes
them as an OTLP JSON Lines trace export in the current semantic conventions, which the
scenario then ingests through ``spendpilot ingest`` like a collector's file. The checks thus
see the same per-request table real spans produce, through the same code.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field


class LlmRequestProfile(BaseModel):
    feature: str
    provider: str = "openai"
    model: str
    requests_per_day: int = Field(ge=1)
    input_tokens: int = Field(ge=1, description="Mean input tokens per request, cached ones included.")
    input_jitter: float = Field(0.1, ge=0, lt=1)
    system_prompt_chars: int = Field(0, ge=0, description="Length of the static system prompt (0: none).")
    system_prompt_variants: int = Field(1, ge=1, description="Distinct system prompts (1: one static prefix).")
    cache_read_share: float = Field(0.0, ge=0, le=1, description="Share of input tokens served from cache.")
    output_tokens: int = Field(ge=0, description="Mean output tokens of an ordinary request.")
    output_jitter: float = Field(0.3, ge=0, lt=1)
    runaway_share: float = Field(0.0, ge=0, le=1, description="Share of requests with a runaway output.")
    runaway_output_tokens: int = 0
    max_tokens: int | None = None
    fills_max_tokens_share: float = Field(0.0, ge=0, le=1,
                                          description="Share of requests whose output reaches max_tokens (finish reason length).")
    reasoning_share: float = Field(0.0, ge=0, le=1, description="Share of output tokens that are reasoning.")
    streaming: bool | None = None
    conversations: bool = False
    success_share: float | None = Field(None, ge=0, le=1,
                                        description="Report spendpilot.outcome: this share 'success', the rest 'failure'.")
    hours: list[int] = Field(default_factory=lambda: list(range(24)), description="UTC hours requests arrive in.")


class LlmTrafficPattern(BaseModel):
    """One generated per-request pattern (``spendpilot.scenarios.llm_traffic``), sent as GenAI spans."""

    kind: Literal["repeated_questions", "conversations", "runaway_loop", "busy_varied"]
    feature: str
    model: str
    provider: str = "openai"
    seed: int = 0
    count: int = Field(100, ge=1, description="Prompts (repeated_questions), conversations, or calls.")
    duplicate_share: float = Field(0.0, ge=0, lt=1)
    intents: list[str] | None = None
    turns: int = Field(10, ge=1)
    first_input: int = Field(1000, ge=1)
    growth_per_turn: int = Field(0, ge=0)
    per_minute: int = Field(60, ge=1)
    callers: int = Field(50, ge=1)
    hours_ago: float = Field(24.0, ge=0, description="When a burst (runaway_loop, busy_varied) starts.")


class LlmRequestsSpec(BaseModel):
    """A scenario's per-request LLM traffic (``llm_requests.yaml``), sent as OTLP JSON spans
    through the real span ingest. Two generators share the file: ``features`` are steady
    per-feature profiles (token mix, prefixes, schedules: ``write_request_spans``), ``patterns``
    are behaviours over requests (repeated questions, growing conversations, loops:
    ``scenarios.llm_traffic``)."""

    service_name: str = "product-api"
    days: int = Field(14, ge=1, description="Days the generated requests spread over, ending now.")
    features: list[LlmRequestProfile] = Field(default_factory=list)
    store_prompt_text: bool = Field(False, description="Ingest with [otel] store_prompt_text (the user's opt-in).")
    patterns: list[LlmTrafficPattern] = Field(default_factory=list)
    delivery: Literal["file", "otlp_http"] = Field(
        "file", description="file: an OTLP JSON export ingested like `spendpilot ingest`; otlp_http: sent by "
        "the OpenTelemetry SDK's OTLP/HTTP exporter to a receiver on 127.0.0.1 (scenarios/otlp_send.py).")


def _attr(key: str, value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": str(v)} for v in value]}}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _system_prompt(feature: str, variant: int, chars: int) -> str:
    seed = f"You are the {feature} assistant (policy {variant}). Follow the rules below exactly. "
    return (seed * (chars // len(seed) + 1))[:chars]


def _span(profile: LlmRequestProfile, rng: random.Random, start: datetime, index: int) -> dict[str, Any]:
    p = profile
    input_tokens = max(1, round(p.input_tokens * (1 + rng.uniform(-p.input_jitter, p.input_jitter))))
    cached = min(input_tokens, round(input_tokens * p.cache_read_share))
    finish = "stop"
    if p.runaway_share and rng.random() < p.runaway_share:
        output = p.runaway_output_tokens
    else:
        output = max(1, round(p.output_tokens * (1 + rng.uniform(-p.output_jitter, p.output_jitter))))
    if p.max_tokens is not None:
        if p.fills_max_tokens_share and rng.random() < p.fills_max_tokens_share:
            output = p.max_tokens
        if output >= p.max_tokens:
            output, finish = p.max_tokens, "length"
    attrs = [
        _attr("gen_ai.operation.name", "chat"),
        _attr("gen_ai.provider.name", p.provider),
        _attr("gen_ai.request.model", p.model),
        _attr("spendpilot.feature", p.feature),
        _attr("gen_ai.usage.input_tokens", input_tokens),
        _attr("gen_ai.usage.output_tokens", output),
        _attr("gen_ai.response.finish_reasons", [finish]),
    ]
    if cached:
        attrs.append(_attr("gen_ai.usage.cache_read.input_tokens", cached))
    if p.reasoning_share:
        attrs.append(_attr("gen_ai.usage.reasoning.output_tokens", round(output * p.reasoning_share)))
    if p.max_tokens is not None:
        attrs.append(_attr("gen_ai.request.max_tokens", p.max_tokens))
    if p.streaming is not None:
        attrs.append(_attr("gen_ai.request.stream", p.streaming))
    if p.success_share is not None:
        attrs.append(_attr("spendpilot.outcome", "success" if rng.random() < p.success_share else "failure"))
    if p.conversations:
        attrs.append(_attr("gen_ai.conversation.id", f"{p.feature}-conv-{index // 4}"))
    if p.system_prompt_chars:
        text = _system_prompt(p.feature, index % p.system_prompt_variants, p.system_prompt_chars)
        attrs.append(_attr("gen_ai.system_instructions", json.dumps([{"type": "text", "content": text}])))
    ident = hashlib.sha256(f"{p.feature}/{p.model}/{start.isoformat()}/{index}".encode()).hexdigest()
    start_ns = int(start.timestamp() * 1e9)
    return {
        "traceId": ident[:32], "spanId": ident[32:48], "name": f"chat {p.model}", "kind": 3,
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + int((300 + output * 20) * 1e6)),
        "attributes": attrs, "status": {},
    }


def request_span_documents(spec: LlmRequestsSpec, *, now: datetime, seed: int) -> Iterator[dict[str, Any]]:
    """``spec``'s feature profiles over the ``days`` full days before ``now`` as OTLP/JSON export
    documents, one per feature and day (the same spans for the same ``now`` and ``seed``)."""
    rng = random.Random(seed)
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for d in range(spec.days, 0, -1):
        day = today - timedelta(days=d)
        for profile in spec.features:
            spans = []
            for i in range(profile.requests_per_day):
                hour = profile.hours[i % len(profile.hours)]
                start = day + timedelta(hours=hour, seconds=rng.randrange(3600))
                spans.append(_span(profile, rng, start, d * 100_000 + i))
            yield {"resourceSpans": [{
                "resource": {"attributes": [_attr("service.name", spec.service_name)]},
                "scopeSpans": [{"scope": {"name": "spendpilot.scenarios"}, "spans": spans}],
            }]}


def write_request_spans(spec: LlmRequestsSpec, path: Path, *, now: datetime, seed: int) -> int:
    """Write ``spec``'s requests over the ``days`` full days before ``now`` as OTLP JSON Lines
    (one export document per feature and day); return how many spans were written."""
    written = 0
    with path.open("w", encoding="utf-8") as fh:
        for doc in request_span_documents(spec, now=now, seed=seed):
            fh.write(json.dumps(doc) + "\n")
            written += len(doc["resourceSpans"][0]["scopeSpans"][0]["spans"])
    return written
