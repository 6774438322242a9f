"""CloudWatch utilisation history: CPU from AWS/EC2, GPU from the CloudWatch agent (CWAgent).

Real accounts publish GPU utilisation only if the CloudWatch agent runs with its nvidia_gpu
section; the agent's metric is ``nvidia_smi_utilization_gpu`` in namespace ``CWAgent``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from spendpilot.domain import MetricPoint, MetricSeries
from spendpilot.domain.metrics import EC2_CPU as CPU
from spendpilot.domain.metrics import HOURLY
from spendpilot.domain.metrics import NVIDIA_GPU as GPU

_MAX_QUERIES_PER_CALL = 500


class CloudWatchApi:
    def __init__(self, client: Any) -> None:
        self._client = client

    def instance_utilisation(
        self,
        instance_ids: list[str],
        *,
        end: datetime,
        days: int | None = None,
        start: datetime | None = None,
        period_seconds: int = HOURLY,
        include_gpu: set[str] | None = None,
    ) -> dict[str, list[MetricSeries]]:
        """Hourly averages of CPU (all instances) and GPU (instances in ``include_gpu``).

        The window ends at ``end`` (exclusive) and starts ``days`` before it, or at ``start``.
        """
        if (days is None) == (start is None):
            raise ValueError("give exactly one of days= or start=")
        start = start if start is not None else end - timedelta(days=days or 0)
        queries: list[tuple[str, str, str, str]] = []  # (query id, instance, namespace, metric)
        for n, iid in enumerate(instance_ids):
            queries.append((f"cpu{n}", iid, *CPU))
            if include_gpu is None or iid in include_gpu:
                queries.append((f"gpu{n}", iid, *GPU))
        result: dict[str, list[MetricSeries]] = {iid: [] for iid in instance_ids}
        for offset in range(0, len(queries), _MAX_QUERIES_PER_CALL):
            batch = queries[offset : offset + _MAX_QUERIES_PER_CALL]
            by_id = {q[0]: q for q in batch}
            points: dict[str, list[MetricPoint]] = {q[0]: [] for q in batch}
            kwargs: dict[str, Any] = {
                "MetricDataQueries": [
                    {
                        "Id": qid,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": ns,
                                "MetricName": metric,
                                "Dimensions": [{"Name": "InstanceId", "Value": iid}],
                            },
                            "Period": period_seconds,
                            "Stat": "Average",
                        },
                    }
                    for qid, iid, ns, metric in batch
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
                    break
                kwargs["NextToken"] = token
            for qid, pts in points.items():
                _, iid, ns, metric = by_id[qid]
                if not pts:
                    continue
                result[iid].append(
                    MetricSeries(
                        resource_id=iid,
                        namespace=ns,
                        name=metric,
                        period_seconds=period_seconds,
                        points=sorted(pts, key=lambda p: p.at),
                    )
                )
        return result

    def put_utilisation(
        self, instance_id: str, namespace: str, metric: str, points: list[tuple[datetime, float]]
    ) -> None:
        """Publish history (used to seed emulators and by the demo)."""
        for offset in range(0, len(points), 1000):
            self._client.put_metric_data(
                Namespace=namespace,
                MetricData=[
                    {
                        "MetricName": metric,
                        "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                        "Timestamp": at,
                        "Value": value,
                        "Unit": "Percent",
                    }
                    for at, value in points[offset : offset + 1000]
                ],
            )
