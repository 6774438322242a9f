"""What a set of tokens costs, each kind at its own price, each token counted exactly once.

Providers and instrumentations count the same request differently, and the two known ways to
get a token bill wrong are both about that:

- **Cached tokens double-counted.** OpenTelemetry's ``gen_ai.usage.input_tokens`` and OpenAI's
  ``prompt_tokens`` *include* the cache reads (and writes); Anthropic's API ``input_tokens``
  *excludes* both. Pricing OTel's input at the input rate and its cache reads again at the
  cache rate bills the cached part twice.
- **Reasoning tokens double-counted or unpriced.** Reasoning (thinking) tokens are part of the
  output count in OTel, OpenAI and Anthropic alike, and are billed at the output rate unless
  the price file lists a reasoning price.

``TokenCounts`` therefore holds *disjoint* parts (uncached input, cache read, cache write by
TTL, visible output, reasoning) and is built through a constructor named for the convention the
numbers came in; ``token_cost`` prices each part once. A part with no price in the book is
reported, never silently priced at zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from spendpilot.errors import SpendpilotError
from spendpilot.savings.pricebook import TokenPrice

__all__ = ["TokenCounts", "TokenCost", "token_cost", "UnpricedTokens"]


class UnpricedTokens(SpendpilotError):
    """Tokens of a kind the price book has no price for (e.g. a 1-hour cache write on a model
    whose price file lists none): no cost is better than a wrong one."""


@dataclass(frozen=True)
class TokenCounts:
    """Disjoint token counts of one or more requests: every token is in exactly one field."""

    uncached_input: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0
    """Output tokens that are not reasoning tokens."""
    reasoning: int = 0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise ValueError(f"{name} = {value}: token counts cannot be negative")

    @classmethod
    def from_otel(
        cls, *, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0,
        reasoning: int = 0, cache_write_1h: int = 0,
    ) -> TokenCounts:
        """OTel GenAI / OpenAI convention: ``input_tokens`` includes cache reads and writes,
        ``output_tokens`` includes reasoning. ``cache_write`` is the 5-minute writes,
        ``cache_write_1h`` the 1-hour ones (both parts of ``input_tokens``)."""
        uncached = input_tokens - cache_read - cache_write - cache_write_1h
        if uncached < 0:
            raise ValueError(
                f"input_tokens {input_tokens} < cache read {cache_read} + cache writes "
                f"{cache_write + cache_write_1h}: these are not OTel-convention counts (Anthropic's "
                "API counts input without the cache; use TokenCounts.from_anthropic_api)"
            )
        if reasoning > output_tokens:
            raise ValueError(f"reasoning tokens {reasoning} > output tokens {output_tokens}")
        return cls(uncached, cache_read, cache_write, cache_write_1h, output_tokens - reasoning, reasoning)

    @classmethod
    def from_anthropic_api(
        cls, *, input_tokens: int, output_tokens: int, cache_read_input_tokens: int = 0,
        cache_creation_5m: int = 0, cache_creation_1h: int = 0,
    ) -> TokenCounts:
        """Anthropic Messages API ``usage``: ``input_tokens`` is only the tokens after the last
        cache breakpoint; cache reads and writes (``cache_creation.ephemeral_5m_input_tokens`` /
        ``ephemeral_1h_input_tokens``) are counted beside it. Thinking tokens are inside
        ``output_tokens`` and not reported apart, so they are priced as output."""
        return cls(input_tokens, cache_read_input_tokens, cache_creation_5m, cache_creation_1h, output_tokens, 0)

    @property
    def input_total(self) -> int:
        """Every input token, the OTel ``input_tokens``."""
        return self.uncached_input + self.cache_read + self.cache_write_5m + self.cache_write_1h

    @property
    def output_total(self) -> int:
        return self.output + self.reasoning


@dataclass(frozen=True)
class TokenCost:
    """The cost of ``TokenCounts`` per kind, in the price's currency."""

    uncached_input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal
    reasoning: Decimal
    currency: str

    @property
    def total(self) -> Decimal:
        return self.uncached_input + self.cache_read + self.cache_write + self.output + self.reasoning


def _rate(rate: Decimal | None, count: int, kind: str, model: str) -> Decimal:
    if count == 0:
        return Decimal(0)
    if rate is None:
        raise UnpricedTokens(f"{count:,} {kind} tokens of {model}: the price book has no {kind} price")
    return Decimal(count) * rate


def token_cost(price: TokenPrice, counts: TokenCounts, *, batch: bool = False) -> TokenCost:
    """Each kind of token at its own price: uncached input at the input price, cache reads at
    the cache-read price, cache writes at the 5-minute or 1-hour write price, output and
    reasoning at theirs. With ``batch`` the batch prices apply (input, output, cache read).

    Cache writes on a model without a write price (OpenAI) cost the input price: OpenAI
    charges nothing extra to write its cache. Any other missing price raises ``UnpricedTokens``.
    """
    model = price.model
    input_rate = price.batch_input_per_token if batch else price.input_per_token
    output_rate = price.batch_output_per_token if batch else price.output_per_token
    read_rate = price.batch_cached_input_per_token if batch else price.cached_input_per_token
    if batch and read_rate is None and counts.cache_read and price.cached_input_per_token is not None:
        raise UnpricedTokens(f"{counts.cache_read:,} cache-read tokens of {model}: no batch cache-read price")
    reasoning_rate = price.reasoning_per_token if not batch else output_rate
    if batch and price.reasoning_priced_separately:
        raise UnpricedTokens(f"{model}: reasoning is priced apart but the price book has no batch reasoning price")
    no_write_charge = price.cache_write_per_token is None and price.provider == "openai"
    write_5m = input_rate if no_write_charge else price.cache_write_per_token
    write_1h = input_rate if no_write_charge else price.cache_write_1h_per_token
    if batch and not no_write_charge and (counts.cache_write_5m or counts.cache_write_1h):
        raise UnpricedTokens(f"{model}: cache writes in a batch are not priced by the price book")
    return TokenCost(
        uncached_input=_rate(input_rate, counts.uncached_input, "batch input" if batch else "input", model),
        cache_read=_rate(read_rate, counts.cache_read, "cache-read", model),
        cache_write=_rate(write_5m, counts.cache_write_5m, "5-minute cache-write", model)
        + _rate(write_1h, counts.cache_write_1h, "1-hour cache-write", model),
        output=_rate(output_rate, counts.output, "batch output" if batch else "output", model),
        reasoning=_rate(reasoning_rate, counts.reasoning, "reasoning", model),
        currency=price.currency,
    )
