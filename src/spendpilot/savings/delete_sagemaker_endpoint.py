"""Saving from deleting an idle SageMaker endpoint: its instance-hours stop being billed.

monthly = sum over instance-backed variants of (hosting price per instance-hour x instance
count) x 730 h, at the price book's sourced real-time inference prices. A type without a
sourced price gets no estimate at all (the sweep reports "no price, not proposed"): the EC2
price of the same family is not the SageMaker price, and a guess would be presented as a fact.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from spendpilot.actions.delete_sagemaker_endpoint import DeleteEndpointFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.domain.metrics import SAGEMAKER_INVOCATIONS
from spendpilot.domain.money import per_unit
from spendpilot.savings.pricebook import HourlyPrice, PriceBook
from spendpilot.savings.registry import register_estimator

log = logging.getLogger(__name__)

RECREATE_ALLOWANCE = Decimal("0.2")
"""Share of the month the owner may run it again (rollback is one command), or a SageMaker
Savings Plan may cover: taken off for the low end."""


@register_estimator("delete_sagemaker_endpoint", facts=DeleteEndpointFacts)
def estimate_endpoint_deletion(finding: Finding[DeleteEndpointFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    region = facts.region or "us-east-1"
    billed = [v for v in facts.variants if v.instance_type and v.instance_count > 0]
    if not billed:
        return None  # serverless only: billed per request, nothing hourly to save
    quotes: list[tuple[int, HourlyPrice]] = []
    for v in billed:
        assert v.instance_type is not None
        quote = prices.sagemaker_hosting(v.instance_type, region)
        if quote is None:
            log.info("%s: no sourced SageMaker hosting price for %s in %s; no estimate",
                     finding.resource.ref.id, v.instance_type, region)
            return None
        quotes.append((v.instance_count, quote))
    currency = quotes[0][1].currency
    hourly = sum((q.per_hour * n for n, q in quotes), Decimal(0))
    expected = Money.of(hourly * HOURS_PER_MONTH, currency)
    terms = " + ".join(f"{q.per_hour} x {n}" for n, q in quotes)
    inputs = [
        Evidence(
            label=f"SageMaker real-time inference price {q.instance_type}",
            value=f"{per_unit(q.per_hour, q.currency, 'instance-h')} x {n} instance{'s' if n != 1 else ''}",
            source=f"{q.source.name} ({q.region}, as of {q.source.as_of}; {q.note})",
        )
        for n, q in quotes
    ]
    inputs.append(
        Evidence(
            label="Invocations over the window",
            value=f"{facts.invocations} over {facts.window_hours:.0f} h, all variants "
            f"(idle at most {facts.max_invocations})",
            source=f"CloudWatch {SAGEMAKER_INVOCATIONS} (Sum) by EndpointName, VariantName",
        )
    )
    formula = (
        "Deleting the endpoint ends its instance-hours. expected = sum over its instance-backed "
        f"variants of (hosting price per instance-hour x instance count) x {HOURS_PER_MONTH} h "
        f"= ({terms}) x {HOURS_PER_MONTH} = {expected.rounded()}; low = expected x "
        f"{1 - RECREATE_ALLOWANCE:.0%}, in case the owner recreates it for part of the month or a "
        "SageMaker Savings Plan covers part of its hours; high = expected (list price; no billing "
        f"data for the endpoint was used). The case: {facts.invocations} invocations over the "
        f"{facts.window_hours:.0f} h its instances reported. The endpoint config and model are "
        "kept (they cost nothing); the endpoint's ML storage volume goes with it and is not counted."
    )
    return Estimate(
        low=expected * (1 - RECREATE_ALLOWANCE), expected=expected, high=expected,
        formula=formula, inputs=inputs,
    )
