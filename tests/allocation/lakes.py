"""An awkward lake for chargeback tests, written by the real writers (module docstring of
``test_chargeback.py`` says what is in it and why)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from spendpilot.allocation.focus_rows import write_allocation
from spendpilot.allocation.kubernetes import IDLE, Allocation, AllocationLine
from spendpilot.domain import LlmUsage
from spendpilot.lake.ingest import ingest_file
from spendpilot.lake.token_focus import token_focus_rows
from spendpilot.savings.pricebook import PriceBook

D1, D2 = date(2026, 3, 9), date(2026, 3, 10)
BILL_HEADER = ["BilledCost", "EffectiveCost", "ListCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
               "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
               "ProviderName", "ServiceName", "ServiceCategory", "ResourceId", "ConsumedUnit", "Tags"]


def bill_row(day: date, billed: str, effective: str, *, currency: str = "USD", service: str = "Amazon EC2",
              resource: str = "", tags: dict[str, str] | None = None, account: str = "111122223333",
              provider: str = "AWS") -> dict[str, str]:
    return {
        "BilledCost": billed, "EffectiveCost": effective, "ListCost": billed, "BillingAccountId": account,
        "BillingAccountName": "acme", "BillingCurrency": currency,
        "BillingPeriodStart": "2026-03-01T00:00:00Z", "BillingPeriodEnd": "2026-04-01T00:00:00Z",
        "ChargePeriodStart": f"{day}T00:00:00Z", "ChargePeriodEnd": f"{day + timedelta(days=1)}T00:00:00Z",
        "ChargeCategory": "Usage", "ProviderName": provider, "ServiceName": service, "ServiceCategory": "Compute",
        "ResourceId": resource, "ConsumedUnit": "Hours", "Tags": json.dumps(tags) if tags else "",
    }


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def alloc_line(day: date, ns: str, name: str, cost: str, labels: dict[str, str] | None = None) -> AllocationLine:
    kind = IDLE if ns == IDLE else "Deployment"
    return AllocationLine(cluster="prod-eks", day=day, namespace=ns, workload_kind=kind, workload_name=name,
                          labels=labels or {}, cpu_core_hours=1.0, cpu_cost=Decimal(cost))


def write_awkward_lake(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    bill = [
        # The cluster's node, on the bill both days; allocated on D1 only.
        bill_row(D1, "55.00", "50.00", resource="arn:aws:ec2:us-east-1:111122223333:instance/i-0node1"),
        bill_row(D2, "55.00", "50.00", resource="i-0node1"),
        bill_row(D1, "100.10", "90.10", resource="i-0web", tags={"team": "web", "feature": "chat"}),
        bill_row(D2, "7.005", "7.005", resource="i-0scratch"),                       # untagged
        bill_row(D1, "12.50", "12.50", resource="i-0blank", tags={"team": "  "}),   # a blank tag is no tag
        bill_row(D1, "80.00", "80.00", currency="EUR", resource="vm-1", tags={"team": "data"}, account="eu-1",
                  provider="Azure", service="Virtual Machines"),
        bill_row(D2, "3.333333", "3.333333", currency="EUR", resource="vm-2", account="eu-1", provider="Azure",
                  service="Virtual Machines"),
    ]
    ingest_file(write_csv(tmp_path / "bill.csv", BILL_HEADER, bill), lake)
    allocation = Allocation(
        cluster="prod-eks", start=datetime(2026, 3, 9, tzinfo=UTC), end=datetime(2026, 3, 10, tzinfo=UTC),
        lines=[alloc_line(D1, "ml", "trainer", "30.25", {"team": "ml", "feature": "ranker"}),
               alloc_line(D1, "web", "frontend", "9.75"),                                  # no team label
               alloc_line(D1, IDLE, IDLE, "14.00")],
        node_costs={"USD": Decimal("54.00")}, node_instances=["i-0node1"],
    )
    write_allocation(allocation, lake)
    usage = [LlmUsage(day=D1, provider="openai", model="gpt-4.1", feature="chat", requests=10, input_tokens=1000,
                      output_tokens=100, cost=Decimal("4.123456789"))]
    rows = token_focus_rows(usage, PriceBook.bundled(), billed=set())
    ingest_file(write_csv(tmp_path / "tokens.csv", list(rows[0]), rows), lake)
    return lake


NODE_BILL = [
    # One EKS node, on the bill on both days (an ARN on D1, a bare id on D2), and an unrelated instance.
    ("node", D1, "55.00", "50.00", "arn:aws:ec2:us-east-1:111122223333:instance/i-0node1"),
    ("node", D2, "55.00", "50.00", "i-0node1"),
    ("other", D1, "11.00", "10.00", "i-0other"),
]


def write_node_lake(tmp_path: Path, *, allocated: bool) -> Path:
    """A node on the bill on D1 and D2; with ``allocated``, ``allocate --write`` rows for D1 only."""
    lake = tmp_path / "lake"
    bill = [bill_row(day, billed, effective, resource=rid, tags={"team": "web"} if what == "other" else None)
            for what, day, billed, effective, rid in NODE_BILL]
    ingest_file(write_csv(tmp_path / "bill.csv", BILL_HEADER, bill), lake)
    if allocated:
        write_allocation(Allocation(
            cluster="prod-eks", start=datetime(2026, 3, 9, tzinfo=UTC), end=datetime(2026, 3, 10, tzinfo=UTC),
            lines=[alloc_line(D1, "ml", "trainer", "30.25", {"team": "ml"}),
                   alloc_line(D1, "web", "frontend", "9.75"),
                   alloc_line(D1, IDLE, IDLE, "14.00")],
            node_costs={"USD": Decimal("54.00")}, node_instances=["i-0node1"],
        ), lake)
    return lake
