"""EC2 instances: inventory (read), stop/start (write), spot price history."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from spendpilot.domain import Resource, ResourceRef

ASG_TAG = "aws:autoscaling:groupName"


def _tags(raw: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in raw or []}


class Ec2Api:
    def __init__(self, client: Any, region: str, writer: Any = None) -> None:
        self._client = client
        self.region = region
        self._writer = writer or client
        """Changes go through this client: one attempt, never retried blindly (see ``AwsAdapter``)."""

    def _to_resource(self, inst: dict[str, Any], owner: str | None) -> Resource:
        tags = _tags(inst.get("Tags"))
        return Resource(
            ref=ResourceRef(
                provider="aws",
                kind="ec2_instance",
                id=inst["InstanceId"],
                region=self.region,
                account=owner,
                name=tags.get("Name"),
            ),
            tags=tags,
            attributes={
                "instance_type": inst["InstanceType"],
                "state": inst["State"]["Name"],
                "lifecycle": inst.get("InstanceLifecycle", "on-demand"),
                "launch_time": inst["LaunchTime"].isoformat(),
                "availability_zone": inst.get("Placement", {}).get("AvailabilityZone"),
                "autoscaling_group": tags.get(ASG_TAG),
                # The CloudWatch agent's ``host`` dimension: how GPU series published without
                # an InstanceId dimension are tied to their instance (adapters/aws/cloudwatch.py).
                "private_dns_name": inst.get("PrivateDnsName") or None,
                # What a relaunch would lose: EBS volumes kept when the instance ends (data, not
                # scratch) and network interfaces beyond the first (addresses clients may hold).
                "root_device_name": inst.get("RootDeviceName"),
                "volumes": [
                    {
                        "device": m.get("DeviceName"), "volume_id": m["Ebs"].get("VolumeId"),
                        "delete_on_termination": bool(m["Ebs"].get("DeleteOnTermination", True)),
                    }
                    for m in inst.get("BlockDeviceMappings", []) if "Ebs" in m
                ],
                "network_interfaces": len(inst.get("NetworkInterfaces", [])),

            },
        )

    def list_instances(self) -> list[Resource]:
        """Every instance not terminated, with its tags and lifecycle."""
        out: list[Resource] = []
        paginator = self._client.get_paginator("describe_instances")
        for page in paginator.paginate():
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    if inst["State"]["Name"] in ("terminated", "shutting-down"):
                        continue
                    out.append(self._to_resource(inst, reservation.get("OwnerId")))
        return out

    def describe_instance(self, instance_id: str) -> Resource | None:
        try:
            resp = self._client.describe_instances(InstanceIds=[instance_id])
        except self._client.exceptions.ClientError as exc:
            if "InvalidInstanceID" in str(exc):
                return None
            raise
        for reservation in resp["Reservations"]:
            for inst in reservation["Instances"]:
                return self._to_resource(inst, reservation.get("OwnerId"))
        return None

    def elastic_ip_instances(self) -> set[str]:
        """Instances holding an Elastic IP (DescribeAddresses: the instance description alone
        does not tell an Elastic IP from an auto-assigned public address)."""
        return {a["InstanceId"] for a in self._client.describe_addresses()["Addresses"] if a.get("InstanceId")}

    def stop_instance(self, instance_id: str) -> str:
        resp = self._writer.stop_instances(InstanceIds=[instance_id])
        return resp["StoppingInstances"][0]["CurrentState"]["Name"]

    def start_instance(self, instance_id: str) -> str:
        resp = self._writer.start_instances(InstanceIds=[instance_id])
        return resp["StartingInstances"][0]["CurrentState"]["Name"]

    def latest_spot_prices(self, instance_types: list[str]) -> dict[str, Decimal]:
        """Lowest current spot price per type across AZs, as the API reports it.

        The price book decides whether a figure is plausible; here we only read.
        """
        if not instance_types:
            return {}
        prices: dict[str, Decimal] = {}
        paginator = self._client.get_paginator("describe_spot_price_history")
        for page in paginator.paginate(
            InstanceTypes=sorted(set(instance_types)),
            ProductDescriptions=["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
            PaginationConfig={"MaxItems": 500},
        ):
            for item in page["SpotPriceHistory"]:
                try:
                    price = Decimal(item["SpotPrice"])
                except (InvalidOperation, KeyError):
                    continue
                current = prices.get(item["InstanceType"])
                if current is None or price < current:
                    prices[item["InstanceType"]] = price
        return prices
