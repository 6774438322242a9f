"""k8s_idle_gpu_pod: a planted idle GPU deployment is found; a bursty one and look-alikes are not."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.k8s.cluster_gen import hourly, node, pod

from spendpilot.checks.k8s_idle_gpu_pod import IdleGpuPodSettings
from spendpilot.checks.registry import all_checks
from spendpilot.domain import Snapshot
from spendpilot.domain.kubernetes import ClusterState, GpuSharing, KubeHpa, KubeWorkload
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate

END = datetime(2026, 11, 15, 9, tzinfo=UTC)
HOURS = 72


def _gpu_deployment(name: str, util: list[float], replicas: int = 1, node_name: str = "g1", **kw: object
                    ) -> tuple[KubeWorkload, list, list]:
    workload = KubeWorkload(kind="Deployment", namespace="ml", name=name, replicas=replicas, **kw)  # type: ignore[arg-type]
    pods, usage = [], []
    for r in range(replicas):
        p = pod("ml", f"{name}-{r}", node_name, cpu=4, mem_gib=16, owner=("Deployment", name), extra={"nvidia.com/gpu": 1.0})
        pods.append(p)
        usage.append(hourly("ml", p.name, "gpu_util_percent", END, util, container="serve", labels={"gpu": str(r)}))
        usage.append(hourly("ml", p.name, "gpu_fb_used_mib", END, [14000.0] * len(util), container="serve"))
    return workload, pods, usage


def _state(*deployments: tuple[KubeWorkload, list, list], hpas: list[KubeHpa] | None = None) -> ClusterState:
    nodes = [node("g1", "g5.12xlarge", 48, 192, gpus=4),
             node("g2", "g5.xlarge", 4, 16, gpus=1, sharing=GpuSharing(mode="time_slicing", replicas=2))]
    return ClusterState(cluster="prod", read_at=END, nodes=nodes,
                        workloads=[d[0] for d in deployments], pods=[p for d in deployments for p in d[1]],
                        usage=[u for d in deployments for u in d[2]], hpas=hpas or [], usage_window_hours=HOURS)


def _run(state: ClusterState, **settings: object) -> list:
    spec = all_checks()["k8s_idle_gpu_pod"]
    return spec.run(Snapshot(taken_at=END, clusters=[state]), IdleGpuPodSettings(**settings), PriceBook.bundled())  # type: ignore[arg-type]


def test_a_planted_idle_gpu_deployment_is_found_and_priced() -> None:
    busy_then_idle = [60.0] * 30 + [1.0] * 42
    state = _state(_gpu_deployment("llm-eval", busy_then_idle, replicas=2))
    [finding] = _run(state)
    facts = finding.facts
    assert (facts.workload.name, facts.current_replicas, facts.target_replicas) == ("llm-eval", 2, 0)
    assert facts.idle_hours == 42 and facts.max_util_in_stretch == 1.0 and facts.pod_gpus == 1.0
    assert finding.action_kind == "k8s_scale_replicas"
    assert "below 5% (hourly average) for the last 42 h" in finding.evidence[0].value
    result = estimate(finding, PriceBook.bundled())
    assert result is not None
    price = PriceBook.bundled().on_demand("g5.12xlarge", "us-east-1").per_hour  # type: ignore[union-attr]
    k = price / (48 * Decimal("0.031611") + 192 * Decimal("0.004237") + 4 * Decimal("0.95"))
    per_replica = (4 * Decimal("0.031611") + 16 * Decimal("0.004237") + Decimal("0.95")) * k
    assert result.expected.amount == (per_replica * 2 * 730).quantize(Decimal("0.01"))
    assert result.low.amount == (per_replica * 2 * 730 * Decimal("0.583")).quantize(Decimal("0.01"))


def test_a_gpu_pod_with_bursts_is_not_idle() -> None:
    bursty = [(55.0 if h % 8 == 0 else 0.5) for h in range(HOURS)]  # a batch every 8 hours
    assert not _run(_state(_gpu_deployment("batch-infer", bursty)))


def test_look_alikes_are_left_alone() -> None:
    idle = [0.0] * HOURS
    young = [0.0] * 10                                   # idle, but only 10 hours of readings
    hpa = KubeHpa(namespace="ml", name="autoscaled", target_kind="Deployment", target_name="autoscaled", resources=["cpu"])
    state = _state(
        _gpu_deployment("young", young),
        _gpu_deployment("autoscaled", idle),             # an HPA would scale it back
        _gpu_deployment("ignored", idle, labels={"spendpilot.io/ignore": "true"}),
        _gpu_deployment("stopped", idle, replicas=0),
        hpas=[hpa],
    )
    assert not _run(state)


def test_a_gap_in_the_readings_ends_the_idle_stretch() -> None:
    workload, pods, usage = _gpu_deployment("gappy", [0.0] * HOURS)
    usage[0] = usage[0].model_copy(update={"points": usage[0].points[:10] + usage[0].points[20:]})
    [finding] = _run(_state((workload, pods, usage)))
    assert finding.facts.idle_hours == HOURS - 20


def test_time_sliced_replicas_are_priced_by_their_fraction() -> None:
    state = _state(_gpu_deployment("shared", [0.0] * HOURS, node_name="g2"))
    [finding] = _run(state)
    assert finding.facts.pod_gpus == 0.5
