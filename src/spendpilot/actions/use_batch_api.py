"""Advisory: move a feature's offline requests to the provider's batch API.

Batch is a different call path (upload a file of requests, poll, read results within 24 h), a
change to the application, not a setting spendpilot can flip: the proposal hands over a runbook.
"""

from __future__ import annotations

from typing import ClassVar

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.actions.llm_facts import BatchFacts
from spendpilot.domain import Finding, Risk


@register_action("use_batch_api")
class UseBatchApiAdvice(AdvisoryAction[BatchFacts]):
    facts_model: ClassVar[type[BatchFacts]] = BatchFacts
    risk_level: ClassVar[Risk] = Risk.MEDIUM
    """Answers arrive up to 24 hours later: wrong for anything a person waits on."""

    def describe(self, finding: Finding[BatchFacts]) -> str:
        f = finding.facts
        return f"Send feature '{f.feature}' ({f.model}) through the {f.provider} batch API"

    def runbook(self, finding: Finding[BatchFacts]) -> list[str]:
        f = finding.facts
        api = ("Message Batches API (POST /v1/messages/batches)" if f.provider == "anthropic"
               else "Batch API (upload a JSONL of requests, POST /v1/batches with completion_window 24h)")
        return [
            f"Confirm nobody waits on feature '{f.feature}': " + "; ".join(f.signals) + ".",
            f"Collect its requests and submit them through the {api}.",
            "Poll the batch and write results where the feature writes them now; retry failed items.",
            "Keep the interactive path for urgent re-runs.",
        ]
