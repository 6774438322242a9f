"""k8s_job_limits: a planted zombie Job is found, priced and stopped through the real API path;
look-alikes (a long Job still inside its deadline, a production Job, a finished Job with a TTL,
a CronJob's Job) are not."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.k8s import manifests as m
from tests.k8s.harness import PRICES, swept

from spendpilot.actions import get_action
from spendpilot.actions.base import pre_state_differences
from spendpilot.savings.registry import estimate

ACTION = get_action("k8s_set_job_limits")
GPU = "nvidia.com/gpu"


def _cluster() -> list[dict]:
    gpu_pod = m.pod("stuck-train-abc", "ml", node_name="gpu-1", labels={"batch.kubernetes.io/job-name": "stuck-train"},
                    owner=("Job", "stuck-train"), started_hours_ago=50,
                    containers=[m.container("train", {"cpu": "8", "memory": "64Gi"}, {GPU: "1"})])  # fmt: skip
    return [
        m.node(
            "gpu-1",
            "p3.8xlarge",
            cpu="32",
            memory="244Gi",
            extra={GPU: "4"},
            labels={"nvidia.com/gpu.product": "Tesla-V100-SXM2-16GB"},
        ),
        m.node("cpu-1", "m5.2xlarge"),
        m.job("stuck-train", "ml", started_hours_ago=50, ttl=3600),  # zombie: 50 h active
        gpu_pod,
        m.job(
            "long-but-bounded", "ml", started_hours_ago=40, deadline=172800, ttl=600
        ),  # inside its own 48 h deadline
        m.job(
            "prod-backfill", "ml", started_hours_ago=72, labels={"environment": "production"}
        ),  # protected
        m.job(
            "done", "ml", started_hours_ago=10, active=0, completed_hours_ago=9, ttl=3600
        ),  # finished, has a TTL
        m.job(
            "report-no-ttl", "ml", started_hours_ago=3, active=0, completed_hours_ago=2
        ),  # hygiene: no TTL
        m.cronjob("nightly", "ml", ttl=None),  # hygiene on the CronJob
        m.job(
            "nightly-123", "ml", started_hours_ago=1, owner_cronjob="nightly"
        ),  # its Job: proposed at the CronJob
        m.pod(
            "nightly-123-x",
            "ml",
            node_name="cpu-1",
            owner=("Job", "nightly-123"),
            labels={"job-name": "nightly-123"},
        ),
    ]


def test_finds_the_zombie_and_the_missing_ttls(tmp_path: Path) -> None:
    with swept(_cluster(), tmp_path) as s:
        found = {f.facts.workload.name: f for f in s.findings("k8s_job_limits")}
    assert sorted(found) == ["nightly", "report-no-ttl", "stuck-train"]
    zombie = found["stuck-train"].facts
    assert (
        zombie.zombie and zombie.active_deadline_seconds == 86400 and zombie.ttl_seconds is None
    )  # it has a TTL
    assert [p.pod for p in zombie.pods] == ["stuck-train-abc"] and zombie.pods[0].gpus == 1
    assert (found["nightly"].facts.workload.kind, found["nightly"].facts.ttl_seconds) == (
        "CronJob",
        86400,
    )
    assert not found["report-no-ttl"].facts.zombie


def test_zombie_saving_is_its_requests_at_the_node_rate(tmp_path: Path) -> None:
    with swept(_cluster(), tmp_path) as s:
        zombie = next(f for f in s.findings("k8s_job_limits") if f.facts.zombie)
        hygiene = next(f for f in s.findings("k8s_job_limits") if not f.facts.zombie)
    est = estimate(zombie, PRICES)
    assert est is not None
    node_price = PRICES.on_demand("p3.8xlarge", "us-east-1")
    assert node_price is not None
    # hand computation: weights 32 x 0.031611 + 244 x 0.004237 + 4 x 0.95; pod 8 vCPU, 64 GiB, 1 GPU
    node_w = 32 * Decimal("0.031611") + 244 * Decimal("0.004237") + 4 * Decimal("0.95")
    pod_w = 8 * Decimal("0.031611") + 64 * Decimal("0.004237") + Decimal("0.95")
    per_hour = node_price.per_hour * pod_w / node_w
    assert est.high.amount == (per_hour * 730).quantize(Decimal("0.01"))
    assert est.low.amount == (per_hour * 24).quantize(Decimal("0.01"))
    assert est.low.amount <= est.expected.amount <= est.high.amount
    zero = estimate(hygiene, PRICES)
    assert zero is not None and zero.expected.amount == 0 and "Hygiene" in zero.formula


def test_stop_the_zombie_with_a_dry_run_first_then_roll_back(tmp_path: Path) -> None:
    with swept(_cluster(), tmp_path) as s:
        zombie = next(f for f in s.findings("k8s_job_limits") if f.facts.zombie)
        plan = ACTION.build_plan(zombie)
        assert (
            pre_state_differences(plan.expected_pre_state, ACTION.read_state(s.ctx, plan.target))
            == {}
        )
        ACTION.apply(s.ctx, plan)
        assert s.emulator.requests[-2:] == [
            "PATCH /apis/batch/v1/namespaces/ml/jobs/stuck-train?dryRun=All",
            "PATCH /apis/batch/v1/namespaces/ml/jobs/stuck-train",
        ]
        state = ACTION.read_state(s.ctx, plan.target)
        assert ACTION.is_applied(state, plan) and state == {
            "ttl_seconds": 3600,
            "active_deadline_seconds": 86400,
        }
        assert plan.rollback is not None
        assert pre_state_differences(plan.rollback.expected_pre_state, state) == {}
        ACTION.apply(s.ctx, plan.rollback)
        assert ACTION.read_state(s.ctx, plan.target) == {
            "ttl_seconds": 3600,
            "active_deadline_seconds": None,
        }


def test_cronjob_limits_go_into_the_job_template(tmp_path: Path) -> None:
    with swept(_cluster(), tmp_path) as s:
        cron = next(f for f in s.findings("k8s_job_limits") if f.facts.workload.name == "nightly")
        plan = ACTION.build_plan(cron)
        ACTION.apply(s.ctx, plan)
        stored = s.ctx.target(plan.target).api.read("CronJob", "ml", "nightly")
    assert (
        stored is not None
        and stored["spec"]["jobTemplate"]["spec"]["ttlSecondsAfterFinished"] == 86400
    )


def test_drift_is_seen(tmp_path: Path) -> None:
    with swept(_cluster(), tmp_path) as s:
        zombie = next(f for f in s.findings("k8s_job_limits") if f.facts.zombie)
        plan = ACTION.build_plan(zombie)
        # someone sets a deadline by hand after the sweep
        s.ctx.target(plan.target).api.patch(
            "Job", "ml", "stuck-train", {"spec": {"activeDeadlineSeconds": 3600}}, dry_run=False
        )
        now = ACTION.read_state(s.ctx, plan.target)
    assert pre_state_differences(plan.expected_pre_state, now) == {
        "active_deadline_seconds": (None, 3600)
    }


def test_settings_change_what_is_a_zombie(tmp_path: Path) -> None:
    with swept(_cluster(), tmp_path) as s:
        names = {
            f.facts.workload.name
            for f in s.findings("k8s_job_limits", max_active_hours=60, protected_labels={})
        }
    assert (
        "stuck-train" not in names and "prod-backfill" in names
    )  # 72 h > 60 h and no longer protected


def test_hours_left_in_the_month() -> None:
    from datetime import UTC, datetime

    from spendpilot.savings.k8s_set_job_limits import hours_left_in_month

    assert hours_left_in_month(datetime(2026, 2, 28, 12, 0, tzinfo=UTC)) == Decimal("12.00")
    assert hours_left_in_month(datetime(2026, 12, 1, 0, 0, tzinfo=UTC)) == Decimal("744.00")


def test_near_the_month_end_low_is_not_above_expected(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    with swept(_cluster(), tmp_path) as s:
        zombie = next(f for f in s.findings("k8s_job_limits") if f.facts.zombie)
    late = zombie.model_copy(
        update={
            "facts": zombie.facts.model_copy(
                update={"observed_at": datetime(2026, 3, 31, 20, tzinfo=UTC)}
            )
        }
    )
    est = estimate(late, PRICES)
    assert est is not None and est.low.amount == est.expected.amount <= est.high.amount
