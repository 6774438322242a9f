"""Standalone on-demand instance doing interruption-tolerant work -> relaunch on spot.

Against the emulator, through a sweep, an approval and a rollback: the planted training box is
relaunched as spot from a launch template and stopped only once the replacement runs; the
look-alikes (production serving, a data volume kept on termination, a database tag, a web
workload, an instance already on spot) are not proposed; an instance holding an Elastic IP gets
an advisory plan that changes nothing. The proxy in front of the emulator records the order of
the calls that reached it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.adapters.region_gate import RegionGate, region_gate

from spendpilot.actions import ActionContext, get_action
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.aws.relaunch import MANAGED_TAG, REPLACES_TAG, template_name
from spendpilot.adapters.base import SingleTarget, Targets
from spendpilot.config import Settings
from spendpilot.domain import Proposal, ProposalStatus
from spendpilot.runtime import LocalServices, build_services

REGION = "us-east-1"


def _tags(tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


@pytest.fixture
def org(aws_endpoint: str) -> Iterator[tuple[RegionGate, dict[str, str]]]:
    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name=REGION)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def launch(name: str, itype: str, **tags: str) -> str:
        extra: dict[str, Any] = {}
        if tags.pop("spot", None):
            extra["InstanceMarketOptions"] = {"MarketType": "spot"}
        return str(ec2.run_instances(ImageId=ami, InstanceType=itype, MinCount=1, MaxCount=1, UserData="#!/bin/sh\ntrain",
                                     TagSpecifications=_tags({"Name": name, **tags}), **extra)["Instances"][0]["InstanceId"])

    ids = {
        "finetune-g5": launch("finetune-g5", "g5.xlarge", workload="training", env="dev", team="research"),
        "serving-prod": launch("serving-prod", "g5.xlarge", workload="batch", env="prod", service="inference-serving"),
        "training-with-data": launch("training-with-data", "g5.xlarge", workload="training", env="dev"),
        "etl-postgres": launch("etl-postgres", "m5.xlarge", workload="batch", db="postgres"),
        "web-box": launch("web-box", "m5.xlarge", workload="web"),
        "already-spot": launch("already-spot", "g5.xlarge", workload="training", spot="1"),
        "ci-runner-eip": launch("ci-runner-eip", "c5.xlarge", workload="ci"),
    }
    data = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=500, VolumeType="gp3")["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=ids["training-with-data"], Device="/dev/sdf")
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=address, InstanceId=ids["ci-runner-eip"])
    with region_gate(aws_endpoint, refused=set()) as gate:
        yield gate, ids


def _services(tmp_path: Path, endpoint: str) -> LocalServices:
    return build_services(Settings(home=tmp_path, aws={"region": REGION, "endpoint_url": endpoint, "metric_lookback_days": 1}))


def _instance(endpoint: str, iid: str) -> dict[str, Any]:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
    return dict(ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0])


def _replacements(endpoint: str, iid: str) -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
    found = ec2.describe_instances(Filters=[{"Name": f"tag:{REPLACES_TAG}", "Values": [iid]}])
    return [i for r in found["Reservations"] for i in r["Instances"]]


def _mine(services: LocalServices) -> dict[str, Proposal]:
    return {
        p.target.name or p.target.id: p
        for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "standalone_spot_candidate"
    }


def test_training_box_is_relaunched_on_spot_after_the_replacement_runs_and_rolled_back(
    org: tuple[RegionGate, dict[str, str]], tmp_path: Path
) -> None:
    gate, ids = org
    services = _services(tmp_path, gate.url)
    services.sweep()
    found = _mine(services)
    assert set(found) == {"finetune-g5", "ci-runner-eip"}, "traps: prod serving, data volume, db tag, web, already spot"

    p = found["finetune-g5"]
    assert p.target.account == "123456789012" and p.target.region == REGION
    # g5.xlarge: $1.006/h on demand; reference spot $0.6539 / $0.4225 / $0.3018 (moto's live price is
    # implausible and ignored): (1.006 - spot) x 730 h.
    assert (p.estimate.low.amount, p.estimate.expected.amount, p.estimate.high.amount) == (
        Decimal("257.03"), Decimal("425.96"), Decimal("514.07"))
    assert "launch template" in p.plan.description and "account 123456789012 us-east-1" in p.plan.description

    original = ids["finetune-g5"]
    gate.operations.clear()
    outcome = services.approve(p.id, "alice")
    assert outcome.status == ProposalStatus.EXECUTED, outcome.message
    [replacement] = _replacements(gate.upstream, original)
    assert replacement["State"]["Name"] == "running" and replacement.get("InstanceLifecycle") == "spot"
    assert replacement["InstanceType"] == "g5.xlarge"
    tags = {t["Key"]: t["Value"] for t in replacement["Tags"]}
    assert tags["Name"] == "finetune-g5" and tags["workload"] == "training" and tags[REPLACES_TAG] == original
    assert _instance(gate.upstream, original)["State"]["Name"] == "stopped"
    ops = gate.operations
    assert ops.index("CreateLaunchTemplate") < ops.index("RunInstances") < ops.index("StopInstances"), ops
    ec2 = boto3.client("ec2", endpoint_url=gate.upstream, region_name=REGION)
    [template] = ec2.describe_launch_templates(LaunchTemplateNames=[template_name(original)])["LaunchTemplates"]
    data = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])["LaunchTemplateVersions"][0]
    assert data["LaunchTemplateData"]["InstanceMarketOptions"]["MarketType"] == "spot"
    assert {t["Key"]: t["Value"] for t in template["Tags"]}[MANAGED_TAG] == "true"

    gate.operations.clear()
    back = services.rollback(p.id, "alice")
    assert back.status == ProposalStatus.EXECUTED, back.message
    assert _instance(gate.upstream, original)["State"]["Name"] == "running"
    assert _replacements(gate.upstream, original)[0]["State"]["Name"] in ("shutting-down", "terminated")
    ops = gate.operations
    assert ops.index("StartInstances") < ops.index("TerminateInstances"), ops
    assert ec2.describe_launch_templates(
        Filters=[{"Name": "launch-template-name", "Values": [template_name(original)]}])["LaunchTemplates"] == []

    # After the rollback the box is on demand again: the next sweep proposes it again, and that
    # relaunch makes a new replacement (not the terminated one).
    services.sweep()
    again = _mine(services)["finetune-g5"]
    assert again.id != p.id
    assert services.approve(again.id, "alice").status == ProposalStatus.EXECUTED
    live = [i for i in _replacements(gate.upstream, original) if i["State"]["Name"] == "running"]
    assert len(live) == 1 and live[0]["InstanceId"] != replacement["InstanceId"]


def test_an_instance_holding_an_elastic_ip_gets_an_advisory_plan_that_changes_nothing(
    org: tuple[RegionGate, dict[str, str]], tmp_path: Path
) -> None:
    gate, ids = org
    services = _services(tmp_path, gate.url)
    services.sweep()
    p = _mine(services)["ci-runner-eip"]
    assert p.plan.change["advisory"] is True and "Elastic IP" in p.plan.change["reason"]
    assert p.plan.rollback is None and p.plan.permissions == []
    gate.operations.clear()
    outcome = services.approve(p.id, "alice")
    assert outcome.status == ProposalStatus.EXECUTED, outcome.message
    assert not {"RunInstances", "StopInstances", "CreateLaunchTemplate"} & set(gate.operations)
    assert _instance(gate.upstream, ids["ci-runner-eip"])["State"]["Name"] == "running"


def test_a_resumed_relaunch_reuses_the_replacement_it_already_launched(
    org: tuple[RegionGate, dict[str, str]], tmp_path: Path
) -> None:
    """A crash between RunInstances and the stop: applying again finds the tagged replacement and
    launches no second one."""
    gate, ids = org
    services = _services(tmp_path, gate.url)
    services.sweep()
    p = _mine(services)["finetune-g5"]
    action = get_action("relaunch_on_spot")
    aws = AwsAdapter(endpoint_url=gate.upstream)
    ctx = ActionContext(targets=Targets([SingleTarget("aws", aws)]))
    original = aws.relaunch.describe_raw(ids["finetune-g5"])
    assert original is not None
    aws.relaunch.run_replacement(original, aws.relaunch.ensure_template(original), token=p.plan.plan_hash())
    result = action.apply(ctx, p.plan)
    assert len(_replacements(gate.upstream, ids["finetune-g5"])) == 1
    assert result["launch_template"] is None and action.is_applied(action.read_state(ctx, p.target), p.plan)


def test_a_replacement_that_never_runs_leaves_the_original_running_and_the_approval_standing(
    org: tuple[RegionGate, dict[str, str]], tmp_path: Path
) -> None:
    """Spot capacity gone at launch: the emulator terminates the replacement as RunInstances
    answers. The original must not be stopped; the approval stays for `resume`."""
    gate, ids = org
    services = _services(tmp_path, gate.url)
    services.sweep()
    p = _mine(services)["finetune-g5"]
    ec2 = boto3.client("ec2", endpoint_url=gate.upstream, region_name=REGION)

    def reclaim(operation: str, body: bytes) -> None:
        if operation == "RunInstances":
            launched = re.search(rb"<instanceId>(i-[0-9a-f]+)</instanceId>", body)
            assert launched is not None
            ec2.terminate_instances(InstanceIds=[launched.group(1).decode()])

    gate.after = reclaim
    outcome = services.approve(p.id, "alice")
    assert outcome.status == ProposalStatus.APPROVED, outcome.message
    assert "was not stopped" in outcome.message
    assert "StopInstances" not in gate.operations
    assert _instance(gate.upstream, ids["finetune-g5"])["State"]["Name"] == "running"

    # Capacity is back: `resume` launches a new replacement (a new template, a new ClientToken),
    # and only then stops the original.
    gate.after = None
    [resumed] = services.resume_pending()
    assert resumed.status == ProposalStatus.EXECUTED, resumed.message
    live = [i for i in _replacements(gate.upstream, ids["finetune-g5"]) if i["State"]["Name"] == "running"]
    assert len(live) == 1
    assert _instance(gate.upstream, ids["finetune-g5"])["State"]["Name"] == "stopped"
