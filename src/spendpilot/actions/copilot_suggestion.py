"""Advisory: a change the chat copilot suggested, queued for a human with its rationale.

The copilot's ``propose_action`` tool is the only way a language model can put anything in the
queue, so what it can put there is deliberately weak: an advisory plan (``actions/advisory.py``)
whose "execution" changes nothing anywhere, with the steps and the rationale the model wrote,
for a human to read, approve or reject like any other proposal. Its risk is what the model
declared (an advisory's own risk is low; the human judges the steps). No number the model
wrote becomes an estimate: ``agent/copilot_tools/propose.py`` bounds the saving from the lake.
"""

from __future__ import annotations

from typing import Literal

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.domain import Facts, Finding, Risk

COPILOT_SUGGESTION = "copilot_suggestion"


class CopilotSuggestionFacts(Facts):
    """What the copilot wrote, kept verbatim so the reviewer sees exactly what it claimed."""

    title: str
    steps: tuple[str, ...]
    rationale: str
    risk: Literal["low", "medium", "high"] = "medium"
    proposed_by: str
    conversation_id: str


@register_action(COPILOT_SUGGESTION)
class CopilotSuggestion(AdvisoryAction[CopilotSuggestionFacts]):
    facts_model = CopilotSuggestionFacts

    def describe(self, finding: Finding[CopilotSuggestionFacts]) -> str:
        return f"{finding.facts.title} (suggested by the copilot)"

    def runbook(self, finding: Finding[CopilotSuggestionFacts]) -> list[str]:
        return list(finding.facts.steps)

    def risk(self, finding: Finding[CopilotSuggestionFacts]) -> Risk:
        return Risk(finding.facts.risk)
