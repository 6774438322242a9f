"""Realistic synthetic FOCUS 1.0 rows, built column-wise with numpy and pyarrow (no row loops).

The mix looks like an ML team's AWS bill: hourly EC2 GPU and CPU instances, SageMaker,
Bedrock, S3, EKS, data transfer; tags with a few keys carrying a leading space (as real exports
do) and some resources untagged. About 0.1% of rows are deliberately bad (unparseable number or
timestamp, missing ProviderName, broken Tags JSON, reversed charge period) so that ingestion's
quarantine path is exercised at scale.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

# (ServiceName, ServiceCategory, weight, hourly list price in USD, ResourceType, id prefix)
_SERVICES: list[tuple[str, str, float, str, str, str]] = [
    ("Amazon Elastic Compute Cloud", "Compute", 0.40, "GPU", "Instance", "i-"),
    ("Amazon Elastic Compute Cloud", "Compute", 0.20, "CPU", "Instance", "i-"),
    ("Amazon SageMaker", "AI and Machine Learning", 0.10, "4.6100", "Endpoint",
     "arn:aws:sagemaker"),
    ("Amazon Bedrock", "AI and Machine Learning", 0.05, "0.0150", "Model", "arn:aws:bedrock"),
    ("Amazon Simple Storage Service", "Storage", 0.10, "0.0230", "Bucket", "arn:aws:s3"),
    ("Amazon Elastic Kubernetes Service", "Compute", 0.05, "0.1000", "Cluster", "arn:aws:eks"),
    ("AWS Data Transfer", "Networking", 0.05, "0.0900", "Transfer", "arn:aws:ec2"),
    ("Amazon CloudWatch", "Management and Governance", 0.05, "0.0300", "Metric", "arn:aws:cw"),
]
_GPU_TYPES = [("p5.48xlarge", "98.3200"), ("p4d.24xlarge", "32.7726"), ("g5.12xlarge", "5.6720"),
              ("g5.xlarge", "1.0060"), ("g6.2xlarge", "0.9776"), ("p3.2xlarge", "3.0600")]
_CPU_TYPES = [("m5.large", "0.0960"), ("c6i.2xlarge", "0.3400"), ("r6i.4xlarge", "1.0080"),
              ("t3.medium", "0.0416")]
_REGIONS = [("us-east-1", "US East (N. Virginia)"), ("us-west-2", "US West (Oregon)"),
            ("eu-west-1", "Europe (Ireland)")]
_TEAMS = ["ml-platform", "search", "recsys", "llm-apps", "data-eng", "vision"]
_ENVS = ["prod", "staging", "dev"]

COLUMNS = [
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory",
    "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountStatus",
    "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice",
    "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory",
    "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
]

_SCALE = 10**10
"""Money is generated as integer units of 1e-10 USD and formatted as an exact decimal string."""


def _fixed(units: np.ndarray, decimals: int = 10) -> pa.Array:
    """Format integer units of 10**-decimals as exact decimal strings (negative values allowed)."""
    sign = np.where(units < 0, "-", "")
    mag = np.abs(units)
    whole = pc.cast(pa.array(mag // 10**decimals), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(mag % 10**decimals), pa.string()), decimals, "0")
    return pc.binary_join_element_wise(pa.array(sign), whole, ".", frac, "")


def _pick(rng: np.random.Generator, pool: list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(pool, pa.string()).take(pa.array(idx))


def _price_units(price: str) -> int:
    whole, _, frac = price.partition(".")
    return int(whole) * _SCALE + int(frac.ljust(10, "0")[:10])


def synthetic_focus_table(n: int, seed: int = 7, bad_fraction: float = 0.001,
                          end: datetime | None = None) -> pa.Table:
    """``n`` FOCUS rows as an all-string Arrow table, exactly as they would sit in a CSV export."""
    rng = np.random.default_rng(seed)
    end = end or datetime(2025, 6, 1, tzinfo=UTC)
    hours_back = 60 * 24
    hour = rng.integers(1, hours_back + 1, n)
    start_s = np.datetime64(end.replace(tzinfo=None), "s") - hour.astype("timedelta64[h]")
    start_ts = pa.array(start_s, pa.timestamp("s"))
    end_ts = pa.array(start_s + np.timedelta64(1, "h"), pa.timestamp("s"))
    fmt = "%Y-%m-%d %H:%M:%S"
    months = start_s.astype("datetime64[M]")
    bp_start = pc.strftime(pa.array(months.astype("datetime64[s]"), pa.timestamp("s")), fmt)
    bp_end = pc.strftime(pa.array((months + 1).astype("datetime64[s]"), pa.timestamp("s")), fmt)

    weights = np.array([s[2] for s in _SERVICES])
    svc = rng.choice(len(_SERVICES), n, p=weights / weights.sum())
    n_resources = 20_000
    res_idx = rng.integers(0, n_resources, n)
    # A resource belongs to exactly one service: make its id from the service row it was drawn for.
    gpu = rng.integers(0, len(_GPU_TYPES), n)
    cpu = rng.integers(0, len(_CPU_TYPES), n)
    is_gpu = svc == 0
    is_cpu = svc == 1
    hourly = np.array([_price_units(s[3]) if s[3][0].isdigit() else 0 for s in _SERVICES])[svc]
    hourly = np.where(is_gpu, np.array([_price_units(p) for _, p in _GPU_TYPES])[gpu], hourly)
    hourly = np.where(is_cpu, np.array([_price_units(p) for _, p in _CPU_TYPES])[cpu], hourly)
    hourly_billed = is_gpu | is_cpu | (svc == 2) | (svc == 5)  # instances, endpoints, clusters
    quantity_milli = np.where(hourly_billed, 1000, rng.integers(1, 50_000, n))
    billed = hourly * quantity_milli // 1000
    covered = rng.random(n) < 0.25
    effective = np.where(covered, billed * 72 // 100, billed)
    refund = rng.random(n) < 0.002
    billed = np.where(refund, -billed, billed)
    effective = np.where(refund, -effective, effective)

    instance_type = np.where(is_gpu, np.array([t for t, _ in _GPU_TYPES])[gpu],
                             np.array([t for t, _ in _CPU_TYPES])[cpu])
    hexes = [f"{(i * 2654435761) % (1 << 64):016x}" for i in range(n_resources)]
    prefix = np.array([s[5] for s in _SERVICES])[svc]
    resource_id = pc.binary_join_element_wise(
        pa.array(prefix),
        pc.if_else(pa.array(is_gpu | is_cpu), "", ":us-east-1:123456789012:res/"),
        _pick(rng, hexes, res_idx), "")
    team_idx = res_idx % (len(_TEAMS) + 1)
    tag_pool = []
    for t in range(len(_TEAMS) + 1):
        for e, env in enumerate(_ENVS):
            for space in (0, 1):
                key = " team" if space else "team"
                if t == len(_TEAMS):
                    tag_pool.append(f'{{"env": "{env}", "cost-center": "cc-{e}"}}')
                else:
                    tag_pool.append(
                        f'{{"{key}": "{_TEAMS[t]}", "env": "{env}", "project": "p{t}{e}"}}'
                    )
    tag_idx = team_idx * len(_ENVS) * 2 + (res_idx // 7 % len(_ENVS)) * 2 + (res_idx % 13 == 0)
    tags = _pick(rng, tag_pool, tag_idx)
    tags = pc.if_else(pa.array(res_idx % 10 == 9), pa.scalar(None, pa.string()), tags)
    region = rng.integers(0, len(_REGIONS), n)
    region_id = _pick(rng, [r for r, _ in _REGIONS], region)
    null = pa.nulls(n, pa.string())
    missing = pa.scalar(None, pa.string())
    zone = pa.array(np.array(["a", "b", "c"])[res_idx % 3])
    savings_plan = "arn:aws:savingsplans::123456789012:savingsplan/sp-1"
    train_name = pc.binary_join_element_wise("train-", _pick(rng, hexes, res_idx), "")

    def const(value: str) -> pa.Array:
        return pa.repeat(pa.scalar(value, pa.string()), n)

    service_names = [s[0] for s in _SERVICES]
    cols: dict[str, pa.Array] = {
        "AvailabilityZone": pc.binary_join_element_wise(region_id, zone, ""),
        "BilledCost": _fixed(billed),
        "BillingAccountId": const("123456789012"),
        "BillingAccountName": const("Acme ML"),
        "BillingCurrency": const("USD"),
        "BillingPeriodEnd": bp_end,
        "BillingPeriodStart": bp_start,
        "ChargeCategory": pc.if_else(pa.array(refund), "Credit", "Usage"),
        "ChargeClass": null,
        "ChargeDescription": pc.binary_join_element_wise(
            _pick(rng, service_names, svc), " usage of ", pa.array(instance_type), ""),
        "ChargeFrequency": const("Usage-Based"),
        "ChargePeriodEnd": pc.strftime(end_ts, fmt),
        "ChargePeriodStart": pc.strftime(start_ts, fmt),
        "CommitmentDiscountCategory": pc.if_else(pa.array(covered), "Spend", missing),
        "CommitmentDiscountId": pc.if_else(pa.array(covered), savings_plan, missing),
        "CommitmentDiscountName": null,
        "CommitmentDiscountStatus": pc.if_else(pa.array(covered), "Used", missing),
        "CommitmentDiscountType": pc.if_else(pa.array(covered), "Savings Plan", missing),
        "ConsumedQuantity": _fixed(quantity_milli, 3),
        "ConsumedUnit": const("Hours"),
        "ContractedCost": _fixed(billed),
        "ContractedUnitPrice": _fixed(hourly),
        "EffectiveCost": _fixed(effective),
        "InvoiceIssuerName": const("Amazon Web Services, Inc."),
        "ListCost": _fixed(billed),
        "ListUnitPrice": _fixed(hourly),
        "PricingCategory": const("Standard"),
        "PricingQuantity": _fixed(quantity_milli, 3),
        "PricingUnit": const("Hours"),
        "ProviderName": const("AWS"),
        "PublisherName": const("Amazon Web Services, Inc."),
        "RegionId": region_id,
        "RegionName": _pick(rng, [r for _, r in _REGIONS], region),
        "ResourceId": resource_id,
        "ResourceName": pc.if_else(pa.array(res_idx % 4 == 0), train_name, missing),
        "ResourceType": _pick(rng, [s[4] for s in _SERVICES], svc),
        "ServiceCategory": _pick(rng, [s[1] for s in _SERVICES], svc),
        "ServiceName": _pick(rng, service_names, svc),
        "SkuId": pc.binary_join_element_wise("SKU-", pa.array(instance_type), ""),
        "SkuPriceId": pc.binary_join_element_wise("SKU-", pa.array(instance_type), ".OnDemand", ""),
        "SubAccountId": _pick(rng, ["111111111111", "222222222222", "333333333333"], res_idx % 3),
        "SubAccountName": _pick(rng, ["research", "production", "sandbox"], res_idx % 3),
        "Tags": tags,
    }
    table = pa.table(cols)
    return _plant_bad_rows(table, rng, bad_fraction)


def _plant_bad_rows(table: pa.Table, rng: np.random.Generator, fraction: float) -> pa.Table:
    """Spoil ~``fraction`` of rows, one defect each, spread evenly over five kinds of defect."""
    n = table.num_rows
    kind = np.where(rng.random(n) < fraction, rng.integers(0, 5, n), -1)
    replacements = {
        0: ("BilledCost", pa.scalar("12,50")),
        1: ("ChargePeriodStart", pa.scalar("2025-13-45 99:00:00")),
        2: ("ProviderName", pa.scalar(None, pa.string())),
        3: ("Tags", pa.scalar('{"team": "ml-platform", "env": ')),
        4: ("ChargePeriodEnd", pa.scalar("2020-01-01 00:00:00")),
    }
    for k, (column, value) in replacements.items():
        mask = pa.array(kind == k)
        i = table.schema.get_field_index(column)
        table = table.set_column(i, column, pc.if_else(mask, value, table.column(column)))
    return table


def write_synthetic_csv(path: Path, n: int, seed: int = 7, chunk: int = 250_000,
                        progress: Callable[[int], None] | None = None) -> int:
    """Write ``n`` rows as a FOCUS CSV: every value quoted, nulls as empty fields.

    Built and written in chunks so memory stays flat whatever ``n`` is.
    """
    written = 0
    options = pacsv.WriteOptions(quoting_style="needed")
    schema = pa.schema([(c, pa.string()) for c in COLUMNS])
    with pacsv.CSVWriter(path, schema, write_options=options) as out:
        while written < n:
            size = min(chunk, n - written)
            table = synthetic_focus_table(size, seed=seed + written)
            out.write_table(table)
            written += size
            if progress is not None:
                progress(written)
    return written
