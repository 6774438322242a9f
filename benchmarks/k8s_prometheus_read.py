"""Reading 1,000 pods x 14 days of hourly usage through the Prometheus source (a real Prometheus).

Generates one CPU counter and one memory gauge per pod, one sample an hour (so the CPU rate
window is set to 2h: ``rate()`` needs two samples), spread over 20 namespaces; backfills them
with promtool, starts prometheus, and times ``PrometheusSource.read`` (per-namespace range
queries). Prints the time, the series and points read, and the peak RSS of this process.

    .venv/bin/python benchmarks/k8s_prometheus_read.py [PODS] [DAYS]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spendpilot.adapters.base import SourceContext
from spendpilot.adapters.prometheus.client import PrometheusClient
from spendpilot.adapters.prometheus.source_prometheus import PrometheusSettings, PrometheusSource
from spendpilot.scenarios.prometheus_seed import History, prometheus_binaries, running_prometheus


def main() -> None:
    pods = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 14
    found = prometheus_binaries()
    if isinstance(found, str):
        sys.exit(found)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    hours = days * 24
    history = History()
    t_end = end.timestamp()
    for i in range(pods):
        labels = {"namespace": f"team-{i % 20}", "pod": f"svc-{i}", "container": "main"}
        times = [t_end - (hours - h) * 3600 + 1800 for h in range(hours + 1)]
        history.add("container_cpu_usage_seconds_total", "counter", labels,
                    [(t, 0.1 * (i % 7 + 1) * 3600 * k) for k, t in enumerate(times)])
        history.add("container_memory_working_set_bytes", "gauge", labels, [(t, 2.0**28 * (1 + i % 5)) for t in times])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with running_prometheus(history, Path(tmp)) as server:
            loaded = time.perf_counter() - t0
            settings = PrometheusSettings(url=server.url, cluster="bench", lookback_days=days, cpu_rate_window="2h")
            source = PrometheusSource(settings, PrometheusClient(server.url, timeout_seconds=300))
            t1 = time.perf_counter()
            result = source.read(SourceContext(now=end + timedelta(minutes=10), prices=None))
            elapsed = time.perf_counter() - t1
    [state] = result.clusters
    points = sum(len(u.points) for u in state.usage)
    print(f"backfill + start: {loaded:.1f} s ({pods} pods x {days} d hourly, 2 series each)")
    print(f"read: {elapsed:.1f} s, {len(state.usage):,} series, {points:,} points, "
          f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
