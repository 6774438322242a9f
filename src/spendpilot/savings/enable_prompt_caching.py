"""Saving from serving a repeated static prefix from the provider's prompt cache."""

from __future__ import annotations

import math
from decimal import Decimal

from spendpilot.actions.llm_facts import PromptCachingFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

WINDOWS_PER_HOUR = 12
"""Five-minute windows in an hour: the default cache lifetime, renewed by every read."""


def write_share(requests_per_window: Decimal) -> Decimal:
    """Share of requests that must write the cache: those arriving more than 5 minutes after the
    previous one, e^(−λ) for Poisson arrivals at λ requests per 5 minutes."""
    return Decimal(math.exp(-float(requests_per_window)))


@register_estimator("enable_prompt_caching", facts=PromptCachingFacts)
def estimate_prompt_caching_saving(finding: Finding[PromptCachingFacts], prices: PriceBook) -> Estimate | None:
    """saving = (R·P − C)·input + C·read − [w·R·P·write + (1 − w)·R·P·read]

    R requests a month, P prefix tokens, C prefix tokens already read from cache a month, w the
    share of requests that write the cache: e^(−λ), λ the requests per 5-minute window of the
    hours with traffic (the cache lives 5 minutes from its last use). Expected with w, low with
    2·w (arrivals burstier than Poisson, requests spread over servers), high with w / 2.
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
    per_window = Decimal(f.requests) / (Decimal(f.days) * Decimal(str(f.active_hours_per_day)) * WINDOWS_PER_HOUR)
    w = write_share(per_window)

    def saving(share: Decimal) -> Decimal:
        share = min(Decimal(1), share)
        return before - (share * r * p * write + (1 - share) * r * p * read)

    currency = price.currency
    per_m = Decimal(1_000_000)
    return Estimate(
        low=Money.of(saving(w * 2), currency),
        expected=Money.of(saving(w), currency),
        high=Money.of(saving(w / 2), currency),
        formula=(
            "saving = (R·P − C) × input + C × cache read − [w·R·P × cache write + (1 − w)·R·P × cache read], "
            "R requests/month, P prefix tokens, C prefix tokens already cached/month, w = e^(−λ) the share of "
            "requests that write (λ requests per 5-minute window of active hours; low 2·w, high w/2)"
        ),
        inputs=[
            Evidence(label=f"{price.model} per 1M tokens (input / cache write / cache read)",
                     value=" / ".join(format_money(x * per_m, currency) for x in (price.input_per_token, write, read)),
                     source=f"{price.source.name} (as of {price.source.as_of})"),
            Evidence(label="R, P, C, λ, w", value=f"{r:,.0f} requests, {p:,.0f} tokens, {cached:,.0f} tokens, "
                     f"{per_window:.2f} per 5 minutes, {w:.1%} of requests write",
                     source=f"{f.days} days scaled by {DAYS_PER_MONTH}/{f.days}; {f.active_hours_per_day:g} active hours a day"),
        ],
    )
