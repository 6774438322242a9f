"""Create a scenario's organisation in an AWS API emulator through ordinary boto3 calls.

Refuses anything but a loopback endpoint: seeding real AWS would launch real GPUs.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.adapters.aws.cloudwatch import CPU, GPU
from spendpilot.domain.metrics import EBS_IDLE_TIME, SAGEMAKER_ENDPOINT_CPU, SAGEMAKER_INVOCATIONS
from spendpilot.errors import ScenarioError
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.model import MetricProfile, ResourceMetrics, Scenario
from spendpilot.scenarios.synth import hourly_points


@dataclass
class SeededInstance:
    instance_id: str
    name: str
    instance_type: str
    tags: dict[str, str]
    launched_at: datetime
    private_dns_name: str = ""
    image_id: str = ""


@dataclass
class SeededOrg:
    instances: list[SeededInstance] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)
    endpoints: list[str] = field(default_factory=list)
    volumes: dict[str, str] = field(default_factory=dict)
    """Volume name -> volume id."""
    accounts: list[Any] = field(default_factory=list)
    """``accounts.yaml``: each more (account, region) seeded (``demo_aws_ml.SeededAccountRegion``)."""

    def instance_id(self, name: str) -> str:
        for inst in self.instances:
            if inst.name == name:
                return inst.instance_id
        raise KeyError(name)


def _assert_emulator(aws: AwsAdapter) -> None:
    host = urlparse(aws.endpoint_url or "").hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ScenarioError(
            f"refusing to seed a scenario into {aws.endpoint_url or 'real AWS'}: "
            "seeding only targets a local emulator on 127.0.0.1"
        )


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def seed_scenario(aws: AwsAdapter, scenario: Scenario, now: datetime | None = None) -> SeededOrg:
    _assert_emulator(aws)
    now = now or datetime.now(UTC)
    ec2 = aws.client("ec2")
    asg = aws.client("autoscaling")
    rng = random.Random(scenario.seed)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    org = SeededOrg()
    full_window = now - timedelta(days=scenario.billing_days + 1)

    for spec in scenario.resources.instances:
        tags = {"Name": spec.name, **spec.tags}
        resp = ec2.run_instances(
            ImageId=ami,
            InstanceType=spec.instance_type,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": _tag_list(tags)}],
        )
        launched = (
            now - timedelta(hours=spec.launched_hours_ago)
            if spec.launched_hours_ago is not None
            else full_window
        )
        inst = resp["Instances"][0]
        org.instances.append(
            SeededInstance(
                inst["InstanceId"], spec.name, spec.instance_type, tags, launched,
                inst.get("PrivateDnsName", ""), inst.get("ImageId", ami),
            )
        )

    for group in scenario.resources.autoscaling_groups:
        template = f"{group.name}-lt"
        ec2.create_launch_template(
            LaunchTemplateName=template,
            LaunchTemplateData={"ImageId": ami, "InstanceType": group.instance_type},
        )
        mixed = group.on_demand_percentage_above_base < 100
        kwargs: dict[str, object] = {
            "AutoScalingGroupName": group.name,
            "MinSize": group.min_size,
            "MaxSize": group.max_size,
            "DesiredCapacity": group.desired_capacity,
            "AvailabilityZones": [f"{scenario.region}a", f"{scenario.region}b"],
            "Tags": [
                {"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in group.tags.items()
            ],
        }
        spec_lt = {"LaunchTemplateName": template, "Version": "$Latest"}
        if mixed:
            kwargs["MixedInstancesPolicy"] = {
                "LaunchTemplate": {"LaunchTemplateSpecification": spec_lt},
                "InstancesDistribution": {
                    "OnDemandBaseCapacity": 0,
                    "OnDemandPercentageAboveBaseCapacity": group.on_demand_percentage_above_base,
                },
            }
        else:
            kwargs["LaunchTemplate"] = spec_lt
        asg.create_auto_scaling_group(**kwargs)
        described = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group.name])
        ids = [i["InstanceId"] for i in described["AutoScalingGroups"][0]["Instances"]]
        org.groups[group.name] = ids
        described_instances = {
            i["InstanceId"]: i
            for r in (ec2.describe_instances(InstanceIds=ids)["Reservations"] if ids else [])
            for i in r["Instances"]
        }
        for n, iid in enumerate(ids):
            name = f"{group.name}-{n}"
            tags = {"Name": name, **group.tags, "aws:autoscaling:groupName": group.name}
            ec2.create_tags(Resources=[iid], Tags=_tag_list({"Name": name}))
            raw = described_instances.get(iid, {})
            org.instances.append(
                SeededInstance(
                    iid, name, group.instance_type, tags, full_window,
                    raw.get("PrivateDnsName", ""), raw.get("ImageId", ami),
                )
            )

    for route in scenario.resources.llm_features:
        aws.llm_routing.set_route(route.feature, route.model)
        org.features[route.feature] = route.model

    _seed_endpoints(aws, scenario, org, now, rng)
    _seed_volumes(aws, scenario, org, now)
    _seed_metrics(aws, scenario, org, now, rng)
    from spendpilot.scenarios.seed_ml import seed_ml_and_storage

    seed_ml_and_storage(aws, scenario, now)
    if scenario.accounts.accounts:
        from spendpilot.scenarios.demo_aws_ml import seed_accounts

        org.accounts = seed_accounts(aws, scenario, now)
    return org


_ENDPOINT_CPU = MetricProfile(profile="flat", mean=2.0, jitter=1.0)
"""What an endpoint's instances report while up, whether or not anything calls them."""


def _seed_endpoints(aws: AwsAdapter, scenario: Scenario, org: SeededOrg, now: datetime, rng: random.Random) -> None:
    """Each endpoint with its model and config, its instances' CPU for the hours it has been up,
    and its invocations (hourly sums; hours without any publish nothing)."""
    sm = aws.client("sagemaker")
    for spec in scenario.resources.sagemaker_endpoints:
        model = f"{spec.name}-model"
        sm.create_model(
            ModelName=model,
            PrimaryContainer={"Image": f"{scenario.account_id}.dkr.ecr.{scenario.region}.amazonaws.com/serve:latest"},
            ExecutionRoleArn=f"arn:aws:iam::{scenario.account_id}:role/sagemaker-execution",
        )
        sm.create_endpoint_config(
            EndpointConfigName=f"{spec.name}-config",
            ProductionVariants=[
                {"VariantName": v.name, "ModelName": model, "InstanceType": v.instance_type,
                 "InitialInstanceCount": v.instance_count, "InitialVariantWeight": 1.0}
                for v in spec.variants
            ],
        )
        sm.create_endpoint(
            EndpointName=spec.name, EndpointConfigName=f"{spec.name}-config", Tags=_tag_list(spec.tags),
        )
        org.endpoints.append(spec.name)
        up = scenario.metric_days * 24 if spec.created_hours_ago is None else int(spec.created_hours_ago)
        hours = min(scenario.metric_days * 24, up)
        profile = scenario.metrics.get(spec.name)
        for v in spec.variants:
            dims = {"EndpointName": spec.name, "VariantName": v.name}
            cpu = hourly_points(_ENDPOINT_CPU, end=now, hours=hours, rng=rng)
            aws.cloudwatch.put_utilisation(None, *SAGEMAKER_ENDPOINT_CPU, cpu, dimensions=dims)
            calls = profile.invocations.get(v.name) if profile is not None else None
            if calls is None:
                continue
            points = [(at, float(round(n))) for at, n in hourly_points(calls, end=now, hours=hours, rng=rng)]
            points = [(at, n) for at, n in points if n > 0]
            if points:
                aws.cloudwatch.put_utilisation(None, *SAGEMAKER_INVOCATIONS, points, dimensions=dims, unit="None")


def _seed_volumes(aws: AwsAdapter, scenario: Scenario, org: SeededOrg, now: datetime) -> None:
    """Each volume, backdated to its creation, attached where the scenario says, with an hourly
    ``VolumeIdleTime`` for the hours it was attached (EBS reports nothing for an unattached volume)."""
    from spendpilot.scenarios.emulator import backdate_volume

    ec2 = aws.client("ec2")
    window_start = now - timedelta(days=scenario.metric_days)
    for n, spec in enumerate(scenario.resources.ebs_volumes):
        kwargs: dict[str, object] = {
            "AvailabilityZone": f"{scenario.region}a", "Size": spec.size_gb, "VolumeType": spec.volume_type,
            "TagSpecifications": [{"ResourceType": "volume", "Tags": _tag_list({"Name": spec.name, **spec.tags})}],
        }
        if spec.iops is not None:
            kwargs["Iops"] = spec.iops
        if spec.throughput is not None:
            kwargs["Throughput"] = spec.throughput
        vid = ec2.create_volume(**kwargs)["VolumeId"]
        created = now - timedelta(days=spec.created_days_ago)
        backdate_volume(vid, created)
        org.volumes[spec.name] = vid
        until = None
        if spec.attached_to is not None:
            ec2.attach_volume(VolumeId=vid, InstanceId=org.instance_id(spec.attached_to), Device=f"/dev/sd{chr(ord('f') + n)}")
            until = now
        elif spec.attached_until_hours_ago is not None:
            until = now - timedelta(hours=spec.attached_until_hours_ago)
        start = max(created, window_start)
        if until is None or until <= start:
            continue
        hours = int((until - start).total_seconds() // 3600)
        points = [(until - timedelta(hours=h), 3000.0) for h in range(hours, 0, -1)]
        aws.cloudwatch.put_utilisation(None, *EBS_IDLE_TIME, points, dimensions={"VolumeId": vid}, unit="Seconds")


def _seed_metrics(
    aws: AwsAdapter, scenario: Scenario, org: SeededOrg, now: datetime, rng: random.Random
) -> None:
    max_hours = scenario.metric_days * 24
    group_of = {iid: name for name, ids in org.groups.items() for iid in ids}
    prices = PriceBook.bundled()
    for inst in org.instances:
        profile = scenario.metrics.get(inst.name) or scenario.metrics.get(
            group_of.get(inst.instance_id, "")
        )
        if profile is None:
            continue
        alive_hours = int((now - inst.launched_at).total_seconds() // 3600)
        hours = max(0, min(max_hours, alive_hours))
        if hours == 0:
            continue
        if profile.cpu is not None:
            points = hourly_points(profile.cpu, end=now, hours=hours, rng=rng)
            aws.cloudwatch.put_utilisation(inst.instance_id, *CPU, points)
        spec = prices.instance(inst.instance_type)
        for index, dims in enumerate(_agent_gpu_dimensions(inst, profile, spec.gpus if spec else 1,
                                                            (spec.gpu_model if spec else None) or "NVIDIA GPU")):
            prof = profile.gpus.get(index, profile.gpu)
            if prof is None:
                continue
            points = hourly_points(prof, end=now, hours=hours, rng=rng)
            aws.cloudwatch.put_utilisation(None, *GPU, points, dimensions=dims, unit="None")


def _agent_gpu_dimensions(
    inst: SeededInstance, profile: ResourceMetrics, count: int, model: str
) -> list[dict[str, str]]:
    """The dimensions the CloudWatch agent's nvidia_gpu section gives each GPU's series.

    One series per GPU: ``index``, ``name`` (the model), ``uuid``, ``host`` (the private DNS
    name), plus ``append_dimensions`` when the agent is configured with them (see
    adapters/aws/cloudwatch.py for where these shapes come from).
    """
    out = []
    for index in range(max(1, count)):
        dims = {
            "host": inst.private_dns_name or f"{inst.instance_id}.ec2.internal",
            "index": str(index),
            "name": model,
            "uuid": f"GPU-{uuid.uuid5(uuid.NAMESPACE_OID, f'{inst.instance_id}/{index}')}",
        }
        if profile.agent_dimensions == "instance_id":
            dims |= {"InstanceId": inst.instance_id, "InstanceType": inst.instance_type, "ImageId": inst.image_id}
            if group := inst.tags.get("aws:autoscaling:groupName"):
                dims["AutoScalingGroupName"] = group
        out.append(dims)
    return out
