"""Summarise a conversation's history instead of resending it whole (advisory: a code change in the app)."""

from __future__ import annotations

from pydantic import Field

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.domain import Facts, Finding


class SummarizeContextFacts(Facts):
    """A feature's conversations whose input grows turn over turn, and the tokens above a summarised baseline."""

    feature: str
    model: str
    days: int = Field(ge=1)
    conversations: int = Field(ge=1, description="Conversations whose input grows turn over turn.")
    turns: int = Field(ge=1, description="Requests in those conversations.")
    growth_per_turn: float = Field(description="Median input growth per turn, tokens.")
    input_tokens: int = Field(ge=0, description="Input tokens of those requests.")
    cached_input_tokens: int = Field(0, ge=0)
    excess_input_tokens: int = Field(ge=0, description="Input above the summarised baseline, summed over turns.")
    summary_tokens: int = Field(ge=1, description="Size of the rolling summary that replaces old turns.")
    summaries: int = Field(ge=0, description="Summaries the baseline would have written.")


@register_action("summarize_context")
class SummarizeContext(AdvisoryAction[SummarizeContextFacts]):
    facts_model = SummarizeContextFacts

    def describe(self, finding: Finding[SummarizeContextFacts]) -> str:
        f = finding.facts
        return (f"Roll up old turns of feature '{f.feature}' into a summary of about {f.summary_tokens:,} tokens "
                f"({f.conversations:,} conversations grow ~{f.growth_per_turn:,.0f} tokens a turn)")

    def runbook(self, finding: Finding[SummarizeContextFacts]) -> list[str]:
        f = finding.facts
        return [
            f"In feature '{f.feature}', keep the system prompt and the last two turns verbatim; replace older "
            f"turns with a running summary of at most {f.summary_tokens:,} tokens.",
            "Refresh the summary every few turns with a small model (the estimate charges it at this model's output price).",
            "Keep facts the conversation depends on (ids, amounts, decisions) in the summary verbatim; "
            "evaluate answer quality on recorded conversations before switching.",
        ]
