"""Requests with no output cap, or a cap far above what the feature ever needs, and a runaway tail."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from spendpilot.actions.llm_facts import MaxTokensFacts, feature_resource
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.savings.pricebook import PriceBook

SOURCE = "per-request table (OpenTelemetry GenAI spans)"


class MaxTokensSettings(BaseModel):
    enabled: bool = True
    min_requests: int = Field(500, description="Requests of the feature and model in the look-back, at least.")
    margin: float = Field(0.25, description="Proposed max_tokens = P99 of output x (1 + margin), rounded up to 64.")
    far_above_factor: float = Field(4.0, description="A max_tokens this many times P99 or more counts as no cap.")
    max_at_limit_share: float = Field(
        0.02, description="More requests than this stopped by their cap means the outputs need it: no proposal.")


def proposed_cap(p99: float, margin: float) -> int:
    return max(64, math.ceil(p99 * (1 + margin) / 64) * 64)


@register_check(
    "set_max_tokens",
    action_kind="set_max_tokens",
    settings=MaxTokensSettings,
    facts=MaxTokensFacts,
    description="Requests without max_tokens, or with one far above the observed P99 output, that have a runaway tail.",
)
def find_uncapped_outputs(
    snapshot: Snapshot, settings: MaxTokensSettings, prices: PriceBook
) -> list[Finding[MaxTokensFacts]]:
    findings: list[Finding[MaxTokensFacts]] = []
    for s in snapshot.llm_request_stats:
        if s.requests < settings.min_requests or s.output_p99 <= 0:
            continue
        cap = proposed_cap(s.output_p99, settings.margin)
        uncapped = s.requests_without_max_tokens / s.requests >= 0.5
        far_above = s.max_tokens_p50 is not None and s.max_tokens_p50 >= settings.far_above_factor * s.output_p99
        if not (uncapped or far_above):
            continue
        if s.finished_at_limit / s.requests > settings.max_at_limit_share:
            continue  # the outputs legitimately fill their cap: lowering it would cut real answers
        if s.output_max <= cap or s.output_excess_over_p99 == 0:
            continue  # no runaway tail beyond the proposed cap: a cap would change nothing
        why = ("no max_tokens on " + f"{s.requests_without_max_tokens:,} of {s.requests:,} requests" if uncapped
               else f"max_tokens {s.max_tokens_p50:,} is {s.max_tokens_p50 / s.output_p99:.0f}x the P99 output")  # type: ignore[operator]
        findings.append(Finding(
            resource=feature_resource(s),
            summary=(f"feature '{s.feature}' on {s.model}: {why}; outputs reach {s.output_max:,} tokens against "
                     f"a P99 of {s.output_p99:,.0f}: cap them at {cap:,}"),
            facts=MaxTokensFacts(
                provider=s.provider, model=s.model, feature=s.feature, days=s.days, requests=s.requests,
                requests_without_max_tokens=s.requests_without_max_tokens, current_max_tokens=s.max_tokens_p50,
                output_p95=s.output_p95, output_p99=s.output_p99, output_max=s.output_max,
                proposed_max_tokens=cap, excess_over_p99=s.output_excess_over_p99,
                excess_over_2x_p99=s.output_excess_over_2x_p99,
            ),
            evidence=[
                Evidence(label="Output tokens P50 / P95 / P99 / max",
                         value=f"{s.output_p50:,.0f} / {s.output_p95:,.0f} / {s.output_p99:,.0f} / {s.output_max:,}",
                         source=SOURCE),
                Evidence(label="max_tokens", value=(
                    f"unset on {s.requests_without_max_tokens:,} of {s.requests:,} requests"
                    + (f"; median where set {s.max_tokens_p50:,}" if s.max_tokens_p50 is not None else "")),
                    source=SOURCE),
                Evidence(label="Stopped by their cap", value=f"{s.finished_at_limit:,} requests "
                         f"({s.finished_at_limit / s.requests:.1%}; finish reason length or output at max_tokens)",
                         source=SOURCE),
                Evidence(label="Runaway tail", value=f"{s.output_excess_over_p99:,} output tokens beyond P99 "
                         f"in {s.days} days", source=SOURCE),
            ],
        ))
    return findings
