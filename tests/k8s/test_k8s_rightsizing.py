"""k8s_rightsizing against a hand computation of KRR's simple rule on generated workloads."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from decimal import Decimal

from tests.k8s.cluster_gen import GIB, hourly, node, pod

from spendpilot.checks.k8s_rightsizing import RightsizingSettings, find_rightsizing
from spendpilot.checks.registry import all_checks
from spendpilot.domain import Snapshot
from spendpilot.domain.kubernetes import ClusterState, KubeContainer, KubeHpa, KubeWorkload
from spendpilot.savings.pricebook import PriceBook
from spendpilot.savings.registry import estimate

END = datetime(2026, 11, 15, tzinfo=UTC)
HOURS = 14 * 24
MIB = 2**20


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks, written out by hand."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (rank - lower)


def _cluster(rng: random.Random) -> tuple[ClusterState, dict[str, tuple[list[float], list[float]]]]:
    nodes = [node("n1", "m5.2xlarge", 8, 32)]
    pods, usage, workloads, hpas = [], [], [], []
    samples: dict[str, tuple[list[float], list[float]]] = {}
    specs = [  # name, cpu request, memory GiB request, usage scale (cores), hours of history, hpa
        ("api", 2.0, 4.0, 0.3, HOURS, None), ("worker", 1.5, 2.0, 0.2, HOURS, None),
        ("cache", 1.0, 8.0, 0.1, HOURS, None), ("ingest", 4.0, 6.0, 0.6, HOURS, None),
        ("scaled", 2.0, 16.0, 0.3, HOURS, "cpu"),
        ("young", 2.0, 4.0, 0.1, 40, None),        # trap: 2 pods x 40 h = 80 points < 100
        ("snug", 0.5, 1.0, 0.45, HOURS, None),     # trap: already sized to its usage
    ]
    for name, cpu_req, mem_req, scale, hours, hpa in specs:
        workloads.append(KubeWorkload(kind="Deployment", namespace="shop", name=name, replicas=2,
                                      containers=[KubeContainer(name="main", requests={"cpu": cpu_req, "memory": mem_req * GIB})]))
        if hpa:
            hpas.append(KubeHpa(namespace="shop", name=name, target_kind="Deployment", target_name=name, resources=[hpa]))
        cpu_all: list[float] = []
        mem_all: list[float] = []
        for r in range(2):
            pname = f"{name}-{r}"
            pods.append(pod("shop", pname, "n1", cpu=cpu_req, mem_gib=mem_req, owner=("Deployment", name)))
            cpu = [scale * rng.lognormvariate(0, 0.5) for _ in range(hours)]
            mem = [mem_req * GIB * (0.6 if name == "snug" else 0.25) * rng.uniform(0.8, 1.2) for _ in range(hours)]
            usage += [hourly("shop", pname, "cpu_cores", END, cpu), hourly("shop", pname, "memory_bytes", END, mem)]
            cpu_all += cpu
            mem_all += mem
        samples[name] = (cpu_all, mem_all)
    state = ClusterState(cluster="prod", read_at=END, nodes=nodes, pods=pods, workloads=workloads, hpas=hpas,
                         usage=usage, usage_window_hours=HOURS)
    return state, samples


def test_matches_a_hand_computation_of_the_percentile_rule() -> None:
    state, samples = _cluster(random.Random(11))
    snapshot = Snapshot(taken_at=END, clusters=[state])
    findings = all_checks()["k8s_rightsizing"].run(snapshot, RightsizingSettings(), PriceBook.bundled())
    by_name = {f.facts.workload.name: f for f in findings}
    assert set(by_name) == {"api", "worker", "cache", "ingest", "scaled"}
    for name in ("api", "worker", "cache", "ingest"):
        cpu, mem = samples[name]
        expected_cpu = f"{math.ceil(_percentile(cpu, 95) * 1000)}m"
        expected_mem = f"{math.ceil(max(mem) * 1.15 / MIB)}Mi"
        [proposed] = by_name[name].facts.proposed
        assert proposed.requests == {"cpu": expected_cpu, "memory": expected_mem}, name
        assert proposed.limits == {"memory": expected_mem}
    # The HPA scales on CPU: only memory is proposed, and the evidence says why.
    [scaled] = by_name["scaled"].facts.proposed
    assert set(scaled.requests) == {"memory"}
    assert "cpu: an HPA scales on it" in by_name["scaled"].facts.containers[0].skipped


def test_every_proposal_names_the_strategy_window_and_settings() -> None:
    state, _ = _cluster(random.Random(3))
    findings = all_checks()["k8s_rightsizing"].run(Snapshot(taken_at=END, clusters=[state]), RightsizingSettings(), PriceBook.bundled())
    assert findings
    for f in findings:
        assert f.rule == "k8s_rightsizing" and f.action_kind == "k8s_patch_resources"
        assert f.facts.strategy == "simple" and f.facts.history_hours == 336
        assert f.facts.settings == {"cpu_percentile": 95, "memory_buffer_percentage": 15, "points_required": 100,
                                    "history_days": 14, "allow_hpa": False}
        assert "KRR 'simple' strategy: CPU request = p95" in f.evidence[0].value
        assert "window 14 days" in f.evidence[0].value


def test_allow_hpa_recommends_the_scaled_resource_too() -> None:
    state, _ = _cluster(random.Random(11))
    findings = find_rightsizing(Snapshot(taken_at=END, clusters=[state]), RightsizingSettings(allow_hpa=True), PriceBook.bundled())
    [scaled] = [f for f in findings if f.facts.workload.name == "scaled"]
    assert set(scaled.facts.proposed[0].requests) == {"cpu", "memory"}


def test_the_estimate_prices_the_freed_requests_at_the_node_rates() -> None:
    state, _ = _cluster(random.Random(11))
    findings = all_checks()["k8s_rightsizing"].run(Snapshot(taken_at=END, clusters=[state]), RightsizingSettings(), PriceBook.bundled())
    [api] = [f for f in findings if f.facts.workload.name == "api"]
    result = estimate(api, PriceBook.bundled())
    assert result is not None
    c = api.facts.containers[0]
    price = PriceBook.bundled().on_demand("m5.2xlarge", "us-east-1").per_hour  # type: ignore[union-attr]
    k = price / (8 * Decimal("0.031611") + 32 * Decimal("0.004237"))
    freed = (Decimal(repr(2.0 - (c.proposed_cpu_cores or 0))) * Decimal("0.031611")
             + Decimal(repr((4 * GIB - (c.proposed_memory_bytes or 0)) / GIB)) * Decimal("0.004237")) * k
    assert result.expected.amount == (freed * 2 * 730).quantize(Decimal("0.01"))
    assert result.low.amount == (freed * 2 * 730 / 2).quantize(Decimal("0.01"))
    assert "OpenCost" in result.formula
