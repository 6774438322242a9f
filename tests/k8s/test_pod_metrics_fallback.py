"""Without Prometheus, a cluster's current pod usage comes from metrics.k8s.io (metrics-server);
with Prometheus, its history wins and the one-point reading is dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.k8s import manifests as m

from spendpilot.adapters.base import SourceContext, SourceResult, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.domain import MetricPoint, Snapshot
from spendpilot.domain.kubernetes import CURRENT_READING, ClusterState, UsageSeries
from spendpilot.scenarios.kube_emulator import kube_emulators


def _objects(with_metrics: bool) -> list[dict[str, object]]:
    objects: list[dict[str, object]] = [
        m.node("n1", "m5.2xlarge"),
        m.pod("web-1", "shop", node_name="n1", containers=[m.container("app", {"cpu": "1", "memory": "2Gi"})]),
    ]
    if with_metrics:
        # 250000000n = 0.25 cores; 1048576Ki = 1 GiB: the units metrics-server answers in.
        objects.append(m.pod_metrics("web-1", "shop", {"app": {"cpu": "250000000n", "memory": "1048576Ki"}}))
    return objects


def _snapshot(path: Path, extra: list[dict[str, object]] | None = None) -> Snapshot:
    sources = build_sources([{"kind": "kubernetes", "kubeconfig": str(path), "contexts": ["prod"]}, *(extra or [])], path.parent)
    return collect_snapshot(sources, SourceContext(now=datetime.now(UTC), prices=None))


def test_current_usage_is_read_from_metrics_k8s_io(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    with kube_emulators({"prod": _objects(with_metrics=True)}, path):
        snap = _snapshot(path)
    (cluster,) = snap.clusters
    by_metric = {u.metric: u for u in cluster.usage_of("shop", "web-1", "cpu_cores") + cluster.usage_of("shop", "web-1", "memory_bytes")}
    assert by_metric["cpu_cores"].values() == [0.25]
    assert by_metric["memory_bytes"].values() == [1024**3]
    assert all(u.labels["source"] == CURRENT_READING and u.container == "app" for u in cluster.usage)
    assert cluster.usage_window_hours == 0  # a reading, not history: rightsizing will not use it
    assert "current usage of 1 pods (metrics.k8s.io)" in " ".join(snap.sources)


def test_a_cluster_without_metrics_server_is_a_warning_not_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    with kube_emulators({"prod": _objects(with_metrics=False)}, path):
        snap = _snapshot(path)
    assert snap.gaps == []
    (cluster,) = snap.clusters
    assert cluster.usage == [] and len(cluster.pods) == 1


def test_prometheus_history_replaces_the_reading() -> None:
    now = datetime.now(UTC)
    reading = UsageSeries(namespace="shop", pod="web-1", container="app", metric="cpu_cores",
                          points=[MetricPoint(at=now, value=0.25)], labels={"source": CURRENT_READING})
    history = UsageSeries(namespace="shop", pod="web-1", container="app", metric="cpu_cores",
                          points=[MetricPoint(at=now - timedelta(hours=h), value=0.5) for h in range(48)])
    for order in ((reading, history), (history, reading)):
        snap = Snapshot(taken_at=now)
        for series in order:
            window = 0.0 if series is reading else 48.0
            snap.merge("s", SourceResult(clusters=[ClusterState(cluster="prod", read_at=now, usage=[series], usage_window_hours=window)]))
        (cluster,) = snap.clusters
        assert cluster.usage == [history], order
