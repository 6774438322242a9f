"""A long static prompt prefix sent again and again without being read from the cache."""

from __future__ import annotations

from pydantic import BaseModel, Field

from spendpilot.actions.llm_facts import PromptCachingFacts, feature_resource
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.domain.llm_requests import CHARS_PER_TOKEN
from spendpilot.savings.enable_prompt_caching import best_ttl
from spendpilot.savings.pricebook import PriceBook

SOURCE = "per-request table (OpenTelemetry GenAI spans)"


class PromptCachingSettings(BaseModel):
    enabled: bool = True
    min_requests: int = Field(500, description="Requests carrying the prefix in the look-back, at least.")
    max_cached_share: float = Field(
        0.5, description="Share of the prefix's tokens already read from cache above which it counts as cached.")
    min_requests_per_active_hour: float = Field(
        12.0, description="A 5-minute cache needs a repeat within 5 minutes: fewer requests per hour of "
        "traffic than this and writes would eat the saving.")


@register_check(
    "enable_prompt_caching",
    action_kind="enable_prompt_caching",
    settings=PromptCachingSettings,
    facts=PromptCachingFacts,
    description="A static prompt prefix above the model's cacheable minimum, repeated, rarely read from cache.",
)
def find_uncached_prefixes(
    snapshot: Snapshot, settings: PromptCachingSettings, prices: PriceBook
) -> list[Finding[PromptCachingFacts]]:
    findings: list[Finding[PromptCachingFacts]] = []
    for stats in snapshot.llm_request_stats:
        minimum = prices.prompt_cache_minimum(stats.model)
        price = prices.token_price(stats.model)
        if minimum is None or price is None or price.cached_input_per_token is None:
            continue  # no known minimum or no cache price: caching cannot be judged, never guessed
        active_hours = max(1, sum(1 for n in stats.hour_counts if n))
        for prefix in stats.prefixes:
            tokens = prefix.prefix_tokens
            if prefix.requests < settings.min_requests or tokens is None or tokens < minimum:
                continue  # below the minimum the provider silently does not cache
            cached_share = prefix.cache_read_input_tokens / (tokens * prefix.requests)
            if cached_share >= settings.max_cached_share:
                continue  # already served from cache
            per_hour = prefix.requests / (stats.days * active_hours)
            if per_hour < settings.min_requests_per_active_hour:
                continue
            lever = ("mark it with cache_control" if stats.provider == "anthropic"
                     else "put it first, before any per-request content, so the automatic cache matches it")
            facts = PromptCachingFacts(
                provider=stats.provider, model=stats.model, feature=stats.feature, days=stats.days,
                requests=prefix.requests, prefix_sha256=prefix.prompt_prefix_sha256, prefix_tokens=tokens,
                min_cacheable_tokens=minimum, cache_read_tokens=prefix.cache_read_input_tokens,
                input_tokens=prefix.input_tokens, active_hours_per_day=float(active_hours),
            )
            facts = facts.model_copy(update={"ttl": best_ttl(facts, price)})
            findings.append(Finding(
                resource=feature_resource(stats),
                summary=(f"feature '{stats.feature}' sends the same ~{tokens:,}-token prefix to {stats.model} "
                         f"{prefix.requests:,} times in {stats.days} days, {cached_share:.0%} of it from cache: {lever}"),
                facts=facts,
                evidence=[
                    Evidence(label="Static prefix", value=(
                        f"sha256 {prefix.prompt_prefix_sha256[:12]}…, {prefix.prefix_chars:,} characters ≈ "
                        f"{tokens:,} tokens (chars / {CHARS_PER_TOKEN}, at most the shortest request's "
                        f"{prefix.min_input_tokens:,} input tokens)"), source=SOURCE),
                    Evidence(label="Cacheable minimum", value=f"{minimum:,} tokens for {stats.model}",
                             source="price book (prompt_cache_minimums.yaml, litellm prompt_cache_min_tokens)"),
                    Evidence(label="Repeats", value=(
                        f"{prefix.requests:,} requests in {stats.days} days over {active_hours} hours of the day "
                        f"({per_hour:,.0f} per active hour)"), source=SOURCE),
                    Evidence(label="Read from cache now", value=f"{prefix.cache_read_input_tokens:,} tokens "
                             f"({cached_share:.0%} of the prefix tokens sent)", source=SOURCE),
                ],
            ))
    return findings
