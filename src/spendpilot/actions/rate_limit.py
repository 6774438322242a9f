"""Cap a runaway caller with a rate limit: in the LiteLLM proxy config when one is configured, else advisory.

With a LiteLLM config and a known team, the plan sets the team's ``rpm_limit`` in
``litellm_settings.default_team_settings`` (LiteLLM's team settings in config.yaml; teams that
already exist in the proxy's database take their limits from ``/team/update``, which the runbook
names). config.yaml has no per-conversation limit, so the team's limit is set at twice its
busiest legitimate minute: it stops a loop without refusing the team's normal traffic.
"""

from __future__ import annotations

from pydantic import Field

from spendpilot.actions.base import register_action
from spendpilot.actions.litellm_config import LiteLLMConfigAction, LiteLLMConfigChange
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
    team: str | None = None
    team_rpm_limit: int | None = Field(None, ge=1, description="Limit for the whole team (twice its busiest normal minute).")
    litellm: LiteLLMConfigChange | None = None
    """The config edit, when a LiteLLM config was read and the team is known."""


@register_action("rate_limit")
class RateLimit(LiteLLMConfigAction[RateLimitFacts]):
    facts_model = RateLimitFacts

    def change(self, finding: Finding[RateLimitFacts]) -> LiteLLMConfigChange | None:
        return finding.facts.litellm

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
        ] + ([f"LiteLLM: team '{f.team}' gets rpm_limit {f.team_rpm_limit} in config.yaml (teams created from "
              "JWTs); for a team already in the proxy's database set the same with POST /team/update. "
              "Restart the proxy to load config.yaml."] if f.litellm is not None else [])
