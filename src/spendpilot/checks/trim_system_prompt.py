"""A long system prompt sent on (nearly) every call of a feature: worth an editorial audit."""

from __future__ import annotations

from pydantic import BaseModel, Field

from spendpilot.actions.llm_facts import SystemPromptFacts, feature_resource
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.domain.llm_requests import CHARS_PER_TOKEN
from spendpilot.savings.pricebook import PriceBook

SOURCE = "per-request table (OpenTelemetry GenAI spans)"


class SystemPromptSettings(BaseModel):
    enabled: bool = True
    max_prompt_tokens: int = Field(500, description="System prompts above this size are audited.")
    min_requests: int = Field(500, description="Requests carrying the prompt in the look-back, at least.")
    min_share_of_requests: float = Field(0.9, description="'Every call': the prompt is on at least this share of the feature's requests.")


@register_check(
    "trim_system_prompt",
    action_kind="trim_system_prompt",
    settings=SystemPromptSettings,
    facts=SystemPromptFacts,
    description="System prompts over 500 tokens sent on every call of a feature (advisory audit).",
)
def find_long_system_prompts(
    snapshot: Snapshot, settings: SystemPromptSettings, prices: PriceBook
) -> list[Finding[SystemPromptFacts]]:
    findings: list[Finding[SystemPromptFacts]] = []
    for s in snapshot.llm_request_stats:
        if not s.prefixes:
            continue
        top = s.prefixes[0]
        tokens = top.prefix_tokens
        share = top.requests / s.requests
        if tokens is None or tokens <= settings.max_prompt_tokens or top.requests < settings.min_requests:
            continue
        if share < settings.min_share_of_requests:
            continue
        cached = min(1.0, top.cache_read_input_tokens / top.input_tokens) if top.input_tokens else 0.0
        minimum = prices.prompt_cache_minimum(s.model)
        overlap = [Evidence(
            label="Overlaps with prompt caching",
            value=f"the prompt is above {s.model}'s cacheable minimum ({minimum:,} tokens): once it is cached, "
                  "each trimmed token saves the cache-read price, not the input price; this estimate assumes "
                  "today's cache share", source="price book")] if minimum is not None and tokens >= minimum else []
        findings.append(Finding(
            resource=feature_resource(s),
            summary=(f"feature '{s.feature}' sends a ~{tokens:,}-token system prompt on {share:.0%} of its "
                     f"{s.requests:,} calls to {s.model}: audit it"),
            facts=SystemPromptFacts(
                provider=s.provider, model=s.model, feature=s.feature, days=s.days, requests=top.requests,
                prefix_sha256=top.prompt_prefix_sha256, prefix_tokens=tokens,
                target_tokens=settings.max_prompt_tokens, cache_read_share=cached,
            ),
            evidence=[
                Evidence(label="System prompt", value=f"sha256 {top.prompt_prefix_sha256[:12]}…, "
                         f"{top.prefix_chars:,} characters ≈ {tokens:,} tokens (chars / {CHARS_PER_TOKEN})", source=SOURCE),
                Evidence(label="Sent on", value=f"{top.requests:,} of {s.requests:,} requests in {s.days} days",
                         source=SOURCE),
                Evidence(label="Input read from cache", value=f"{cached:.0%}", source=SOURCE),
                *overlap,
            ],
        ))
    return findings
