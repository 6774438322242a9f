"""Saving from serving a repeated static prefix from the provider's prompt cache."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.actions.llm_facts import PromptCachingFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

WINDOWS_PER_HOUR = 12
"""A 5-minute cache lives on while it is read; at worst each 5-minute window writes it once."""


@register_estimator("enable_prompt_caching", facts=PromptCachingFacts)
def estimate_prompt_caching_saving(finding: Finding[PromptCachingFacts], prices: PriceBook) -> Estimate | None:
    """saving = (R·P − C)·input + C·read − [W·P·write + (R − W)·P·read]

    R requests a month, P prefix tokens, C prefix tokens already read from cache a month,
    W cache writes a month = min(R, active hours a day × 12 five-minute windows × days a month).
    Expected with W, low with 2·W (evictions, requests spread over servers), high with W / 2.
    OpenAI charges no cache write: write = input price there.
    """
    f = finding.facts
    price = prices.token_price(f.model)
    if price is None or price.cached_input_per_token is None:
        return None
    read = price.cached_input_per_token
    write = price.cache_write_per_token
    if write is None:
        if price.provider != "openai":
            return None  # a provider that charges writes, without a write price: no guess
        write = price.input_per_token
    scale = DAYS_PER_MONTH / Decimal(f.days)
    r = Decimal(f.requests) * scale
    p = Decimal(f.prefix_tokens)
    cached = min(Decimal(f.cache_read_tokens) * scale, r * p)
    before = (r * p - cached) * price.input_per_token + cached * read
    windows = Decimal(str(f.active_hours_per_day)) * WINDOWS_PER_HOUR * DAYS_PER_MONTH

    def saving(writes: Decimal) -> Decimal:
        w = min(r, writes)
        return before - (w * p * write + (r - w) * p * read)

    currency = price.currency
    per_m = Decimal(1_000_000)
    return Estimate(
        low=Money.of(saving(windows * 2), currency),
        expected=Money.of(saving(windows), currency),
        high=Money.of(saving(windows / 2), currency),
        formula=(
            "saving = (R·P − C) × input + C × cache read − [W·P × cache write + (R − W)·P × cache read], "
            "R requests/month, P prefix tokens, C prefix tokens already cached/month, W cache writes/month = "
            "active hours/day × 12 five-minute windows × days/month (low: 2·W, high: W/2)"
        ),
        inputs=[
            Evidence(label=f"{price.model} per 1M tokens (input / cache write / cache read)",
                     value=" / ".join(format_money(x * per_m, currency)
                                      for x in (price.input_per_token, write, read)),
                     source=f"{price.source.name} (as of {price.source.as_of})"),
            Evidence(label="R, P, C, W", value=f"{r:,.0f} requests, {p:,.0f} tokens, {cached:,.0f} tokens, "
                     f"{min(r, windows):,.0f} writes", source=f"{f.days} days scaled by {DAYS_PER_MONTH}/{f.days}"),
        ],
    )
