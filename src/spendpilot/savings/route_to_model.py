"""Saving from routing a feature's requests to a cheaper model tier."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from spendpilot.actions.route_to_model import RouteFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings.pricebook import PriceBook, TokenPrice
from spendpilot.savings.registry import register_estimator


class RoutableShare(BaseModel):
    """Share of traffic assumed to move without quality loss (after an evaluation)."""

    low: Decimal = Decimal("0.5")
    expected: Decimal = Decimal("0.9")
    high: Decimal = Decimal("1.0")


def _cost(p: TokenPrice, uncached: Decimal, cached: Decimal, written: Decimal, out: Decimal) -> Decimal:
    """Each kind at its price; cache writes at the 5-minute write price (usage reports do not
    split TTLs here), or the input price where the provider charges no write (OpenAI)."""
    cached_rate = p.cached_input_per_token if p.cached_input_per_token is not None else p.input_per_token
    write_rate = p.cache_write_per_token if p.cache_write_per_token is not None else p.input_per_token
    return uncached * p.input_per_token + cached * cached_rate + written * write_rate + out * p.output_per_token


@register_estimator("route_to_model", facts=RouteFacts)
def estimate_routing_saving(finding: Finding[RouteFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    current, target = prices.token_price(facts.model), prices.token_price(facts.target_model)
    if current is None or target is None or current.currency != target.currency:
        return None
    currency = current.currency
    scale = DAYS_PER_MONTH / Decimal(facts.days)
    cached = Decimal(facts.cached_input_tokens) * scale
    written = Decimal(facts.cache_write_input_tokens) * scale
    uncached = Decimal(facts.input_tokens) * scale - cached - written
    out = Decimal(facts.output_tokens) * scale
    full = _cost(current, uncached, cached, written, out) - _cost(target, uncached, cached, written, out)
    share = RoutableShare()
    per_m = Decimal(1_000_000)
    inputs = [
        Evidence(
            label=f"{p.model} price per 1M tokens (input / cached input / output)",
            value=" / ".join(
                format_money(rate * per_m, currency)
                for rate in (p.input_per_token, p.cached_input_per_token or p.input_per_token, p.output_per_token)
            ),
            source=f"{p.source.name}" + (f" (as of {p.source.as_of})" if p.source.as_of else ""),
        )
        for p in (current, target)
    ]
    inputs.append(
        Evidence(
            label="Monthly tokens (uncached input / cache read / cache write / output)",
            value=f"{uncached:,.0f} / {cached:,.0f} / {written:,.0f} / {out:,.0f}",
            source=f"usage over {facts.days} days x {DAYS_PER_MONTH}/{facts.days}",
        )
    )
    formula = (
        f"saving = monthly tokens x (price of {current.model} - price of {target.model}), "
        "per token class (uncached input, cache read, cache write, output), times the share of traffic that moves: "
        f"low {share.low:.0%}, expected {share.expected:.0%}, high {share.high:.0%}. "
        "Run an evaluation on a sample before routing everything."
    )
    return Estimate(
        low=Money.of(full * share.low, currency),
        expected=Money.of(full * share.expected, currency),
        high=Money.of(full * share.high, currency),
        formula=formula,
        inputs=inputs,
    )
