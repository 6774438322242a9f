"""Idle GPU Auto Scaling group -> scale to zero, on the ``gpu_autoscaling_groups`` scenario.

The scenario is seeded into the emulator (GPU series as the CloudWatch agent publishes them, one
per GPU) and swept; the planted group is proposed, the group with one busy GPU on one instance
and the empty group are not. The plan is applied, verified and rolled back against the emulator
(min/desired/max restored), and a GPU that turns busy after the sweep stops the approval.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.clock import FixedClock
from spendpilot.config import Settings
from spendpilot.demo import prepare_scenario
from spendpilot.domain import ProposalStatus
from spendpilot.domain.metrics import NVIDIA_GPU as GPU
from spendpilot.runtime import LocalServices, build_services
from spendpilot.scenarios.model import load_scenario, locate_scenario
from spendpilot.scenarios.seed import SeededOrg

Swept = tuple[LocalServices, FixedClock, SeededOrg, str]


@pytest.fixture
def swept(aws_endpoint: str, tmp_path: Path) -> Iterator[Swept]:
    spec = load_scenario(locate_scenario("gpu_autoscaling_groups"))
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    settings = Settings(home=tmp_path, aws=spec.aws_settings(aws_endpoint))
    prepared = prepare_scenario(settings, spec, aws_endpoint, now=now)
    clock = FixedClock(now)
    services = build_services(settings, clock=clock)
    services.sweep()
    yield services, clock, prepared.org, aws_endpoint


def _group(endpoint: str, name: str) -> dict[str, int]:
    client = boto3.client("autoscaling", endpoint_url=endpoint, region_name="us-east-1")
    g = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return {"min": g["MinSize"], "desired": g["DesiredCapacity"], "max": g["MaxSize"], "instances": len(g["Instances"])}


def test_the_idle_gpu_group_is_scaled_to_zero_and_rolled_back_and_the_traps_are_left(swept: Swept) -> None:
    services, _, _, endpoint = swept
    mine = {p.target.id: p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "idle_gpu_autoscaling_group"}
    assert set(mine) == {"embed-gpu-idle"}, "render-gpu-one-busy (one busy GPU) and gpu-pool-empty must not be proposed"
    p = mine["embed-gpu-idle"]
    assert p.target.account == "123456789012" and p.target.region == "us-east-1"
    # 2 x g5.xlarge on demand at $1.006/h x 730 h; low x the share of hours every GPU was idle x 80 %.
    assert p.estimate.expected.amount == p.estimate.high.amount == Decimal("1468.76")
    assert p.estimate.low.amount == Decimal("1175.01")
    assert any("2 GPUs on 2 instances" in e.value for e in p.evidence)
    assert p.plan.change == {"min_size": 0, "desired_capacity": 0, "max_size": 4}

    outcome = services.approve(p.id, "alice")
    assert outcome.status == ProposalStatus.EXECUTED, outcome.message
    assert _group(endpoint, "embed-gpu-idle") == {"min": 0, "desired": 0, "max": 4, "instances": 0}
    assert _group(endpoint, "render-gpu-one-busy")["desired"] == 2

    back = services.rollback(p.id, "alice")
    assert back.status == ProposalStatus.EXECUTED, back.message
    assert _group(endpoint, "embed-gpu-idle") == {"min": 1, "desired": 2, "max": 4, "instances": 2}


def test_a_gpu_busy_since_the_sweep_stops_the_scale_in(swept: Swept) -> None:
    services, clock, org, endpoint = swept
    [p] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "idle_gpu_autoscaling_group"]
    iid = org.groups["embed-gpu-idle"][1]
    aws = AwsAdapter(endpoint_url=endpoint)
    busy = [(clock.now() + timedelta(minutes=m), 92.0) for m in (10, 40, 70, 100)]
    aws.cloudwatch.put_utilisation(None, *GPU, busy, dimensions={"InstanceId": iid, "index": "0", "name": "NVIDIA A10G"},
                                   unit="None")
    clock.advance(timedelta(hours=2))
    outcome = services.approve(p.id, "alice")
    assert outcome.status == ProposalStatus.DRIFTED, outcome.message
    assert iid in outcome.message and "GPU 0" in outcome.message
    assert _group(endpoint, "embed-gpu-idle")["desired"] == 2
