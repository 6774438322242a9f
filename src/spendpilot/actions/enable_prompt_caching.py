"""Advisory: cache a feature's static prompt prefix (Anthropic cache_control; OpenAI prompt order).

The change lives in the application's code or its gateway config, which spendpilot does not
edit: the proposal hands over a runbook with the prefix, the model's minimum and how to check
the cache engaged.
"""

from __future__ import annotations

from typing import ClassVar

from spendpilot.actions.advisory import AdvisoryAction
from spendpilot.actions.base import register_action
from spendpilot.actions.llm_facts import PromptCachingFacts
from spendpilot.domain import Finding


@register_action("enable_prompt_caching")
class EnablePromptCachingAdvice(AdvisoryAction[PromptCachingFacts]):
    facts_model: ClassVar[type[PromptCachingFacts]] = PromptCachingFacts

    def describe(self, finding: Finding[PromptCachingFacts]) -> str:
        f = finding.facts
        return f"Cache the ~{f.prefix_tokens:,}-token static prefix of feature '{f.feature}' on {f.model}"

    def runbook(self, finding: Finding[PromptCachingFacts]) -> list[str]:
        f = finding.facts
        steps = [
            f"Find the system prompt of feature '{f.feature}' whose SHA-256 starts with {f.prefix_sha256[:12]} "
            f"(~{f.prefix_tokens:,} tokens; {f.model} caches prefixes of at least {f.min_cacheable_tokens:,}).",
            "Move everything that varies per request (user input, timestamps, ids, retrieved documents) "
            "after it; tools and their order must be identical between requests.",
        ]
        if f.provider == "anthropic":
            ttl = ('{"type": "ephemeral"} (the default 5-minute lifetime)' if f.ttl == "5m" else
                   '{"type": "ephemeral", "ttl": "1h"} (the 1-hour lifetime: requests are often more than '
                   "5 minutes apart, and a 1-hour write costs less than rewriting every 5 minutes)")
            steps.append(f'Mark the end of the static part with "cache_control": {ttl}.')
            steps.append("Check usage.cache_read_input_tokens > 0 on the second and later requests.")
        else:
            steps.append("OpenAI caches matching prefixes of 1,024+ tokens automatically; nothing to switch on. "
                         "Optionally set prompt_cache_key per feature to keep its requests on one cache.")
            steps.append("Check usage.prompt_tokens_details.cached_tokens > 0 on later requests.")
        return steps
