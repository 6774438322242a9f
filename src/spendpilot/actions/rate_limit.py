"""Cap a runaway caller with a rate or budget limit (advisory; a LiteLLM proxy key/team would enforce it)."""

from __future__ import annotations

from pydantic import Field

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.domain import Facts, Finding


class RateLimitFacts(Facts):
    """Bursts of near-identical calls from one caller, and the limit that would have stopped them."""

    feature: str
    model: str
    caller: str = Field(description="conversation:<id> or customer:<id>: who repeated the call.")
    days: int = Field(ge=1)
    bursts: int = Field(ge=1, description="Windows in which the caller repeated one call past the limit.")
    burst_requests: int = Field(ge=1, description="Requests inside those windows.")
    excess_requests: int = Field(ge=1, description="Requests the proposed limit would have refused.")
    peak_per_minute: int = Field(ge=1)
    rpm_limit: int = Field(ge=1, description="Proposed requests per minute for one caller.")
    input_tokens: int = Field(ge=0, description="Input tokens of the excess requests.")
    cached_input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(ge=0)


@register_action("rate_limit")
class RateLimit(AdvisoryAction[RateLimitFacts]):
    facts_model = RateLimitFacts

    def describe(self, finding: Finding[RateLimitFacts]) -> str:
        f = finding.facts
        return (f"Limit {f.caller} of feature '{f.feature}' to {f.rpm_limit} requests a minute "
                f"(it repeated one call up to {f.peak_per_minute} times a minute)")

    def runbook(self, finding: Finding[RateLimitFacts]) -> list[str]:
        f = finding.facts
        return [
            f"Find the loop: {f.caller} of feature '{f.feature}' sent the same call {f.burst_requests:,} times "
            f"in {f.bursts} burst(s); fix its retry or agent stop condition.",
            f"Until then, cap it: a per-key or per-team `rpm_limit: {f.rpm_limit}` (LiteLLM proxy) or the "
            "gateway's equivalent, plus a daily `max_budget` for the key.",
            "Alert on the limit being hit: a refused loop is a bug report, not only a saving.",
        ]
