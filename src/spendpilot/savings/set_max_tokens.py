"""Saving from capping output at the feature's P99 plus a margin: only the runaway tail is cut."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.llm_facts import MaxTokensFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


@register_estimator("set_max_tokens", facts=MaxTokensFacts)
def estimate_max_tokens_saving(finding: Finding[MaxTokensFacts], prices: PriceBook) -> Estimate | None:
    """A cap saves only the output tokens that would have run past it, nothing on ordinary requests.

    E(x) = Σ max(0, output − x) over the requests: known at x = P99 (E1) and x = 2·P99 (E2).
    The cap c lies between; E(c) is interpolated linearly: E1 − (E1 − E2)·(c − P99)/P99, clamped
    to [E2, E1]. Monthly saving = E × output price × days/month ÷ days. Low E2, expected E(c),
    high E1. Reasoning tokens are output tokens and priced so.
    """
    f = finding.facts
    price = prices.token_price(f.model)
    if price is None or f.output_p99 <= 0:
        return None
    e1, e2 = Decimal(f.excess_over_p99), Decimal(f.excess_over_2x_p99)
    p99 = Decimal(str(f.output_p99))
    fraction = min(Decimal(1), max(Decimal(0), (Decimal(f.proposed_max_tokens) - p99) / p99))
    at_cap = e1 - (e1 - e2) * fraction
    scale = DAYS_PER_MONTH / Decimal(f.days) * price.output_per_token
    currency = price.currency
    return Estimate(
        low=Money.of(e2 * scale, currency),
        expected=Money.of(at_cap * scale, currency),
        high=Money.of(e1 * scale, currency),
        formula=(
            "saving = output tokens beyond the cap × output price, per month; tokens beyond the cap "
            "interpolated between those beyond P99 (high) and beyond 2×P99 (low). A truncated answer may be "
            "retried or be worse: watch finish_reason=length after the change."
        ),
        inputs=[
            Evidence(label=f"{price.model} output per 1M tokens",
                     value=format_money(price.output_per_token * Decimal(1_000_000), currency),
                     source=f"{price.source.name} (as of {price.source.as_of})"),
            Evidence(label="Output tokens beyond P99 / cap / 2×P99",
                     value=f"{e1:,.0f} / {at_cap:,.0f} / {e2:,.0f} in {f.days} days",
                     source="per-request table"),
        ],
    )
