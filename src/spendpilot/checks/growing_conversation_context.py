"""Conversations that resend their whole, growing history every turn: a rolling summary caps it.

A chat that appends each turn to the prompt pays for turn 1 again at turn 2, turns 1-2 at turn 3,
and so on: input grows linearly per turn, cost quadratically per conversation. A conversation
counts as growing when it has at least ``min_turns`` requests (by ``gen_ai.conversation.id``)
and its input rises by at least ``min_growth_per_turn`` tokens a turn (least-squares slope) to at
least ``min_growth_ratio`` x its first turn. Long but flat conversations (an agent that resends
a fixed context, a form filled in many steps) are not growing and are left alone.

The summarised baseline of turn t: min(actual, first turn's input + summary + last two turns'
growth). Everything above it is the excess a rolling summary removes.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from pydantic import BaseModel, Field

from spendpilot.actions.summarize_context import SummarizeContextFacts
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, LlmRequest, Snapshot
from spendpilot.savings._token_cost import TokenMix, feature_resource, window_days
from spendpilot.savings.pricebook import PriceBook

KEEP_RECENT_TURNS = 2


class GrowingContextSettings(BaseModel):
    enabled: bool = True
    min_turns: int = Field(6, ge=3, description="Requests a conversation needs before its growth is judged.")
    min_growth_per_turn: float = Field(200.0, ge=0, description="Input tokens added per turn (slope) that counts as growing.")
    min_growth_ratio: float = Field(2.0, ge=1, description="Last turn's input over the first's that counts as growing.")
    summary_tokens: int = Field(800, ge=1, description="Size of the rolling summary the baseline keeps.")
    summarize_every: int = Field(4, ge=1, description="Turns between summary refreshes in the baseline.")
    min_conversations: int = Field(20, ge=1, description="Growing conversations a feature needs before it is proposed.")


def _slope(values: list[int]) -> float:
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, statistics.fmean(values)
    den = sum((x - mean_x) ** 2 for x in range(n))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / den if den else 0.0


def _excess(inputs: list[int], summary_tokens: int) -> tuple[int, int]:
    """Tokens above the summarised baseline, and how many turns were above it."""
    first = inputs[0]
    excess = turns = 0
    for t in range(1, len(inputs)):
        recent = inputs[t] - inputs[max(0, t - KEEP_RECENT_TURNS)]
        baseline = first + summary_tokens + max(0, recent)
        if inputs[t] > baseline:
            excess += inputs[t] - baseline
            turns += 1
    return excess, turns


@register_check(
    "growing_conversation_context",
    action_kind="summarize_context",
    settings=GrowingContextSettings,
    facts=SummarizeContextFacts,
    description="Conversations whose input grows turn over turn (whole history resent).",
)
def find_growing_conversations(
    snapshot: Snapshot, settings: GrowingContextSettings, prices: PriceBook
) -> list[Finding[SummarizeContextFacts]]:
    conversations: dict[tuple[str, str, str, str], list[LlmRequest]] = defaultdict(list)
    for r in snapshot.llm_requests:
        if r.conversation_id:
            conversations[(r.feature, r.provider, r.model, r.conversation_id)].append(r)
    per_feature: dict[tuple[str, str, str], list[tuple[list[LlmRequest], float, int, int]]] = defaultdict(list)
    for (feature, provider, model, _cid), rows in conversations.items():
        rows.sort(key=lambda r: r.start_time)
        inputs = [r.input_tokens for r in rows]
        if len(rows) < settings.min_turns or inputs[0] <= 0:
            continue
        slope = _slope(inputs)
        if slope < settings.min_growth_per_turn or inputs[-1] < settings.min_growth_ratio * inputs[0]:
            continue
        excess, above = _excess(inputs, settings.summary_tokens)
        if excess > 0:
            per_feature[(feature, provider, model)].append((rows, slope, excess, above))
    findings: list[Finding[SummarizeContextFacts]] = []
    for (feature, provider, model), convs in sorted(per_feature.items()):
        if len(convs) < settings.min_conversations:
            continue
        rows = [r for c in convs for r in c[0]]
        mix = TokenMix.of(rows)
        excess = sum(c[2] for c in convs)
        above = sum(c[3] for c in convs)
        growth = statistics.median(c[1] for c in convs)
        days = window_days(rows)
        team = next((r.team for r in rows if r.team), None)
        all_convs = sum(1 for k in conversations if k[0] == feature and k[2] == model)
        source = f"GenAI spans by gen_ai.conversation.id, {days} days"
        findings.append(Finding(
            resource=feature_resource(feature, provider, team),
            summary=(f"feature '{feature}' ({model}): {len(convs):,} conversations resend a growing history "
                     f"(~{growth:,.0f} input tokens more each turn)"),
            facts=SummarizeContextFacts(
                feature=feature, model=model, days=days, conversations=len(convs), turns=len(rows),
                growth_per_turn=round(growth, 1), input_tokens=mix.input_tokens,
                cached_input_tokens=mix.cached_input_tokens, excess_input_tokens=excess,
                summary_tokens=settings.summary_tokens, summaries=above // settings.summarize_every + len(convs),
            ),
            evidence=[
                Evidence(label="Growing conversations", value=f"{len(convs):,} of {all_convs:,} with a conversation id",
                         source=source),
                Evidence(label="Input above a summarised baseline",
                         value=f"{excess:,} of {mix.input_tokens:,} input tokens ({excess / max(1, mix.input_tokens):.0%})",
                         source=f"baseline = first turn + {settings.summary_tokens:,}-token summary + last {KEEP_RECENT_TURNS} turns"),
            ],
        ))
    return findings
