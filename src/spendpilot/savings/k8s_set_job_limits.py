"""Saving from setting a Job's limits.

A zombie Job (active past the deadline): its active pods' requests priced at their nodes'
on-demand rate (``savings/_k8s``: the node's price split by OpenCost's default CPU/memory/GPU
weights) per hour, times:
- expected: the hours left in the month from the sweep (the Job shows no sign of ending);
- high: a whole month (730 h);
- low: 24 h, or the hours left in the month when fewer (it might have ended by itself within a day).
Freed requests turn into money when the cluster autoscaler (or Karpenter) removes the capacity
they held; the formula says so. Without a price for a pod's node type: no estimate.

A TTL or a deadline set on a Job or CronJob that is not a zombie: $0. Finished Jobs hold no
requests; this is hygiene (the API and every listing stay small), stated as such.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from decimal import Decimal

from spendpilot.actions.k8s_facts import JobLimitsFacts
from spendpilot.checks.k8s_job_limits import JobLimitsCheckFacts
from spendpilot.domain import HOURS_PER_MONTH, Estimate, Evidence, Finding, Money
from spendpilot.savings._k8s import charge_price
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import register_estimator


def hours_left_in_month(at: datetime) -> Decimal:
    at = at.astimezone(UTC)
    days = calendar.monthrange(at.year, at.month)[1]
    end = datetime(at.year, at.month, days, tzinfo=UTC).replace(hour=23, minute=59, second=59)
    return Decimal(str(round((end - at).total_seconds() / 3600, 2)))


@register_estimator("k8s_set_job_limits", facts=JobLimitsFacts)
def estimate_job_limits(finding: Finding[JobLimitsFacts], prices: PriceBook) -> Estimate | None:
    facts = finding.facts
    if not isinstance(facts, JobLimitsCheckFacts) or not facts.zombie:
        zero = Money.of(Decimal(0), "USD")
        return Estimate(
            low=zero, expected=zero, high=zero,
            formula="$0: a TTL (or a deadline) on a Job that is not running past its limit frees no requests now; "
            "finished Jobs hold none. Hygiene: finished Jobs and their pods stop piling up in the API.",
        )  # fmt: skip
    per_hour = Decimal(0)
    inputs: list[Evidence] = []
    currency = "USD"
    for c in facts.pods:
        priced = charge_price(c, prices)
        if priced is None:
            return None  # no price for this node type: no number beats a made-up one
        per_hour += priced.per_hour
        currency = priced.node_price.currency
        inputs.append(Evidence(label=f"Pod {c.pod}", value=priced.explanation,
                               source=f"{priced.node_price.source.name} (as of {priced.node_price.source.as_of})"))  # fmt: skip
    if not facts.pods:
        return None
    left = hours_left_in_month(facts.observed_at or datetime.now(UTC))
    low_hours = min(Decimal(24), left)  # near a month's end fewer hours than a day remain
    if facts.unpriced_pods:
        inputs.append(
            Evidence(
                label="Not priced",
                value=", ".join(facts.unpriced_pods),
                source="node or instance type unknown",
            )
        )
    formula = (
        f"Stopping the zombie frees its pods' requests: {per_hour.quantize(Decimal('0.0001'))} $/h (each pod's CPU, memory "
        f"and GPU requests at its node's on-demand price split by OpenCost's default weights). expected = x {left} h left "
        f"in the month, high = x {HOURS_PER_MONTH} h, low = x {low_hours} h (had it ended by itself within a day). Money is saved "
        "when the autoscaler removes the capacity the requests held."
    )
    return Estimate(
        low=Money.of(per_hour * low_hours, currency),
        expected=Money.of(per_hour * left, currency),
        high=Money.of(per_hour * HOURS_PER_MONTH, currency),
        formula=formula, inputs=inputs,
    )  # fmt: skip
