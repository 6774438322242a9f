"""Traffic no person waits for (no streaming, no conversation, offline by name or by schedule)
paying the interactive price instead of the provider's batch price."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from spendpilot.actions.llm_facts import BatchFacts, feature_resource
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.domain.llm_requests import LlmRequestStats
from spendpilot.savings.pricebook import PriceBook

SOURCE = "per-request table (OpenTelemetry GenAI spans)"


class BatchSettings(BaseModel):
    enabled: bool = True
    min_requests: int = Field(500, description="Requests of the feature and model in the look-back, at least.")
    offline_name_pattern: str = Field(
        r"(batch|nightly|offline|backfill|etl|report|digest|enrich|index|eval)",
        description="A feature whose name matches (regex, case-insensitive) is offline work.")
    schedule_window_hours: int = Field(6, ge=1, le=23, description="A schedule: traffic inside this many consecutive hours...")
    schedule_share: float = Field(0.9, description="...carrying at least this share of the requests.")
    max_conversation_share: float = Field(0.1, description="Requests in a conversation above this share: interactive.")


def busiest_window_share(hours: list[int], width: int) -> float:
    """The largest share of requests inside ``width`` consecutive hours of the day (wrapping)."""
    total = sum(hours)
    if not total:
        return 0.0
    return max(sum(hours[(start + i) % 24] for i in range(width)) for start in range(24)) / total


def offline_signals(s: LlmRequestStats, settings: BatchSettings) -> list[str]:
    """Why this traffic needs no immediate answer, or [] when it may be interactive."""
    if s.streaming_requests:
        return []  # a streamed answer is read as it arrives
    if s.requests_with_conversation / s.requests > settings.max_conversation_share:
        return []
    signals = []
    if re.search(settings.offline_name_pattern, s.feature, re.IGNORECASE):
        signals.append(f"feature name '{s.feature}' names offline work")
    window = busiest_window_share(s.hour_counts, settings.schedule_window_hours)
    if window >= settings.schedule_share:
        signals.append(f"{window:.0%} of requests arrive within {settings.schedule_window_hours} consecutive hours (a schedule)")
    if signals:
        known = f"{s.streaming_known:,} of {s.requests:,} spans say so" if s.streaming_known else "no span reports streaming"
        signals.append(f"no streamed responses ({known}); {s.requests_with_conversation:,} requests in a conversation")
    return signals


@register_check(
    "use_batch_api",
    action_kind="use_batch_api",
    settings=BatchSettings,
    facts=BatchFacts,
    description="Non-interactive traffic (no streaming, offline by name or schedule) sent at the interactive price.",
)
def find_batchable_traffic(snapshot: Snapshot, settings: BatchSettings, prices: PriceBook) -> list[Finding[BatchFacts]]:
    findings: list[Finding[BatchFacts]] = []
    for s in snapshot.llm_request_stats:
        if s.requests < settings.min_requests:
            continue
        price = prices.token_price(s.model)
        if price is None or price.batch_input_per_token is None or price.batch_output_per_token is None:
            continue  # no batch price for this model: no batch API to propose
        signals = offline_signals(s, settings)
        if not signals:
            continue
        discount = 1 - price.batch_input_per_token / price.input_per_token if price.input_per_token else 0
        findings.append(Finding(
            resource=feature_resource(s),
            summary=(f"feature '{s.feature}' sends {s.requests:,} non-interactive requests to {s.model} in "
                     f"{s.days} days at the interactive price; the batch API is {discount:.0%} cheaper"),
            facts=BatchFacts(
                provider=s.provider, model=s.model, feature=s.feature, days=s.days, requests=s.requests,
                input_tokens=s.input_tokens, cached_input_tokens=s.cache_read_input_tokens,
                output_tokens=s.output_tokens, signals=signals,
                requests_in_conversation=s.requests_with_conversation,
            ),
            evidence=[Evidence(label="Non-interactive because", value=signal, source=SOURCE) for signal in signals]
            + [Evidence(label="Requests by UTC hour", value=" ".join(str(n) for n in s.hour_counts), source=SOURCE)],
        ))
    return findings
