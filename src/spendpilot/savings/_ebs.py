"""What an EBS volume costs a month at list price: storage plus provisioned performance."""

from __future__ import annotations

from decimal import Decimal

from spendpilot.savings.pricebook import StoragePrice


def volume_monthly(price: StoragePrice, size_gb: int, iops: int | None, throughput: int | None) -> Decimal:
    """size x $/GB-month, plus IOPS and MiB/s beyond what the type includes at their prices.

    gp2, st1, sc1 have no performance price (``per_iops_month`` None): their IOPS are a function
    of size and cost nothing extra.
    """
    total = Decimal(size_gb) * price.per_gb_month
    if price.per_iops_month is not None and iops:
        total += Decimal(max(0, iops - price.included_iops)) * price.per_iops_month
    if price.per_mibps_month is not None and throughput:
        total += Decimal(max(0, throughput - price.included_throughput_mibps)) * price.per_mibps_month
    return total


def describe(price: StoragePrice) -> str:
    parts = [f"{price.per_gb_month}/GB-month"]
    if price.per_iops_month is not None:
        parts.append(f"{price.per_iops_month}/IOPS-month" + (f" over {price.included_iops}" if price.included_iops else ""))
    if price.per_mibps_month is not None:
        parts.append(f"{price.per_mibps_month}/MiB/s-month over {price.included_throughput_mibps}")
    return ", ".join(parts)
