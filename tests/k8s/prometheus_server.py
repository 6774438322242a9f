"""A real Prometheus on 127.0.0.1, loaded with generated history, for the usage tests.

History is written as OpenMetrics text and turned into TSDB blocks by
``promtool tsdb create-blocks-from openmetrics`` (Prometheus' documented backfill path); then
``prometheus`` starts on those blocks with an ephemeral port and no scrape targets, so every
sample a query sees is one the test wrote. Backfill rules this module follows (promtool's
``backfill.go`` and the Prometheus storage docs): timestamps in seconds, one metric family's
samples contiguous, a counter family's samples named ``<family>_total``, the file ends with
``# EOF``; retention is set far beyond the generated history so no backfilled block is dropped.

Where Debian's ``prometheus`` package is not installed, ``prometheus_binaries()`` says so in one
line and the tests skip with it (CI installs the package in ``.ci/run``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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
