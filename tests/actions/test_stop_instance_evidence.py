"""Stopping an idle instance re-checks its utilisation since the sweep before anything is stopped."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import boto3
import pytest
from tests.conftest import run_cli
from tests.demo_fixtures import DemoOrg

from spendpilot.actions import get_action
from spendpilot.actions.stop_instance import IDLE
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.aws.cloudwatch import CPU, GPU
from spendpilot.domain import ActionPlan, Finding, Resource, ResourceRef, utcnow
from spendpilot.runtime import build_services

HOUR = timedelta(hours=1)


@pytest.fixture
def aws(aws_endpoint: str) -> AwsAdapter:
    return AwsAdapter(endpoint_url=aws_endpoint)


def _gpu_instance(aws_endpoint: str) -> str:
    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(ImageId=ami, InstanceType="g5.xlarge", MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"
    ]


def _finding(instance_id: str, **facts: object) -> Finding:
    resource = Resource(
        ref=ResourceRef(provider="aws", kind="ec2_instance", id=instance_id, region="us-east-1", name="nb"),
        tags={"env": "dev"},
        attributes={"instance_type": "g5.xlarge", "state": "running"},
    )
    return Finding(
        rule="idle_gpu_instance", resource=resource, summary="idle", action_kind="stop_instance",
        facts={"instance_type": "g5.xlarge", "gpu_p95": 0.8, "cpu_p95": 2.5, **facts},
    )


def _hourly(start: datetime, hours: int, value: float) -> list[tuple[datetime, float]]:
    return [(start + n * HOUR, value) for n in range(hours)]


@pytest.fixture
def idle_since_sweep(aws: AwsAdapter, aws_endpoint: str) -> tuple[str, ActionPlan, datetime]:
    """An instance idle for two days up to a sweep that ended five hours ago, and its plan."""
    iid = _gpu_instance(aws_endpoint)
    measured_until = utcnow() - 5 * HOUR
    for metric in (GPU, CPU):
        aws.cloudwatch.put_utilisation(iid, *metric, _hourly(measured_until - 48 * HOUR, 48, 1.0))
    finding = _finding(
        iid, measured_until=measured_until.isoformat(), gpu_p95_max_percent=5.0, cpu_p95_max_percent=10.0
    )
    return iid, get_action("stop_instance").build_plan(finding), measured_until


def test_plan_records_what_it_assumed(idle_since_sweep: tuple[str, ActionPlan, datetime]) -> None:
    _, plan, measured_until = idle_since_sweep
    idle = plan.preconditions[IDLE]
    assert idle["measured_until"] == measured_until.isoformat()
    gpu, cpu = idle["metrics"]
    assert (gpu["namespace"], gpu["metric"], gpu["below_percent"], gpu["sweep_observed"]) == (*GPU, 5.0, 0.8)
    assert (cpu["namespace"], cpu["metric"], cpu["below_percent"], cpu["sweep_observed"]) == (*CPU, 10.0, 2.5)
    assert gpu["percentile"] == 95 and gpu["threshold_source"] == "finding"
    assert "cloudwatch:GetMetricData" in plan.permissions


def test_gpu_busy_since_the_sweep_is_a_difference(
    aws: AwsAdapter, idle_since_sweep: tuple[str, ActionPlan, datetime]
) -> None:
    iid, plan, measured_until = idle_since_sweep
    aws.cloudwatch.put_utilisation(iid, *GPU, [(measured_until + 2 * HOUR, 97.0)])
    differences = get_action("stop_instance").evidence_differences(aws, plan)
    ((label, (assumed, now)),) = differences.items()
    assert label.startswith("CWAgent/nvidia_smi_utilization_gpu p95 since")
    assert assumed == "below 5% (the sweep saw 0.8%)"
    assert now.startswith("97.0%")


def test_cpu_busy_on_a_gpu_instance_is_a_difference_too(
    aws: AwsAdapter, idle_since_sweep: tuple[str, ActionPlan, datetime]
) -> None:
    iid, plan, measured_until = idle_since_sweep
    aws.cloudwatch.put_utilisation(iid, *CPU, _hourly(measured_until + HOUR, 3, 60.0))
    aws.cloudwatch.put_utilisation(iid, *GPU, _hourly(measured_until + HOUR, 3, 0.5))
    differences = get_action("stop_instance").evidence_differences(aws, plan)
    assert list(differences) == [next(k for k in differences if k.startswith("AWS/EC2/CPUUtilization"))]


def test_still_idle_or_busy_only_before_the_sweep_is_no_difference(
    aws: AwsAdapter, idle_since_sweep: tuple[str, ActionPlan, datetime]
) -> None:
    iid, plan, measured_until = idle_since_sweep
    # A busy hour the sweep already judged (its p95 tolerated it) is not re-judged...
    aws.cloudwatch.put_utilisation(iid, *GPU, [(measured_until - 2 * HOUR, 99.0)])
    # ...and idle hours since are what the plan assumed.
    for metric in (GPU, CPU):
        aws.cloudwatch.put_utilisation(iid, *metric, _hourly(measured_until + HOUR, 3, 1.5))
    assert get_action("stop_instance").evidence_differences(aws, plan) == {}


def test_no_datapoints_since_the_sweep_does_not_block_but_is_said(
    aws: AwsAdapter, idle_since_sweep: tuple[str, ActionPlan, datetime], caplog: pytest.LogCaptureFixture
) -> None:
    iid, plan, _ = idle_since_sweep
    action = get_action("stop_instance")
    with caplog.at_level(logging.WARNING, logger="spendpilot.actions.stop_instance"):
        assert action.evidence_differences(aws, plan) == {}
    assert "no nvidia_smi_utilization_gpu datapoints in the 5 h 0 min since the sweep" in caplog.text
    recorded = action.apply(aws, plan)
    assert recorded["state_after_call"] in ("stopping", "stopped")
    assert recorded["evidence_at_apply"]["CWAgent/nvidia_smi_utilization_gpu"].startswith("no datapoints since")


def test_thresholds_and_end_of_measurement_fall_back_when_the_finding_omits_them(aws_endpoint: str) -> None:
    before = utcnow()
    plan = get_action("stop_instance").build_plan(_finding(_gpu_instance(aws_endpoint)))
    idle = plan.preconditions[IDLE]
    assert [m["below_percent"] for m in idle["metrics"]] == [5.0, 10.0]  # IdleGpuSettings defaults
    assert {m["threshold_source"] for m in idle["metrics"]} == {"idle_gpu_instance default"}
    assert before <= datetime.fromisoformat(idle["measured_until"]) <= utcnow()


def test_preconditions_stay_out_of_the_plan_hash(idle_since_sweep: tuple[str, ActionPlan, datetime]) -> None:
    _, plan, _ = idle_since_sweep
    assert plan.plan_hash() == plan.model_copy(update={"preconditions": {}}).plan_hash()


def test_a_plan_stored_before_preconditions_existed_rechecks_nothing() -> None:
    stored = json.dumps(
        {
            "action": "stop_instance", "change": {"state": "stopped"},
            "target": {"provider": "aws", "kind": "ec2_instance", "id": "i-0123456789abcdef0"},
            "expected_pre_state": {"state": "running"}, "rollback": {},
            "rollback_description": "start it", "description": "stop it", "permissions": [],
        }
    )
    plan = ActionPlan.model_validate_json(stored)
    # Nothing is called: an adapter pointing nowhere would raise if it were.
    unreachable = AwsAdapter(endpoint_url="http://127.0.0.1:9")
    assert get_action("stop_instance").evidence_differences(unreachable, plan) == {}


# --- through the CLI, as the review reproduced it ----------------------------------------------


def _swept_proposal(org: DemoOrg, name: str) -> dict:
    """The pending proposal for ``name``, as the org's ``spendpilot sweep --json`` printed it."""
    assert org.sweep is not None
    return next(p for p in org.sweep["proposals"] if p["target"]["name"] == name)


def test_gpu_busy_after_the_sweep_aborts_the_stop_as_drift(swept_org: DemoOrg) -> None:
    p = _swept_proposal(swept_org, "notebook-g5-idle")
    swept_org.client("cloudwatch").put_metric_data(
        Namespace=GPU[0],
        MetricData=[
            {
                "MetricName": GPU[1], "Dimensions": [{"Name": "InstanceId", "Value": p["target"]["id"]}],
                "Value": 97.0, "Unit": "Percent",
            }
        ],
    )
    result = run_cli("approve", p["id"], "--by", "alice", env=swept_org.env())
    assert result.returncode == 3, result.stdout + result.stderr
    assert "nvidia_smi_utilization_gpu" in result.stdout and "97.0%" in result.stdout
    assert swept_org.instance_state("notebook-g5-idle") == "running"
    store = build_services(swept_org.settings).store
    assert store.count_audit("execution_aborted_drift", p["id"]) == 1
    assert store.count_audit("execution_applied", p["id"]) == 0


def test_silent_agent_does_not_block_and_the_ledger_says_so(swept_org: DemoOrg) -> None:
    p = _swept_proposal(swept_org, "notebook-g5-idle")
    result = run_cli("approve", p["id"], "--by", "alice", env=swept_org.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert swept_org.instance_state("notebook-g5-idle") in ("stopping", "stopped")
    store = build_services(swept_org.settings).store
    applied = next(e for e in store.audit_events(proposal_id=p["id"]) if e.kind == "execution_applied")
    assert applied.payload["evidence_at_apply"]["CWAgent/nvidia_smi_utilization_gpu"].startswith("no datapoints")
