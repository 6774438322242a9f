"""Saving from serving a repeated static prefix from the provider's prompt cache."""

from __future__ import annotations

import math
from decimal import Decimal

from spendpilot.actions.llm_facts import CacheTtl, PromptCachingFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings.pricebook import PriceBook, TokenPrice
from spendpilot.savings.registry import register_estimator

WINDOWS_PER_HOUR = 12
"""Five-minute windows in an hour: the default cache lifetime, renewed by every read."""


def write_share(requests_per_window: Decimal) -> Decimal:
    """Share of requests that must write the cache: those arriving more than 5 minutes after the
    previous one, e^(−λ) for Poisson arrivals at λ requests per 5 minutes."""
    return Decimal(math.exp(-float(requests_per_window)))


def write_share_floor(requests: int, days: int) -> Decimal:
    """At least one write a day: the first request after the night finds the cache expired."""
    return Decimal(days) / Decimal(requests) if requests else Decimal(1)


def requests_per_lifetime(facts: PromptCachingFacts, ttl: CacheTtl) -> Decimal:
    """λ: requests per cache lifetime in the hours with traffic."""
    windows = WINDOWS_PER_HOUR if ttl == "5m" else 1
    return Decimal(facts.requests) / (Decimal(facts.days) * Decimal(str(facts.active_hours_per_day)) * windows)


def _write_price(price: TokenPrice, ttl: CacheTtl) -> Decimal | None:
    if price.cache_write_per_token is None and price.provider == "openai":
        return price.input_per_token  # OpenAI charges no cache write
    return price.cache_write_per_token if ttl == "5m" else price.cache_write_1h_per_token


def _monthly(facts: PromptCachingFacts, price: TokenPrice, ttl: CacheTtl, stretch: Decimal) -> Decimal | None:
    """Monthly saving with ``ttl``, the write share multiplied by ``stretch`` (1 expected)."""
    write, read = _write_price(price, ttl), price.cached_input_per_token
    if write is None or read is None:
        return None
    scale = DAYS_PER_MONTH / Decimal(facts.days)
    r, p = Decimal(facts.requests) * scale, Decimal(facts.prefix_tokens)
    cached = min(Decimal(facts.cache_read_tokens) * scale, r * p)
    before = (r * p - cached) * price.input_per_token + cached * read
    w = max(write_share(requests_per_lifetime(facts, ttl)), write_share_floor(facts.requests, facts.days))
    w = min(Decimal(1), w * stretch)
    return before - (w * r * p * write + (1 - w) * r * p * read)


def best_ttl(facts: PromptCachingFacts, price: TokenPrice) -> CacheTtl:
    """The cache lifetime with the larger expected saving: the 5-minute one (writes at 1.25×
    input on Anthropic) or, where sold, the 1-hour one (2×), which pays when requests are often
    more than 5 minutes apart. OpenAI has only its automatic cache: 5 minutes."""
    if price.provider == "openai" or price.cache_write_1h_per_token is None:
        return "5m"
    five, hour = _monthly(facts, price, "5m", Decimal(1)), _monthly(facts, price, "1h", Decimal(1))
    return "1h" if hour is not None and (five is None or hour > five) else "5m"


@register_estimator("enable_prompt_caching", facts=PromptCachingFacts)
def estimate_prompt_caching_saving(finding: Finding[PromptCachingFacts], prices: PriceBook) -> Estimate | None:
    """saving = (R·P − C)·input + C·read − [w·R·P·write + (1 − w)·R·P·read]

    R requests a month, P prefix tokens, C prefix tokens already read from cache a month, w the
    share of requests that write the cache: e^(−λ), λ the requests per cache lifetime (5 minutes
    or 1 hour, renewed by each read) in the hours with traffic, and at least one write a day.
    Expected with w, low with 2·w (arrivals burstier than Poisson, requests spread over
    servers), high with w / 2. The lifetime is the facts' ``ttl`` (the check picks the cheaper).
    OpenAI charges no cache write: write = input price there.
    """
    f = finding.facts
    price = prices.token_price(f.model)
    if price is None:
        return None
    expected, low, high = (_monthly(f, price, f.ttl, s) for s in (Decimal(1), Decimal(2), Decimal("0.5")))
    write = _write_price(price, f.ttl)
    if expected is None or low is None or high is None or write is None or price.cached_input_per_token is None:
        return None
    lam = requests_per_lifetime(f, f.ttl)
    w = max(write_share(lam), write_share_floor(f.requests, f.days))
    label = "5-minute" if f.ttl == "5m" else "1-hour"
    currency, per_m = price.currency, Decimal(1_000_000)
    return Estimate(
        low=Money.of(low, currency),
        expected=Money.of(expected, currency),
        high=Money.of(high, currency),
        formula=(
            "saving = (R·P − C) × input + C × cache read − [w·R·P × cache write + (1 − w)·R·P × cache read], "
            "R requests/month, P prefix tokens, C prefix tokens already cached/month, w = max(e^(−λ), one a day) "
            f"the share of requests that write (λ requests per {label} cache lifetime in active hours; "
            "low 2·w, high w/2)"
        ),
        inputs=[
            Evidence(label=f"{price.model} per 1M tokens (input / {label} cache write / cache read)",
                     value=" / ".join(format_money(x * per_m, currency)
                                      for x in (price.input_per_token, write, price.cached_input_per_token)),
                     source=f"{price.source.name} (as of {price.source.as_of})"),
            Evidence(label="Requests, prefix, λ, w",
                     value=f"{f.requests:,} in {f.days} days, {f.prefix_tokens:,} tokens, {lam:.2f} per {label} "
                     f"lifetime, {w:.1%} of requests write",
                     source=f"scaled by {DAYS_PER_MONTH}/{f.days}; {f.active_hours_per_day:g} active hours a day"),
        ],
    )
