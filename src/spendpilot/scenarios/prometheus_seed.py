"""A real Prometheus on 127.0.0.1 serving generated Kubernetes usage history.

The usage tests and eval scenarios with a ``usage.yaml`` use it (``scenario_prometheus``).

History is written as OpenMetrics text and turned into TSDB blocks by
``promtool tsdb create-blocks-from openmetrics`` (Prometheus' documented backfill path); then
``prometheus`` starts on those blocks with an ephemeral port and no scrape targets, so every
sample a query sees is one the test wrote. Backfill rules this module follows (promtool's
``backfill.go`` and the Prometheus storage docs): timestamps in seconds, one metric family's
samples contiguous, a counter family's samples named ``<family>_total``, the file ends with
``# EOF``; retention is set far beyond the generated history so no backfilled block is dropped.

Where Debian's ``prometheus`` package is not installed, ``prometheus_binaries()`` says so in one
line: the tests skip with it (CI installs the package in ``.ci/run``) and a scenario that needs
it fails with it.

Generated series have one value per hour; samples are written every ``SCRAPE_SECONDS`` inside
the hour, offset by half an interval, so a query evaluated at an hour's end sees only that hour:
``rate(...[5m])`` covers five of its samples and ``*_over_time(...[1h])`` all sixty. Their
labels are the ones cAdvisor (via the kubelet) and NVIDIA's DCGM exporter put on them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spendpilot.errors import ScenarioError

READY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Sample:
    """One sample of one series, under the name it is queried by."""

    name: str
    labels: tuple[tuple[str, str], ...]
    at: float
    """Unix seconds."""
    value: float


@dataclass
class History:
    """Generated series, grouped by metric family, written out as one OpenMetrics file."""

    types: dict[str, str] = field(default_factory=dict)
    """Family name -> "gauge" | "counter"."""
    series: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(self, name: str, kind: str, labels: dict[str, str], points: Iterable[tuple[float, float]]) -> None:
        """Add (unix seconds, value) points of one series, named as queried (a counter's name ends
        in ``_total``); counters must not decrease."""
        if kind == "counter" and not name.endswith("_total"):
            raise ValueError(f"counter {name} must be named <family>_total")
        known = self.types.setdefault(name, kind)
        if known != kind:
            raise ValueError(f"metric {name} declared as {known} and {kind}")
        self.series[(name, tuple(sorted(labels.items())))].extend(points)

    def openmetrics(self) -> str:
        lines: list[str] = []
        by_family: dict[str, list[tuple[tuple[str, str], ...]]] = defaultdict(list)
        for name, labels in self.series:
            by_family[name].append(labels)
        for name, label_sets in by_family.items():
            kind = self.types[name]
            # An OpenMetrics counter family ``foo`` has samples ``foo_total``: the family line
            # drops the suffix, or promtool stores the series as ``foo_total_total``.
            family = name.removesuffix("_total") if kind == "counter" else name
            lines.append(f"# TYPE {family} {kind}")
            sample_name = name
            for labels in label_sets:
                rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                for at, value in sorted(self.series[(name, labels)]):
                    lines.append(f"{sample_name}{{{rendered}}} {value!r} {at:.3f}")
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_binaries() -> tuple[str, str] | str:
    """(prometheus, promtool) paths, or a one-line reason they cannot be used."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        return "prometheus/promtool not installed (Debian package `prometheus`; .ci/run installs it)"
    return prometheus, promtool


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrometheusServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]


@contextmanager
def running_prometheus(history: History, workdir: Path) -> Iterator[PrometheusServer]:
    """Backfill ``history`` into a fresh TSDB under ``workdir`` and serve it until the block ends."""
    found = prometheus_binaries()
    if isinstance(found, str):
        raise RuntimeError(found)
    prometheus, promtool = found
    data_dir = workdir / "tsdb"
    data_dir.mkdir(parents=True, exist_ok=True)
    om_file = workdir / "history.om"
    om_file.write_text(history.openmetrics(), encoding="utf-8")
    created = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=768h",
         str(om_file), str(data_dir)],
        capture_output=True, text=True, timeout=300,
    )
    if created.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {created.stderr.strip() or created.stdout.strip()}")
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\nscrape_configs: []\n", encoding="utf-8")
    port = _free_port()
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
         "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}",
         "--web.enable-lifecycle"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, workdir / "prometheus.log")
        yield PrometheusServer(url=url, data_dir=data_dir, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"prometheus exited with {process.returncode}: {tail}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"prometheus at {url} not ready after {READY_TIMEOUT_SECONDS:.0f} s")


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


# --- eval scenarios: usage.yaml -----------------------------------------------------------------

class UsageSeriesSpec(BaseModel):
    """One pod's (container's, GPU's) hourly usage in a scenario, ending at the seeding hour."""

    model_config = ConfigDict(extra="forbid")

    namespace: str
    pod: str
    container: str | None = None
    metric: Literal["cpu_cores", "memory_bytes", "gpu_util_percent", "gpu_fb_used_mib"]
    values: list[float] = Field(default_factory=lambda: [0.0], min_length=1)
    """Cycled hour by hour, the first value at the oldest hour."""
    office_hours: dict[str, float] | None = None
    """``{busy: x, idle: y}``: x on weekdays 08:00-20:00 UTC, y otherwise (instead of ``values``)."""
    recent_hours: int | None = None
    recent_value: float | None = None
    """The most recent ``recent_hours`` hours read ``recent_value`` (e.g. idle since yesterday)."""
    node: str = "node-1"
    gpu: str = "0"
    model: str = "NVIDIA A100-SXM4-40GB"
    exported: bool = True
    """DCGM series: pod labels as a Prometheus scrape renames them (``exported_pod``)."""

    def hourly(self, end: datetime, hours: int) -> list[float]:
        out: list[float] = []
        for h in range(hours):
            if self.office_hours is not None:
                start = end - timedelta(hours=hours - h)
                business = start.weekday() < 5 and 8 <= start.hour < 20
                out.append(self.office_hours["busy" if business else "idle"])
            else:
                out.append(self.values[h % len(self.values)])
        if self.recent_hours and self.recent_value is not None:
            out[-self.recent_hours:] = [self.recent_value] * min(self.recent_hours, hours)
        return out


class ClusterUsageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster: str
    """The Kubernetes cluster (``cluster.yaml`` name) this usage belongs to."""
    hours: int = Field(168, ge=1, le=24 * 30)
    series: list[UsageSeriesSpec] = Field(default_factory=list)


class UsageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clusters: list[ClusterUsageSpec] = Field(default_factory=list)


def load_usage(scenario_dir: Path) -> UsageSpec | None:
    """The scenario's ``usage.yaml``, or None when it has none; a mistake names file and field."""
    path = scenario_dir / "usage.yaml"
    if not path.is_file():
        return None
    try:
        return UsageSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc


def usage_history(spec: ClusterUsageSpec, end: datetime) -> History:
    history = History()
    for s in spec.series:
        values = s.hourly(end, spec.hours)
        if s.metric in ("cpu_cores", "memory_bytes"):
            labels = {"namespace": s.namespace, "pod": s.pod, "container": s.container or "main", "node": s.node,
                      "job": "kubelet", "metrics_path": "/metrics/cadvisor"}
            if s.metric == "cpu_cores":
                history.add("container_cpu_usage_seconds_total", "counter", labels, _counter_points(end, values))
            else:
                history.add("container_memory_working_set_bytes", "gauge", labels, _gauge_points(end, values))
        else:
            labels = {"gpu": s.gpu, "UUID": f"GPU-{s.namespace}-{s.pod}-{s.gpu}", "device": f"nvidia{s.gpu}",
                      "modelName": s.model, "Hostname": s.node,
                      "job": "dcgm-exporter" if s.exported else "dcgm-exporter-honor-labels"}
            owner = {"namespace": s.namespace, "pod": s.pod, "container": s.container}
            for key, value in owner.items():
                if value is not None:
                    labels[f"exported_{key}" if s.exported else key] = value
            name = "DCGM_FI_DEV_GPU_UTIL" if s.metric == "gpu_util_percent" else "DCGM_FI_DEV_FB_USED"
            history.add(name, "gauge", labels, _gauge_points(end, values))
    return history


def _counter_points(end: datetime, rates: Sequence[float]) -> list[tuple[float, float]]:
    counter, points = 0.0, []
    for start, rate in zip(_hour_starts(end, len(rates)), rates, strict=True):
        previous = start
        for t in _samples(start):
            counter += rate * (t - previous)
            previous = t
            points.append((t, counter))
        counter += rate * (start + 3600 - previous)
    return points


def _gauge_points(end: datetime, values: Sequence[float]) -> list[tuple[float, float]]:
    return [(t, v) for start, v in zip(_hour_starts(end, len(values)), values, strict=True) for t in _samples(start)]


@contextmanager
def scenario_prometheus(scenario_dir: Path, home: Path, now: datetime, *, required: bool = True,
                        skipped: Callable[[str], None] | None = None) -> Iterator[list[dict[str, object]]]:
    """Serve the scenario's ``usage.yaml`` from one Prometheus per cluster; yields the
    ``[[sources]]`` entries that read them (none when the scenario has no usage).

    Without the ``prometheus`` binaries an eval fails (``required``); the demo passes
    ``required=False`` and goes on without usage, telling ``skipped`` why."""
    spec = load_usage(scenario_dir)
    if spec is None or not spec.clusters:
        yield []
        return
    found = prometheus_binaries()
    if isinstance(found, str):
        if required:
            raise ScenarioError(f"{scenario_dir / 'usage.yaml'}: {found}")
        if skipped is not None:
            skipped(f"usage.yaml not served: {found}")
        yield []
        return
    end = now.replace(minute=0, second=0, microsecond=0)
    with ExitStack() as stack:
        sources: list[dict[str, object]] = []
        for c in spec.clusters:
            server = stack.enter_context(running_prometheus(usage_history(c, end), home / f"prometheus-{c.cluster}"))
            sources.append({"kind": "prometheus", "name": f"prometheus {c.cluster}", "url": server.url,
                            "cluster": c.cluster, "lookback_days": max(1, -(-c.hours // 24))})
        yield sources
