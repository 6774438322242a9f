"""EC2 on-demand list prices from the AWS Price List Query API (``pricing:GetProducts``).

The bundled price book is hand-recorded and dated; this reads the price AWS publishes now, for
one instance type in one region. The API answers with ``PriceList``: a list of JSON documents
*as strings* (one per product: ``product.attributes``, ``product.sku`` and ``terms.OnDemand``
→ offer term → ``priceDimensions`` → ``pricePerUnit.USD`` per ``unit`` "Hrs"), which is parsed
and checked here, so a malformed entry is an error naming its position, never a silent zero.

The API is served from a few regions only (us-east-1, eu-central-1, ap-south-1) and is global
in what it answers: the region asked about is a filter (``regionCode``), not the endpoint.
Sweeps use it with ``[prices] ec2_live`` (``savings.live_ec2_prices``); otherwise estimates use the
packaged price book and say its date.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import AwareDatetime, BaseModel

from spendpilot.domain.money import DecimalStr
from spendpilot.errors import AdapterError

PRICING_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
"""Where the Price List Query API has endpoints."""

LINUX_SHARED = {
    "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used",
    "licenseModel": "No License required",
}
"""The product the price book's on-demand prices mean: Linux, shared tenancy, no pre-installed
software, capacity actually used (not an unused reservation)."""


class Ec2ListPrice(BaseModel):
    instance_type: str
    region: str
    per_hour: DecimalStr
    currency: str
    sku: str
    effective_date: AwareDatetime | None
    publication_date: AwareDatetime | None
    description: str = ""


def _product(raw: Any, n: int) -> dict[str, Any]:
    try:
        doc = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise AdapterError(f"pricing:GetProducts: PriceList entry {n} is not JSON ({exc.msg} at {exc.pos})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("product"), dict):
        raise AdapterError(f"pricing:GetProducts: PriceList entry {n} has no product")
    return doc


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _hourly(doc: dict[str, Any], n: int, currency: str) -> tuple[Decimal, str, datetime | None]:
    """The one hourly on-demand price of a product: (price, description, effective date)."""
    found: list[tuple[Decimal, str, datetime | None]] = []
    for term in (doc.get("terms", {}).get("OnDemand") or {}).values():
        for dim in (term.get("priceDimensions") or {}).values():
            if dim.get("unit") != "Hrs":
                continue
            raw = (dim.get("pricePerUnit") or {}).get(currency)
            try:
                price = Decimal(str(raw))
            except (InvalidOperation, TypeError) as exc:
                raise AdapterError(
                    f"pricing:GetProducts: PriceList entry {n} (sku {doc['product'].get('sku')}): pricePerUnit.{currency} "
                    f"is {raw!r}, not a number"
                ) from exc
            found.append((price, str(dim.get("description", "")), _when(term.get("effectiveDate"))))
    if len(found) != 1:
        raise AdapterError(
            f"pricing:GetProducts: PriceList entry {n} (sku {doc['product'].get('sku')}) has {len(found)} hourly "
            f"on-demand prices in {currency}; expected one"
        )
    return found[0]


class PricingApi:
    def __init__(self, client: Any) -> None:
        self._client = client

    def ec2_on_demand(self, instance_type: str, region: str, currency: str = "USD") -> Ec2ListPrice | None:
        """The Linux/shared on-demand $/h of ``instance_type`` in ``region``; None when AWS lists none.

        Several products can match the filters (the API's attributes are finer than ours); their
        ``BoxUsage`` one is the instance-hour. Two different prices left after that are an error:
        choosing one would be a guess.
        """
        filters = {"instanceType": instance_type, "regionCode": region, **LINUX_SHARED}
        paginator = self._client.get_paginator("get_products")
        candidates: list[tuple[dict[str, Any], int]] = []
        n = 0
        for page in paginator.paginate(
            ServiceCode="AmazonEC2", FormatVersion="aws_v1",
            Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()],
        ):
            for raw in page.get("PriceList", []):
                n += 1
                doc = _product(raw, n)
                attrs = doc["product"].get("attributes") or {}
                if attrs.get("instanceType") == instance_type and attrs.get("regionCode", region) == region:
                    candidates.append((doc, n))
        box = [(d, i) for d, i in candidates if "BoxUsage" in str(d["product"].get("attributes", {}).get("usagetype", ""))]
        chosen = box or candidates
        if not chosen:
            return None
        prices = {(d["product"].get("sku"), *_hourly(d, i, currency)) for d, i in chosen}
        if len({p[1] for p in prices}) > 1:
            listed = ", ".join(f"{sku} {price}" for sku, price, _, _ in sorted(prices, key=str))
            raise AdapterError(f"pricing:GetProducts: {instance_type} in {region} has several prices ({listed}); not guessing")
        sku, price, description, effective = sorted(prices, key=str)[0]
        doc = chosen[0][0]
        return Ec2ListPrice(
            instance_type=instance_type, region=region, per_hour=price, currency=currency, sku=str(sku),
            effective_date=effective, publication_date=_when(doc.get("publicationDate")), description=description,
        )
