"""k8s_spot_placement: interruption-tolerant workloads on on-demand nodes are proposed for spot;
a stateful workload never is (StatefulSet, ReadWriteOnce claim, eviction-forbidding PDB)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.k8s import manifests as m
from tests.k8s.harness import PRICES, swept

from spendpilot.actions import get_action
from spendpilot.actions._k8s import workload_resource
from spendpilot.actions.base import pre_state_differences
from spendpilot.actions.k8s_facts import SpotPlacementFacts, WorkloadRef
from spendpilot.domain import Finding
from spendpilot.errors import AdapterError
from spendpilot.savings.registry import estimate

ACTION = get_action("k8s_spot_placement")
BATCH = {"workload-type": "batch"}
SPOT_TAINT = [{"key": "karpenter.sh/capacity-type", "value": "spot", "effect": "NoSchedule"}]


def _deploy_with_pods(
    name: str, node: str, *, labels: dict[str, str], pvcs: list[str] | None = None
) -> list[dict[str, Any]]:
    dep = m.deployment(name, "batch", replicas=1, labels=labels)
    dep["spec"]["template"]["metadata"]["labels"].update(labels)
    rs = m.replicaset(f"{name}-5f7", name, "batch")
    pod = m.pod(f"{name}-5f7-a", "batch", node_name=node, owner=("ReplicaSet", f"{name}-5f7"),
                labels={"app": name, **labels}, pvcs=pvcs,
                containers=[m.container("w", {"cpu": "2", "memory": "8Gi"})])  # fmt: skip
    return [dep, rs, pod]


def _cluster() -> list[dict[str, Any]]:
    spot = m.node("spot-1", "m5.2xlarge", capacity="spot")
    spot["spec"]["taints"] = SPOT_TAINT
    sts = m.statefulset("vector-db", "batch", labels=BATCH)
    sts_pod = m.pod(
        "vector-db-0",
        "batch",
        node_name="od-1",
        owner=("StatefulSet", "vector-db"),
        labels={"app": "vector-db", **BATCH},
        pvcs=["data-vector-db-0"],
    )
    cron_pod = m.pod(
        "embed-nightly-1-x",
        "batch",
        node_name="od-1",
        owner=("Job", "embed-nightly-1"),
        started_hours_ago=2,
    )
    return [
        m.node("od-1", "m5.2xlarge"), spot,
        *_deploy_with_pods("embedder", "od-1", labels=BATCH),                           # planted
        *_deploy_with_pods("etl-rwo", "od-1", labels=BATCH, pvcs=["etl-scratch"]),      # trap: RWO claim
        *_deploy_with_pods("etl-rwx", "od-1", labels=BATCH, pvcs=["shared-cache"]),     # fine: RWX claim
        *_deploy_with_pods("queue-worker", "od-1", labels=BATCH),                       # trap: PDB max 0
        *_deploy_with_pods("already-spot", "spot-1", labels=BATCH),                     # trap: on spot already
        *_deploy_with_pods("api", "od-1", labels={"tier": "web"}),                       # trap: not tolerant
        sts, sts_pod,                                                                     # trap: StatefulSet
        m.pvc("etl-scratch", "batch"), m.pvc("shared-cache", "batch", modes=("ReadWriteMany",)),
        m.pvc("data-vector-db-0", "batch"),
        m.pdb("queue-worker", "batch", {"app": "queue-worker"}, max_unavailable=0),
        {**m.cronjob("embed-nightly", "batch"), "spec": {**m.cronjob("embed-nightly", "batch")["spec"], "schedule": "0 2 * * *"}},
        m.job("embed-nightly-1", "batch", owner_cronjob="embed-nightly"), cron_pod,
    ]  # fmt: skip


def test_proposes_tolerant_workloads_and_never_stateful_ones(tmp_path: Path) -> None:
    with swept(_cluster(), tmp_path) as s:
        found = {f.facts.workload.name: f for f in s.findings("k8s_spot_placement")}
    assert sorted(found) == ["embed-nightly", "embedder", "etl-rwx"]
    facts = found["embedder"].facts
    assert (facts.node_affinity_label, facts.node_affinity_values) == (
        "karpenter.sh/capacity-type",
        ["spot"],
    )
    assert facts.tolerations == [
        {
            "key": "karpenter.sh/capacity-type",
            "operator": "Equal",
            "value": "spot",
            "effect": "NoSchedule",
        }
    ]
    assert found["embed-nightly"].facts.hours_per_month == pytest.approx(
        60.0, abs=2.1
    )  # 30 daily runs x 2 h


def test_a_stateful_workload_is_never_proposed_even_when_labelled_batch(tmp_path: Path) -> None:
    objs = [
        o
        for o in _cluster()
        if o["metadata"]["name"] not in ("embedder", "embedder-5f7", "embedder-5f7-a")
    ]
    with swept(objs, tmp_path) as s:
        names = {
            f.facts.workload.name
            for f in s.findings("k8s_spot_placement", tolerant_labels={"workload-type": ["batch"]})
        }
    assert not names & {"vector-db", "etl-rwo", "queue-worker"}


def test_saving_is_the_pod_share_times_the_spot_discount(tmp_path: Path) -> None:
    with swept(_cluster(), tmp_path) as s:
        finding = next(
            f for f in s.findings("k8s_spot_placement") if f.facts.workload.name == "embedder"
        )
    est = estimate(finding, PRICES)
    od, spot = PRICES.on_demand("m5.2xlarge", "us-east-1"), PRICES.spot("m5.2xlarge", "us-east-1")
    assert est is not None and od is not None and spot is not None
    node_w = 8 * Decimal("0.031611") + 32 * Decimal("0.004237")
    pod_w = 2 * Decimal("0.031611") + 8 * Decimal("0.004237")
    expected = od.per_hour * pod_w / node_w * (1 - spot.typical / od.per_hour) * 730
    assert est.expected.amount == expected.quantize(Decimal("0.01"))
    assert est.low.amount <= est.expected.amount <= est.high.amount


def test_apply_verify_and_roll_back(tmp_path: Path) -> None:
    with swept(_cluster(), tmp_path) as s:
        finding = next(
            f for f in s.findings("k8s_spot_placement") if f.facts.workload.name == "embedder"
        )
        plan = ACTION.build_plan(finding)
        assert (
            pre_state_differences(plan.expected_pre_state, ACTION.read_state(s.ctx, plan.target))
            == {}
        )
        ACTION.apply(s.ctx, plan)
        assert s.emulator.requests[-2:] == [
            "PATCH /apis/apps/v1/namespaces/batch/deployments/embedder?dryRun=All",
            "PATCH /apis/apps/v1/namespaces/batch/deployments/embedder",
        ]
        state = ACTION.read_state(s.ctx, plan.target)
        assert ACTION.is_applied(state, plan)
        stored = s.ctx.target(plan.target).api.read("Deployment", "batch", "embedder")
        spec = stored["spec"]["template"]["spec"]
        assert spec["tolerations"] == [
            {
                "key": "karpenter.sh/capacity-type",
                "operator": "Equal",
                "value": "spot",
                "effect": "NoSchedule",
            }
        ]
        term = spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert term == [
            {
                "weight": 100,
                "preference": {
                    "matchExpressions": [
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}
                    ]
                },
            }
        ]
        assert spec["containers"][0]["name"] == "main"  # the rest of the template untouched
        assert (
            plan.rollback is not None
            and pre_state_differences(plan.rollback.expected_pre_state, state) == {}
        )
        ACTION.apply(s.ctx, plan.rollback)
        back = s.ctx.target(plan.target).api.read("Deployment", "batch", "embedder")["spec"][
            "template"
        ]["spec"]
        assert "tolerations" not in back and back.get("affinity", {}).get("nodeAffinity", {}) == {}
        assert ACTION.read_state(s.ctx, plan.target) == plan.expected_pre_state


def test_a_jobs_template_change_is_refused_by_the_dry_run(tmp_path: Path) -> None:
    """Were a bare Job ever proposed, the server's dry run refuses it and nothing is written."""
    with swept(_cluster(), tmp_path) as s:
        ref = WorkloadRef(cluster="prod", kind="Job", namespace="batch", name="embed-nightly-1")
        finding = Finding(rule="k8s_spot_placement", action_kind=ACTION.kind, resource=workload_resource(ref), summary="x",
                          facts=SpotPlacementFacts(workload=ref, tolerations=[]))  # fmt: skip
        before = s.ctx.target(finding.resource.ref).api.read("Job", "batch", "embed-nightly-1")
        with pytest.raises(AdapterError, match="field is immutable"):
            ACTION.apply(s.ctx, ACTION.build_plan(finding))
        assert s.emulator.requests[-1].endswith("embed-nightly-1?dryRun=All")
        assert (
            s.ctx.target(finding.resource.ref).api.read("Job", "batch", "embed-nightly-1") == before
        )
