"""Deterministic synthesis of what a scenario describes: metric points, FOCUS rows, LLM usage.

Pure functions (no I/O); the seeder and the demo write their output.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from spendpilot.domain import LlmUsage
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.model import LlmUsageSpec, MetricProfile, Scenario

FOCUS_COLUMNS = [
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeDescription",
    "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "ConsumedQuantity", "ConsumedUnit",
    "EffectiveCost", "ListCost", "ListUnitPrice", "PricingCategory", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "InvoiceIssuerName", "RegionId", "RegionName",
    "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId",
    "SubAccountId", "SubAccountName", "Tags",
]  # fmt: skip


_PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic", "bedrock": "AWS"}


def hourly_points(
    profile: MetricProfile, *, end: datetime, hours: int, rng: random.Random
) -> list[tuple[datetime, float]]:
    """One value per hour ending at ``end`` (exclusive), clamped to 0-100 percent."""
    end = end.replace(minute=0, second=0, microsecond=0)
    out: list[tuple[datetime, float]] = []
    for h in range(hours, 0, -1):
        at = end - timedelta(hours=h)
        if profile.profile == "flat":
            base = profile.mean
        else:
            phase = math.cos((at.hour - 14) / 24 * 2 * math.pi)  # 1 at 14:00 UTC
            base = profile.low + (profile.high - profile.low) * (phase + 1) / 2
        value = base + rng.uniform(-profile.jitter, profile.jitter)
        out.append((at, round(min(100.0, max(0.0, value)), 3)))
    return out


def _period_bounds(day: date) -> tuple[str, str]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return f"{start} 00:00:00", f"{end} 00:00:00"


def _row(
    scenario: Scenario,
    *,
    day: date,
    cost: Decimal,
    service: str,
    category: str,
    description: str,
    resource_id: str | None,
    resource_name: str | None,
    resource_type: str | None,
    tags: dict[str, str],
    quantity: Decimal | None = None,
    unit: str | None = None,
    unit_price: Decimal | None = None,
    provider: str | None = None,
    account_id: str | None = None,
    account_name: str | None = None,
    sku: str | None = None,
    region: str | None = None,
) -> dict[str, str]:
    period_start, period_end = _period_bounds(day)
    cost_s = f"{cost.quantize(Decimal('0.0000000001'))}"
    billing = scenario.billing
    return {
        "BilledCost": cost_s,
        "BillingAccountId": account_id or billing.billing_account_id,
        "BillingAccountName": account_name or billing.billing_account_name,
        "BillingCurrency": billing.currency,
        "BillingPeriodEnd": period_end,
        "BillingPeriodStart": period_start,
        "ChargeCategory": "Usage",
        "ChargeDescription": description,
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": f"{day + timedelta(days=1)} 00:00:00",
        "ChargePeriodStart": f"{day} 00:00:00",
        "ConsumedQuantity": str(quantity) if quantity is not None else "",
        "ConsumedUnit": unit or "",
        "EffectiveCost": cost_s,
        "ListCost": cost_s,
        "ListUnitPrice": str(unit_price) if unit_price is not None else "",
        "PricingCategory": "Standard",
        "PricingQuantity": str(quantity) if quantity is not None else "",
        "PricingUnit": unit or "",
        "ProviderName": provider or billing.provider,
        "PublisherName": provider or billing.provider,
        "InvoiceIssuerName": provider or billing.provider,
        "RegionId": region if region is not None else scenario.region,
        "RegionName": region if region is not None else scenario.region,
        "ResourceId": resource_id or "",
        "ResourceName": resource_name or "",
        "ResourceType": resource_type or "",
        "ServiceCategory": category,
        "ServiceName": service,
        "SkuId": sku or "",
        "SubAccountId": account_id or scenario.account_id,
        "SubAccountName": account_name or scenario.account_name,
        "Tags": json.dumps(tags, sort_keys=True) if tags else "",
    }


def focus_rows(
    scenario: Scenario,
    *,
    instances: list[tuple[str, str, str, dict[str, str], datetime]],
    usage: list[LlmUsage],
    now: datetime,
    prices: PriceBook,
) -> Iterator[dict[str, str]]:
    """FOCUS rows for ``billing_days`` days before ``now``.

    ``instances`` are (instance id, name, instance type, tags, launch time) as they exist in
    the seeded account, so ResourceId in billing matches the inventory, as in a real CUR.
    """
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=d) for d in range(scenario.billing_days, 0, -1)]
    for day in days:
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for iid, name, itype, tags, launched in instances:
            hours = Decimal(24)
            if launched > day_start:
                remaining = (day_start + timedelta(days=1) - launched).total_seconds() / 3600
                if remaining <= 0:
                    continue
                hours = Decimal(str(round(remaining, 3)))
            quote = prices.on_demand(itype, scenario.region)
            if quote is None:
                continue
            yield _row(
                scenario,
                day=day,
                cost=quote.per_hour * hours,
                service="Amazon Elastic Compute Cloud",
                category="Compute",
                description=f"${quote.per_hour} per On Demand Linux {itype} Instance Hour",
                resource_id=iid,
                resource_name=name,
                resource_type="Instance",
                tags=tags,
                quantity=hours,
                unit="Hours",
                unit_price=quote.per_hour,
                sku=f"BoxUsage:{itype}",
            )
        for item in scenario.billing.extra_line_items:
            yield _row(
                scenario,
                day=day,
                cost=item.daily_cost,
                service=item.service,
                category=item.category,
                description=f"{item.service} usage",
                resource_id=item.resource_id,
                resource_name=item.resource_name,
                resource_type=None,
                tags=item.tags,
            )
    for rec in usage:
        if rec.day not in days:
            continue
        yield _row(
            scenario,
            day=rec.day,
            cost=rec.cost,
            service=f"{_PROVIDER_NAMES.get(rec.provider, rec.provider.title())} API",
            category="AI and Machine Learning",
            description=f"{rec.model} tokens ({rec.requests} requests)",
            resource_id=f"{rec.project_id or rec.feature}/{rec.model}",
            resource_name=rec.feature,
            resource_type="LLM Model",
            tags={"feature": rec.feature},
            quantity=Decimal(rec.input_tokens + rec.output_tokens),
            unit="Tokens",
            provider=_PROVIDER_NAMES.get(rec.provider, rec.provider.title()),
            account_id=f"org-{scenario.account_name or scenario.name}",
            account_name=scenario.account_name or scenario.name,
            sku=rec.model,
            region="",
        )


def llm_usage_records(
    spec: LlmUsageSpec, *, days: int, now: datetime, prices: PriceBook, seed: int
) -> list[LlmUsage]:
    """Daily usage per feature and model, priced from the price book's token prices."""
    rng = random.Random(seed)
    today = now.astimezone(UTC).date()
    out: list[LlmUsage] = []
    for d in range(days, 0, -1):
        day = today - timedelta(days=d)
        for f in spec.features:
            requests = max(0, round(f.requests_per_day * (1 + rng.uniform(-f.jitter, f.jitter))))
            input_tokens = requests * f.input_tokens_per_request
            cached = round(input_tokens * f.cached_input_share)
            output_tokens = requests * f.output_tokens_per_request
            price = prices.token_price(f.model)
            cost = Decimal(0)
            if price is not None:
                cached_rate = price.cached_input_per_token or price.input_per_token
                cost = (
                    Decimal(input_tokens - cached) * price.input_per_token
                    + Decimal(cached) * cached_rate
                    + Decimal(output_tokens) * price.output_per_token
                )
            out.append(
                LlmUsage(
                    day=day,
                    provider=spec.provider,
                    model=f.model,
                    feature=f.feature,
                    project_id=f.project_id,
                    requests=requests,
                    input_tokens=input_tokens,
                    cached_input_tokens=cached,
                    output_tokens=output_tokens,
                    cost=cost.quantize(Decimal("0.000001")),
                )
            )
    return out
