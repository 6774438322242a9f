"""Generated Kubernetes usage history in the shapes cAdvisor and the DCGM exporter expose.

Each hour of a series has one value; samples are written every ``SCRAPE_SECONDS`` inside the
hour, offset by half an interval, so a query evaluated at an hour's end sees only that hour:
``rate(...[5m])`` covers five of its samples and ``*_over_time(...[1h])`` all sixty.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tests.k8s.prometheus_server import History

SCRAPE_SECONDS = 60


def _hour_starts(end: datetime, hours: int) -> list[float]:
    t_end = end.timestamp()
    return [t_end - (hours - h) * 3600 for h in range(hours)]


def _samples(start: float) -> list[float]:
    return [start + SCRAPE_SECONDS / 2 + k * SCRAPE_SECONDS for k in range(3600 // SCRAPE_SECONDS)]


def add_container(history: History, end: datetime, *, namespace: str, pod: str, container: str,
                  cpu_cores: Sequence[float], memory_bytes: Sequence[float], node: str = "node-1") -> None:
    """One container's CPU counter and memory gauge, one value per hour ending at ``end``."""
    labels = {"namespace": namespace, "pod": pod, "container": container, "node": node,
              "job": "kubelet", "metrics_path": "/metrics/cadvisor"}
    hours = len(cpu_cores)
    counter, cpu_points, mem_points = 1000.0, [], []
    for start, rate, mem in zip(_hour_starts(end, hours), cpu_cores, memory_bytes, strict=True):
        previous = start
        for t in _samples(start):
            counter += rate * (t - previous)
            previous = t
            cpu_points.append((t, counter))
            mem_points.append((t, mem))
        counter += rate * (start + 3600 - previous)
    history.add("container_cpu_usage_seconds_total", "counter", labels, cpu_points)
    history.add("container_memory_working_set_bytes", "gauge", labels, mem_points)


def add_gpu(history: History, end: datetime, *, gpu: str, uuid: str, util_percent: Sequence[float],
            fb_used_mib: Sequence[float], namespace: str | None, pod: str | None, container: str | None = None,
            exported: bool = True, model: str = "NVIDIA A100-SXM4-40GB", hostname: str = "node-gpu-1") -> None:
    """One GPU's DCGM utilisation and framebuffer use; ``exported`` spells the pod labels as a
    Prometheus scrape does (``exported_pod``), with the exporter's own pod as ``pod``."""
    labels = {"gpu": gpu, "UUID": uuid, "device": f"nvidia{gpu}", "modelName": model, "Hostname": hostname,
              "job": "dcgm-exporter" if exported else "dcgm-exporter-honor-labels"}
    owner = {"namespace": namespace, "pod": pod, "container": container}
    for key, value in owner.items():
        if value is not None:
            labels[f"exported_{key}" if exported else key] = value
    if exported:
        labels.update({"namespace": "gpu-operator", "pod": "nvidia-dcgm-exporter-x7k2p"})
    util_points, fb_points = [], []
    for start, util, fb in zip(_hour_starts(end, len(util_percent)), util_percent, fb_used_mib, strict=True):
        for t in _samples(start):
            util_points.append((t, util))
            fb_points.append((t, fb))
    history.add("DCGM_FI_DEV_GPU_UTIL", "gauge", labels, util_points)
    history.add("DCGM_FI_DEV_FB_USED", "gauge", labels, fb_points)
