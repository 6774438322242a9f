"""Token money shared by the per-request checks: what a set of requests cost, and a feature as a resource.

Cached input is priced at the cache-read rate where the price book has one (else the input
rate); cache writes are priced at the input rate here, the conservative side for a saving.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel, Field

from spendpilot.domain import LlmRequest, Resource, ResourceRef
from spendpilot.savings.pricebook import TokenPrice


class TokenMix(BaseModel):
    """Token counts of some requests: input (cached included), cached input, output."""

    requests: int = Field(0, ge=0)
    input_tokens: int = Field(0, ge=0)
    cached_input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)

    @staticmethod
    def of(requests: Iterable[LlmRequest]) -> TokenMix:
        mix = TokenMix()
        for r in requests:
            mix.requests += 1
            mix.input_tokens += r.input_tokens
            mix.cached_input_tokens += min(r.cache_read_input_tokens, r.input_tokens)
            mix.output_tokens += r.output_tokens
        return mix

    def cost(self, price: TokenPrice) -> Decimal:
        cached_rate = price.cached_input_per_token if price.cached_input_per_token is not None else price.input_per_token
        uncached = Decimal(self.input_tokens - self.cached_input_tokens)
        return (uncached * price.input_per_token + Decimal(self.cached_input_tokens) * cached_rate
                + Decimal(self.output_tokens) * price.output_per_token)

    def blended_input_rate(self, price: TokenPrice) -> Decimal:
        """Average price of one input token of this mix (cache reads at their own rate)."""
        if self.input_tokens == 0:
            return price.input_per_token
        cached_rate = price.cached_input_per_token if price.cached_input_per_token is not None else price.input_per_token
        share = Decimal(self.cached_input_tokens) / Decimal(self.input_tokens)
        return price.input_per_token * (1 - share) + cached_rate * share


def window_days(requests: Iterable[LlmRequest]) -> int:
    """Whole days the requests span (at least 1): the denominator of a monthly rate."""
    times = [r.start_time for r in requests]
    if not times:
        return 1
    return max(1, round((max(times) - min(times)).total_seconds() / 86_400 + 0.5))


def feature_resource(feature: str, provider: str, team: str | None = None, instance: str | None = None) -> Resource:
    """A feature as the resource a finding is about; ``instance`` (a caller) keeps two findings
    on one feature apart while the name people see stays the feature."""
    return Resource(
        ref=ResourceRef(provider=provider, kind="llm_feature", id=f"{feature}/{instance}" if instance else feature, name=feature),
        tags={"team": team} if team else {},
        attributes={"feature": feature},
    )
