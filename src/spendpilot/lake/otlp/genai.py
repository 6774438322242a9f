"""What one OpenTelemetry span says about one model request: tokens, model, feature.

Three attribute styles are read, because applications run whichever instrumentation they
installed and none of them has fully moved to the current conventions:

* **OTel GenAI semconv** (current): ``gen_ai.usage.input_tokens`` / ``output_tokens`` /
  ``cache_read.input_tokens`` / ``cache_creation.input_tokens`` / ``reasoning.output_tokens``,
  ``gen_ai.provider.name`` (older: ``gen_ai.system``), ``gen_ai.request.model`` /
  ``gen_ai.response.model``;
* **OpenLLMetry** (traceloop): ``gen_ai.usage.prompt_tokens`` / ``completion_tokens`` /
  ``cache_read_input_tokens`` / ``cache_creation_input_tokens`` / ``reasoning_tokens``,
  ``gen_ai.system``, ``traceloop.workflow.name``;
* **OpenInference** (Arize): ``llm.token_count.prompt`` / ``completion`` /
  ``prompt_details.cache_read`` / ``prompt_details.cache_write`` /
  ``completion_details.reasoning``, ``llm.provider`` / ``llm.system``, ``llm.model_name``.

The full list, per quantity and in order of precedence, is ``_TOKENS`` below (and the README).

**Which style wins.** Each quantity is taken from the first attribute present in the order of
the list above (current semconv, then OpenLLMetry, then OpenInference), independently of the
others. A span carrying two styles (an instrumentation in transition emits both) is therefore
read once, never summed.

**Containment rule.** In all three styles the input count *includes* the cached tokens (the
semconv says ``gen_ai.usage.input_tokens`` SHOULD include cache reads and cache writes), so
``uncached_input_tokens = input_tokens - cache_read_input_tokens``. Anthropic's API is the
exception: its ``input_tokens`` excludes both cache counts, and an instrumentation that passes
it through unchanged breaks the rule. That is detectable only when it is impossible under the
rule: when input is smaller than cache read + cache write, the span's input is taken to be
Anthropic's exclusive count and the total is input + cache read + cache write. When it is not
impossible the span is read as the conventions say.

**Which spans count.** A span counts when it carries an input or output token count in any
style and is a model call: agent, tool and workflow spans (``gen_ai.operation.name`` such as
``invoke_agent``, ``traceloop.span.kind`` other than ``llm``, ``openinference.span.kind`` other
than ``LLM``/``EMBEDDING``) are skipped even when they repeat their children's totals, so that
a request is never counted twice. A counted span with an unusable value (a negative or
non-integer count, no model, no start time, a malformed id) is quarantined naming the
attribute.

**Prompt content.** Prompt text (``gen_ai.system_instructions``, ``gen_ai.input.messages`` and
the older ``gen_ai.prompt.N.*`` / ``llm.input_messages.N.*`` attributes) is read only to hash
the system instructions (the static prefix that prompt caching depends on); the text itself is
kept only when ``store_prompt_text`` is set.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from spendpilot.config import OtelSettings
from spendpilot.lake.otlp._wire import AttrValue, WireSpan
from spendpilot.lake.schema import COUNT_LIMIT

SEMCONV, OPENLLMETRY, OPENINFERENCE = "otel-semconv", "openllmetry", "openinference"
UNATTRIBUTED = "unattributed"
"""The feature of a request none of the configured attributes names."""
UNKNOWN_PROVIDER = "unknown"

_TOKENS: dict[str, tuple[tuple[str, str], ...]] = {
    "input_tokens": (
        ("gen_ai.usage.input_tokens", SEMCONV),
        ("gen_ai.usage.prompt_tokens", OPENLLMETRY),
        ("llm.token_count.prompt", OPENINFERENCE),
    ),
    "output_tokens": (
        ("gen_ai.usage.output_tokens", SEMCONV),
        ("gen_ai.usage.completion_tokens", OPENLLMETRY),
        ("llm.token_count.completion", OPENINFERENCE),
    ),
    "cache_read_input_tokens": (
        ("gen_ai.usage.cache_read.input_tokens", SEMCONV),
        ("gen_ai.usage.cache_read_input_tokens", OPENLLMETRY),
        ("llm.token_count.prompt_details.cache_read", OPENINFERENCE),
    ),
    "cache_creation_input_tokens": (
        ("gen_ai.usage.cache_creation.input_tokens", SEMCONV),
        ("gen_ai.usage.cache_creation_input_tokens", OPENLLMETRY),
        ("llm.token_count.prompt_details.cache_write", OPENINFERENCE),
    ),
    "reasoning_output_tokens": (
        ("gen_ai.usage.reasoning.output_tokens", SEMCONV),
        ("gen_ai.usage.reasoning_tokens", OPENLLMETRY),
        ("llm.token_count.completion_details.reasoning", OPENINFERENCE),
    ),
}
_PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_CONVERSATION = ("gen_ai.conversation.id", "traceloop.association.properties.session_id", "session.id")
_OUTCOME = ("spendpilot.outcome",)
"""The request's business outcome as the application reports it (``success`` / ``failure`` /
any label): the denominator of cost per successful outcome."""
_NOT_MODEL_CALLS = {"invoke_agent", "create_agent", "execute_tool", "retrieval"}
_CONTENT_PREFIXES = (
    "gen_ai.system_instructions", "gen_ai.input.messages", "gen_ai.output.messages",
    "gen_ai.prompt", "gen_ai.completion", "llm.input_messages", "llm.output_messages",
    "llm.prompts", "input.value", "output.value", "traceloop.entity.input",
    "traceloop.entity.output", "gen_ai.tool.definitions", "llm.tools",
)


class GenAiRequest(BaseModel):
    """One model request, as the per-request table stores it."""

    trace_id: str
    span_id: str
    start_time: datetime
    day: date
    latency_ms: float | None
    provider: str
    operation: str | None
    request_model: str | None
    response_model: str | None
    model: str
    """The model usage is rolled up by: the requested model (what a routing setting names),
    else the responding one."""
    feature: str
    team: str | None
    customer: str | None
    conversation_id: str | None
    service_name: str | None
    input_tokens: int
    """All input tokens, cached ones included (the containment rule, module docstring)."""
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    uncached_input_tokens: int
    """``input_tokens - cache_read_input_tokens`` (cache writes are not served from cache)."""
    output_tokens: int
    reasoning_output_tokens: int
    """Part of ``output_tokens``, not added to it."""
    max_tokens: int | None
    finish_reason: str | None
    prompt_prefix_sha256: str | None
    """SHA-256 of the system instructions' text, whichever style carried them."""
    prompt_prefix_chars: int | None = None
    """Length in characters of that text (kept without the text: the size of the static prefix
    decides whether prompt caching can engage, and a length reveals no content)."""
    outcome: str | None = None
    """``spendpilot.outcome`` on the span or a parent, when the application reports one."""
    streaming: bool | None = None
    """Whether the response was streamed (``llm.is_streaming`` / ``gen_ai.request.stream``),
    when the instrumentation says: streaming is a sign of an interactive caller."""
    attribute_style: str
    system_instructions: str | None = None
    """Only with ``store_prompt_text``."""
    input_messages: str | None = None
    """JSON ``[{"role", "content"}]``; only with ``store_prompt_text``."""


@dataclass(frozen=True)
class Skipped:
    reason: str


@dataclass(frozen=True)
class Refused:
    """A GenAI span that cannot be stored: ``field`` is the attribute (or span field) at fault."""

    field: str
    reason: str
    value: str | None = None


def is_content_attribute(name: str) -> bool:
    """Whether an attribute may hold prompt or completion text (kept only when opted in)."""
    return name.startswith(_CONTENT_PREFIXES)


def _first(sources: Sequence[Mapping[str, AttrValue]], names: Sequence[str]) -> str | None:
    for name in names:
        for attrs in sources:
            value = attrs.get(name)
            if value not in (None, "", []):
                return value if isinstance(value, str) else json.dumps(value)
    return None


def _count(value: AttrValue) -> int | str:
    """A token count, or the reason it is not one."""
    if isinstance(value, bool):
        return "not an integer"
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            return "not an integer"
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        number = int(value)
    else:
        return "not an integer"
    if number < 0:
        return "negative count"
    if number >= COUNT_LIMIT:
        return f"out of range (at most {COUNT_LIMIT - 1:,})"
    return number


def _nanos(value: AttrValue) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _text_of(value: AttrValue) -> str | None:
    """Text of a semconv instructions/parts value: a JSON string or structured parts."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        value = value.get("parts", [value])
    if isinstance(value, list):
        texts = [p.get("content") for p in value if isinstance(p, Mapping)]
        found = [t for t in texts if isinstance(t, str)]
        return "\n".join(found) if found else None
    return None


def _messages(attrs: Mapping[str, AttrValue]) -> list[dict[str, str]]:
    """Input messages as ``{"role", "content"}`` from whichever style carries them."""
    raw = attrs.get("gen_ai.input.messages")
    if raw is not None:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = []
        found = []
        for message in raw if isinstance(raw, list) else []:
            if isinstance(message, Mapping):
                text = _text_of(message.get("parts", []))
                found.append({"role": str(message.get("role", "")), "content": text or ""})
        return found
    for prefix, role_key, content_key in (
        ("gen_ai.prompt.", "role", "content"),
        ("llm.input_messages.", "message.role", "message.content"),
    ):
        found = []
        index = 0
        while f"{prefix}{index}.{role_key}" in attrs:
            content = attrs.get(f"{prefix}{index}.{content_key}")
            found.append({
                "role": str(attrs[f"{prefix}{index}.{role_key}"]),
                "content": content if isinstance(content, str) else "",
            })
            index += 1
        if found:
            return found
    return []


def _system_text(attrs: Mapping[str, AttrValue], messages: list[dict[str, str]]) -> str | None:
    if attrs.get("gen_ai.system_instructions") is not None:
        return _text_of(attrs["gen_ai.system_instructions"])
    system = []
    for message in messages:
        if message["role"] != "system":
            break
        system.append(message["content"])
    return "\n".join(system) if system else None


def _max_tokens(attrs: Mapping[str, AttrValue]) -> int | None:
    value = attrs.get("gen_ai.request.max_tokens")
    if value is None and isinstance(attrs.get("llm.invocation_parameters"), str):
        try:
            params = json.loads(attrs["llm.invocation_parameters"])
        except ValueError:
            params = {}
        if isinstance(params, Mapping):
            value = next((params[k] for k in ("max_tokens", "max_completion_tokens",
                                               "max_output_tokens") if k in params), None)
    counted = _count(value) if value is not None else None
    return counted if isinstance(counted, int) else None


def _streaming(attrs: Mapping[str, AttrValue]) -> bool | None:
    for name in ("gen_ai.request.stream", "llm.is_streaming"):
        value = attrs.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    return None


def _finish_reason(attrs: Mapping[str, AttrValue]) -> str | None:
    value = attrs.get("gen_ai.response.finish_reasons")
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or None
    for name in ("gen_ai.response.finish_reasons", "gen_ai.completion.0.finish_reason",
                 "llm.finish_reason"):
        if isinstance(attrs.get(name), str) and attrs[name]:
            return str(attrs[name])
    return None


def _skip_reason(attrs: Mapping[str, AttrValue]) -> str | None:
    if not any(name in attrs for key in ("input_tokens", "output_tokens") for name, _ in _TOKENS[key]):
        return "not a GenAI span"
    operation = attrs.get("gen_ai.operation.name")
    if operation in _NOT_MODEL_CALLS:
        return f"not a model call (gen_ai.operation.name = {operation})"
    kind = attrs.get("traceloop.span.kind")
    if isinstance(kind, str) and kind not in ("llm", ""):
        return f"not a model call (traceloop.span.kind = {kind})"
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() not in ("LLM", "EMBEDDING", ""):
        return f"not a model call (openinference.span.kind = {kind})"
    return None


def read_request(span: WireSpan, ancestors: Sequence[Mapping[str, AttrValue]],
                 settings: OtelSettings) -> GenAiRequest | Skipped | Refused:
    """What ``span`` is: a stored request, a skipped span, or a refused one (module docstring).

    ``ancestors`` are the attributes of the span's parent, grandparent… found in the same
    delivery; attribution looks there after the span itself and before the resource.
    """
    attrs = span.attributes
    skip = _skip_reason(attrs)
    if skip is not None:
        return Skipped(skip)
    if len(span.trace_id) != 32 or not all(c in "0123456789abcdef" for c in span.trace_id):
        return Refused("traceId", "not a 16-byte trace id", span.trace_id)
    if len(span.span_id) != 16 or not all(c in "0123456789abcdef" for c in span.span_id):
        return Refused("spanId", "not an 8-byte span id", span.span_id)
    tokens: dict[str, int] = {}
    style = ""
    for key, names in _TOKENS.items():
        for name, name_style in names:
            if name in attrs:
                counted = _count(attrs[name])
                if isinstance(counted, str):
                    return Refused(name, counted, str(attrs[name]))
                tokens[key] = counted
                if key in ("input_tokens", "output_tokens") and not style:
                    style = name_style
                break
        else:
            tokens[key] = 0
    cached, written = tokens["cache_read_input_tokens"], tokens["cache_creation_input_tokens"]
    if tokens["input_tokens"] < cached + written:  # Anthropic's exclusive count passed through
        tokens["input_tokens"] += cached + written
    request_model = _first([attrs], ["gen_ai.request.model"])
    response_model = _first([attrs], ["gen_ai.response.model", "llm.model_name"])
    model = request_model or response_model
    if model is None:
        return Refused("gen_ai.request.model", "missing model (no gen_ai.request.model, "
                       "gen_ai.response.model or llm.model_name)")
    start = _nanos(span.start_ns)
    if start is None or start <= 0:
        shown = None if span.start_ns is None else str(span.start_ns)
        return Refused("startTimeUnixNano", "missing or not a time in nanoseconds", shown)
    end = _nanos(span.end_ns)
    if end is not None and end < start:
        return Refused("endTimeUnixNano", "before startTimeUnixNano", str(span.end_ns))
    started = datetime.fromtimestamp(start // 1_000_000_000, tz=UTC).replace(
        microsecond=(start % 1_000_000_000) // 1000
    )
    chain = [attrs, *ancestors]
    provider = _first([attrs], _PROVIDER)
    messages = _messages(attrs)
    system = _system_text(attrs, messages)
    keep = settings.store_prompt_text
    return GenAiRequest(
        trace_id=span.trace_id,
        span_id=span.span_id,
        start_time=started,
        day=started.date(),
        latency_ms=None if end is None else (end - start) / 1e6,
        provider=(provider or UNKNOWN_PROVIDER).strip().lower(),
        operation=_first([attrs], ["gen_ai.operation.name", "llm.request.type"]),
        request_model=request_model,
        response_model=response_model,
        model=model,
        feature=_first(chain + [span.resource], settings.feature_attributes) or UNATTRIBUTED,
        team=_first(chain + [span.resource], settings.team_attributes),
        customer=_first(chain + [span.resource], settings.customer_attributes),
        conversation_id=_first(chain, _CONVERSATION),
        outcome=_first(chain, _OUTCOME),
        service_name=_first([span.resource], ["service.name"]),
        input_tokens=tokens["input_tokens"],
        cache_read_input_tokens=cached,
        cache_creation_input_tokens=written,
        uncached_input_tokens=tokens["input_tokens"] - cached,
        output_tokens=tokens["output_tokens"],
        reasoning_output_tokens=tokens["reasoning_output_tokens"],
        max_tokens=_max_tokens(attrs),
        finish_reason=_finish_reason(attrs),
        prompt_prefix_sha256=hashlib.sha256(system.encode()).hexdigest() if system else None,
        prompt_prefix_chars=len(system) if system else None,
        streaming=_streaming(attrs),
        attribute_style=style,
        system_instructions=system if keep else None,
        input_messages=json.dumps(messages) if keep and messages else None,
    )


def redacted(raw: Mapping[str, Any], keep_content: bool) -> str:
    """A span's JSON for the quarantine, without prompt text unless the user opted in."""
    if keep_content:
        return json.dumps(raw, sort_keys=True)
    span = dict(raw)
    attrs = span.get("attributes")
    if isinstance(attrs, list):
        span["attributes"] = [
            a for a in attrs
            if not (isinstance(a, Mapping) and is_content_attribute(str(a.get("key", ""))))
        ]
    span.pop("events", None)  # semconv events may carry message content
    return json.dumps(span, sort_keys=True)
