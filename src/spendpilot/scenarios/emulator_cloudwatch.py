"""Faster, result-identical GetMetricData and ListMetrics for the local emulator (moto 5.x).

moto's CloudWatch keeps every datapoint in one list. Its GetMetricData re-scans that whole list
for every query *and every period* (an hourly query over a week: 168 scans per series), and its
ListMetrics compares each datapoint with every series kept so far. Sweeping the demo spent about
7 s of CPU in those two calls, on every ``spendpilot demo``, ``spendpilot eval`` scenario and
test that sweeps.

The replacements compute exactly what moto computes, quirks included (a query with dimensions
matches on name and dimensions but not namespace; ListMetrics never merges the datapoints of a
series with two or more different dimensions, see ``are_dimensions_same``): each query filters
the datapoints once and buckets them by period; ListMetrics keeps a set of the series it has
kept. ListMetrics answers with plain dicts rather than moto's datapoint objects, which moto's
response serializer otherwise reflects on field by field (a series listed once per datapoint, as
moto does, is thousands of entries: a third of the call). Queries with metric-math or Metrics
Insights expressions go to moto's own code. They are
installed only on the moto version they were checked against (``_CHECKED``); any other runs as
moto ships.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

_CHECKED = ("5.2.",)
"""moto versions whose CloudWatch backend these functions were compared against, line by line."""

_installed = False
moto_originals: dict[str, Any] = {}
"""moto's own methods, as they were before ``install`` (kept so a test can compare the two)."""


def install() -> bool:
    """Replace the two methods on moto's CloudWatch backend (once); False if moto is not a checked version."""
    global _installed
    if _installed:
        return True
    import moto
    from moto.cloudwatch import models

    if not moto.__version__.startswith(_CHECKED):
        return False
    backend = models.CloudWatchBackend
    moto_get_metric_data = backend.get_metric_data

    def get_metric_data(
        self: Any, queries: list[dict[str, Any]], start_time: datetime, end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        if not all("MetricStat" in q for q in queries):
            return moto_get_metric_data(self, queries, start_time, end_time, scan_by)
        moto_get_metric_data(self, [], start_time, end_time, scan_by)  # moto's own validation
        start = start_time.replace(microsecond=0)
        end = end_time.replace(microsecond=0)
        in_window = [(md, sorted(md.dimensions)) for md in self.get_all_metrics() if start <= md.timestamp < end]
        results = []
        for query in queries:
            stat_spec = query["MetricStat"]
            metric = stat_spec["Metric"]
            namespace, name = metric["Namespace"], metric["MetricName"]
            delta = timedelta(seconds=int(stat_spec["Period"]))
            wanted = sorted(models.Dimension(name=d["Name"], value=d["Value"]) for d in metric.get("Dimensions", []))
            if wanted:
                matched = [md for md, dims in in_window if dims == wanted and md.name == name]
            else:
                matched = [md for md, _ in in_window if md.namespace == namespace and md.name == name]
            unit = stat_spec.get("Unit")
            if unit:
                matched = [md for md in matched if md.unit == unit]
            buckets: dict[int, list[Any]] = {}
            for md in matched:
                buckets.setdefault((md.timestamp - start) // delta, []).append(md)
            stat = stat_spec["Stat"]
            values: list[Any] = []
            timestamps: list[Any] = []
            for index in sorted(buckets):
                stats = models.Statistics([stat], start + index * delta)
                stats.metric_data = buckets[index]
                values.append(stats.get_statistics_for_type(stat))
                timestamps.append(stats.timestamp)
            if scan_by == "TimestampDescending" and timestamps:
                timestamps.reverse()
                values.reverse()
            if query.get("ReturnData", True):
                results.append({
                    "id": query["Id"], "label": query.get("Label") or f"{name} {stat}",
                    "values": values, "timestamps": timestamps, "status_code": "Complete",
                })
        return results

    def get_filtered_metrics(
        self: Any, metric_name: str, namespace: str, dimensions: list[dict[str, str]]
    ) -> list[Any]:
        kept: list[Any] = []
        present: set[tuple[Any, ...]] = set()
        for md in self.get_all_metrics():
            if namespace and namespace != md.namespace:
                continue
            if metric_name and metric_name != md.name:
                continue
            pairs = {(d.name, d.value) for d in md.dimensions}
            # are_dimensions_same holds only between equally long lists of one repeated pair.
            key = (md.name, md.namespace, len(md.dimensions), *pairs) if len(pairs) == 1 else None
            if key is not None and key in present:
                continue
            if dimensions and any(
                models.Dimension(d["Name"], d.get("Value")) not in md.dimensions for d in dimensions
            ):
                continue
            kept.append(md)
            if key is not None:
                present.add(key)
        return kept

    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    def list_metrics(self: Any) -> ActionResult:
        # moto's CloudWatchResponse.list_metrics, with each metric handed over as the dict it becomes
        next_token, metrics = self.cloudwatch_backend.list_metrics(
            self._get_param("NextToken"), self._get_param("Namespace"), self._get_param("MetricName"),
            self._get_params().get("Dimensions", []),
        )
        listed = [
            {"Namespace": m.namespace, "MetricName": m.name,
             "Dimensions": [{"Name": d.name, "Value": d.value} for d in m.dimensions]}
            for m in metrics
        ]
        return ActionResult({"Metrics": listed, "NextToken": next_token})

    moto_originals.update(
        get_metric_data=moto_get_metric_data, get_filtered_metrics=backend.get_filtered_metrics,
        list_metrics=CloudWatchResponse.list_metrics,
    )
    backend.get_metric_data = get_metric_data  # type: ignore[method-assign]
    backend.get_filtered_metrics = get_filtered_metrics  # type: ignore[method-assign]
    CloudWatchResponse.list_metrics = list_metrics  # type: ignore[method-assign]
    _installed = True
    return True
