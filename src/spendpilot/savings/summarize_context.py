"""Saving from a rolling summary: the input above the summarised baseline, less the summaries' cost."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.summarize_context import SummarizeContextFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings._token_cost import TokenMix
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


@register_estimator("summarize_context", facts=SummarizeContextFacts)
def estimate_summarize_saving(finding: Finding[SummarizeContextFacts], prices: PriceBook) -> Estimate | None:
    f = finding.facts
    price = prices.token_price(f.model)
    if price is None:
        return None
    scale = DAYS_PER_MONTH / Decimal(f.days)
    mix = TokenMix(input_tokens=f.input_tokens, cached_input_tokens=f.cached_input_tokens)
    rate = mix.blended_input_rate(price)
    removed = Decimal(f.excess_input_tokens) * rate * scale
    # Each summary is written once: its output at this model's output price (a conservative
    # upper bound: a small model would do), and read back as input on later turns (already in
    # the baseline).
    summaries = Decimal(f.summaries) * Decimal(f.summary_tokens) * price.output_per_token * scale
    net = removed - summaries
    if net <= 0:
        return None
    return Estimate(
        low=Money.of(net * Decimal("0.5"), price.currency),
        expected=Money.of(net * Decimal("0.8"), price.currency),
        high=Money.of(net, price.currency),
        formula=(
            "saving = input tokens above the summarised baseline x blended input price (cache reads at "
            "their rate) - summaries written x summary size x output price; monthly by "
            f"{DAYS_PER_MONTH}/{f.days}. Low 50 % / expected 80 % allow for turns that must stay verbatim."
        ),
        inputs=[
            Evidence(label="Input removed per month", value=f"{Decimal(f.excess_input_tokens) * scale:,.0f} tokens = {format_money(removed, price.currency)}",
                     source=f"{f.conversations:,} conversations, {f.turns:,} turns over {f.days} days"),
            Evidence(label="Summaries written per month", value=format_money(summaries, price.currency),
                     source=f"{f.summaries:,} x {f.summary_tokens:,} tokens at {price.model}'s output price"),
        ],
    )
