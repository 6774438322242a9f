"""Facts of the token-lever checks, shared by each check, its estimator and its advisory action.

Every lever is about one feature's use of one model over the sweep's look-back, as the
per-request table recorded it (``LlmRequestStats``); each facts model adds the numbers its own
saving scales with, so the estimator can redo the arithmetic from the facts alone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from spendpilot.domain import Facts, Resource, ResourceRef
from spendpilot.domain.llm_requests import LlmRequestStats


class LlmFeatureFacts(Facts):
    provider: str
    model: str
    feature: str
    days: int = Field(ge=1, description="Days with requests in the look-back.")
    requests: int = Field(ge=0, description="Requests the lever applies to, in those days.")


CacheTtl = Literal["5m", "1h"]


class PromptCachingFacts(LlmFeatureFacts):
    prefix_sha256: str
    prefix_tokens: int = Field(ge=0, description="Estimated size of the static prefix (chars / 4, capped).")
    min_cacheable_tokens: int = Field(ge=0, description="The model's smallest cacheable prefix.")
    cache_read_tokens: int = Field(ge=0, description="Tokens these requests already read from cache.")
    input_tokens: int = Field(ge=0, description="All input tokens of these requests.")
    active_hours_per_day: float = Field(gt=0, le=24, description="Hours of the day with traffic, on average.")
    ttl: CacheTtl = Field("5m", description="The cache lifetime proposed (the cheaper of those the provider sells).")


class MaxTokensFacts(LlmFeatureFacts):
    requests_without_max_tokens: int = Field(ge=0)
    current_max_tokens: int | None = Field(None, description="Median max_tokens of requests that set one.")
    output_p95: float
    output_p99: float
    output_max: int
    proposed_max_tokens: int
    excess_over_p99: int = Field(ge=0, description="Output tokens beyond P99, summed over requests past it.")
    excess_over_2x_p99: int = Field(ge=0, description="Output tokens beyond 2 x P99, summed likewise.")


class BatchFacts(LlmFeatureFacts):
    input_tokens: int = Field(ge=0)
    cached_input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    signals: list[str] = Field(description="Why the traffic looks non-interactive.")
    requests_in_conversation: int = Field(0, ge=0, description="Requests carrying a conversation id: someone may wait for these.")


class SystemPromptFacts(LlmFeatureFacts):
    prefix_sha256: str
    prefix_tokens: int = Field(ge=0)
    target_tokens: int = Field(ge=0, description="The size the audit aims for.")
    cache_read_share: float = Field(ge=0, le=1, description="Share of these requests' input read from cache.")


def feature_resource(stats: LlmRequestStats) -> Resource:
    """The feature as the target of a proposal: named by the feature, identified with its model
    (one feature may use several models, each its own lever)."""
    return Resource(
        ref=ResourceRef(provider=stats.provider, kind="llm_feature", id=f"{stats.feature}@{stats.model}",
                        name=stats.feature),
        attributes={"model": stats.model, "provider": stats.provider},
    )
