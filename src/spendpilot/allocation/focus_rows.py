"""Kubernetes allocation as FOCUS rows in the lake, so chargeback sums clusters with the rest.

One row per (UTC day, namespace, workload) plus the day's idle line, through the ordinary FOCUS
ingest (same validation, quarantine and atomic commit as a bill). ``ProviderName`` and
``ServiceName``/``ServiceCategory`` are "Kubernetes"; ``BillingAccountId`` is the cluster;
``SubAccountId`` the namespace; ``ResourceId`` ``<cluster>/<namespace>/<kind>/<name>``;
``Tags`` are the workload's labels plus ``kubernetes.cluster``, ``kubernetes.namespace`` and
``kubernetes.workload`` (the idle row also ``kubernetes.node_instances``: see
``chargeback``), so ``spendpilot spend --by tag:kubernetes.namespace`` or ``--by team``
(when workloads carry the team label) work on them as on any bill.

The billing period of a row is its day: the lake replaces stored rows by (ProviderName,
BillingAccountId, BillingPeriodStart), so allocating a day again replaces that day's rows and
allocating other days adds to them. That is also why only whole UTC days are written: a partial
day would replace a complete one.
"""

from __future__ import annotations

import csv
import json
import tempfile
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from spendpilot.allocation.kubernetes import IDLE, Allocation, AllocationLine
from spendpilot.lake.ingest import IngestReport, ingest_file
from spendpilot.lake.k8s_replaced import NODE_INSTANCES_TAG

PROVIDER = "Kubernetes"
HEADER = [
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
    "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeDescription", "ProviderName", "PublisherName", "InvoiceIssuerName",
    "ServiceCategory", "ServiceName", "SubAccountId", "SubAccountName", "ResourceId", "ResourceName",
    "ResourceType", "ConsumedQuantity", "ConsumedUnit", "Tags",
]
COST_PLACES = Decimal("0.000001")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def focus_row(line: AllocationLine, node_instances: list[str] | None = None) -> dict[str, str]:
    """One line as a FOCUS row; an idle line also names the cluster's node instances (tag
    ``kubernetes.node_instances``), whose bill rows chargeback replaces by these rows."""
    start = datetime.combine(line.day, time(0), tzinfo=UTC)
    end = start + timedelta(days=1)
    cost = str(line.cost.quantize(COST_PLACES))
    workload = "idle capacity" if line.namespace == IDLE else f"{line.workload_kind}/{line.workload_name}"
    tags = {**line.labels, "kubernetes.cluster": line.cluster, "kubernetes.namespace": line.namespace,
            "kubernetes.workload": workload}
    if line.is_idle and node_instances:
        tags[NODE_INSTANCES_TAG] = ",".join(node_instances)
    return {
        "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "ContractedCost": cost,
        "BillingAccountId": line.cluster, "BillingAccountName": line.cluster, "BillingCurrency": line.currency,
        "BillingPeriodStart": _stamp(start), "BillingPeriodEnd": _stamp(end),
        "ChargePeriodStart": _stamp(start), "ChargePeriodEnd": _stamp(end),
        "ChargeCategory": "Usage",
        "ChargeDescription": (
            f"Kubernetes allocation {line.namespace}/{workload}: {line.cpu_core_hours:.3f} core-h, "
            f"{line.ram_gib_hours:.3f} GiB-h, {line.gpu_hours:.3f} GPU-h (OpenCost method)"
        ),
        "ProviderName": PROVIDER, "PublisherName": PROVIDER, "InvoiceIssuerName": line.cluster,
        "ServiceCategory": "Kubernetes", "ServiceName": "Kubernetes",
        "SubAccountId": line.namespace, "SubAccountName": line.namespace,
        "ResourceId": f"{line.cluster}/{line.namespace}/{line.workload_kind}/{line.workload_name}",
        "ResourceName": line.workload_name, "ResourceType": line.workload_kind,
        "ConsumedQuantity": f"{line.cpu_core_hours:.6f}", "ConsumedUnit": "core-hours",
        "Tags": json.dumps(tags, sort_keys=True),
    }


def write_allocation(allocation: Allocation, lake_dir: Path) -> IngestReport:
    """Store the allocation's rows in the lake (replacing earlier rows of the same days)."""
    if not allocation.lines:
        raise ValueError(f"cluster {allocation.cluster}: nothing was allocated, so nothing is written")
    lake_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="k8s-allocation-", dir=lake_dir.parent) as tmp:
        path = Path(tmp) / f"kubernetes-{allocation.cluster}-{allocation.start:%Y%m%d}-{allocation.end:%Y%m%d}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, HEADER, lineterminator="\n")
            writer.writeheader()
            writer.writerows(focus_row(line, allocation.node_instances) for line in allocation.lines)
        return ingest_file(path, lake_dir)
