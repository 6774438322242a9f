"""Cost Explorer ``GetCostAndUsage`` as FOCUS rows: daily totals, for accounts without a CUR export.

Cost Explorer answers with one amount per day and group (by default SERVICE and LINKED_ACCOUNT;
at most two groupings, dimensions or ``TAG:<key>``), not per line item: no resource, no SKU, no
usage quantity, no list price. The rows are stored anyway because a daily cost per service and
account is what most checks and every spend report need, and they are labelled so nobody mistakes
them for a bill's lines: ``x_Source = "AWS Cost Explorer"``, ``x_Granularity = "DAILY"``,
``x_Estimated`` (Cost Explorer's own flag for a day not yet final).

Mapping (``docs/aws-billing.md``): ``UnblendedCost`` → BilledCost and ListCost (Cost Explorer has
no list price; ListCost is mandatory in FOCUS); ``AmortizedCost`` → EffectiveCost; the Unit →
BillingCurrency; each day → ChargePeriod; its calendar month → BillingPeriod; SERVICE →
ServiceName; LINKED_ACCOUNT → SubAccountId; ``TAG:k`` → Tags ``{"k": value}``; RECORD_TYPE →
ChargeCategory (Usage unless grouped by record type).

**One source per month wins, and CUR wins.** Both CUR and Cost Explorer rows are keyed for
restatement by (ProviderName ``AWS``, BillingAccountId = the payer, BillingPeriodStart), so:

* a CUR or FOCUS export ingested for a payer's month replaces that month's Cost Explorer rows;
* a Cost Explorer ingest leaves out every month for which the lake already holds CUR or FOCUS
  rows of that payer (``IngestCostExplorerResult.months_left_to_cur``), so it never replaces a
  bill's line items with daily totals.

For the key to match, BillingAccountId must be the payer: the organisation's management account
(``organizations:DescribeOrganization``), the caller's own account outside an organisation, or
``billing_account_id`` when given. Run it with the management account's credentials: only the
management account sees every linked account (a member account sees only itself, and two member
accounts' ingests for the same month would replace each other).

Always whole calendar months: a month's rows are restated as a whole, so a partial month would
delete the days it did not ask for.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field, ValidationError, field_validator

from spendpilot.errors import AdapterError, IngestError
from spendpilot.lake import _dialect
from spendpilot.lake._storage import recover_if_needed
from spendpilot.lake.ingest import (
    FOCUS_AREA,
    RESTATEMENT_KEY,
    IngestReport,
    focus_plan,
    run_plans,
)

CE_SOURCE = "AWS Cost Explorer"
METRICS = ("UnblendedCost", "AmortizedCost")
DEFAULT_GROUP_BY = ("SERVICE", "LINKED_ACCOUNT")
MAX_PAGES = 1000
"""A bound on NextPageToken round trips, so an endpoint that always answers with a token cannot
keep an ingest running forever."""

RECORD_TYPE_CATEGORY = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "Tax": "Tax",
    "Credit": "Credit",
    "Refund": "Adjustment",
    "Recurring reservation fee": "Purchase",
    "Savings Plan Recurring Fee": "Purchase",
    "Savings Plan Upfront Fee": "Purchase",
    "Upfront reservation fee": "Purchase",
    "Support fee": "Purchase",
    "Other out-of-cycle charges": "Purchase",
}
"""RECORD_TYPE values (as Cost Explorer names them) → FOCUS ChargeCategory; any other is Usage."""

_COLUMNS = (
    "ProviderName", "BillingAccountId", "SubAccountId", "BillingCurrency", "BillingPeriodStart",
    "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ServiceName",
    "BilledCost", "EffectiveCost", "ListCost", "Tags", "x_Source", "x_Granularity", "x_Estimated",
)


class _Metric(BaseModel):
    Amount: str
    Unit: str


class _Period(BaseModel):
    Start: date
    End: date


class _Group(BaseModel):
    Keys: list[str]
    Metrics: dict[str, _Metric]


class _ResultByTime(BaseModel):
    TimePeriod: _Period
    Total: dict[str, _Metric] = Field(default_factory=dict)
    Groups: list[_Group] = Field(default_factory=list)
    Estimated: bool = False


class CostExplorerQuery(BaseModel):
    """What to ask Cost Explorer: whole months ``[start, end)``, grouped by ``group_by``."""

    start: date
    end: date
    group_by: list[str] = Field(default_factory=lambda: list(DEFAULT_GROUP_BY), max_length=2)
    """Dimensions (``SERVICE``, ``LINKED_ACCOUNT``, ``RECORD_TYPE``, …) or ``TAG:<key>``; two at most."""

    @field_validator("group_by")
    @classmethod
    def _known(cls, groups: list[str]) -> list[str]:
        for group in groups:
            if not group or (group.upper().startswith("TAG:") and len(group) == 4):
                raise ValueError(f"{group!r} is not a dimension or TAG:<key>")
        return groups

    def request(self) -> dict[str, Any]:
        """The GetCostAndUsage parameters (without NextPageToken)."""
        group_by = [
            {"Type": "TAG", "Key": g[4:]} if g.upper().startswith("TAG:") else {"Type": "DIMENSION", "Key": g.upper()}
            for g in self.group_by
        ]
        return {
            "TimePeriod": {"Start": self.start.isoformat(), "End": self.end.isoformat()},
            "Granularity": "DAILY",
            "Metrics": list(METRICS),
            "GroupBy": group_by,
        }


class IngestCostExplorerResult(BaseModel):
    """What one Cost Explorer ingest asked, received and stored."""

    billing_account_id: str
    start: date
    end: date
    pages: int = 0
    rows_received: int = 0
    months_left_to_cur: list[str] = Field(default_factory=list)
    """``YYYY-MM`` months not stored because the lake holds CUR/FOCUS rows of this payer for them."""
    report: IngestReport | None = None


def month_window(today: date, months: int) -> tuple[date, date]:
    """The ``months`` calendar months ending with today's month: ``[first day, tomorrow)``.

    Cost Explorer's End is exclusive; tomorrow includes today's (estimated) costs so far.
    """
    if months < 1:
        raise IngestError("--months must be at least 1")
    year, month = today.year, today.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1), today + timedelta(days=1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _ce_error(client: Any, operation: str, exc: Exception) -> AdapterError:
    from spendpilot.adapters.aws.errors import adapter_error

    error = adapter_error(exc, service="ce", operation=operation, region=str(client.meta.region_name),
                          endpoint=str(client.meta.endpoint_url))
    return AdapterError(f"{error} (Cost Explorer not read: nothing stored)")


def fetch_cost_and_usage(ce: Any, query: CostExplorerQuery) -> tuple[list[_ResultByTime], int]:
    """Every ResultsByTime entry over all pages (following NextPageToken), and the page count."""
    results: list[_ResultByTime] = []
    token: str | None = None
    pages = 0
    while True:
        params = query.request()
        if token:
            params["NextPageToken"] = token
        try:
            page = ce.get_cost_and_usage(**params)
        except (ClientError, BotoCoreError) as exc:
            raise _ce_error(ce, "GetCostAndUsage", exc) from exc
        pages += 1
        try:
            results += [_ResultByTime.model_validate(r) for r in page.get("ResultsByTime", [])]
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise IngestError(f"GetCostAndUsage page {pages}: not the documented reply ({where}: {first['msg']})") from exc
        token = page.get("NextPageToken") or None
        if token is None:
            return results, pages
        if pages >= MAX_PAGES:
            raise IngestError(f"GetCostAndUsage: still a NextPageToken after {MAX_PAGES} pages; narrow the query")


def _amount(metric: _Metric | None, name: str, where: str) -> Decimal:
    if metric is None:
        raise IngestError(f"GetCostAndUsage {where}: no {name} in the reply")
    try:
        value = Decimal(metric.Amount)
    except InvalidOperation as exc:
        raise IngestError(f"GetCostAndUsage {where}: {name} {metric.Amount!r} is not a number") from exc
    if not value.is_finite():
        raise IngestError(f"GetCostAndUsage {where}: {name} {metric.Amount!r} is not a number")
    return value


def focus_rows(results: Sequence[_ResultByTime], query: CostExplorerQuery, billing_account_id: str
               ) -> list[dict[str, str]]:
    """One FOCUS row (as text) per day and group; a reply without groups gives one row per day."""
    rows: list[dict[str, str]] = []
    groups = [g.upper() if not g.upper().startswith("TAG:") else g for g in query.group_by]
    for result in results:
        day = result.TimePeriod.Start
        month = date(day.year, day.month, 1)
        entries = [(g.Keys, g.Metrics) for g in result.Groups] or (
            [([], result.Total)] if result.Total else [])
        for keys, metrics in entries:
            where = f"{day.isoformat()} {'/'.join(keys) or 'total'}"
            billed = metrics.get("UnblendedCost")
            effective = metrics.get("AmortizedCost")
            billed_amount = _amount(billed, "UnblendedCost", where)
            effective_amount = _amount(effective, "AmortizedCost", where)
            assert billed is not None and effective is not None
            if billed.Unit != effective.Unit:
                raise IngestError(f"GetCostAndUsage {where}: UnblendedCost in {billed.Unit} but "
                                  f"AmortizedCost in {effective.Unit}")
            by_group = dict(zip(groups, keys, strict=False))
            tags = {g[4:]: v.split("$", 1)[1] for g, v in by_group.items()
                    if g.upper().startswith("TAG:") and "$" in v and v.split("$", 1)[1]}
            rows.append({
                "ProviderName": "AWS",
                "BillingAccountId": billing_account_id,
                "SubAccountId": by_group.get("LINKED_ACCOUNT", ""),
                "BillingCurrency": billed.Unit,
                "BillingPeriodStart": f"{month.isoformat()}T00:00:00Z",
                "BillingPeriodEnd": f"{_next_month(month).isoformat()}T00:00:00Z",
                "ChargePeriodStart": f"{day.isoformat()}T00:00:00Z",
                "ChargePeriodEnd": f"{result.TimePeriod.End.isoformat()}T00:00:00Z",
                "ChargeCategory": RECORD_TYPE_CATEGORY.get(by_group.get("RECORD_TYPE", "Usage"), "Usage"),
                "ServiceName": by_group.get("SERVICE") or "AWS (all services, Cost Explorer)",
                "BilledCost": str(billed_amount),
                "EffectiveCost": str(effective_amount),
                "ListCost": str(billed_amount),
                "Tags": json.dumps(tags, sort_keys=True) if tags else "",
                "x_Source": CE_SOURCE,
                "x_Granularity": "DAILY",
                "x_Estimated": "true" if result.Estimated else "false",
            })
    return rows


def cur_months(lake_dir: Path, billing_account_id: str) -> set[str]:
    """``YYYY-MM`` months for which the lake holds AWS rows of this payer not from Cost Explorer."""
    lake_dir = Path(lake_dir)
    files = list((lake_dir / FOCUS_AREA).glob("provider=AWS/*/*.parquet"))
    if not files:
        return set()
    recover_if_needed(lake_dir)
    con = _dialect.connect()
    try:
        relation = _dialect.parquet_relation(str(lake_dir / FOCUS_AREA / "provider=AWS" / "*" / "*.parquet"))
        columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
        not_ce = "(\"x_Source\" IS NULL OR \"x_Source\" <> ?)" if "x_Source" in columns else "TRUE"
        params: list[Any] = [billing_account_id] + ([CE_SOURCE] if "x_Source" in columns else [])
        found = con.execute(
            f"SELECT DISTINCT strftime(\"BillingPeriodStart\", '%Y-%m') FROM {relation} "
            f"WHERE \"BillingAccountId\" = ? AND {not_ce}", params,
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]) for r in found}


def resolve_billing_account(organizations: Any, sts: Any) -> str:
    """The payer: the organisation's management account, else the caller's own account."""
    try:
        return str(organizations.describe_organization()["Organization"]["MasterAccountId"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "AWSOrganizationsNotInUseException":
            raise _ce_error(organizations, "DescribeOrganization", exc) from exc
    except BotoCoreError as exc:
        raise _ce_error(organizations, "DescribeOrganization", exc) from exc
    try:
        return str(sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        raise _ce_error(sts, "GetCallerIdentity", exc) from exc


def ingest_cost_explorer(ce: Any, query: CostExplorerQuery, lake_dir: Path, billing_account_id: str
                         ) -> IngestCostExplorerResult:
    """Read ``query`` from Cost Explorer and store it as FOCUS rows (see the module docstring)."""
    if query.start.day != 1:
        raise IngestError(f"Cost Explorer ingest starts on the first of a month, not {query.start}")
    results, pages = fetch_cost_and_usage(ce, query)
    rows = focus_rows(results, query, billing_account_id)
    outcome = IngestCostExplorerResult(billing_account_id=billing_account_id, start=query.start,
                                       end=query.end, pages=pages, rows_received=len(rows))
    covered = cur_months(lake_dir, billing_account_id)
    outcome.months_left_to_cur = sorted({r["BillingPeriodStart"][:7] for r in rows} & covered)
    kept = [r for r in rows if r["BillingPeriodStart"][:7] not in covered]
    if not kept:
        return outcome
    with tempfile.TemporaryDirectory(prefix="spendpilot-ce-") as scratch:
        path = Path(scratch) / f"cost-explorer-{billing_account_id}-{query.start}-{query.end}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, _COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(kept)
        plan = focus_plan(path)
        plan.source_name = f"ce:GetCostAndUsage {billing_account_id} {query.start}..{query.end}"
        plan.format_name = f"FOCUS from {CE_SOURCE} (daily)"
        outcome.report = run_plans([plan], Path(lake_dir), area=FOCUS_AREA, restatement_key=RESTATEMENT_KEY)[0]
    return outcome


def ingest_cost_explorer_months(lake_dir: Path, *, endpoint_url: str | None, months: int,
                                group_by: Sequence[str], billing_account_id: str | None = None,
                                today: date | None = None) -> IngestCostExplorerResult:
    """``ingest_cost_explorer`` over the last ``months`` months, with boto3's own credentials.

    Cost Explorer's endpoint is global (us-east-1); an ``endpoint_url`` (an emulator) is used as is.
    """
    import boto3
    from botocore.config import Config

    from spendpilot.clock import SystemClock

    config = Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=60)

    def client(name: str) -> Any:
        return boto3.client(name, region_name="us-east-1", endpoint_url=endpoint_url, config=config)

    start, end = month_window(today or SystemClock().now().date(), months)
    try:
        query = CostExplorerQuery(start=start, end=end, group_by=list(group_by))
    except ValidationError as exc:
        raise IngestError(f"--group-by: {exc.errors()[0]['msg']}") from exc
    account = billing_account_id or resolve_billing_account(client("organizations"), client("sts"))
    return ingest_cost_explorer(client("ce"), query, lake_dir, account)
