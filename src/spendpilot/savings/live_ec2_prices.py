"""EC2 on-demand prices from ``pricing:GetProducts`` for the instance types a sweep estimates.

The packaged table (``data/ec2_prices.yaml``) is dated and goes stale: AWS cut the P4/P5 prices
by up to 45 % in June 2025, and a table recorded before that overstated every saving on them.
When ``[prices] ec2_live`` is on, a sweep asks the Price List API for each (instance type,
region) its findings name, before estimating, and estimates with a copy of the price book whose
on-demand prices are those quotes. The price book itself stays free of I/O.

A quote's source reads "from pricing:GetProducts on <date>"; where no quote was had (API denied,
unreachable, no product listed) the packaged price is used and its source says why, so a
fallback is never silent. After the first failure of the API itself, the remaining types are not
asked: an endpoint that is unreachable or denied for one type is for the next, and every ask
would wait out its timeout.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from spendpilot.adapters.aws.pricing import Ec2ListPrice
from spendpilot.errors import AdapterError
from spendpilot.savings.pricebook import HourlyPrice, PriceBook, PriceSource

DEFAULT_REGION = "us-east-1"
"""The region an estimator assumes when a finding names none (as the estimators do)."""


class OnDemandQuoter(Protocol):
    """What is asked of the Price List adapter (``AwsAdapter.pricing``)."""

    def ec2_on_demand(self, instance_type: str, region: str, currency: str = "USD") -> Ec2ListPrice | None: ...


@dataclass
class LivePrices:
    """The price book to estimate with, and what happened on the way (for the sweep's warnings)."""

    prices: PriceBook
    quoted: list[tuple[str, str]] = field(default_factory=list)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def warnings(self) -> list[str]:
        if not self.failures:
            return []
        reasons = sorted(set(self.failures.values()))
        listed = ", ".join(f"{t} ({r})" for t, r in sorted(self.failures))
        return [f"EC2 on-demand prices from the packaged table for {listed}: " + "; ".join(reasons)]


def _plain(price: Decimal) -> Decimal:
    """The Price List writes ``21.9576420000``; shown as ``21.957642`` (same value)."""
    return price.quantize(Decimal(1)) if price == price.to_integral_value() else price.normalize()


def _source(quote: Ec2ListPrice, today: date) -> PriceSource:
    details = [f"sku {quote.sku}"]
    if quote.effective_date is not None:
        details.append(f"effective {quote.effective_date.date().isoformat()}")
    if quote.publication_date is not None:
        details.append(f"published {quote.publication_date.date().isoformat()}")
    return PriceSource(
        name=f"from pricing:GetProducts on {today.isoformat()} (AWS Price List, {', '.join(details)})",
        as_of=today.isoformat(),
        live=True,
    )


def with_live_on_demand(
    prices: PriceBook, api: OnDemandQuoter, wanted: Iterable[tuple[str, str]], today: date
) -> LivePrices:
    """Ask ``api`` for the on-demand price of each (instance type, region) in ``wanted``."""
    quotes: dict[tuple[str, str], HourlyPrice] = {}
    failures: dict[tuple[str, str], str] = {}
    api_failure: str | None = None
    for instance_type, region in sorted({(t.strip().lower(), r) for t, r in wanted}):
        key = (instance_type, region)
        if api_failure is not None:
            failures[key] = api_failure
            continue
        try:
            quote = api.ec2_on_demand(instance_type, region)
        except AdapterError as exc:
            api_failure = f"pricing:GetProducts failed on {today.isoformat()} ({exc})"
            failures[key] = api_failure
            continue
        if quote is None:
            failures[key] = f"pricing:GetProducts on {today.isoformat()} lists no Linux on-demand price for it"
            continue
        quotes[key] = HourlyPrice(
            instance_type=instance_type, region=region, per_hour=_plain(quote.per_hour), currency=quote.currency,
            source=_source(quote, today),
        )
    return LivePrices(
        prices=prices.with_live_on_demand(quotes, failures), quoted=sorted(quotes), failures=failures
    )


def instance_types_in(findings: Sequence[Any]) -> set[tuple[str, str]]:
    """(instance type, region) of every finding whose facts name an EC2 instance type.

    SageMaker ``ml.*`` types are not EC2 products in the Price List and are left out.
    """
    wanted: set[tuple[str, str]] = set()
    for finding in findings:
        facts = getattr(finding, "facts", None)
        instance_type = getattr(facts, "instance_type", None)
        if not isinstance(instance_type, str) or not instance_type or instance_type.startswith("ml."):
            continue
        region = getattr(facts, "region", None)
        wanted.add((instance_type, region if isinstance(region, str) and region else DEFAULT_REGION))
    return wanted
