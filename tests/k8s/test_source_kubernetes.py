"""The Kubernetes source reads emulated clusters through the official client into ClusterState."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.k8s import manifests as m

from spendpilot.adapters.base import SOURCES, SourceContext, build_sources
from spendpilot.agent.collect import collect_snapshot
from spendpilot.domain.kubernetes import ClusterState
from spendpilot.errors import ConfigError
from spendpilot.scenarios.kube_emulator import (
    KubeEmulator,
    kube_emulators,
    kubeconfig,
    write_kubeconfig,
)

GPU = "nvidia.com/gpu"


def cluster_objects() -> list[dict[str, Any]]:
    return [
        m.node("cpu-od", "m5.2xlarge"),
        m.node("cpu-spot", "m5.2xlarge", capacity="", labels={"eks.amazonaws.com/capacityType": "SPOT"}),
        m.node("gke-spot", "n2-standard-8", capacity="", labels={"cloud.google.com/gke-spot": "true"}),
        m.node("ts-gpu", "g5.xlarge", cpu="4", memory="16Gi", extra={GPU: "4"},
               labels={"nvidia.com/gpu.product": "NVIDIA-A10G-SHARED", "nvidia.com/gpu.count": "1", "nvidia.com/gpu.replicas": "4"}),
        m.node("mig-gpu", "p4d.24xlarge", cpu="96", memory="1152Gi",
               extra={"nvidia.com/mig-1g.5gb": "14", "nvidia.com/mig-3g.20gb": "4", GPU: "0"},
               labels={"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB", "nvidia.com/gpu.count": "8", "nvidia.com/mig.strategy": "mixed"}),
        m.node("plain-gpu", "g5.12xlarge", cpu="48", memory="192Gi", extra={GPU: "4"},
               labels={"nvidia.com/gpu.product": "NVIDIA-A10G"}),
        m.deployment("web", "shop", replicas=2),
        m.replicaset("web-7d9f", "web", "shop"),
        m.pod("web-7d9f-a", "shop", node_name="cpu-od", owner=("ReplicaSet", "web-7d9f"), labels={"app": "web"},
              containers=[m.container("app", {"cpu": "250m", "memory": "512Mi"}, {"memory": "1Gi"}),
                          m.container("gpu", limits={GPU: "1"})]),
        m.cronjob("nightly", "ml"),
        m.job("nightly-28", "ml", owner_cronjob="nightly", ttl=3600, deadline=7200),
        m.pod("nightly-28-x", "ml", node_name="mig-gpu", owner=("Job", "nightly-28"),
              containers=[m.container("train", {"cpu": "2", "memory": "8Gi", "nvidia.com/mig-1g.5gb": "1"})], pvcs=["scratch"]),
        m.statefulset("db", "shop"),
        m.hpa("web", "shop", "web", ("cpu", "memory")),
        m.pvc("scratch", "ml"),
        m.pdb("db", "shop", {"app": "db"}, max_unavailable=0),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml", "labels": {"team": "research"}}},
    ]  # fmt: skip


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[tuple[Path, dict[str, KubeEmulator]]]:
    path = tmp_path / "kubeconfig"
    with kube_emulators({"prod": cluster_objects(), "dev": [m.node("dev-1")]}, path) as emulators:
        yield path, emulators


def _ctx() -> SourceContext:
    return SourceContext(now=datetime.now(UTC), prices=None)


def _read(path: Path, contexts: list[str]) -> tuple[list[ClusterState], list[Any], list[str]]:
    sources = build_sources(
        [{"kind": "kubernetes", "kubeconfig": str(path), "contexts": contexts}], path.parent
    )
    snap = collect_snapshot(sources, _ctx())
    return snap.clusters, snap.gaps, snap.sources


def test_reads_a_cluster_into_cluster_state(emulated: tuple[Path, dict[str, KubeEmulator]]) -> None:
    path, _ = emulated
    clusters, gaps, summaries = _read(path, ["prod"])
    assert gaps == []
    (c,) = clusters
    assert c.cluster == "prod"
    assert summaries == [
        "kubernetes prod: cluster prod: 6 nodes (13 GPUs), 2 pods, 4 workloads in 2 namespaces"
    ]
    nodes = {n.name: n for n in c.nodes}
    assert (
        nodes["cpu-od"].capacity_type == "on_demand"
        and nodes["cpu-od"].instance_type == "m5.2xlarge"
    )
    assert nodes["cpu-od"].zone == "us-east-1a" and nodes["cpu-od"].region == "us-east-1"
    assert nodes["cpu-od"].cpu_cores == 8 and nodes["cpu-od"].memory_bytes == 32 * 2**30
    assert nodes["cpu-od"].instance_id and nodes["cpu-od"].instance_id.startswith("i-")
    assert nodes["cpu-spot"].capacity_type == "spot" and nodes["gke-spot"].capacity_type == "spot"
    ts = nodes["ts-gpu"]
    assert (ts.gpu_model, ts.gpu_count, ts.gpu_sharing.mode, ts.gpu_sharing.replicas) == (
        "NVIDIA-A10G",
        1,
        "time_slicing",
        4,
    )
    mig = nodes["mig-gpu"]
    assert mig.gpu_sharing.mode == "mig" and mig.gpu_count == 8
    assert mig.gpu_sharing.mig_profiles == {
        "nvidia.com/mig-1g.5gb": pytest.approx(1 / 7),
        "nvidia.com/mig-3g.20gb": pytest.approx(3 / 7),
    }
    plain = nodes["plain-gpu"]
    assert (plain.gpu_count, plain.gpu_sharing.mode) == (4, "none")

    pods = {p.name: p for p in c.pods}
    web = pods["web-7d9f-a"]
    assert web.owner is not None and (web.owner.kind, web.owner.name) == (
        "Deployment",
        "web",
    )  # through the ReplicaSet
    assert web.request("cpu") == 0.25 and web.request("memory") == 512 * 2**20
    assert web.request(GPU) == 1  # a limit without a request is the request
    train = pods["nightly-28-x"]
    assert train.owner is not None and (train.owner.kind, train.owner.name) == (
        "CronJob",
        "nightly",
    )
    assert train.request("nvidia.com/mig-1g.5gb") == 1 and train.pvc_names == ["scratch"]

    job = c.workload("Job", "ml", "nightly-28")
    assert job is not None and (
        job.ttl_seconds_after_finished,
        job.active_deadline_seconds,
        job.active,
    ) == (3600, 7200, 1)
    assert job.started_at is not None
    assert (
        c.workload("Deployment", "shop", "web") is not None
        and c.workload("StatefulSet", "shop", "db") is not None
    )
    assert [(h.target_name, h.resources) for h in c.hpas] == [("web", ["cpu", "memory"])]
    assert [(p.name, p.access_modes, p.storage_bytes) for p in c.pvcs] == [
        ("scratch", ["ReadWriteOnce"], 100 * 2**30)
    ]
    assert [(p.name, p.max_unavailable, p.disruptions_allowed) for p in c.pdbs] == [("db", "0", 0)]
    assert c.namespaces["ml"] == {"team": "research"}


def test_one_unreachable_cluster_is_a_named_gap(
    emulated: tuple[Path, dict[str, KubeEmulator]], tmp_path: Path
) -> None:
    path, emulators = emulated
    gone = KubeEmulator([], name="gone")
    gone.start()
    url = gone.url
    gone.stop()
    config = tmp_path / "three"
    write_kubeconfig(
        config, {"prod": emulators["prod"].url, "gone": url, "dev": emulators["dev"].url}
    )
    clusters, gaps, _ = _read(config, ["prod", "gone", "dev"])
    assert sorted(c.cluster for c in clusters) == ["dev", "prod"]
    assert [g.source for g in gaps] == ["kubernetes gone"]
    assert "cluster gone" in gaps[0].error and "GET /version" in gaps[0].error


def test_default_is_the_current_context(
    emulated: tuple[Path, dict[str, KubeEmulator]], tmp_path: Path
) -> None:
    path, emulators = emulated
    config = tmp_path / "current-dev"
    import yaml

    config.write_text(
        yaml.safe_dump(
            kubeconfig({"prod": emulators["prod"].url, "dev": emulators["dev"].url}, current="dev")
        )
    )
    clusters, gaps, _ = _read(config, [])
    assert gaps == [] and [c.cluster for c in clusters] == ["dev"]


def test_missing_kubeconfig_is_a_gap_not_a_crash(tmp_path: Path) -> None:
    clusters, gaps, _ = _read(tmp_path / "nope", [])
    assert clusters == [] and len(gaps) == 1 and "nope" in gaps[0].error


def test_a_part_that_cannot_be_read_is_a_partial_gap(tmp_path: Path) -> None:
    objs = [m.node("n"), {**m.pvc("bad", "x"), "status": {"capacity": {"storage": "lots"}}}]
    with kube_emulators({"c": objs}, tmp_path / "kc"):
        clusters, gaps, _ = _read(tmp_path / "kc", ["c"])
    assert len(clusters) == 1 and len(clusters[0].nodes) == 1
    assert [(g.part, "PersistentVolumeClaim x/bad" in g.error) for g in gaps] == [
        ("PersistentVolumeClaims", True)
    ]


def test_settings_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="contexts"):
        build_sources([{"kind": "kubernetes", "contexts": ["a", "a"]}], tmp_path)
    with pytest.raises(ConfigError, match="request_timeout"):
        build_sources([{"kind": "kubernetes", "request_timeout": 0}], tmp_path)
    assert "kubernetes" in SOURCES and "k8s:core/pods:list" in SOURCES.get("kubernetes").permissions


def test_mig_single_strategy_and_a30_slices() -> None:
    from spendpilot.adapters.kubernetes.nodes import read_node

    single = m.node(
        "a100",
        "p4d.24xlarge",
        extra={GPU: "56"},
        labels={
            "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb",
            "nvidia.com/gpu.count": "8",
            "nvidia.com/mig.strategy": "single",
        },
    )
    node = read_node(single)
    assert node.gpu_sharing.mode == "mig" and node.gpu_count == 8
    assert node.gpu_sharing.mig_profiles == {GPU: pytest.approx(1 / 7)}
    a30 = read_node(
        m.node(
            "a30",
            "x",
            extra={"nvidia.com/mig-2g.12gb": "2"},
            labels={"nvidia.com/gpu.product": "NVIDIA-A30"},
        )
    )
    assert a30.gpu_sharing.mig_profiles == {"nvidia.com/mig-2g.12gb": 0.5}
    tainted = m.node("t")
    tainted["spec"]["taints"] = [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule", "timeAdded": None}
    ]
    assert read_node(tainted).taints == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    ]
