"""Serve repeated questions from a semantic cache (advisory: the cache lives in the application or gateway)."""

from __future__ import annotations

from pydantic import Field

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.domain import Facts, Finding


class SemanticCacheFacts(Facts):
    """A feature's paraphrased repeats, as estimated at a stated similarity threshold."""

    feature: str
    model: str
    days: int = Field(ge=1, description="Days the requests span.")
    requests: int = Field(ge=1, description="All requests of the feature in the window.")
    requests_with_text: int = Field(ge=1, description="Requests whose prompt text was stored and compared.")
    duplicate_requests: int = Field(ge=0, description="Of those, the ones an earlier request already asked.")
    threshold: float = Field(description="Cosine similarity from which two prompts count as the same question.")
    embedding: str
    input_tokens: int = Field(ge=0, description="All input tokens of the feature's requests in the window.")
    cached_input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(ge=0)

    @property
    def duplicate_share(self) -> float:
        return self.duplicate_requests / self.requests_with_text


@register_action("enable_semantic_cache")
class EnableSemanticCache(AdvisoryAction[SemanticCacheFacts]):
    facts_model = SemanticCacheFacts

    def describe(self, finding: Finding[SemanticCacheFacts]) -> str:
        f = finding.facts
        return (f"Put a semantic cache in front of feature '{f.feature}' ({f.duplicate_share:.0%} of its "
                f"prompts repeat an earlier question at similarity >= {f.threshold:.2f})")

    def runbook(self, finding: Finding[SemanticCacheFacts]) -> list[str]:
        f = finding.facts
        return [
            f"Cache answers of feature '{f.feature}' keyed on the embedding of the user's prompt "
            f"(e.g. LiteLLM `cache: true` with `type: redis-semantic` or `qdrant-semantic`, or GPTCache).",
            f"Start with similarity threshold {f.threshold:.2f} ({f.embedding}); a different embedding "
            "model needs its own threshold.",
            "Include in the cache key what changes the answer besides the words: the system prompt "
            "version, the model, and the user's tenant for personalised answers.",
            "Set a time-to-live that matches how fast answers go stale (the estimate assumes entries "
            f"live {f.days} days); never cache answers that read live data (order status, balances).",
            "Shadow it first: log would-be hits for a week and review a sample before serving from cache.",
        ]
