"""Saving from stopping a zombie SageMaker training job: the instance-hours it would still bill.

A running training job bills until its code exits or SageMaker stops it at its limit
(``MaxRuntimeInSeconds``; managed spot: ``MaxWaitTimeInSeconds``). A zombie's code is assumed not
to exit by itself, so:

- expected = high = training price x instance count x hours left until that limit, or a month
  (730 h) when the job states no limit; never more than a month;
- low = the same for at most one more time-to-live, in case the job was about to finish after all.

A managed spot job bills spot rates: its figures are multiplied by the typical spot share of the
EC2 family (``_sagemaker_spot``). It is a one-off saving, falling within the month (a job runs at
most 28 days); it is reported in the monthly column because that is where it lands.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from spendpilot.actions.stop_training_job import StopTrainingJobFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.domain.money import per_unit
from spendpilot.savings._sagemaker_spot import managed_spot_share
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator

log = logging.getLogger(__name__)


@register_estimator("stop_training_job", facts=StopTrainingJobFacts)
def estimate_training_job_stop(finding: Finding[StopTrainingJobFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    region = facts.region or "us-east-1"
    quote = prices.sagemaker_component("training", facts.instance_type, region)
    if quote is None:
        log.info("%s: no sourced SageMaker training price for %s in %s; no estimate",
                 finding.resource.ref.id, facts.instance_type, region)
        return None
    share = Decimal(1)
    inputs = [Evidence(
        label=f"SageMaker training price {quote.instance_type}",
        value=f"{per_unit(quote.per_hour, quote.currency, 'instance-h')} x {facts.instance_count}",
        source=f"{quote.source.name} ({quote.region}, as of {quote.source.as_of}; {quote.note})",
    )]
    if facts.managed_spot:
        spot = managed_spot_share(prices, facts.instance_type, region)
        if spot is None:
            log.info("%s: managed spot job without a spot reference for %s; no estimate",
                     finding.resource.ref.id, facts.instance_type)
            return None
        share = spot.typical
        inputs.append(spot.evidence)
    if facts.limit_hours is not None:
        left = Decimal(str(max(0.0, facts.limit_hours - facts.running_hours)))
        basis = (f"{left:.1f} h left until SageMaker's own limit ({facts.limit_hours:.0f} h after the start, "
                 f"{'MaxWaitTimeInSeconds' if facts.managed_spot else 'MaxRuntimeInSeconds'})")
    else:
        left = HOURS_PER_MONTH
        basis = f"no limit stated: a month ({HOURS_PER_MONTH} h)"
    left = min(left, HOURS_PER_MONTH).quantize(Decimal("0.1"))
    low_hours = min(left, Decimal(str(facts.ttl_hours)))
    hourly = quote.per_hour * facts.instance_count * share
    expected = Money.of(hourly * left, quote.currency)
    low = Money.of(hourly * low_hours, quote.currency)
    spot_note = f" x {share} (typical spot share)" if facts.managed_spot else ""
    formula = (
        f"Stopping ends the job's instance-hours. expected = high = {quote.per_hour} x {facts.instance_count}"
        f"{spot_note} x {left} h = {expected.rounded()}, the hours it would still bill: {basis}, assuming its "
        f"code never exits on its own. low = the same for at most one more time-to-live ({low_hours} h) = "
        f"{low.rounded()}, in case it was about to finish. A one-off saving within the month. The case: "
        f"InProgress for {facts.running_hours:.0f} h against a {facts.ttl_hours:g} h time-to-live."
    )
    return Estimate(low=low, expected=expected, high=expected, formula=formula, inputs=inputs)
