"""Saving from stopping an idle SageMaker notebook instance: its instance-hours.

expected = high = notebook price per hour x 730 h (a notebook left running runs all month);
low = expected x 0.8, in case its owner starts it again for part of the month (a start is one
click or ``spendpilot rollback``). The ML storage volume stays and keeps billing; it is not counted.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from spendpilot.actions.stop_notebook_instance import StopNotebookFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.domain.money import per_unit
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

log = logging.getLogger(__name__)
RESTART_ALLOWANCE = Decimal("0.2")


@register_estimator("stop_notebook_instance", facts=StopNotebookFacts)
def estimate_notebook_stop(finding: Finding[StopNotebookFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    region = facts.region or "us-east-1"
    quote = prices.sagemaker_component("notebook", facts.instance_type, region)
    if quote is None:
        log.info("%s: no sourced SageMaker notebook price for %s in %s; no estimate",
                 finding.resource.ref.id, facts.instance_type, region)
        return None
    expected = Money.of(quote.per_hour * HOURS_PER_MONTH, quote.currency)
    low = expected * (1 - RESTART_ALLOWANCE)
    formula = (
        f"Stopping ends the notebook's instance-hours: expected = high = {quote.per_hour} x {HOURS_PER_MONTH} h = "
        f"{expected.rounded()}; low = expected x {1 - RESTART_ALLOWANCE:.0%} = {low.rounded()}, in case its owner "
        "starts it again for part of the month. Its ML storage volume stays (and bills); not counted. The case: "
        f"no Jupyter activity for {facts.idle_hours:.0f} h."
    )
    inputs = [Evidence(
        label=f"SageMaker notebook instance price {quote.instance_type}",
        value=per_unit(quote.per_hour, quote.currency, "instance-h"),
        source=f"{quote.source.name} ({quote.region}, as of {quote.source.as_of}; {quote.note})",
    )]
    return Estimate(low=low, expected=expected, high=expected, formula=formula, inputs=inputs)
