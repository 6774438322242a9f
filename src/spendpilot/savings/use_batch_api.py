"""Saving from sending a feature's non-interactive requests through the provider's batch API."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from spendpilot.actions.llm_facts import BatchFacts
from spendpilot.domain import Estimate, Evidence, Finding, Money
from spendpilot.domain.money import DAYS_PER_MONTH, format_money
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


class MovableShare(BaseModel):
    """Share of the feature's traffic that can wait up to 24 hours for its answer.

    The expected share is not a constant: the check only admits traffic with no streamed answer
    and few requests in a conversation, so the expected share is the requests outside a
    conversation (a flat 80 % under-stated, by 20 %, features whose every request is batchable).
    The low end keeps what the data cannot show: a deadline tighter than the batch API's 24 h.
    """

    low: Decimal = Decimal("0.5")
    high: Decimal = Decimal("1.0")

    @staticmethod
    def expected(requests: int, requests_in_conversation: int) -> Decimal:
        """Requests no conversation says anyone waits for, as a share of all."""
        if requests <= 0:
            return Decimal(0)
        return 1 - Decimal(min(requests_in_conversation, requests)) / Decimal(requests)


@register_estimator("use_batch_api", facts=BatchFacts)
def estimate_batch_saving(finding: Finding[BatchFacts], prices: PriceBook) -> Estimate | None:
    """saving = [U × (input − batch input) + C × (cache read − batch cache read) + O × (output −
    batch output)] × days/month ÷ days × movable share; U uncached input, C cached input, O output
    (reasoning included). Cached tokens without a batch cache-read price save nothing here.
    Movable share: low 50 %, expected the requests outside a conversation, high 100 %."""
    f = finding.facts
    p = prices.token_price(f.model)
    if p is None or p.batch_input_per_token is None or p.batch_output_per_token is None:
        return None
    scale = DAYS_PER_MONTH / Decimal(f.days)
    cached = Decimal(f.cached_input_tokens) * scale
    uncached = Decimal(f.input_tokens) * scale - cached
    out = Decimal(f.output_tokens) * scale
    read_delta = (p.cached_input_per_token - p.batch_cached_input_per_token
                  if p.cached_input_per_token is not None and p.batch_cached_input_per_token is not None else Decimal(0))
    full = (uncached * (p.input_per_token - p.batch_input_per_token) + cached * read_delta
            + out * (p.output_per_token - p.batch_output_per_token))
    share, currency, per_m = MovableShare(), p.currency, Decimal(1_000_000)
    expected = max(share.low, MovableShare.expected(f.requests, f.requests_in_conversation))
    return Estimate(
        low=Money.of(full * share.low, currency),
        expected=Money.of(full * expected, currency),
        high=Money.of(full * share.high, currency),
        formula=(
            "saving = monthly tokens × (interactive − batch price) per kind (uncached input, cached input, "
            f"output), × the share that can wait up to 24 h: low {share.low:.0%}, expected {expected:.0%} "
            f"(requests outside a conversation), high {share.high:.0%}"
        ),
        inputs=[
            Evidence(label=f"{p.model} per 1M tokens, interactive → batch (input / output)",
                     value=f"{format_money(p.input_per_token * per_m, currency)} → "
                     f"{format_money(p.batch_input_per_token * per_m, currency)} / "
                     f"{format_money(p.output_per_token * per_m, currency)} → "
                     f"{format_money(p.batch_output_per_token * per_m, currency)}",
                     source=f"{p.source.name} (as of {p.source.as_of})"),
            Evidence(label="Monthly tokens (uncached / cached / output)",
                     value=f"{uncached:,.0f} / {cached:,.0f} / {out:,.0f}",
                     source=f"{f.days} days scaled by {DAYS_PER_MONTH}/{f.days}"),
        ],
    )
