"""What trimming a long system prompt would save: a range, because how much can go is editorial."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from spendpilot.actions.llm_facts import SystemPromptFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


class TrimmedShare(BaseModel):
    """Share of the prompt an audit removes (never more than down to the target size)."""

    low: Decimal = Decimal("0.10")
    expected: Decimal = Decimal("0.25")


@register_estimator("trim_system_prompt", facts=SystemPromptFacts)
def estimate_trim_saving(finding: Finding[SystemPromptFacts], prices: PriceBook) -> Estimate | None:
    """saving = R × T × price per prompt token, R requests/month, T tokens removed per request:
    low 10 %, expected 25 % of the prompt, high everything above the target (500 tokens).
    Price per prompt token = (1 − c) × input + c × cache read, c the share read from cache."""
    f = finding.facts
    p = prices.token_price(f.model)
    if p is None:
        return None
    c = Decimal(str(f.cache_read_share))
    read = p.cached_input_per_token if p.cached_input_per_token is not None else p.input_per_token
    per_token = (1 - c) * p.input_per_token + c * read
    r = Decimal(f.requests) * DAYS_PER_MONTH / Decimal(f.days)
    above = Decimal(max(0, f.prefix_tokens - f.target_tokens))
    share = TrimmedShare()

    def saving(tokens: Decimal) -> Money:
        return Money.of(r * min(tokens, above) * per_token, p.currency)

    size = Decimal(f.prefix_tokens)
    return Estimate(
        low=saving(size * share.low),
        expected=saving(size * share.expected),
        high=saving(above),
        formula=(
            "saving = requests/month × prompt tokens removed × price per prompt token; removed: low "
            f"{share.low:.0%}, expected {share.expected:.0%} of the prompt, high all above {f.target_tokens:,} "
            "tokens; price per prompt token blends input and cache-read prices by the cached share"
        ),
        inputs=[
            Evidence(label="Price per prompt token (per 1M)", value=format_money(per_token * Decimal(1_000_000), p.currency),
                     source=f"{p.source.name} (as of {p.source.as_of}); {c:.0%} read from cache"),
            Evidence(label="Requests per month", value=f"{r:,.0f}", source=f"{f.days} days scaled"),
        ],
    )
