"""One caller repeating a near-identical model call at a high rate: a runaway loop a limit would stop.

Agents that never meet their stop condition and retries without back-off send the same request
again and again. A caller is a conversation (``gen_ai.conversation.id``) or, without one, a
customer. Calls are near-identical when they share model, system-prompt hash, the user text
(when stored) and an input size within ``size_tolerance``. A burst is ``min_repeats`` or more
near-identical calls from one caller within ``window_seconds``.

A busy feature is not a loop: many callers each asking different things at a high total rate
never puts one fingerprint from one caller past the bar, so it is left alone.

Proposed limit: ``rpm_limit`` requests a minute per caller, at least twice the busiest minute of
any caller of the feature outside the bursts, so legitimate traffic is never refused.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import timedelta

from pydantic import BaseModel, Field

from spendpilot.actions.litellm_config import config_change
from spendpilot.actions.rate_limit import RateLimitFacts
from spendpilot.adapters.litellm.source_litellm_config import ConfigEdit
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, LlmRequest, Snapshot
from spendpilot.savings._token_cost import TokenMix, feature_resource, window_days
from spendpilot.savings.pricebook import PriceBook


class RunawayLoopSettings(BaseModel):
    enabled: bool = True
    window_seconds: int = Field(60, ge=1, description="Window in which repeats are counted.")
    min_repeats: int = Field(20, ge=2, description="Near-identical calls from one caller in a window that make a burst.")
    size_tolerance: float = Field(0.05, ge=0, description="Relative input-size difference still near-identical.")
    min_rpm_limit: int = Field(10, ge=1, description="Smallest per-caller limit ever proposed.")


def _caller(r: LlmRequest) -> str | None:
    if r.conversation_id:
        return f"conversation:{r.conversation_id}"
    if r.customer:
        return f"customer:{r.customer}"
    return None


def _fingerprint(r: LlmRequest, tolerance: float) -> str:
    text = r.user_text() or ""
    size = r.input_tokens
    bucket = 0 if size <= 0 else round(size ** 0.5 / max(tolerance, 1e-6) ** 0.5 / 4)
    # Buckets of ~tolerance width on a square-root scale; sizes near a bucket edge may split a
    # burst in two, which only lowers the count.
    raw = f"{r.model}|{r.prompt_prefix_sha256}|{hashlib.sha256(text.encode()).hexdigest()}|{bucket}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _peak_per_minute(rows: list[LlmRequest]) -> int:
    minutes = Counter(r.start_time.replace(second=0, microsecond=0) for r in rows)
    return max(minutes.values(), default=0)


@register_check(
    "runaway_llm_loop",
    action_kind="rate_limit",
    settings=RunawayLoopSettings,
    facts=RateLimitFacts,
    description="One conversation or customer repeating a near-identical call at a high rate.",
)
def find_runaway_loops(snapshot: Snapshot, settings: RunawayLoopSettings, prices: PriceBook) -> list[Finding[RateLimitFacts]]:
    window = timedelta(seconds=settings.window_seconds)
    by_caller: dict[tuple[str, str, str, str], list[LlmRequest]] = defaultdict(list)
    for r in snapshot.llm_requests:
        caller = _caller(r)
        if caller:
            by_caller[(r.feature, r.provider, r.model, caller)].append(r)
    looping: dict[tuple[str, str, str, str], set[int]] = {}
    for key, rows in by_caller.items():
        rows.sort(key=lambda r: r.start_time)
        groups: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            groups[_fingerprint(r, settings.size_tolerance)].append(i)
        in_burst: set[int] = set()
        for idx in groups.values():
            start = 0
            for end in range(len(idx)):
                while rows[idx[end]].start_time - rows[idx[start]].start_time > window:
                    start += 1
                if end - start + 1 >= settings.min_repeats:
                    in_burst.update(idx[start : end + 1])
        if in_burst:
            looping[key] = in_burst
    findings: list[Finding[RateLimitFacts]] = []
    for key, in_burst in sorted(looping.items()):
        feature, provider, model, caller = key
        rows = by_caller[key]
        burst_rows = [rows[i] for i in sorted(in_burst)]
        normal_peak = max(
            (_peak_per_minute([r for j, r in enumerate(rs) if j not in looping.get(k, set())])
             for k, rs in by_caller.items() if k[0] == feature),
            default=0,
        )
        limit = max(settings.min_rpm_limit, 2 * normal_peak)
        minutes = Counter(r.start_time.replace(second=0, microsecond=0) for r in burst_rows)
        excess_rows: list[LlmRequest] = []
        for minute, _n in minutes.items():
            in_minute = [r for r in burst_rows if r.start_time.replace(second=0, microsecond=0) == minute]
            excess_rows.extend(in_minute[limit:])
        if not excess_rows:
            continue
        bursts = 1 + sum(1 for a, b in zip(burst_rows, burst_rows[1:], strict=False) if b.start_time - a.start_time > window)
        mix = TokenMix.of(excess_rows)
        team = next((r.team for r in rows if r.team), None)
        team_limit = change = None
        if team:
            team_rows = [r for k, rs in by_caller.items() for j, r in enumerate(rs)
                         if r.team == team and j not in looping.get(k, set())]
            team_limit = max(settings.min_rpm_limit, 2 * _peak_per_minute(team_rows))
            path: list[str | dict[str, str]] = ["litellm_settings", "default_team_settings", {"team_id": team}, "rpm_limit"]
            change = config_change(snapshot, [ConfigEdit(path=path, value=team_limit)])
        days = window_days([r for rs in by_caller.values() for r in rs if rs and rs[0].feature == feature])
        findings.append(Finding(
            resource=feature_resource(feature, provider, team, instance=caller),
            summary=(f"{caller} of feature '{feature}' ({model}) repeated one call {len(burst_rows):,} times, "
                     f"up to {_peak_per_minute(burst_rows)} a minute"),
            facts=RateLimitFacts(
                feature=feature, model=model, caller=caller, days=days, bursts=bursts,
                burst_requests=len(burst_rows), excess_requests=len(excess_rows),
                peak_per_minute=_peak_per_minute(burst_rows), rpm_limit=limit,
                input_tokens=mix.input_tokens, cached_input_tokens=mix.cached_input_tokens,
                output_tokens=mix.output_tokens, team=team, team_rpm_limit=team_limit, litellm=change,
            ),
            evidence=[
                Evidence(label="Near-identical calls", value=f"{len(burst_rows):,} in {bursts} burst(s)",
                         source=f"same model, system prompt, user text and input size within {settings.size_tolerance:.0%}"),
                Evidence(label="Busiest minute of any other caller of the feature", value=str(normal_peak),
                         source="GenAI spans"),
                Evidence(label="Refused by the proposed limit", value=f"{len(excess_rows):,} requests at {limit}/min",
                         source=f"{window_days(rows)} days of this caller's requests"),
            ],
        ))
    return findings
