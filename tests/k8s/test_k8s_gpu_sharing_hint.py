"""k8s_gpu_sharing_hint: a MIG-sized workload on a whole GPU is found; workloads that need the GPU are not."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.k8s.cluster_gen import hourly, node, pod

from spendpilot.checks.k8s_gpu_sharing_hint import GpuSharingSettings, fit, gpu_model_key
from spendpilot.checks.registry import all_checks
from spendpilot.domain import Snapshot
from spendpilot.domain.kubernetes import ClusterState, GpuSharing, KubeNode, KubeWorkload
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate

END = datetime(2026, 11, 15, tzinfo=UTC)
HOURS = 7 * 24


def _gpu_node(name: str, itype: str, gpus: int, model: str, sharing: GpuSharing | None = None) -> KubeNode:
    return node(name, itype, 96, 1152, gpus=gpus, sharing=sharing).model_copy(update={"gpu_model": model})


def _workload(name: str, node_name: str, util: float, fb_mib: float, replicas: int = 1, model_label: str | None = None,
              extra: dict[str, float] | None = None) -> tuple:
    w = KubeWorkload(kind="Deployment", namespace="ml", name=name, replicas=replicas)
    pods, usage = [], []
    for r in range(replicas):
        p = pod("ml", f"{name}-{r}", node_name, cpu=4, mem_gib=32, owner=("Deployment", name),
                extra=extra or {"nvidia.com/gpu": 1.0})
        pods.append(p)
        labels = {"modelName": model_label} if model_label else {}
        usage.append(hourly("ml", p.name, "gpu_util_percent", END, [util * (0.5 + (h % 10) / 10) for h in range(HOURS)], labels=labels))
        usage.append(hourly("ml", p.name, "gpu_fb_used_mib", END, [fb_mib * (0.8 + (h % 5) / 20) for h in range(HOURS)]))
    return w, pods, usage


def _run(nodes: list[KubeNode], *workloads: tuple) -> list:
    state = ClusterState(cluster="prod", read_at=END, nodes=nodes, workloads=[w[0] for w in workloads],
                         pods=[p for w in workloads for p in w[1]], usage=[u for w in workloads for u in w[2]])
    spec = all_checks()["k8s_gpu_sharing_hint"]
    return spec.run(Snapshot(taken_at=END, clusters=[state]), GpuSharingSettings(), PriceBook.bundled())


def test_gpu_models_and_fits() -> None:
    assert gpu_model_key("NVIDIA-A100-SXM4-80GB") == "A100-80GB"
    assert gpu_model_key("NVIDIA A100-SXM4-40GB") == "A100-40GB"
    assert gpu_model_key("NVIDIA-H100-80GB-HBM3") == "H100-80GB"
    assert gpu_model_key("NVIDIA-A10G") == "A10G" and gpu_model_key("Tesla-T4") == "T4"
    assert fit("A100-40GB", 9000, 25) == ("mig", "nvidia.com/mig-2g.10gb", 2 / 7, 1)
    assert fit("A100-40GB", 30000, 25) is None          # no slice under the whole GPU holds 30 GB
    assert fit("A10G", 5000, 20) == ("time_slicing", "nvidia.com/gpu", 0.25, 4)


def test_a_mig_sized_workload_on_a_whole_gpu_is_found() -> None:
    nodes = [_gpu_node("p1", "p4d.24xlarge", 8, "NVIDIA-A100-SXM4-40GB")]
    # p95 utilisation 14 x 1.4 = 19.6 %, + 20 % = 23.5 % -> 2 slices of 7 (28.6 %); memory 7,000 x 1 MiB peak
    [finding] = _run(nodes, _workload("embedder", "p1", util=14.0, fb_mib=7000, replicas=2))
    facts = finding.facts
    assert (facts.mode, facts.resource) == ("mig", "nvidia.com/mig-2g.10gb")
    assert facts.fraction == round(2 / 7, 6) and facts.pods == 2
    assert finding.action_kind == "k8s_gpu_sharing_advice"
    result = estimate(finding, PriceBook.bundled())
    assert result is not None and result.low.amount == 0
    price = PriceBook.bundled().on_demand("p4d.24xlarge", "us-east-1").per_hour  # type: ignore[union-attr]
    k = price / (96 * Decimal("0.031611") + 1152 * Decimal("0.004237") + 8 * Decimal("0.95"))
    freed = Decimal(2) * (1 - Decimal(repr(round(2 / 7, 6))))
    assert result.expected.amount == (freed * Decimal("0.95") * k * 730).quantize(Decimal("0.01"))


def test_a_small_workload_on_an_a10g_gets_a_time_sliced_share() -> None:
    nodes = [_gpu_node("g1", "g5.xlarge", 1, "NVIDIA-A10G")]
    [finding] = _run(nodes, _workload("ocr", "g1", util=10.0, fb_mib=4000))
    assert (finding.facts.mode, finding.facts.replicas_per_gpu) == ("time_slicing", 4)


def test_workloads_that_need_the_gpu_or_already_share_it_are_left_alone() -> None:
    nodes = [_gpu_node("p1", "p4d.24xlarge", 8, "NVIDIA-A100-SXM4-40GB"),
             _gpu_node("p2", "p4d.24xlarge", 8, "NVIDIA-A100-SXM4-40GB",
                       sharing=GpuSharing(mode="mig", mig_profiles={"nvidia.com/mig-2g.10gb": 2 / 7}))]
    findings = _run(
        nodes,
        _workload("trainer", "p1", util=60.0, fb_mib=9000),        # busy: needs most of the GPU
        _workload("big-model", "p1", util=10.0, fb_mib=30000),     # light compute, but 30 GB of weights
        _workload("idle", "p1", util=1.0, fb_mib=2000),            # idle: k8s_idle_gpu_pod's case
        _workload("sliced", "p2", util=10.0, fb_mib=2000, extra={"nvidia.com/mig-2g.10gb": 1.0}),
    )
    assert findings == []


def test_the_advice_is_a_runbook_that_changes_nothing() -> None:
    from spendpilot.actions.advisory import is_advisory
    from spendpilot.actions.base import ACTIONS

    nodes = [_gpu_node("p1", "p4d.24xlarge", 8, "NVIDIA-A100-SXM4-40GB")]
    [finding] = _run(nodes, _workload("embedder", "p1", util=14.0, fb_mib=7000))
    plan = ACTIONS.get("k8s_gpu_sharing_advice").build_plan(finding)
    assert is_advisory(plan) and plan.permissions == []
    steps = plan.change["runbook"]
    assert any("nvidia.com/mig-2g.10gb: 1" in step for step in steps)
    assert "prod/ml/deployment/embedder" in plan.description
