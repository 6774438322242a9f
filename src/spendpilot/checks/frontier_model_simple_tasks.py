"""A frontier model answering short, simple requests a mid-tier model handles as well."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from pydantic import BaseModel, Field

from spendpilot.actions.route_to_model import RouteFacts
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, LlmUsage, Snapshot
from spendpilot.savings.pricebook import PriceBook, model_identity


class FrontierSimpleSettings(BaseModel):
    enabled: bool = True
    lookback_days: int = Field(30, description="Days of usage considered.")
    max_avg_input_tokens: int = Field(2000, description="Average prompt size that still counts as short.")
    max_avg_output_tokens: int = Field(300, description="Average completion size that still counts as short.")
    min_requests: int = Field(10_000, description="Ignore features with fewer requests in the window.")


@register_check(
    "frontier_model_simple_tasks",
    action_kind="route_to_model",
    settings=FrontierSimpleSettings,
    facts=RouteFacts,
    description="Features sending short prompts for short answers to a frontier model.",
)
def find_frontier_on_simple_tasks(
    snapshot: Snapshot, settings: FrontierSimpleSettings, prices: PriceBook
) -> list[Finding[RouteFacts]]:
    if not snapshot.llm_usage:
        return []
    latest = max(u.day for u in snapshot.llm_usage)
    since = latest - timedelta(days=settings.lookback_days - 1)
    # Usage names the snapshot that served a request (gpt-4.1-2025-04-14), the route the alias
    # (gpt-4.1): rows are grouped by what the name denotes, not by its spelling.
    groups: dict[tuple[str, str], list[LlmUsage]] = defaultdict(list)
    for u in snapshot.llm_usage:
        if u.day >= since:
            groups[(u.feature, model_identity(u.model))].append(u)
    routes = {r.ref.id: r for r in snapshot.of_kind("llm_feature")}
    findings: list[Finding[RouteFacts]] = []
    for (feature, identity), rows in sorted(groups.items()):
        route = routes.get(feature)
        model = str(route.attributes.get("model") or "") if route is not None else ""
        if route is None or not model or model_identity(model) != identity:
            continue  # not routed through a config we can change, or already moved
        if prices.tier(model) != "frontier":
            continue
        target = prices.mid_tier_for(model)
        if target is None:
            continue
        requests = sum(r.requests for r in rows)
        if requests < settings.min_requests or requests == 0:
            continue  # (no request count, e.g. Anthropic's usage report: no average to judge)
        inp = sum(r.input_tokens for r in rows)
        cached = sum(r.cached_input_tokens for r in rows)
        written = sum(r.cache_write_input_tokens for r in rows)
        out = sum(r.output_tokens for r in rows)
        avg_in, avg_out = inp / requests, out / requests
        if avg_in > settings.max_avg_input_tokens or avg_out > settings.max_avg_output_tokens:
            continue
        days = len({r.day for r in rows})
        source = f"LLM usage ({rows[0].provider} usage API shape), {days} days"
        reported = sorted({r.model for r in rows} - {model})
        route_note = f"{model} (tier: frontier)" + (f"; usage reports it as {', '.join(reported)}" if reported else "")
        findings.append(
            Finding(
                resource=route,
                summary=(
                    f"feature '{feature}' sends short requests (avg {avg_in:.0f} tokens in, "
                    f"{avg_out:.0f} out) to frontier model {model}"
                ),
                facts=RouteFacts(
                    model=model,
                    target_model=target,
                    days=days,
                    requests=requests,
                    input_tokens=inp,
                    cached_input_tokens=cached,
                    cache_write_input_tokens=written,
                    output_tokens=out,
                    parameter=route.attributes.get("parameter"),
                ),
                evidence=[
                    Evidence(label="Requests", value=f"{requests:,} in {days} days", source=source),
                    Evidence(
                        label="Average tokens per request",
                        value=f"{avg_in:.0f} in / {avg_out:.0f} out",
                        source=source,
                    ),
                    Evidence(
                        label="Current route",
                        value=route_note,
                        source=f"SSM {route.attributes.get('parameter')}",
                    ),
                ],
            )
        )
    return findings
