"""Advisory: set max_tokens for a feature from its observed output (P99 plus a margin).

The setting lives in the application or its gateway (a LiteLLM proxy's per-model ``max_tokens``
is one place), which spendpilot does not edit here: the proposal hands over a runbook.
"""

from __future__ import annotations

from typing import ClassVar

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.actions.llm_facts import MaxTokensFacts
from spendpilot.domain import Finding


@register_action("set_max_tokens")
class SetMaxTokensAdvice(AdvisoryAction[MaxTokensFacts]):
    facts_model: ClassVar[type[MaxTokensFacts]] = MaxTokensFacts

    def describe(self, finding: Finding[MaxTokensFacts]) -> str:
        f = finding.facts
        return f"Set max_tokens = {f.proposed_max_tokens:,} for feature '{f.feature}' on {f.model}"

    def runbook(self, finding: Finding[MaxTokensFacts]) -> list[str]:
        f = finding.facts
        now = "unset" if f.current_max_tokens is None else f"{f.current_max_tokens:,}"
        return [
            f"In feature '{f.feature}', set max_tokens (max_completion_tokens for OpenAI reasoning models) to "
            f"{f.proposed_max_tokens:,} on {f.model} calls (now {now}; P99 output {f.output_p99:,.0f}).",
            "For reasoning models, remember the cap includes reasoning tokens.",
            "After a day, check the share of responses with finish_reason 'length': above ~1% the cap is too "
            "low for real answers; raise it.",
        ]
