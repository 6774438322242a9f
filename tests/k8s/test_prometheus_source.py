"""The Prometheus source against a real Prometheus serving generated history."""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from spendpilot.adapters.base import SourceContext, build_sources
from spendpilot.adapters.prometheus.client import PrometheusClient, PrometheusError
from spendpilot.adapters.prometheus.source_prometheus import PrometheusSettings, PrometheusSource
from spendpilot.agent.collect import collect_snapshot
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.prometheus_seed import History, PrometheusServer, add_container, add_gpu

Start = Callable[[History], AbstractContextManager[PrometheusServer]]
HOURS = 36


def _end() -> datetime:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=2)


def _source(url: str, **settings: object) -> PrometheusSource:
    s = PrometheusSettings(url=url, cluster="prod-eu", **settings)  # type: ignore[arg-type]
    return PrometheusSource(s, PrometheusClient(s.url, timeout_seconds=10))


def test_reads_container_and_gpu_usage_per_hour(prometheus: Start) -> None:
    end = _end()
    rng = random.Random(7)
    history = History()
    cpu = {("shop", "web-1", "app"): [round(rng.uniform(0.05, 1.5), 3) for _ in range(HOURS)],
           ("shop", "web-1", "sidecar"): [0.01] * HOURS,
           ("ml", "trainer-0", "train"): [round(rng.uniform(2, 6), 3) for _ in range(HOURS)]}
    mem = {key: [float(rng.randrange(100, 900) * 2**20) for _ in range(HOURS)] for key in cpu}
    for (ns, pod, container), values in cpu.items():
        add_container(history, end, namespace=ns, pod=pod, container=container, cpu_cores=values,
                      memory_bytes=mem[(ns, pod, container)])
    # The pod-level total (container="") and the pause container must not count as containers.
    add_container(history, end, namespace="shop", pod="web-1", container="", cpu_cores=[9.0] * HOURS,
                  memory_bytes=[9e9] * HOURS)
    add_container(history, end, namespace="shop", pod="web-1", container="POD", cpu_cores=[9.0] * HOURS,
                  memory_bytes=[9e9] * HOURS)
    util = [0.0] * (HOURS - 3) + [40.0, 80.0, 10.0]
    add_gpu(history, end, gpu="0", uuid="GPU-aaaa", util_percent=util, fb_used_mib=[5120.0] * HOURS,
            namespace="ml", pod="trainer-0", container="train", exported=True)
    add_gpu(history, end, gpu="1", uuid="GPU-bbbb", util_percent=[55.0] * HOURS, fb_used_mib=[9000.0] * HOURS,
            namespace="ml", pod="infer-0", exported=False)
    add_gpu(history, end, gpu="2", uuid="GPU-cccc", util_percent=[0.0] * HOURS, fb_used_mib=[0.0] * HOURS,
            namespace=None, pod=None)

    with prometheus(history) as server:
        result = _source(server.url).read(SourceContext(now=end + timedelta(minutes=20), prices=None))

    assert result.gaps == []
    [state] = result.clusters
    assert state.cluster == "prod-eu" and state.usage_window_hours == 14 * 24
    for (ns, pod, container), values in cpu.items():
        [series] = [u for u in state.usage_of(ns, pod, "cpu_cores") if u.container == container]
        assert len(series.points) == HOURS
        assert series.points[-1].at == end
        assert series.values() == pytest.approx(values, rel=1e-6)
        [memory] = [u for u in state.usage_of(ns, pod, "memory_bytes") if u.container == container]
        assert memory.values() == pytest.approx(mem[(ns, pod, container)])
    assert {u.container for u in state.usage_of("shop", "web-1", "cpu_cores")} == {"app", "sidecar"}
    [gpu] = state.usage_of("ml", "trainer-0", "gpu_util_percent")  # exported_pod, not the exporter's pod
    assert gpu.values() == pytest.approx(util) and gpu.labels["UUID"] == "GPU-aaaa"
    assert gpu.container == "train"
    [fb] = state.usage_of("ml", "infer-0", "gpu_fb_used_mib")  # plain pod/namespace labels
    assert fb.values() == pytest.approx([9000.0] * HOURS)
    assert not [u for u in state.usage if u.namespace == "gpu-operator"]
    assert "3 pods in 2 namespaces" in result.summary


def test_many_pods_are_read_one_namespace_at_a_time(prometheus: Start) -> None:
    end = _end()
    history = History()
    for n in range(40):
        add_container(history, end, namespace=f"team-{n % 8}", pod=f"p-{n}", container="c",
                      cpu_cores=[0.1 * (n % 5 + 1)] * 6, memory_bytes=[2.0**28] * 6)
    with prometheus(history) as server:
        result = _source(server.url, lookback_days=1).read(SourceContext(now=end, prices=None))
    [state] = result.clusters
    assert len({u.pod for u in state.usage}) == 40
    assert len(state.usage) == 80
    assert "in 8 namespaces" in result.summary
    assert "no DCGM_FI_DEV_GPU_UTIL series" in result.warnings[0]


def test_a_refused_query_names_prometheus_error(prometheus: Start) -> None:
    history = History()
    add_container(history, _end(), namespace="a", pod="b", container="c", cpu_cores=[1.0], memory_bytes=[1.0])
    with prometheus(history) as server, pytest.raises(PrometheusError, match="bad_data"):
        PrometheusClient(server.url).query("rate(container_cpu_usage_seconds_total[5m]")


def test_unreachable_prometheus_is_a_named_gap() -> None:
    sources = build_sources(
        [{"kind": "prometheus", "name": "prom prod", "url": "http://127.0.0.1:9", "cluster": "prod"}], home=Path(".")
    )
    snapshot = collect_snapshot(sources, SourceContext(now=datetime.now(UTC), prices=PriceBook.bundled()))
    [gap] = snapshot.gaps
    assert gap.source == "prom prod"
    assert "unreachable" in gap.error and "http://127.0.0.1:9" in gap.error
    assert snapshot.clusters == []


def test_settings_refuse_a_bad_step() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        PrometheusSettings(url="http://x", cluster="c", step="hourly")


def test_a_namespace_with_cpu_series_only_is_read(prometheus: Start) -> None:
    end = _end()
    history = History()
    labels = {"namespace": "cpu-only", "pod": "p", "container": "c"}
    history.add("container_cpu_usage_seconds_total", "counter", labels,
                [(end.timestamp() - 3600 + 30 + 60 * k, 0.5 * 60 * k) for k in range(60)])
    with prometheus(history) as server:
        result = _source(server.url, lookback_days=1).read(SourceContext(now=end, prices=None))
    [state] = result.clusters
    [cpu] = state.usage_of("cpu-only", "p", "cpu_cores")
    assert cpu.values() == pytest.approx([0.5])
