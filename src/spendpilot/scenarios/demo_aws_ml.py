"""More accounts and regions for a scenario (``accounts.yaml``), and their CUR 2.0 export.

A real AI/ML organisation is rarely one account in one region: the demo's ML platform team runs
SageMaker in an account of its own, reached by assuming a role from the main account, with an
evaluation box in a second region. This module

- seeds each (account, region) of ``accounts.yaml`` into the emulator, through credentials from
  STS AssumeRole as a member account is reached (moto keeps what those credentials create in the
  role's account), with the same seeder and formats as the main account (``resources.yaml``,
  ``metrics.yaml``);
- gives the ``[[aws.accounts]]`` entries that sweep them, so findings name account and region;
- writes that account's own billing as an AWS Data Exports CUR 2.0 file (the ML account is its
  own payer and exports CUR 2.0, not FOCUS), one daily line per resource at the price book's list
  price, which ``ingest`` recognises from its columns.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.errors import ScenarioError
from spendpilot.savings.pricebook import HourlyPrice, PriceBook
from spendpilot.scenarios.model import AccountSpec, AccountsSpec, Scenario
from spendpilot.scenarios.seed import SeededOrg, seed_scenario

CUR2_COLUMNS = [
    "identity_line_item_id", "identity_time_interval", "bill_invoice_id", "bill_invoicing_entity",
    "bill_billing_entity", "bill_bill_type", "bill_payer_account_id", "bill_payer_account_name",
    "bill_billing_period_start_date", "bill_billing_period_end_date", "line_item_usage_account_id",
    "line_item_usage_account_name", "line_item_line_item_type", "line_item_usage_start_date",
    "line_item_usage_end_date", "line_item_product_code", "line_item_usage_type", "line_item_operation",
    "line_item_availability_zone", "line_item_resource_id", "line_item_usage_amount",
    "line_item_currency_code", "line_item_unblended_rate", "line_item_unblended_cost",
    "line_item_line_item_description", "product_region_code", "product_servicecode", "product_sku",
    "product", "pricing_public_on_demand_cost", "pricing_public_on_demand_rate", "pricing_term",
    "pricing_unit", "resource_tags",
]  # fmt: skip
"""The CUR 2.0 columns the export fills: a subset of AWS's table dictionary (the same names as
``tests/data/cur/cur2_2024-09.csv``); ``product`` and ``resource_tags`` are CUR 2.0's map columns."""

CUR_DAYS = 30
"""Days of the ML account's export: a small file (one line per resource per day)."""

_USAGE_PREFIX = {"us-east-1": "USE1", "us-east-2": "USE2", "us-west-2": "USW2", "eu-west-1": "EU"}
"""Usage type region prefixes (us-east-1's EC2 BoxUsage has none)."""

_LOCATION = {"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)",
             "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)"}


@dataclass
class SeededAccountRegion:
    account: AccountSpec
    region: str
    org: SeededOrg


def accounts_config(scenario: Scenario) -> list[dict[str, Any]]:
    """``[[aws.accounts]]`` entries: the scenario's own account (the emulator's default
    credentials) in its region, then each account of ``accounts.yaml`` by its role."""
    own: dict[str, Any] = {"account_id": scenario.account_id, "regions": [scenario.region]}
    if scenario.account_name:
        own["name"] = scenario.account_name
    entries = [own]
    for acct in scenario.accounts.accounts:
        entry: dict[str, Any] = {"role_arn": acct.role_arn, "regions": list(acct.regions)}
        if acct.metric_days is not None:
            entry["metric_lookback_days"] = acct.metric_days
        if acct.name:
            entry["name"] = acct.name
        entries.append(entry)
    return entries


def _assumed_session(endpoint_url: str, acct: AccountSpec, region: str) -> boto3.session.Session:
    sts = boto3.client("sts", endpoint_url=endpoint_url, region_name=region)
    try:
        creds = sts.assume_role(RoleArn=acct.role_arn, RoleSessionName="spendpilot-seed")["Credentials"]
    except Exception as exc:  # noqa: BLE001 - any failure here means the scenario cannot be built
        raise ScenarioError(f"accounts.yaml: cannot assume {acct.role_arn} in the emulator: {exc}") from exc
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name=region,
    )


def seed_accounts(aws: AwsAdapter, scenario: Scenario, now: datetime) -> list[SeededAccountRegion]:
    """Seed every (account, region) of ``accounts.yaml`` into the emulator ``aws`` talks to."""
    if not aws.endpoint_url:
        raise ScenarioError("accounts.yaml: more accounts are seeded only into a local emulator")
    seeded = []
    for acct in scenario.accounts.accounts:
        for region, spec in acct.regions.items():
            session = _assumed_session(aws.endpoint_url, acct, region)
            adapter = AwsAdapter(region=region, endpoint_url=aws.endpoint_url, routing_prefix=aws.routing_prefix,
                                 session=session)
            part = scenario.model_copy(update={
                "account_id": acct.account_id, "account_name": acct.name or acct.account_id, "region": region,
                "resources": spec.resources, "metrics": spec.metrics, "accounts": AccountsSpec(),
                "metric_days": acct.metric_days or scenario.metric_days,
            })
            seeded.append(SeededAccountRegion(acct, region, seed_scenario(adapter, part, now)))
    return seeded


@dataclass
class _Charge:
    """One resource's hourly charge while it runs: what a CUR line per day is made of."""

    product_code: str
    service_name: str
    usage_type: str
    operation: str
    resource_id: str
    per_hour: Decimal
    quantity: int
    """Instances billed together (an endpoint variant's instance count)."""
    start: datetime
    end: datetime | None
    tags: dict[str, str]
    description: str


def _price(price: HourlyPrice | None, what: str) -> Decimal:
    if price is None:
        raise ScenarioError(f"accounts.yaml: no price for {what} in the price book, so no CUR line can be written")
    return price.per_hour


def _charges(seeded: SeededAccountRegion, scenario: Scenario, now: datetime, prices: PriceBook) -> list[_Charge]:
    acct, region, org = seeded.account, seeded.region, seeded.org
    res = acct.regions[region].resources
    prefix = _USAGE_PREFIX.get(region, region)
    arn = f"arn:aws:sagemaker:{region}:{acct.account_id}"
    out: list[_Charge] = []
    for inst in org.instances:
        usage = f"BoxUsage:{inst.instance_type}" if region == "us-east-1" else f"{prefix}-BoxUsage:{inst.instance_type}"
        per_hour = _price(prices.on_demand(inst.instance_type, region), f"EC2 {inst.instance_type} in {region}")
        out.append(_Charge("AmazonEC2", "Amazon Elastic Compute Cloud", usage, "RunInstances", inst.instance_id,
                           per_hour, 1, inst.launched_at, None, {k: v for k, v in inst.tags.items() if k != "Name"},
                           f"${per_hour} per On Demand Linux {inst.instance_type} Instance Hour"))
    window = now - timedelta(days=scenario.billing_days + 1)
    for ep in res.sagemaker_endpoints:
        start = now - timedelta(hours=ep.created_hours_ago) if ep.created_hours_ago is not None else window
        for v in ep.variants:
            per_hour = _price(prices.sagemaker_hosting(v.instance_type, region), f"SageMaker hosting {v.instance_type}")
            out.append(_Charge("AmazonSageMaker", "Amazon SageMaker", f"{prefix}-Host:{v.instance_type}", "RunInstance",
                               f"{arn}:endpoint/{ep.name}", per_hour, v.instance_count, start, None, ep.tags,
                               f"${per_hour} per Hosting {v.instance_type} hour in {region}"))
    for nb in res.sagemaker_notebooks:
        per_hour = _price(prices.sagemaker_component("notebook", nb.instance_type, region), f"notebook {nb.instance_type}")
        out.append(_Charge("AmazonSageMaker", "Amazon SageMaker", f"{prefix}-Notebk:{nb.instance_type}", "RunInstance",
                           f"{arn}:notebook-instance/{nb.name}", per_hour, 1,
                           now - timedelta(hours=nb.started_hours_ago), None, nb.tags,
                           f"${per_hour} per Notebook {nb.instance_type} hour in {region}"))
    for job in res.sagemaker_training_jobs:
        per_hour = _price(prices.sagemaker_component("training", job.instance_type, region), f"training {job.instance_type}")
        for run in range(job.runs):
            start = now - timedelta(hours=job.started_hours_ago) - run * timedelta(days=1)
            end = None if job.status == "InProgress" else start + timedelta(hours=job.hours)
            name = job.name if job.runs == 1 else f"{job.name}-{start:%Y-%m-%d-%H-%M-%S}-{run:03d}"
            out.append(_Charge("AmazonSageMaker", "Amazon SageMaker", f"{prefix}-Train:{job.instance_type}",
                               "RunInstance", f"{arn}:training-job/{name}", per_hour, job.instance_count, start, end,
                               job.tags, f"${per_hour} per Training {job.instance_type} hour in {region}"))
    return out


def _month_bounds(day: datetime) -> tuple[datetime, datetime]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def cur2_rows(scenario: Scenario, seeded: list[SeededAccountRegion], now: datetime,
              prices: PriceBook, days: int = CUR_DAYS) -> list[dict[str, str]]:
    """One CUR 2.0 ``Usage`` line per resource per whole UTC day of the last ``days``, for the hours
    it ran that day, at list price (no discounts: the demo's ML account has none)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows: list[dict[str, str]] = []
    for part in seeded:
        acct, region = part.account, part.region
        payer = acct.account_id
        for charge in _charges(part, scenario, now, prices):
            for d in range(days, 0, -1):
                day = today - timedelta(days=d)
                begin = max(day, charge.start)
                end = min(day + timedelta(days=1), charge.end or now)
                hours = Decimal(int((end - begin).total_seconds())) / 3600 if end > begin else Decimal(0)
                if hours <= 0:
                    continue
                amount = (hours * charge.quantity).quantize(Decimal("0.0001"))
                cost = (amount * charge.per_hour).quantize(Decimal("0.0000001"))
                period_start, period_end = _month_bounds(day)
                rows.append({
                    "identity_line_item_id": f"{acct.account_id}-{region}-{len(rows) + 1:06d}",
                    "identity_time_interval": f"{_iso(day)}/{_iso(day + timedelta(days=1))}",
                    "bill_invoice_id": "", "bill_invoicing_entity": "Amazon Web Services, Inc.",
                    "bill_billing_entity": "AWS", "bill_bill_type": "Anniversary",
                    "bill_payer_account_id": payer, "bill_payer_account_name": acct.name,
                    "bill_billing_period_start_date": _iso(period_start),
                    "bill_billing_period_end_date": _iso(period_end),
                    "line_item_usage_account_id": acct.account_id, "line_item_usage_account_name": acct.name,
                    "line_item_line_item_type": "Usage",
                    "line_item_usage_start_date": _iso(day), "line_item_usage_end_date": _iso(day + timedelta(days=1)),
                    "line_item_product_code": charge.product_code, "line_item_usage_type": charge.usage_type,
                    "line_item_operation": charge.operation, "line_item_availability_zone": "",
                    "line_item_resource_id": charge.resource_id, "line_item_usage_amount": str(amount),
                    "line_item_currency_code": "USD", "line_item_unblended_rate": str(charge.per_hour),
                    "line_item_unblended_cost": str(cost), "line_item_line_item_description": charge.description,
                    "product_region_code": region, "product_servicecode": charge.product_code, "product_sku": "",
                    "product": json.dumps({"product_name": charge.service_name, "region": region,
                                           "location": _LOCATION.get(region, region)}),
                    "pricing_public_on_demand_cost": str(cost), "pricing_public_on_demand_rate": str(charge.per_hour),
                    "pricing_term": "OnDemand", "pricing_unit": "Hrs",
                    "resource_tags": json.dumps({f"user_{k}": v for k, v in sorted(charge.tags.items())}),
                })
    return rows


def write_cur2_export(scenario: Scenario, seeded: list[SeededAccountRegion], now: datetime,
                      folder: Path, prices: PriceBook | None = None) -> Path | None:
    """The accounts' CUR 2.0 export as AWS Data Exports writes it (CSV), or None without accounts."""
    if not seeded:
        return None
    rows = cur2_rows(scenario, seeded, now, prices or PriceBook.bundled())
    path = folder / "cur2_ml_accounts.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CUR2_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path
