"""A feature whose users keep asking the same questions in other words: a semantic cache would answer them.

Needs prompt text, which spendpilot stores only when the user opted in (``[otel]
store_prompt_text = true``, fed by ``gen_ai.input.messages``). Without it this check sees no
prompts and proposes nothing; the LLM source's summary says how many requests carried text, so
"no repeats" and "could not look" do not read alike.

The estimate (``spendpilot.memory.semantic_duplicates``): the newest ``max_prompts`` prompts of
a feature are embedded offline (all-MiniLM-L6-v2, shipped with spendpilot) into Chroma on disk,
near neighbours above ``threshold`` that carry the same literals (numbers, quoted text, names)
are grouped, and duplicates = prompts - groups. The share measured on the sample is applied to
all the feature's requests. Prompts that share a template but ask about different things (another
city, order or product) are not duplicates.

A conversation re-sending the very prompt it already sent (a retry, an agent stuck in a loop) is
counted once: a semantic cache is for different callers asking the same question, and a loop's
spend is ``runaway_llm_loop``'s lever (a cache would only make the loop spin for free).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from spendpilot.actions.enable_semantic_cache import SemanticCacheFacts
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, LlmRequest, Snapshot
from spendpilot.savings._token_cost import TokenMix, feature_resource, window_days
from spendpilot.savings.pricebook import PriceBook


class NearDuplicatePromptSettings(BaseModel):
    enabled: bool = True
    # Same values as memory.semantic_duplicates' defaults (a test keeps them equal); not imported
    # from there so registering checks does not import Chroma.
    threshold: float = Field(0.74, gt=0, le=1,
                             description="Cosine similarity (minilm_packaged) from which prompts are the same question.")
    literal_threshold: float = Field(0.70, gt=0, le=1,
                                     description="The same, for prompts sharing a number, quoted text or name.")
    min_prompts: int = Field(200, ge=2, description="Prompts with text a feature needs before it is judged.")
    max_prompts: int = Field(5000, ge=2, description="Newest prompts per feature embedded (bounds the sweep's time).")
    min_duplicate_share: float = Field(0.1, ge=0, le=1, description="Share of repeats below which nothing is proposed.")
    embedding: str = Field("minilm_packaged", description="Embedding: minilm_packaged (paraphrases) or hashing (shared words only).")
    store_dir: Path | None = Field(None, description="Chroma folder for the prompt vectors; default: a temporary folder.")


def without_resends(requests: Iterable[LlmRequest]) -> list[LlmRequest]:
    """The requests minus every verbatim re-send of a prompt within its own conversation (the
    first sending stays). Requests without a conversation id or without text are all kept."""
    seen: set[tuple[str, str]] = set()
    kept: list[LlmRequest] = []
    for r in requests:
        text = r.user_text()
        if r.conversation_id is not None and text is not None:
            key = (r.conversation_id, text)
            if key in seen:
                continue
            seen.add(key)
        kept.append(r)
    return kept


@register_check(
    "near_duplicate_prompts",
    action_kind="enable_semantic_cache",
    settings=NearDuplicatePromptSettings,
    facts=SemanticCacheFacts,
    description="Features whose prompts repeat earlier questions in other words (needs stored prompt text).",
)
def find_near_duplicate_prompts(
    snapshot: Snapshot, settings: NearDuplicatePromptSettings, prices: PriceBook
) -> list[Finding[SemanticCacheFacts]]:
    from spendpilot.memory.embedding import get_embedding_function
    from spendpilot.memory.semantic_duplicates import estimate_duplicates

    by_feature: dict[tuple[str, str, str], list[LlmRequest]] = defaultdict(list)
    for r in snapshot.llm_requests:
        by_feature[(r.feature, r.provider, r.model)].append(r)
    findings: list[Finding[SemanticCacheFacts]] = []
    embedding = None
    for (feature, provider, model), sent in sorted(by_feature.items()):
        rows = without_resends(sent)
        texts = [(r, t) for r in rows if (t := r.user_text())]
        if len(texts) < settings.min_prompts:
            continue
        sample = texts[-settings.max_prompts:]
        embedding = embedding or get_embedding_function(settings.embedding)
        found = estimate_duplicates([t for _, t in sample], embedding=embedding,
                                    threshold=settings.threshold, literal_threshold=settings.literal_threshold,
                                    store_dir=settings.store_dir)
        if found.share < settings.min_duplicate_share or found.duplicates == 0:
            continue
        mix = TokenMix.of(rows)
        days = window_days(rows)
        team = next((r.team for r in rows if r.team), None)
        source = f"{len(sample):,} prompts of {len(rows):,} requests from GenAI spans, {days} days"
        findings.append(Finding(
            resource=feature_resource(feature, provider, team),
            summary=(f"feature '{feature}' ({model}): {found.share:.0%} of prompts repeat an earlier question "
                     f"(similarity >= {settings.threshold:.2f})"),
            facts=SemanticCacheFacts(
                feature=feature, model=model, days=days, requests=len(rows), requests_with_text=len(sample),
                duplicate_requests=found.duplicates, threshold=settings.threshold, embedding=found.embedding,
                input_tokens=mix.input_tokens, cached_input_tokens=mix.cached_input_tokens,
                output_tokens=mix.output_tokens,
            ),
            evidence=[
                Evidence(label="Repeated questions",
                         value=f"{found.duplicates:,} of {len(sample):,} prompts ({found.share:.1%}) in {found.groups:,} distinct questions",
                         source=source),
                Evidence(label="Similarity rule",
                         value=(f"cosine >= {settings.threshold:.2f} ({settings.literal_threshold:.2f} when a number, quote or "
                                f"name is shared) with {found.embedding}; same literals; not a swapped-word look-alike"),
                         source="spendpilot.memory.semantic_duplicates"),
                Evidence(label="Prompts without stored text", value=f"{len(rows) - len(texts):,}",
                         source="[otel] store_prompt_text"),
                Evidence(label="Re-sends within a conversation (left out)", value=f"{len(sent) - len(rows):,}",
                         source="retries and loops: runaway_llm_loop's lever, not a cache's"),
            ],
        ))
    return findings
