"""k8s_patch_resources and k8s_scale_replicas against the emulated API through the real target:
dry run then apply, verify by read-back, inverse patch, and drift seen before applying."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import run_cli
from tests.k8s import manifests as m
from tests.k8s.harness import swept

from spendpilot.actions import get_action
from spendpilot.actions._k8s import workload_resource
from spendpilot.actions.base import pre_state_differences
from spendpilot.actions.k8s_facts import (
    ContainerResources,
    PatchResourcesFacts,
    ScaleReplicasFacts,
    WorkloadRef,
)
from spendpilot.domain import Finding
from spendpilot.errors import AdapterError

PATCH, SCALE = get_action("k8s_patch_resources"), get_action("k8s_scale_replicas")
WEB = WorkloadRef(cluster="prod", kind="Deployment", namespace="shop", name="web")


def _objs() -> list[dict[str, Any]]:
    return [
        m.node("n1"),
        m.deployment(
            "web",
            "shop",
            replicas=3,
            containers=[
                m.container("app", {"cpu": "2", "memory": "4Gi"}, {"memory": "8Gi"}),
                m.container("sidecar", {"cpu": "100m"}),
            ],
        ),
    ]


def _finding(action: Any, facts: Any) -> Finding[Any]:
    return Finding(
        rule="test",
        action_kind=action.kind,
        resource=workload_resource(facts.workload),
        summary="s",
        facts=facts,
    )


def test_patch_resources_then_roll_back(tmp_path: Path) -> None:
    facts = PatchResourcesFacts(
        workload=WEB,
        current=[
            ContainerResources(
                container="app", requests={"cpu": "2", "memory": "4Gi"}, limits={"memory": "8Gi"}
            )
        ],
        proposed=[
            ContainerResources(
                container="app",
                requests={"cpu": "500m", "memory": "3Gi"},
                limits={"memory": "4Gi", "cpu": "1"},
            )
        ],
    )
    plan = PATCH.build_plan(_finding(PATCH, facts))
    with swept(_objs(), tmp_path) as s:
        assert (
            pre_state_differences(plan.expected_pre_state, PATCH.read_state(s.ctx, plan.target))
            == {}
        )
        PATCH.apply(s.ctx, plan)
        assert s.emulator.requests[-2].endswith("/deployments/web?dryRun=All")
        assert PATCH.is_applied(PATCH.read_state(s.ctx, plan.target), plan)
        stored = s.ctx.target(plan.target).api.read("Deployment", "shop", "web")["spec"][
            "template"
        ]["spec"]["containers"]
        assert stored[0]["resources"] == {
            "requests": {"cpu": "500m", "memory": "3Gi"},
            "limits": {"memory": "4Gi", "cpu": "1"},
        }
        assert stored[1] == {
            "name": "sidecar",
            "image": "registry.example/sidecar:1",
            "resources": {"requests": {"cpu": "100m"}},
        }
        assert plan.rollback is not None
        assert (
            pre_state_differences(
                plan.rollback.expected_pre_state, PATCH.read_state(s.ctx, plan.target)
            )
            == {}
        )
        PATCH.apply(s.ctx, plan.rollback)
        state = PATCH.read_state(s.ctx, plan.target)
        assert (
            pre_state_differences(plan.expected_pre_state, state) == {}
        )  # the cpu limit it added is gone again


def test_an_invalid_patch_is_refused_by_the_dry_run_and_nothing_changes(tmp_path: Path) -> None:
    facts = PatchResourcesFacts(
        workload=WEB,
        current=[
            ContainerResources(
                container="app", requests={"cpu": "2", "memory": "4Gi"}, limits={"memory": "8Gi"}
            )
        ],
        proposed=[
            ContainerResources(container="app", requests={"memory": "16Gi"})
        ],  # above its 8Gi limit, which stays
    )
    plan = PATCH.build_plan(_finding(PATCH, facts))
    with swept(_objs(), tmp_path) as s:
        version = s.ctx.target(plan.target).api.read("Deployment", "shop", "web")["metadata"][
            "resourceVersion"
        ]
        with pytest.raises(AdapterError, match="must be less than or equal to memory limit"):
            PATCH.apply(s.ctx, plan)
        assert (
            s.ctx.target(plan.target).api.read("Deployment", "shop", "web")["metadata"][
                "resourceVersion"
            ]
            == version
        )


def test_drift_in_requests_is_seen(tmp_path: Path) -> None:
    facts = PatchResourcesFacts(
        workload=WEB,
        current=[
            ContainerResources(
                container="app",
                requests={"cpu": "2000m", "memory": "4096Mi"},
                limits={"memory": "8Gi"},
            )
        ],
        proposed=[ContainerResources(container="app", requests={"cpu": "1"})],
    )
    plan = PATCH.build_plan(_finding(PATCH, facts))
    with swept(_objs(), tmp_path) as s:
        assert (
            pre_state_differences(plan.expected_pre_state, PATCH.read_state(s.ctx, plan.target))
            == {}
        )  # same quantities
        s.ctx.target(plan.target).api.patch(
            "Deployment",
            "shop",
            "web",
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "app", "resources": {"requests": {"cpu": "3"}}}]
                        }
                    }
                }
            },
            dry_run=False,
        )
        assert set(
            pre_state_differences(plan.expected_pre_state, PATCH.read_state(s.ctx, plan.target))
        ) == {"container/app"}


def test_scale_once_through_the_scale_subresource(tmp_path: Path) -> None:
    plan = SCALE.build_plan(
        _finding(SCALE, ScaleReplicasFacts(workload=WEB, current_replicas=3, target_replicas=0))
    )
    with swept(_objs(), tmp_path) as s:
        SCALE.apply(s.ctx, plan)
        assert s.emulator.requests[-2:] == [
            "PATCH /apis/apps/v1/namespaces/shop/deployments/web/scale?dryRun=All",
            "PATCH /apis/apps/v1/namespaces/shop/deployments/web/scale",
        ]
        assert SCALE.is_applied(SCALE.read_state(s.ctx, plan.target), plan)
        assert plan.rollback is not None
        SCALE.apply(s.ctx, plan.rollback)
        assert SCALE.read_state(s.ctx, plan.target)["replicas"] == 3


def test_a_schedule_is_recorded_not_pretended(tmp_path: Path) -> None:
    facts = ScaleReplicasFacts(
        workload=WEB, current_replicas=3, target_replicas=0, schedule="0 20 * * 1-5"
    )
    plan = SCALE.build_plan(_finding(SCALE, facts))
    assert "nothing scales by itself" in plan.description
    with swept(_objs(), tmp_path) as s:
        SCALE.apply(s.ctx, plan)
        state = SCALE.read_state(s.ctx, plan.target)
        assert (
            state["replicas"] == 3
            and state["annotations"]["spendpilot.io/scale-schedule"] == "0 20 * * 1-5"
        )
        assert plan.rollback is not None
        SCALE.apply(s.ctx, plan.rollback)
        assert SCALE.read_state(s.ctx, plan.target)["annotations"] == dict.fromkeys(
            state["annotations"]
        )


def test_policy_prints_cluster_roles_and_keeps_iam_clean() -> None:
    roles = {
        r["metadata"]["name"]: r
        for r in yaml.safe_load_all(run_cli("policy", "--kubernetes", check=True).stdout)
    }
    assert {"spendpilot-sweep", "spendpilot-k8s-set-job-limits", "spendpilot-k8s-spot-placement",
            "spendpilot-k8s-patch-resources", "spendpilot-k8s-scale-replicas"} <= set(roles)  # fmt: skip
    sweep_rules = {
        (r["apiGroups"][0], r["resources"][0]): r["verbs"]
        for r in roles["spendpilot-sweep"]["rules"]
    }
    assert sweep_rules[("", "pods")] == ["get", "list"] and sweep_rules[
        ("policy", "poddisruptionbudgets")
    ] == ["get", "list"]
    assert all("patch" not in v for v in sweep_rules.values())
    scale = {
        (r["apiGroups"][0], r["resources"][0])
        for r in roles["spendpilot-k8s-scale-replicas"]["rules"]
    }
    assert ("apps", "deployments/scale") in scale
    assert "k8s:" not in run_cli("policy", check=True).stdout
