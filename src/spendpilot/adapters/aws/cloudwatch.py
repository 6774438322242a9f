"""CloudWatch utilisation history: CPU from AWS/EC2, GPU as the CloudWatch agent publishes it.

CPU is EC2's own ``AWS/EC2 CPUUtilization``, one series per instance with exactly the dimension
``InstanceId``. GPU utilisation is not so simple.

GPU metrics as the agent really publishes them
----------------------------------------------
The agent's ``nvidia_gpu`` section publishes ``nvidia_smi_utilization_gpu`` (and
``nvidia_smi_utilization_memory``, ``nvidia_smi_memory_used``, ...) in the namespace of its
``metrics`` section (``CWAgent`` unless configured) **once per GPU**. The collector behind it is
telegraf's ``nvidia_smi`` input, whose tags become dimensions: ``index`` (0, 1, ...), ``name``
(the GPU model), ``uuid`` and, in newer versions, ``arch``; the agent adds ``host`` (the OS host
name) and whatever ``append_dimensions`` adds (commonly ``InstanceId``, ``InstanceType``,
``ImageId``, ``AutoScalingGroupName``). Without ``append_dimensions`` there is no ``InstanceId``
at all. What was checked:

- AWS CloudWatch User Guide, "Collect NVIDIA GPU metrics"
  (awsdocs/amazon-cloudwatch-user-guide, doc_source/CloudWatch-Agent-NVIDIA-GPU.md): the
  ``nvidia_gpu`` measurements and their CloudWatch names (``utilization_gpu`` ->
  ``nvidia_smi_utilization_gpu``, ...), published with no CloudWatch unit.
- aws/amazon-cloudwatch-agent, ``translator/translate/metrics/metrics_collect/gpu/nvidiaSmi.go``
  and its test: the section becomes telegraf's ``nvidia_smi`` input with
  ``tagexclude = ["compute_mode", "pstate", "uuid"]`` — so agents of that generation publish
  **no** ``uuid`` dimension; issue aws/amazon-cloudwatch-agent#981 says the same ("gathered by
  Name, Index and Host", uuid excluded) and asks for it back.
- telegraf ``plugins/inputs/nvidia_smi`` README: the tags (name, compute_mode, index, pstate, uuid).
- aws-samples/1click-hpc ``modules/60.install.gpumon.cloudwatch.metrics.sh``: a real agent
  config whose ``append_dimensions`` are AutoScalingGroupName, ImageId, InstanceId, InstanceType.

So the dimension set of a GPU series depends on the agent's version and configuration, and
CloudWatch only returns a series to a query naming *all* of its dimensions. Hence: discover the
series with ListMetrics (``discover_gpu_series``), map each to an instance by its ``InstanceId``
dimension, else by ``host`` == the instance's private DNS name (``ip-10-0-1-23.ec2.internal``;
some AMIs report the short form ``ip-10-0-1-23``, resource-based host names start with the
instance id), then read every series with exactly the dimensions it was listed with. Nothing
depends on ``uuid`` or ``arch`` being present. ListMetrics only lists series that received data
in the last two weeks, which is all a sweep judges anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from spendpilot.domain import MetricPoint, MetricSeries
from spendpilot.domain.metrics import EC2_CPU as CPU
from spendpilot.domain.metrics import HOURLY
from spendpilot.domain.metrics import NVIDIA_GPU as GPU

_MAX_QUERIES_PER_CALL = 500
"""GetMetricData's limit on queries per request."""


@dataclass(frozen=True)
class GpuSeries:
    """One GPU's utilisation series as ListMetrics named it, and the instance it belongs to."""

    instance_id: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    """All of the series' dimensions, as listed: a query must name every one to match it."""

    @property
    def index(self) -> str | None:
        return dict(self.dimensions).get("index")


@dataclass
class GpuDiscovery:
    """What ListMetrics found: each instance's GPU series, and what could not be placed."""

    by_instance: dict[str, list[GpuSeries]] = field(default_factory=dict)
    unknown_hosts: set[str] = field(default_factory=set)
    """``host`` (or ``InstanceId``) values of series that belong to none of the instances asked about."""
    ambiguous_hosts: set[str] = field(default_factory=set)
    """``host`` values matching more than one instance (overlapping VPC ranges): not guessed."""
    listed: int = 0
    rollups_skipped: int = 0
    """Series without an ``index`` (aggregation roll-ups) left out because per-GPU series exist."""

    def count(self) -> int:
        return sum(len(s) for s in self.by_instance.values())


class _HostIndex:
    """Which instance a ``host`` dimension names, by its private DNS name (or instance id)."""

    def __init__(self, hosts: Mapping[str, str | None]) -> None:
        self._full: dict[str, set[str]] = {}
        self._short: dict[str, set[str]] = {}
        self._ids = {iid.lower(): iid for iid in hosts}
        for iid, dns in hosts.items():
            if dns:
                self._full.setdefault(dns.lower(), set()).add(iid)
                self._short.setdefault(dns.lower().split(".", 1)[0], set()).add(iid)

    def lookup(self, host: str) -> set[str]:
        host = host.strip().lower()
        if host in self._full:
            return self._full[host]
        first = host.split(".", 1)[0]
        if first in self._ids:  # resource-based host name: i-0123abcd.ec2.internal
            return {self._ids[first]}
        if "." not in host:  # the short host name some AMIs report: ip-10-0-1-23
            return self._short.get(host, set())
        return set()


class CloudWatchApi:
    def __init__(self, client: Any) -> None:
        self._client = client

    # -- GPU series discovery ------------------------------------------------------------

    def discover_gpu_series(
        self,
        hosts: Mapping[str, str | None],
        *,
        namespaces: Sequence[str] = (GPU.namespace,),
        metric: str = GPU.name,
    ) -> GpuDiscovery:
        """Every ``metric`` series in ``namespaces`` belonging to one of ``hosts``' instances.

        ``hosts`` maps instance id -> private DNS name (None if it has none). A series carrying
        ``InstanceId`` belongs to that instance (or to none asked about); one without it belongs
        to the instance whose private DNS name its ``host`` is.
        """
        found = GpuDiscovery()
        index = _HostIndex(hosts)
        seen: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        paginator = self._client.get_paginator("list_metrics")
        for namespace in dict.fromkeys(namespaces):
            for page in paginator.paginate(Namespace=namespace, MetricName=metric):
                for listed in page["Metrics"]:
                    # Kept in the order listed: CloudWatch ignores the order, but moto (the
                    # emulator; its Dimension ordering is inconsistent) matches only that order.
                    dims = tuple((d["Name"], d["Value"]) for d in listed.get("Dimensions", []))
                    key = (listed["Namespace"], listed["MetricName"], tuple(sorted(dims)))
                    if key in seen:  # one query per series, however often a listing repeats it
                        continue
                    seen.add(key)
                    found.listed += 1
                    owner = self._owner(dict(dims), hosts, index, found)
                    if owner is not None:
                        found.by_instance.setdefault(owner, []).append(
                            GpuSeries(owner, listed["Namespace"], listed["MetricName"], dims)
                        )
        for iid, series in found.by_instance.items():
            # ``aggregation_dimensions`` (e.g. [["InstanceId"]]) adds roll-ups over all GPUs next
            # to the per-GPU series: an average is not a GPU, and could hide the one busy GPU.
            per_gpu = [s for s in series if s.index is not None]
            found.rollups_skipped += len(series) - len(per_gpu) if per_gpu else 0
            found.by_instance[iid] = sorted(
                per_gpu or series, key=lambda s: (_index_key(s.index), s.namespace, s.dimensions)
            )
        return found

    @staticmethod
    def _owner(
        dims: dict[str, str], hosts: Mapping[str, str | None], index: _HostIndex, found: GpuDiscovery
    ) -> str | None:
        if "InstanceId" in dims:
            iid = dims["InstanceId"]
            if iid in hosts:
                return iid
            found.unknown_hosts.add(iid)
            return None
        host = dims.get("host")
        if host is None:
            return None
        owners = index.lookup(host)
        if len(owners) == 1:
            return next(iter(owners))
        (found.ambiguous_hosts if owners else found.unknown_hosts).add(host)
        return None

    # -- history -------------------------------------------------------------------------

    def instance_utilisation(
        self,
        instance_ids: Iterable[str],
        *,
        end: datetime,
        days: int | None = None,
        start: datetime | None = None,
        period_seconds: int = HOURLY,
        gpu: Mapping[str, Sequence[GpuSeries]] | None = None,
    ) -> dict[str, list[MetricSeries]]:
        """Hourly averages of CPU for ``instance_ids`` and of every GPU series in ``gpu``.

        The window ends at ``end`` (exclusive) and starts ``days`` before it, or at ``start``.
        Series without datapoints in the window are left out.
        """
        if (days is None) == (start is None):
            raise ValueError("give exactly one of days= or start=")
        start = start if start is not None else end - timedelta(days=days or 0)
        ids = list(instance_ids)
        wanted: list[tuple[str, str, str, tuple[tuple[str, str], ...]]] = [
            (iid, *CPU, (("InstanceId", iid),)) for iid in ids
        ]
        for iid, series in (gpu or {}).items():
            wanted.extend((iid, s.namespace, s.metric, s.dimensions) for s in series)
        result: dict[str, list[MetricSeries]] = {iid: [] for iid in ids}
        for offset in range(0, len(wanted), _MAX_QUERIES_PER_CALL):
            batch = wanted[offset : offset + _MAX_QUERIES_PER_CALL]
            points = self._metric_data(batch, start, end, period_seconds)
            for n, (iid, ns, metric, dims) in enumerate(batch):
                pts = points[f"q{n}"]
                if not pts:
                    continue
                result.setdefault(iid, []).append(
                    MetricSeries(
                        resource_id=iid,
                        namespace=ns,
                        name=metric,
                        dimensions=dict(dims),
                        period_seconds=period_seconds,
                        points=sorted(pts, key=lambda p: p.at),
                    )
                )
        return result

    def metric_data(
        self, queries: Sequence[tuple[str, str, tuple[tuple[str, str], ...]]],
        start: datetime, end: datetime, period_seconds: int = HOURLY, stat: str = "Average",
    ) -> list[list[MetricPoint]]:
        """Datapoints of each (namespace, metric, dimensions) query, in query order, by ``stat``."""
        out: list[list[MetricPoint]] = []
        for offset in range(0, len(queries), _MAX_QUERIES_PER_CALL):
            batch = [("", *q) for q in queries[offset : offset + _MAX_QUERIES_PER_CALL]]
            points = self._metric_data(batch, start, end, period_seconds, stat)
            out.extend(sorted(points[f"q{n}"], key=lambda p: p.at) for n in range(len(batch)))
        return out

    def _metric_data(
        self, batch: Sequence[tuple[str, str, str, tuple[tuple[str, str], ...]]],
        start: datetime, end: datetime, period_seconds: int, stat: str = "Average",
    ) -> dict[str, list[MetricPoint]]:
        """One GetMetricData request (following its NextToken) for at most 500 series."""
        points: dict[str, list[MetricPoint]] = {f"q{n}": [] for n in range(len(batch))}
        kwargs: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": f"q{n}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": ns,
                            "MetricName": metric,
                            "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                        },
                        "Period": period_seconds,
                        "Stat": stat,
                    },
                }
                for n, (_, ns, metric, dims) in enumerate(batch)
            ],
            "StartTime": start,
            "EndTime": end,
        }
        while True:
            resp = self._client.get_metric_data(**kwargs)
            for res in resp["MetricDataResults"]:
                points[res["Id"]].extend(
                    MetricPoint(at=t, value=float(v))
                    for t, v in zip(res["Timestamps"], res["Values"], strict=False)
                )
            token = resp.get("NextToken")
            if not token:
                return points
            kwargs["NextToken"] = token

    # -- publishing (emulators and the demo) ---------------------------------------------

    def put_utilisation(
        self,
        instance_id: str | None,
        namespace: str,
        metric: str,
        points: list[tuple[datetime, float]],
        *,
        dimensions: Mapping[str, str] | None = None,
        unit: str = "Percent",
    ) -> None:
        """Publish history: with ``dimensions`` as given, else ``{InstanceId: instance_id}``."""
        dims = dict(dimensions) if dimensions is not None else {"InstanceId": str(instance_id)}
        for offset in range(0, len(points), 1000):
            self._client.put_metric_data(
                Namespace=namespace,
                MetricData=[
                    {
                        "MetricName": metric,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                        "Timestamp": at,
                        "Value": value,
                        "Unit": unit,
                    }
                    for at, value in points[offset : offset + 1000]
                ],
            )


def _index_key(index: str | None) -> tuple[int, str]:
    """GPU 2 before GPU 10; series without an index last."""
    if index is not None and index.isdigit():
        return (int(index), "")
    return (1 << 30, index or "")
