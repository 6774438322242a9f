"""Advisory: audit a feature's long system prompt. What to cut is an editorial decision."""

from __future__ import annotations

from typing import ClassVar

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.actions.llm_facts import SystemPromptFacts
from spendpilot.domain import Finding


@register_action("trim_system_prompt")
class TrimSystemPromptAdvice(AdvisoryAction[SystemPromptFacts]):
    facts_model: ClassVar[type[SystemPromptFacts]] = SystemPromptFacts

    def describe(self, finding: Finding[SystemPromptFacts]) -> str:
        f = finding.facts
        return f"Audit the ~{f.prefix_tokens:,}-token system prompt of feature '{f.feature}' ({f.model})"

    def runbook(self, finding: Finding[SystemPromptFacts]) -> list[str]:
        f = finding.facts
        return [
            f"Find the system prompt of feature '{f.feature}' whose SHA-256 starts with {f.prefix_sha256[:12]}.",
            "Remove duplicated rules, examples the model no longer needs, and instructions for tools the "
            f"feature does not use; aim for about {f.target_tokens:,} tokens.",
            "Run the feature's evaluation set before and after; keep the cut only if quality holds.",
            "If the prompt must stay long, cache it instead (see enable_prompt_caching).",
        ]
