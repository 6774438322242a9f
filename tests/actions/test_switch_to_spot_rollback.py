"""The spot switch changes the split *and* the spot allocation strategy; both are verified and undone."""

from __future__ import annotations

import boto3
import pytest

from spendpilot.actions import ActionContext, get_action
from spendpilot.actions.base import pre_state_differences
from spendpilot.actions.switch_to_spot import SpotFacts
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.base import Targets, build_sources
from spendpilot.domain import ActionPlan, Finding

GROUP = "batch-workers"


@pytest.fixture
def aws(aws_endpoint: str) -> AwsAdapter:
    """A group buying everything on demand, with an explicit ``lowest-price`` spot strategy."""
    ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName="batch-lt", LaunchTemplateData={"ImageId": ami, "InstanceType": "g5.xlarge"})
    boto3.client("autoscaling", endpoint_url=aws_endpoint, region_name="us-east-1").create_auto_scaling_group(
        AutoScalingGroupName=GROUP, MinSize=0, MaxSize=4, DesiredCapacity=0, AvailabilityZones=["us-east-1a"],
        MixedInstancesPolicy={
            "LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateName": "batch-lt", "Version": "$Latest"}},
            "InstancesDistribution": {
                "OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 100,
                "SpotAllocationStrategy": "lowest-price",
            },
        },
    )
    return AwsAdapter(endpoint_url=aws_endpoint)


@pytest.fixture
def ctx(aws: AwsAdapter, aws_endpoint: str, tmp_path) -> ActionContext:  # noqa: ANN001 - pytest tmp_path
    return ActionContext(targets=Targets(build_sources([{"kind": "aws", "endpoint_url": aws_endpoint}], tmp_path)))


def _plan(aws: AwsAdapter) -> ActionPlan:
    group = aws.autoscaling.describe_group(GROUP)
    assert group is not None
    facts = SpotFacts(
        instance_type="g5.xlarge", desired_capacity=0, target_on_demand_percentage=0, on_demand_base_capacity=0,
        on_demand_percentage_above_base=100, movable_instances=0,
        launch_template=group.attributes.get("launch_template"),
        spot_allocation_strategy=group.attributes.get("spot_allocation_strategy"),
    )
    finding = Finding(rule="spot_candidate", resource=group, summary="batch", action_kind="switch_to_spot", facts=facts)
    return get_action("switch_to_spot").build_plan(finding)


def test_rollback_restores_the_spot_allocation_strategy(aws: AwsAdapter, ctx: ActionContext) -> None:
    action = get_action("switch_to_spot")
    plan = _plan(aws)
    assert plan.expected_pre_state["spot_allocation_strategy"] == "lowest-price"
    assert "lowest-price" in plan.rollback_description
    before = action.read_state(ctx, plan.target)

    action.apply(ctx, plan)
    after = action.read_state(ctx, plan.target)
    assert after["spot_allocation_strategy"] == "price-capacity-optimized"

    # The rollback is a plan of the same action: it expects the changed state, sets the old values.
    rollback = plan.rollback
    assert rollback is not None and rollback.action == plan.action
    # (moto reports no instance type for this launch-template group; the test's facts name one)
    assert set(pre_state_differences(rollback.expected_pre_state, after)) <= {"instance_type"}
    assert {k: rollback.expected_pre_state[k] for k in rollback.change} == {k: after[k] for k in rollback.change}
    action.apply(ctx, rollback)
    assert action.read_state(ctx, plan.target) == before
    assert action.is_applied(before, rollback)


def test_is_applied_needs_the_strategy_too(aws: AwsAdapter, ctx: ActionContext) -> None:
    action = get_action("switch_to_spot")
    plan = _plan(aws)
    split_only = {
        **action.read_state(ctx, plan.target),  # type: ignore[dict-item]
        "on_demand_percentage_above_base": 0, "on_demand_base_capacity": 0,
    }
    assert split_only["spot_allocation_strategy"] == "lowest-price"
    assert not action.is_applied(split_only, plan)
    assert action.is_applied({**split_only, "spot_allocation_strategy": "price-capacity-optimized"}, plan)
