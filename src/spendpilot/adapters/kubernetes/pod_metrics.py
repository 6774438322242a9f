"""A current reading of pod usage from metrics.k8s.io, for clusters without Prometheus.

metrics-server keeps no history: ``PodMetrics`` is each container's CPU and memory over the
last window (typically 15-60 s). That is enough to show what a pod uses now and to charge it
``max(request, usage)`` for the hour it was read, never enough to rightsize or to call a pod
idle (those checks ask for days of points and find one). The series are labelled
``source=metrics.k8s.io`` so that, when a Prometheus source reads the same cluster, the
snapshot keeps the history and drops the reading (``Snapshot._merge_cluster``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from spendpilot.adapters.kubernetes._objects import meta, timestamp
from spendpilot.adapters.kubernetes.quantity import parse_quantity
from spendpilot.domain import MetricPoint
from spendpilot.domain.kubernetes import CURRENT_READING, UsageSeries

_METRICS = (("cpu", "cpu_cores"), ("memory", "memory_bytes"))


def _window_seconds(value: Any) -> int:
    text = str(value or "")
    try:
        return max(1, round(float(text[:-1]))) if text.endswith("s") else 60
    except ValueError:
        return 60


def read_pod_metrics(obj: dict[str, Any], read_at: datetime) -> list[UsageSeries]:
    """One ``PodMetrics`` object -> one single-point series per container and metric.

    A quantity that does not parse (a server bug, a new unit) skips that reading rather than
    the pod: the rest of the pod's usage is still a fact.
    """
    m = meta(obj)
    at = timestamp(obj.get("timestamp")) or read_at
    step = _window_seconds(obj.get("window"))
    series: list[UsageSeries] = []
    for container in obj.get("containers") or []:
        usage = container.get("usage") or {}
        for key, metric in _METRICS:
            if key not in usage:
                continue
            try:
                value = parse_quantity(usage[key])
            except (ValueError, ArithmeticError):
                continue
            series.append(UsageSeries(
                namespace=str(m.get("namespace", "")), pod=str(m.get("name", "")),
                container=str(container.get("name", "")) or None, metric=metric, step_seconds=step,
                points=[MetricPoint(at=at, value=value)], labels={"source": CURRENT_READING},
            ))  # fmt: skip
    return series
