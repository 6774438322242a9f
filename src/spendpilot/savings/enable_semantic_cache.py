"""Saving from answering repeated questions from a semantic cache instead of the model."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.enable_semantic_cache import SemanticCacheFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings._token_cost import TokenMix
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

SERVED_LOW = Decimal("0.5")
"""Share of the repeats a real cache serves, low end: entries expire before some repeats come,
and answers that read live data must not be cached."""
SERVED_EXPECTED = Decimal("0.8")


@register_estimator("enable_semantic_cache", facts=SemanticCacheFacts)
def estimate_semantic_cache_saving(finding: Finding[SemanticCacheFacts], prices: PriceBook) -> Estimate | None:
    f = finding.facts
    price = prices.token_price(f.model)
    if price is None:
        return None
    mix = TokenMix(requests=f.requests, input_tokens=f.input_tokens,
                   cached_input_tokens=f.cached_input_tokens, output_tokens=f.output_tokens)
    monthly = mix.cost(price) * DAYS_PER_MONTH / Decimal(f.days)
    share = Decimal(f.duplicate_requests) / Decimal(f.requests_with_text)
    full = monthly * share
    return Estimate(
        low=Money.of(full * SERVED_LOW, price.currency),
        expected=Money.of(full * SERVED_EXPECTED, price.currency),
        high=Money.of(full, price.currency),
        formula=(
            "saving = feature's monthly token cost x repeat share x share a cache serves "
            f"(low {SERVED_LOW:.0%}, expected {SERVED_EXPECTED:.0%}, high 100%). The embedding runs "
            "locally, so a lookup costs no tokens; a hosted embedding would add its own price."
        ),
        inputs=[
            Evidence(label="Feature's monthly token cost", value=format_money(monthly, price.currency),
                     source=f"{f.requests:,} requests over {f.days} days x {DAYS_PER_MONTH}/{f.days}; {price.source.name}"),
            Evidence(label="Repeat share", value=f"{share:.1%} at similarity >= {f.threshold:.2f}",
                     source=f"{f.duplicate_requests:,} of {f.requests_with_text:,} prompts compared"),
        ],
    )
