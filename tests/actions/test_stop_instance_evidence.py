"""Stopping an idle instance re-checks its utilisation since the sweep before anything is stopped."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta

import boto3
import pytest
from pydantic import ValidationError
from tests.conftest import run_cli
from tests.demo_fixtures import DemoOrg

from spendpilot.actions import ActionContext, get_action
from spendpilot.actions.stop_instance import IDLE, IdleMetric
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import Targets, build_sources
from spendpilot.checks.idle_gpu_instance import IdleGpuFacts
from spendpilot.clock import FixedClock
from spendpilot.domain import ActionPlan, Finding, Resource, ResourceRef, utcnow
from spendpilot.domain.metrics import EC2_CPU as CPU
from spendpilot.domain.metrics import NVIDIA_GPU as GPU
from spendpilot.runtime import build_services

HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


@pytest.fixture
def aws(aws_endpoint: str) -> AwsAdapter:
    return AwsAdapter(endpoint_url=aws_endpoint)


def _context(endpoint: str, tmp_path) -> ActionContext:  # noqa: ANN001 - a pytest tmp_path
    """Actions write through the configured AWS source, exactly as the executor's context does."""
    return ActionContext(targets=Targets(build_sources([{"kind": "aws", "endpoint_url": endpoint}], tmp_path)))


@pytest.fixture
def ctx(aws_endpoint: str, tmp_path) -> ActionContext:  # noqa: ANN001
    return _context(aws_endpoint, tmp_path)


GPUS = 4


def _gpu_instance(aws_endpoint: str) -> tuple[str, str]:
    """A 4-GPU instance: its id and private DNS name (the agent's ``host`` dimension)."""
    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    inst = ec2.run_instances(ImageId=ami, InstanceType="g5.12xlarge", MinCount=1, MaxCount=1)["Instances"][0]
    return inst["InstanceId"], inst["PrivateDnsName"]


def _put_gpu(aws: AwsAdapter, host: str, index: int, points: list[tuple[datetime, float]]) -> None:
    """One GPU's series as the CloudWatch agent publishes it without append_dimensions."""
    dims = {"host": host, "index": str(index), "name": "NVIDIA A10G", "arch": "Ampere"}
    aws.cloudwatch.put_utilisation(None, *GPU, points, dimensions=dims, unit="None")


def _finding(instance_id: str, measured_until: datetime, gpu_below: float = 5.0, cpu_below: float = 10.0) -> Finding:
    resource = Resource(
        ref=ResourceRef(provider="aws", kind="ec2_instance", id=instance_id, region="us-east-1", name="nb"),
        tags={"env": "dev"},
        attributes={"instance_type": "g5.12xlarge", "state": "running"},
    )
    facts = IdleGpuFacts(
        instance_type="g5.12xlarge", region="us-east-1", gpu_p95=0.8, cpu_p95=2.5, hours=48, gpus=GPUS,
        idle_metrics=(
            IdleMetric(namespace=GPU.namespace, metric=GPU.name, observed_p95=0.8, below_percent=gpu_below),
            IdleMetric(namespace=CPU.namespace, metric=CPU.name, observed_p95=2.5, below_percent=cpu_below),
        ),
        measured_until=measured_until,
    )
    return Finding(rule="idle_gpu_instance", resource=resource, summary="idle", action_kind="stop_instance", facts=facts)


def _hourly(start: datetime, hours: int, value: float) -> list[tuple[datetime, float]]:
    return [(start + n * HOUR, value) for n in range(hours)]


@pytest.fixture
def idle_since_sweep(aws: AwsAdapter, aws_endpoint: str) -> tuple[str, ActionPlan, datetime]:
    """A 4-GPU instance (GPU series by host only) idle for two days up to a sweep that ended
    five hours ago, and its plan. Returns the instance's private DNS name, not its id."""
    iid, host = _gpu_instance(aws_endpoint)
    measured_until = utcnow() - 5 * HOUR
    aws.cloudwatch.put_utilisation(iid, *CPU, _hourly(measured_until - 48 * HOUR, 48, 1.0))
    for index in range(GPUS):
        _put_gpu(aws, host, index, _hourly(measured_until - 48 * HOUR, 48, 1.0))
    finding = _finding(iid, measured_until)
    return host, get_action("stop_instance").build_plan(finding), measured_until


def test_plan_records_what_it_assumed(idle_since_sweep: tuple[str, ActionPlan, datetime]) -> None:
    _, plan, measured_until = idle_since_sweep
    idle = plan.preconditions[IDLE]
    assert idle["measured_until"] == measured_until.isoformat()
    gpu, cpu = idle["metrics"]
    assert (gpu["namespace"], gpu["metric"], gpu["below_percent"], gpu["sweep_observed"]) == (*GPU, 5.0, 0.8)
    assert (cpu["namespace"], cpu["metric"], cpu["below_percent"], cpu["sweep_observed"]) == (*CPU, 10.0, 2.5)
    assert gpu["percentile"] == 95 and gpu["each"] == "gpu"
    assert "each" not in cpu
    assert {"cloudwatch:GetMetricData", "cloudwatch:ListMetrics"} <= set(plan.permissions)


def test_one_gpu_busy_since_the_sweep_is_a_difference(
    aws: AwsAdapter, ctx: ActionContext, idle_since_sweep: tuple[str, ActionPlan, datetime]
) -> None:
    host, plan, measured_until = idle_since_sweep
    for index in range(GPUS):  # three GPUs still idle, GPU 2 busy: the instance is busy
        _put_gpu(aws, host, index, [(measured_until + 2 * HOUR, 97.0 if index == 2 else 0.5)])
    differences = get_action("stop_instance").evidence_differences(ctx, plan)
    ((label, (assumed, now)),) = differences.items()
    assert label.startswith("CWAgent/nvidia_smi_utilization_gpu GPU 2 p95 since")
    assert assumed == "below 5% (the sweep saw at most 0.8%)"
    assert now.startswith("97.0%")


def test_the_recheck_reads_up_to_the_moment_it_runs(
    aws: AwsAdapter, aws_endpoint: str, tmp_path, idle_since_sweep: tuple[str, ActionPlan, datetime]  # noqa: ANN001
) -> None:
    """Datapoints a second old are judged: the window is not cut at a whole minute or hour. (Newer
    ones need not be: GetMetricData takes its end in whole seconds, and agents publish late.)"""
    host, plan, measured_until = idle_since_sweep
    busy_at = (measured_until + 2 * HOUR).replace(second=0, microsecond=500_000)
    for index in range(GPUS):
        _put_gpu(aws, host, index, [(busy_at, 97.0 if index == 1 else 0.5)])
    at_once = ActionContext(targets=_context(aws_endpoint, tmp_path).targets, clock=FixedClock(busy_at + SECOND))
    differences = get_action("stop_instance").evidence_differences(at_once, plan)
    assert [k.split(" p95")[0] for k in differences] == ["CWAgent/nvidia_smi_utilization_gpu GPU 1"]


def test_gpus_published_with_instance_id_are_rechecked_too(aws: AwsAdapter, ctx: ActionContext, aws_endpoint: str) -> None:
    iid, _ = _gpu_instance(aws_endpoint)
    measured_until = utcnow() - 5 * HOUR
    plan = get_action("stop_instance").build_plan(_finding(iid, measured_until))
    for index in range(GPUS):  # append_dimensions: InstanceId and InstanceType; host is some other name
        dims = {"host": "gpu-box-7", "index": str(index), "name": "NVIDIA A10G", "InstanceId": iid,
                "InstanceType": "g5.12xlarge"}
        value = 88.0 if index == 3 else 0.2
        aws.cloudwatch.put_utilisation(None, *GPU, [(measured_until + HOUR, value)], dimensions=dims, unit="None")
    differences = get_action("stop_instance").evidence_differences(ctx, plan)
    assert [k.split(" p95")[0] for k in differences] == ["CWAgent/nvidia_smi_utilization_gpu GPU 3"]


def test_cpu_busy_on_a_gpu_instance_is_a_difference_too(
    aws: AwsAdapter, ctx: ActionContext, idle_since_sweep: tuple[str, ActionPlan, datetime]
) -> None:
    host, plan, measured_until = idle_since_sweep
    aws.cloudwatch.put_utilisation(plan.target.id, *CPU, _hourly(measured_until + HOUR, 3, 60.0))
    _put_gpu(aws, host, 0, _hourly(measured_until + HOUR, 3, 0.5))
    differences = get_action("stop_instance").evidence_differences(ctx, plan)
    assert list(differences) == [next(k for k in differences if k.startswith("AWS/EC2/CPUUtilization"))]


def test_still_idle_or_busy_only_before_the_sweep_is_no_difference(
    aws: AwsAdapter, ctx: ActionContext, idle_since_sweep: tuple[str, ActionPlan, datetime]
) -> None:
    host, plan, measured_until = idle_since_sweep
    # A busy hour the sweep already judged (its p95 tolerated it) is not re-judged...
    _put_gpu(aws, host, 1, [(measured_until - 2 * HOUR, 99.0)])
    # ...and idle hours since, on every GPU, are what the plan assumed.
    aws.cloudwatch.put_utilisation(plan.target.id, *CPU, _hourly(measured_until + HOUR, 3, 1.5))
    for index in range(GPUS):
        _put_gpu(aws, host, index, _hourly(measured_until + HOUR, 3, 1.5))
    assert get_action("stop_instance").evidence_differences(ctx, plan) == {}


def test_no_datapoints_since_the_sweep_does_not_block_but_is_said(
    ctx: ActionContext, idle_since_sweep: tuple[str, ActionPlan, datetime], caplog: pytest.LogCaptureFixture
) -> None:
    _, plan, _ = idle_since_sweep
    action = get_action("stop_instance")
    with caplog.at_level(logging.WARNING, logger="spendpilot.actions.stop_instance"):
        assert action.evidence_differences(ctx, plan) == {}
    assert "no nvidia_smi_utilization_gpu datapoints in the 5 h 0 min since the sweep" in caplog.text
    recorded = action.apply(ctx, plan)
    assert recorded["state_after_call"] in ("stopping", "stopped")
    assert recorded["evidence_at_apply"]["CWAgent/nvidia_smi_utilization_gpu"].startswith("no datapoints since")


def test_idle_facts_without_the_end_of_their_measurement_are_refused() -> None:
    """The re-check starts where the sweep stopped measuring; facts that do not say when are
    refused where they are built, not discovered at approval time."""
    with pytest.raises(ValidationError, match="measured_until"):
        IdleGpuFacts(
            instance_type="g5.xlarge", gpu_p95=0.8, hours=48,
            idle_metrics=(IdleMetric(namespace=GPU.namespace, metric=GPU.name, observed_p95=0.8, below_percent=5),),
        )


def test_preconditions_stay_out_of_the_plan_hash(idle_since_sweep: tuple[str, ActionPlan, datetime]) -> None:
    _, plan, _ = idle_since_sweep
    assert plan.plan_hash() == plan.model_copy(update={"preconditions": {}}).plan_hash()


def test_a_plan_stored_before_preconditions_existed_rechecks_nothing(tmp_path) -> None:  # noqa: ANN001
    stored = json.dumps(
        {
            "action": "stop_instance", "change": {"state": "stopped"},
            "target": {"provider": "aws", "kind": "ec2_instance", "id": "i-0123456789abcdef0"},
            "expected_pre_state": {"state": "running"},
            "rollback_description": "start it", "description": "stop it", "permissions": [],
        }
    )
    plan = ActionPlan.model_validate_json(stored)
    # Nothing is called: an adapter pointing nowhere would raise if it were.
    unreachable = _context("http://127.0.0.1:9", tmp_path)
    assert get_action("stop_instance").evidence_differences(unreachable, plan) == {}


# --- through the CLI, as the review reproduced it ----------------------------------------------


def test_the_ledger_names_the_busiest_gpu_of_those_reporting(
    aws: AwsAdapter, ctx: ActionContext, idle_since_sweep: tuple[str, ActionPlan, datetime]
) -> None:
    host, plan, measured_until = idle_since_sweep
    for index, value in ((0, 0.5), (3, 2.5)):
        _put_gpu(aws, host, index, [(measured_until + HOUR, value)])
    recorded = get_action("stop_instance").apply(ctx, plan)
    assert recorded["evidence_at_apply"]["CWAgent/nvidia_smi_utilization_gpu"].startswith(
        "GPU 3, the busiest of 2 reporting, p95 2.5%"
    )


def _swept_proposal(org: DemoOrg, name: str) -> dict:
    """The pending proposal for ``name``, as the org's ``spendpilot sweep --json`` printed it."""
    assert org.sweep is not None
    return next(p for p in org.sweep["proposals"] if p["target"]["name"] == name)


def test_gpu_busy_after_the_sweep_aborts_the_stop_as_drift(swept_org: DemoOrg) -> None:
    p = _swept_proposal(swept_org, "notebook-g5-idle")
    # The demo's notebook agent publishes without append_dimensions: its GPU is known by host.
    cloudwatch = swept_org.client("cloudwatch")
    ec2 = swept_org.client("ec2")
    host = ec2.describe_instances(InstanceIds=[p["target"]["id"]])["Reservations"][0]["Instances"][0]["PrivateDnsName"]
    listed = cloudwatch.list_metrics(Namespace=GPU.namespace, MetricName=GPU.name,
                                     Dimensions=[{"Name": "host", "Value": host}])["Metrics"]
    assert listed and all("InstanceId" not in {d["Name"] for d in m["Dimensions"]} for m in listed)
    # Busy since the sweep, as an agent reports it: datapoints stamped between the sweep and a few
    # seconds ago. Not left for the emulator to stamp on arrival: the re-check reads up to the
    # moment it runs, in whole seconds (GetMetricData's EndTime; moto drops the fraction), so
    # datapoints from the very second the approval runs in are not in its window, and through the
    # forked CLI that second can be the publishing one (a flake seen once in CI: the stop ran).
    measured_until = datetime.fromisoformat(
        build_services(swept_org.settings).get_proposal(p["id"]).plan.preconditions[IDLE]["measured_until"]
    )
    time.sleep(max(0.0, (measured_until + 3 * SECOND - utcnow()).total_seconds()))  # never, in practice
    settled = utcnow() - 2 * SECOND
    stamps = [measured_until + (settled - measured_until) * n / 10 for n in range(1, 11)]
    cloudwatch.put_metric_data(
        Namespace=GPU.namespace,
        MetricData=[
            {"MetricName": GPU.name, "Dimensions": listed[0]["Dimensions"], "Timestamp": at, "Value": 97.0}
            for at in stamps
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
