"""Auto Scaling groups: inventory and the on-demand/spot split of a mixed-instances policy."""

from __future__ import annotations

from typing import Any

from spendpilot.adapters.aws.ec2 import Ec2Api, _tags
from spendpilot.domain import Resource, ResourceRef


class AutoScalingApi:
    def __init__(self, client: Any, ec2: Ec2Api, region: str, writer: Any = None) -> None:
        self._client = client
        self._ec2 = ec2
        self.region = region
        self._writer = writer or client
        """Changes go through this client: one attempt, never retried blindly (see ``AwsAdapter``)."""

    def _instance_type(self, group: dict[str, Any]) -> str | None:
        for inst in group.get("Instances", []):
            if inst.get("InstanceType"):
                return inst["InstanceType"]
        return None

    def _to_resource(self, group: dict[str, Any]) -> Resource:
        mixed = group.get("MixedInstancesPolicy")
        dist = (mixed or {}).get("InstancesDistribution", {})
        on_demand_pct = dist.get("OnDemandPercentageAboveBaseCapacity", 100) if mixed else 100
        # A group without a mixed-instances policy buys everything on demand: 100% above a base of 0.
        on_demand_base = dist.get("OnDemandBaseCapacity", 0) if mixed else 0
        tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
        lt = (mixed or {}).get("LaunchTemplate", {}).get("LaunchTemplateSpecification") or group.get(
            "LaunchTemplate"
        )
        return Resource(
            ref=ResourceRef(
                provider="aws",
                kind="autoscaling_group",
                id=group["AutoScalingGroupName"],
                region=self.region,
                name=group["AutoScalingGroupName"],
            ),
            tags=tags,
            attributes={
                "desired_capacity": group["DesiredCapacity"],
                "min_size": group["MinSize"],
                "max_size": group["MaxSize"],
                "instance_type": self._instance_type(group),
                "instance_ids": sorted(i["InstanceId"] for i in group.get("Instances", [])),
                "has_mixed_instances_policy": mixed is not None,
                "on_demand_percentage_above_base": on_demand_pct,
                "on_demand_base_capacity": on_demand_base,
                "spot_allocation_strategy": dist.get("SpotAllocationStrategy"),
                "launch_template": (lt or {}).get("LaunchTemplateName"),
                "launch_template_version": (lt or {}).get("Version"),
            },
        )

    def list_groups(self) -> list[Resource]:
        out: list[Resource] = []
        for page in self._client.get_paginator("describe_auto_scaling_groups").paginate():
            out.extend(self._to_resource(g) for g in page["AutoScalingGroups"])
        return out

    def describe_group(self, name: str) -> Resource | None:
        groups = self._client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        found = groups["AutoScalingGroups"]
        return self._to_resource(found[0]) if found else None

    def set_capacity(self, name: str, *, min_size: int, desired_capacity: int, max_size: int) -> None:
        """Set the group's size bounds and desired capacity in one call (the group then launches
        or terminates instances to match)."""
        self._writer.update_auto_scaling_group(
            AutoScalingGroupName=name, MinSize=min_size, DesiredCapacity=desired_capacity, MaxSize=max_size,
        )

    def set_on_demand_split(
        self,
        name: str,
        *,
        on_demand_percentage_above_base: int,
        on_demand_base_capacity: int,
        spot_allocation_strategy: str | None,
    ) -> None:
        """Change the group's purchase split; instances are replaced by the group over time.

        A group launched from a plain launch template gets a mixed-instances policy wrapping
        that same template, so nothing about the instances changes except how they are bought.
        """
        current = self._client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ][0]
        mixed = current.get("MixedInstancesPolicy")
        if mixed:
            template = mixed["LaunchTemplate"]
        else:
            spec = current.get("LaunchTemplate")
            if not spec:
                raise ValueError(f"group {name} uses a launch configuration; cannot add a spot split")
            template = {"LaunchTemplateSpecification": spec, "Overrides": []}
        distribution: dict[str, Any] = {
            "OnDemandBaseCapacity": on_demand_base_capacity,
            "OnDemandPercentageAboveBaseCapacity": on_demand_percentage_above_base,
        }
        if spot_allocation_strategy:
            distribution["SpotAllocationStrategy"] = spot_allocation_strategy
        lt_spec = dict(template["LaunchTemplateSpecification"])
        # The API accepts either the id or the name, not both.
        if "LaunchTemplateId" in lt_spec and "LaunchTemplateName" in lt_spec:
            lt_spec.pop("LaunchTemplateId")
        self._writer.update_auto_scaling_group(
            AutoScalingGroupName=name,
            MixedInstancesPolicy={
                "LaunchTemplate": {
                    "LaunchTemplateSpecification": lt_spec,
                    "Overrides": template.get("Overrides", []),
                },
                "InstancesDistribution": distribution,
            },
        )


__all__ = ["AutoScalingApi", "_tags"]
