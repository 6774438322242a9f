"""What the per-request table says about LLM use: aggregates per feature, and single requests.

The token-lever checks (prompt caching, max_tokens, batch, system prompt size) need more than
daily totals: percentiles of output length, how many requests set ``max_tokens``, which static
prefixes repeat, when traffic arrives. Those aggregates are computed in the lake (DuckDB over
``llm_requests/``), so those checks read a few numbers per feature, not every request.

Checks that judge *patterns* of requests (repeats, growing conversations, loops) need the rows
themselves: ``LlmRequest`` is one row as checks see it, without storage details. Prompt text is
present only when the user opted in to storing it (``[otel] store_prompt_text``); a check that
needs it must say so when it is absent.
"""

from __future__ import annotations

import json
from datetime import date

from pydantic import AwareDatetime, BaseModel, Field

CHARS_PER_TOKEN = 4
"""OpenAI's rule of thumb for English text. Code, JSON and most other languages take fewer
characters per token, so ``chars / 4`` tends to *under*-state a prefix's tokens: a check that
needs a prefix to clear a minimum errs towards not proposing."""


def approx_tokens(chars: int) -> int:
    return chars // CHARS_PER_TOKEN


class PrefixStats(BaseModel):
    """Requests of a feature that share one static prefix (the system instructions' hash)."""

    prompt_prefix_sha256: str
    requests: int
    prefix_chars: int | None
    """Length of the system instructions (None when the instrumentation did not send them)."""
    min_input_tokens: int
    """The shortest request's input: the prefix cannot be longer than this."""
    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int

    @property
    def prefix_tokens(self) -> int | None:
        """The prefix's size in tokens, estimated from its length and capped by the shortest
        request that carried it; None when its length is unknown."""
        if self.prefix_chars is None:
            return None
        return min(approx_tokens(self.prefix_chars), self.min_input_tokens)

    @property
    def cache_read_share(self) -> float:
        return self.cache_read_input_tokens / self.input_tokens if self.input_tokens else 0.0


class LlmRequestStats(BaseModel):
    """One (provider, model, feature) over a sweep's look-back, from the per-request table."""

    provider: str
    model: str
    feature: str
    first_day: date
    last_day: date
    days: int = Field(ge=1, description="Days with at least one request.")
    requests: int
    input_tokens: int
    """Every input token, cached ones included."""
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    output_tokens: int
    """Every output token, reasoning included."""
    reasoning_output_tokens: int
    output_p50: float
    output_p95: float
    output_p99: float
    output_max: int
    output_excess_over_p99: int = 0
    """Σ (output − P99) over the requests whose output passed P99: the runaway tail."""
    output_excess_over_2x_p99: int = 0
    """Σ (output − 2 × P99) over the requests past twice P99."""
    requests_without_max_tokens: int
    max_tokens_p50: int | None = None
    """Median ``max_tokens`` of the requests that set one."""
    max_tokens_max: int | None = None
    finished_at_limit: int = 0
    """Requests stopped by their limit: finish reason ``length`` / ``max_tokens``, or output at
    ``max_tokens``."""
    streaming_requests: int = 0
    streaming_known: int = 0
    """Requests whose span says whether they streamed."""
    requests_with_conversation: int = 0
    hour_counts: list[int] = Field(default_factory=lambda: [0] * 24)
    """Requests per UTC hour of day."""
    latency_p50_ms: float | None = None
    prefixes: list[PrefixStats] = Field(default_factory=list)
    """Static prefixes by request count, largest first."""


class LlmRequest(BaseModel):
    start_time: AwareDatetime
    provider: str
    model: str
    feature: str
    team: str | None = None
    customer: str | None = None
    conversation_id: str | None = None
    input_tokens: int
    """All input tokens, cached ones included (OTel's containment rule)."""
    cache_read_input_tokens: int = 0
    output_tokens: int
    max_tokens: int | None = None
    finish_reason: str | None = None
    prompt_prefix_sha256: str | None = None
    input_messages: str | None = None
    """JSON ``[{"role", "content"}]``; only when prompt text is stored."""

    def user_text(self) -> str | None:
        """What the user asked: the non-system messages' text, or None when none was stored."""
        if not self.input_messages:
            return None
        try:
            messages = json.loads(self.input_messages)
        except ValueError:
            return None
        parts = [str(m.get("content", "")) for m in messages if isinstance(m, dict) and m.get("role") != "system"]
        text = "\n".join(p for p in parts if p)
        return text or None

    def last_user_text(self) -> str | None:
        """The newest user message: the question a cache would be keyed on."""
        if not self.input_messages:
            return None
        try:
            messages = json.loads(self.input_messages)
        except ValueError:
            return None
        users = [str(m.get("content", "")) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users and users[-1] else None
