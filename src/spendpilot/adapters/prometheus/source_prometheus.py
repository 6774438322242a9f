"""Kubernetes usage history from the Prometheus HTTP API, attached to a cluster by name.

The Kubernetes source reads a cluster's objects; this source reads how much of what was requested
was used, from the metrics nearly every cluster already keeps:

- CPU (cores): ``rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[5m])``
  sampled at every step (cAdvisor via the kubelet). ``container=""`` is the pod-level cgroup
  total and ``container="POD"`` the pause container; both would double-count.
- Memory (bytes): ``max_over_time(container_memory_working_set_bytes{...}[step])``; the peak
  within each step, because memory recommendations are made from the peak.
- GPU (DCGM exporter): ``avg_over_time(DCGM_FI_DEV_GPU_UTIL[step])`` (percent) and
  ``max_over_time(DCGM_FI_DEV_FB_USED[step])`` (MiB), one series per GPU (or MIG instance),
  attributed to the pod the exporter names. With the exporter's Kubernetes mapping on, its
  ``namespace``/``pod``/``container`` labels become ``exported_namespace``/``exported_pod``/
  ``exported_container`` when Prometheus attaches its own target labels; both spellings are
  accepted and the ``exported_`` one wins (the plain one is then the exporter's own pod).

The result is a ``ClusterState`` named like the cluster's Kubernetes source (``cluster``), with
only ``usage`` filled; the snapshot merges the two. Bounded for large clusters: CPU and memory are
queried one namespace at a time, and every range query is split in time below Prometheus'
11,000-points-per-series cap. An unreachable server or a refused query is an error (the sweep
makes it a named gap); failing DCGM queries leave a gap for that part only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import Field, TypeAdapter, field_validator

from spendpilot.adapters.base import Source, SourceContext, SourceSettings, register_source
from spendpilot.adapters.prometheus.client import PrometheusClient, PrometheusError, RangeSeries
from spendpilot.domain import SourceResult
from spendpilot.domain.kubernetes import ClusterState, UsageSeries
from spendpilot.domain.resources import MetricPoint
from spendpilot.domain.snapshot import Gap

CONTAINER_FILTER = 'container!="",container!="POD"'
GPU_LABELS_KEPT = ("gpu", "UUID", "modelName", "Hostname", "device", "GPU_I_PROFILE", "GPU_I_ID")
_POINTS = TypeAdapter(list[MetricPoint])
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> int:
    """A Prometheus-style duration with one unit ("5m", "1h", "30s", "1d") in seconds."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 1d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class PrometheusSettings(SourceSettings):
    kind: str = "prometheus"
    url: str = Field(description="Prometheus base URL, e.g. http://prometheus.monitoring:9090.")
    cluster: str = Field(description="Name of the cluster this usage belongs to (the Kubernetes source's cluster name).")
    lookback_days: int = Field(14, ge=1, le=90, description="Days of history read (KRR's default window is 14 days).")
    step: str = Field("1h", description="Resolution of the history read (one point per step).")
    cpu_rate_window: str = Field("5m", description="Window of rate() over the CPU counter; at least 2 scrape intervals.")
    timeout_seconds: float = Field(60.0, gt=0, description="Per-request timeout.")

    @field_validator("step", "cpu_rate_window")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_seconds(value)
        return value


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class PrometheusSource:
    def __init__(self, settings: PrometheusSettings, client: PrometheusClient) -> None:
        self.name = settings.name or f"prometheus {settings.cluster}"
        self.settings = settings
        self.client = client
        self.step = duration_seconds(settings.step)

    def read(self, ctx: SourceContext) -> SourceResult:
        end = datetime.fromtimestamp(ctx.now.timestamp() // self.step * self.step, tz=UTC)
        start = end - timedelta(days=self.settings.lookback_days)
        namespaces = self._namespaces()
        usage: list[UsageSeries] = []
        rate_window = self.settings.cpu_rate_window
        for ns in namespaces:
            selector = f'{CONTAINER_FILTER},namespace="{_quote(ns)}"'
            cpu = self.client.query_range(
                f"rate(container_cpu_usage_seconds_total{{{selector}}}[{rate_window}])", start, end, self.step
            )
            mem = self.client.query_range(
                f"max_over_time(container_memory_working_set_bytes{{{selector}}}[{self.settings.step}])",
                start, end, self.step,
            )
            usage += [s for s in (self._container_series(r, "cpu_cores") for r in cpu) if s]
            usage += [s for s in (self._container_series(r, "memory_bytes") for r in mem) if s]
        gaps: list[Gap] = []
        warnings: list[str] = []
        try:
            gpu_util = self.client.query_range(
                f"avg_over_time(DCGM_FI_DEV_GPU_UTIL[{self.settings.step}])", start, end, self.step
            )
            gpu_mem = self.client.query_range(
                f"max_over_time(DCGM_FI_DEV_FB_USED[{self.settings.step}])", start, end, self.step
            )
        except PrometheusError as exc:
            gaps.append(Gap(source=self.name, part="DCGM GPU metrics", error=str(exc)))
        else:
            gpu = [s for s in (self._gpu_series(r, "gpu_util_percent", _renaming_jobs(gpu_util)) for r in gpu_util) if s]
            gpu += [s for s in (self._gpu_series(r, "gpu_fb_used_mib", _renaming_jobs(gpu_mem)) for r in gpu_mem) if s]
            if not gpu_util:
                warnings.append("no DCGM_FI_DEV_GPU_UTIL series (no GPUs, or the DCGM exporter is not scraped)")
            usage += gpu
        pods = {(u.namespace, u.pod) for u in usage}
        state = ClusterState(
            cluster=self.settings.cluster, read_at=ctx.now, usage=usage,
            usage_window_hours=(end - start).total_seconds() / 3600,
        )
        return SourceResult(
            clusters=[state], gaps=gaps, warnings=warnings,
            summary=f"{len(usage):,} usage series of {len(pods):,} pods in {len({u.namespace for u in usage})} namespaces "
            f"({self.settings.lookback_days} d at {self.settings.step})",
        )

    def _namespaces(self) -> list[str]:
        window = f"{self.settings.lookback_days}d"
        names: set[str] = set()
        for metric in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes"):
            found = self.client.query(f"group by (namespace) (last_over_time({metric}{{{CONTAINER_FILTER}}}[{window}]))")
            names.update(s.labels["namespace"] for s in found if s.labels.get("namespace"))
        return sorted(names)

    def _points(self, series: RangeSeries) -> list[MetricPoint]:
        # One validation call over the whole series (pydantic-core reads unix seconds as UTC):
        # 1,000 pods x 14 days is 671k points, and building them one by one took most of the read.
        return _POINTS.validate_python([{"at": t, "value": v} for t, v in series.points])

    def _container_series(self, series: RangeSeries, metric: str) -> UsageSeries | None:
        labels = series.labels
        if not labels.get("namespace") or not labels.get("pod") or not series.points:
            return None
        return UsageSeries(
            namespace=labels["namespace"], pod=labels["pod"], container=labels.get("container"),
            metric=metric, step_seconds=self.step, points=self._points(series),
        )

    def _gpu_series(self, series: RangeSeries, metric: str, renaming_jobs: set[str | None]) -> UsageSeries | None:
        labels = series.labels
        # In a scrape job whose series carry ``exported_pod``, the plain ``pod`` label is the
        # exporter's own pod: a GPU without ``exported_pod`` there is held by no pod.
        renamed = labels.get("job") in renaming_jobs

        def pick(name: str) -> str | None:
            if renamed:
                return labels.get(f"exported_{name}") or None
            return labels.get(name) or None

        namespace, pod = pick("namespace"), pick("pod")
        if not namespace or not pod or not series.points:
            return None  # a GPU no pod holds: node-level, not attributable to a workload
        return UsageSeries(
            namespace=namespace, pod=pod, container=pick("container"), metric=metric,
            step_seconds=self.step, points=self._points(series),
            labels={k: labels[k] for k in GPU_LABELS_KEPT if k in labels},
        )


def _renaming_jobs(series: list[RangeSeries]) -> set[str | None]:
    """Scrape jobs in which the exporter's pod labels arrive renamed ``exported_*``."""
    return {s.labels.get("job") for s in series if "exported_pod" in s.labels}


@register_source(
    "prometheus",
    settings=PrometheusSettings,
    description="Kubernetes container CPU/memory and DCGM GPU usage history from the Prometheus HTTP API.",
)
def prometheus_sources(settings: PrometheusSettings, home: Path) -> Sequence[Source]:
    return [PrometheusSource(settings, PrometheusClient(settings.url, timeout_seconds=settings.timeout_seconds))]
