"""Saving from a rate limit on a runaway caller: the requests it would have refused."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.rate_limit import RateLimitFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings._token_cost import TokenMix
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


@register_estimator("rate_limit", facts=RateLimitFacts)
def estimate_rate_limit_saving(finding: Finding[RateLimitFacts], prices: PriceBook) -> Estimate | None:
    f = finding.facts
    price = prices.token_price(f.model)
    if price is None:
        return None
    refused = TokenMix(requests=f.excess_requests, input_tokens=f.input_tokens,
                       cached_input_tokens=f.cached_input_tokens, output_tokens=f.output_tokens).cost(price)
    monthly = refused * DAYS_PER_MONTH / Decimal(f.days)
    return Estimate(
        low=Money.of(refused / Decimal(12), price.currency),
        expected=Money.of(monthly, price.currency),
        high=Money.of(monthly, price.currency),
        formula=(
            "expected = cost of the requests the limit would have refused x "
            f"{DAYS_PER_MONTH}/{f.days} (loops recur at the rate seen); low = the same cost once a year "
            "(a one-off incident that the fix prevents)."
        ),
        inputs=[Evidence(label="Cost of the refused requests", value=format_money(refused, price.currency),
                         source=f"{f.excess_requests:,} requests over {f.days} days at {price.model} prices")],
    )
